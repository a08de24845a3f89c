//! The broker unreachable at start and mid-run: `/readyz` 503, ServiceUnavailableException to
//! callers, and recovery when it answers again.
//!
//! The outage is a TCP proxy in front of a tansu broker of the test's own (tansu advertises the
//! proxy's address), so the broker keeps its memory-only data while the service cannot reach it.
//! Restarting tansu itself would lose every topic (memory storage): a replica whose stored
//! offsets are past the recreated topic's end cannot recover by nature and stays not ready.

mod common;
mod kafka_common;

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use idp_api::pb::*;
use kafka_common::*;
use tokio::task::JoinHandle;
use tonic::Request;

/// Forwards 127.0.0.1:`port` to the broker while up; while down nothing listens and every
/// forwarded connection is closed.
struct Proxy {
    port: u16,
    target: u16,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    fn new(target: u16) -> Proxy {
        Proxy { port: free_port(), target, tasks: Arc::new(Mutex::new(Vec::new())) }
    }

    async fn up(&self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await.expect("bind proxy");
        let (target, tasks) = (self.target, self.tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                if let Ok(mut t) = tasks.lock() {
                    t.push(conn);
                }
            }
        });
        if let Ok(mut t) = self.tasks.lock() {
            t.push(accept);
        }
    }

    async fn down(&self) {
        let tasks: Vec<_> = self.tasks.lock().map(|mut t| t.drain(..).collect()).unwrap_or_default();
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
    }
}

struct Broker(Child);

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_tansu(bin: &str, port: u16, advertised: u16) -> Broker {
    let child = Command::new(bin)
        .args(["broker", "--listener-url", &format!("tcp://127.0.0.1:{port}")])
        .args(["--advertised-listener-url", &format!("tcp://127.0.0.1:{advertised}")])
        .args(["--storage-engine", "memory://tansu/"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tansu");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "tansu did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    Broker(child)
}

struct Node {
    child: Child,
    grpc: u16,
    http: u16,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const KEY_ID: &str = "AKIDOUTAGETEST0001";
const SECRET: &str = "outage-test-secret-0123456789";

/// Starts `idp serve` on Kafka without waiting for readiness.
fn spawn_idp(dir: &std::path::Path, brokers: &str, topic: &str) -> Node {
    let (grpc, http) = (free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_idp"))
        .args(["serve", "--data-dir", &dir.display().to_string()])
        .args(["--grpc-addr", &format!("127.0.0.1:{grpc}"), "--http-addr", &format!("127.0.0.1:{http}")])
        .args(["--log", "kafka", "--brokers", brokers, "--topic", topic, "--partitions", "2"])
        .args(["--kafka-one-record-per-batch", "--kafka-timeout-ms", "2000"])
        .args(Server::FAST_HASH)
        .env("IDP_ADMIN_ACCESS_KEY_ID", KEY_ID)
        .env("IDP_ADMIN_SECRET_ACCESS_KEY", SECRET)
        .env("IDP_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn idp");
    Node { child, grpc, http }
}

async fn ready(node: &Node) -> Option<bool> {
    let r = reqwest::get(format!("http://127.0.0.1:{}/readyz", node.http)).await.ok()?;
    Some(r.status().is_success())
}

/// Waits until `/readyz` answers `want`; returns how long it took.
async fn wait_ready(node: &Node, want: bool, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if ready(node).await == Some(want) {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "/readyz did not become {want} within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sign_up(node: &Node, cid: &str, username: &str) -> Result<(), (String, tonic::Code, Duration)> {
    let started = Instant::now();
    let mut users = idp_api::pb::users_client::UsersClient::connect(format!("http://127.0.0.1:{}", node.grpc)).await.expect("connect");
    users
        .sign_up(SignUpRequest {
            client_id: cid.into(),
            username: username.into(),
            password: PASSWORD.into(),
            user_attributes: attrs(&[("email", &format!("{username}@example.com"))]),
            ..Default::default()
        })
        .await
        .map(|_| ())
        .map_err(|s| (error_name(&s), s.code(), started.elapsed()))
}

fn admin_req<T>(msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("x-idp-access-key-id", KEY_ID.parse().expect("ascii"));
    r.metadata_mut().insert("x-idp-secret-access-key", SECRET.parse().expect("ascii"));
    r
}

async fn pool_and_client_at(node: &Node) -> String {
    let mut admin = idp_api::pb::admin_client::AdminClient::connect(format!("http://127.0.0.1:{}", node.grpc)).await.expect("connect admin");
    let pool = admin
        .create_user_pool(admin_req(CreateUserPoolRequest { pool_name: "outage".into(), auto_verified_attributes: vec!["email".into()], ..Default::default() }))
        .await
        .expect("create pool")
        .into_inner();
    admin
        .create_user_pool_client(admin_req(CreateUserPoolClientRequest {
            user_pool_id: pool.id,
            client_name: "app".into(),
            explicit_auth_flows: vec!["ALLOW_USER_PASSWORD_AUTH".into()],
            ..Default::default()
        }))
        .await
        .expect("create client")
        .into_inner()
        .client_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_unreachable_at_start_and_mid_run() {
    let Some(bin) = tansu_bin() else { return };
    let broker_port = free_port();
    let proxy = Proxy::new(broker_port);
    let _broker = start_tansu(&bin, broker_port, proxy.port);
    let brokers = format!("127.0.0.1:{}", proxy.port);
    let dir = tempfile::tempdir().expect("tempdir");
    let topic = unique_topic("idp-outage");

    // 1. Unreachable at start: the process serves, not ready, and refuses calls clearly.
    let node = spawn_idp(dir.path(), &brokers, &topic);
    let t = wait_ready(&node, false, Duration::from_secs(30)).await;
    eprintln!("started not ready ({t:?} to answer /readyz)");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(ready(&node).await, Some(false), "/readyz stays 503 while Kafka is unreachable");
    match sign_up(&node, "someclient", "early").await {
        Err((name, code, took)) => {
            assert_eq!(name, "ServiceUnavailableException", "{code:?}");
            assert_eq!(code, tonic::Code::Unavailable);
            eprintln!("sign-up while unreachable: {name} after {took:?}");
        }
        Ok(()) => panic!("a sign-up succeeded without a broker"),
    }
    // ... and becomes ready once the broker answers.
    proxy.up().await;
    let t = wait_ready(&node, true, Duration::from_secs(60)).await;
    eprintln!("ready {t:?} after the broker became reachable");
    let cid = pool_and_client_at(&node).await;
    sign_up(&node, &cid, "before").await.expect("sign-up once the broker answers");

    // 2. Unreachable mid-run: 503 + ServiceUnavailableException, then recovery, nothing lost.
    proxy.down().await;
    let t = wait_ready(&node, false, Duration::from_secs(30)).await;
    eprintln!("not ready {t:?} after the broker became unreachable");
    match sign_up(&node, &cid, "during").await {
        Err((name, code, took)) => {
            assert_eq!(name, "ServiceUnavailableException", "{code:?}");
            assert!(took < Duration::from_secs(15), "the error took {took:?}");
            eprintln!("sign-up mid-outage: {name} after {took:?}");
        }
        Ok(()) => panic!("a sign-up succeeded without a broker"),
    }
    proxy.up().await;
    let t = wait_ready(&node, true, Duration::from_secs(60)).await;
    eprintln!("ready again {t:?} after the broker came back");
    sign_up(&node, &cid, "after").await.expect("sign-up after recovery");
    match sign_up(&node, &cid, "before").await {
        Err((name, _, _)) => assert_eq!(name, "UsernameExistsException", "the user written before the outage is kept"),
        Ok(()) => panic!("the user written before the outage was lost"),
    }
}
