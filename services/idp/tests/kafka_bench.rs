//! Benchmark (ignored; run in release against the CI broker):
//!
//! ```text
//! eval "$(bash .ci/kafka.sh)"
//! cargo test --release -p idp --test kafka_bench -- --ignored --nocapture
//! ```
//!
//! Two `idp` processes on one topic, hashing excluded (`--argon2-m-kib 8 --argon2-t 1`):
//! - sign-up write-path latency through Kafka (append acks=all + apply + verdict), 1 and 32
//!   concurrent callers, on process 0;
//! - a state-dependent read (sign-in of an unknown user: catches up the client, pool and user
//!   partitions, then a dummy hash) on process 1, idle and while process 0 takes the 32-caller
//!   load: the difference is the replica lag the catch-up waits for;
//! - the same read and sign-up on the embedded log (catch-up = an in-memory end offset), to show
//!   what catching up through the broker costs;
//! - replica apply throughput: `idp rebuild --log kafka` replaying the topic (events/s).

mod common;
mod kafka_common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use common::*;
use idp_api::pb::*;
use kafka_common::*;

const HASH: &[&str] = &["--argon2-m-kib", "8", "--argon2-t", "1"];

/// Latencies in microseconds.
#[derive(Default)]
struct Histogram(Vec<u64>);

impl Histogram {
    fn record(&mut self, us: u64) -> Result<(), String> {
        self.0.push(us);
        Ok(())
    }
    fn add(&mut self, other: Histogram) -> Result<(), String> {
        self.0.extend(other.0);
        Ok(())
    }
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn quantile(&self, q: f64) -> f64 {
        let mut v = self.0.clone();
        v.sort_unstable();
        let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len().max(1)) - 1;
        v.get(i).copied().unwrap_or(0) as f64 / 1000.0
    }
}

fn hist() -> Histogram {
    Histogram::default()
}

fn line(name: &str, h: &Histogram, secs: f64) {
    eprintln!(
        "{name:<58} n={:>5} p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  {:>6.0}/s",
        h.len(),
        h.quantile(0.5),
        h.quantile(0.99),
        h.quantile(1.0),
        h.len() as f64 / secs
    );
}

async fn sign_ups(port: u16, cid: &str, prefix: &str, n: usize, concurrency: usize) -> (Histogram, f64) {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (next, cid, prefix) = (next.clone(), cid.to_string(), prefix.to_string());
        tasks.push(tokio::spawn(async move {
            let mut users = idp_api::pb::users_client::UsersClient::connect(format!("http://127.0.0.1:{port}")).await.expect("connect");
            let mut h = hist();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= n {
                    return h;
                }
                let t = Instant::now();
                users
                    .sign_up(SignUpRequest { client_id: cid.clone(), username: format!("{prefix}{i}"), password: PASSWORD.into(), ..Default::default() })
                    .await
                    .expect("sign-up");
                h.record(t.elapsed().as_micros().max(1) as u64).expect("record");
            }
        }));
    }
    let mut all = hist();
    for t in tasks {
        all.add(t.await.expect("task")).expect("add");
    }
    (all, started.elapsed().as_secs_f64())
}

/// Sign-in of an unknown user until `stop` (or `n` calls): 3 catch-ups + a dummy hash, no write.
async fn reads(port: u16, cid: &str, n: usize, stop: Arc<AtomicBool>) -> (Histogram, f64) {
    let mut users = idp_api::pb::users_client::UsersClient::connect(format!("http://127.0.0.1:{port}")).await.expect("connect");
    let mut h = hist();
    let started = Instant::now();
    while (h.len() as usize) < n && !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        let r = users
            .initiate_auth(InitiateAuthRequest {
                client_id: cid.into(),
                auth_flow: "USER_PASSWORD_AUTH".into(),
                auth_parameters: params(&[("USERNAME", &format!("nobody{}", h.len())), ("PASSWORD", PASSWORD)]),
                ..Default::default()
            })
            .await;
        assert_eq!(r.err().map(|s| error_name(&s)).as_deref(), Some("UserNotFoundException"));
        h.record(t.elapsed().as_micros().max(1) as u64).expect("record");
    }
    (h, started.elapsed().as_secs_f64())
}

/// A server process of the benchmark. The binary is a renamed copy of `idp`, so that scripts
/// on a shared machine that stop `idp` processes by name leave it alone.
struct Node {
    child: std::process::Child,
    grpc: u16,
    dir: std::path::PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bench_bin(root: &std::path::Path) -> std::path::PathBuf {
    let bin = root.join("kbench-node");
    std::fs::copy(env!("CARGO_BIN_EXE_idp"), &bin).expect("copy the binary");
    bin
}

async fn node(bin: &std::path::Path, dir: std::path::PathBuf, extra: &[String]) -> Node {
    std::fs::create_dir_all(&dir).expect("dir");
    let (grpc, http) = (free_port(), free_port());
    let child = std::process::Command::new(bin)
        .args(["serve", "--data-dir", &dir.display().to_string()])
        .args(["--grpc-addr", &format!("127.0.0.1:{grpc}"), "--http-addr", &format!("127.0.0.1:{http}")])
        .args(HASH)
        .args(extra)
        .env("IDP_ADMIN_ACCESS_KEY_ID", "AKIDBENCH00000001")
        .env("IDP_ADMIN_SECRET_ACCESS_KEY", "bench-secret-0123456789abcdef")
        .env("IDP_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{http}/readyz")).await {
            if r.status().is_success() {
                break;
            }
        }
        assert!(Instant::now() < deadline, "not ready");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Node { child, grpc, dir }
}

fn admin_req<T>(msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut().insert("x-idp-access-key-id", "AKIDBENCH00000001".parse().expect("ascii"));
    r.metadata_mut().insert("x-idp-secret-access-key", "bench-secret-0123456789abcdef".parse().expect("ascii"));
    r
}

/// A pool (no auto-verification) and a password client on `n`.
async fn client_at(n: &Node) -> String {
    let mut admin = idp_api::pb::admin_client::AdminClient::connect(format!("http://127.0.0.1:{}", n.grpc)).await.expect("admin");
    let pool = admin.create_user_pool(admin_req(CreateUserPoolRequest { pool_name: "bench".into(), ..Default::default() })).await.expect("pool").into_inner();
    admin
        .create_user_pool_client(admin_req(CreateUserPoolClientRequest {
            user_pool_id: pool.id,
            client_name: "bench".into(),
            explicit_auth_flows: vec!["ALLOW_USER_PASSWORD_AUTH".into()],
            ..Default::default()
        }))
        .await
        .expect("client")
        .into_inner()
        .client_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "benchmark: cargo test --release -p idp --test kafka_bench -- --ignored --nocapture"]
async fn kafka_write_path_and_replicas() {
    let Some(brokers) = broker() else { return };
    let root = tempfile::tempdir().expect("tempdir");
    let bin = bench_bin(root.path());
    // Embedded baseline.
    {
        let n = node(&bin, root.path().join("embedded"), &[]).await;
        let cid = client_at(&n).await;
        let _ = sign_ups(n.grpc, &cid, "warm", 200, 1).await;
        let (h, s) = sign_ups(n.grpc, &cid, "e1-", 1000, 1).await;
        line("embedded: sign-up, 1 caller", &h, s);
        let (h, s) = sign_ups(n.grpc, &cid, "e32-", 4000, 32).await;
        line("embedded: sign-up, 32 callers", &h, s);
        let (h, s) = reads(n.grpc, &cid, 1000, Arc::new(AtomicBool::new(false))).await;
        line("embedded: read (sign-in, unknown user), idle", &h, s);
    }

    let topic = unique_topic("idp-bench");
    // tansu holds every fetch for the full fetch.wait.max.ms, so it bounds the replica's apply
    // latency; KBENCH_FETCH_WAIT_MS sets it (5 ms unless told).
    let fetch_wait = std::env::var("KBENCH_FETCH_WAIT_MS").unwrap_or_else(|_| "5".into());
    eprintln!("kafka: --kafka-fetch-wait-ms {fetch_wait}");
    let flags: Vec<String> = [
        "--log",
        "kafka",
        "--brokers",
        &brokers,
        "--topic",
        &topic,
        "--partitions",
        "4",
        "--kafka-one-record-per-batch",
        "--kafka-fetch-wait-ms",
        &fetch_wait,
        "--issuer-base",
        "http://idp.test",
        "--keys-dir",
        &root.path().join("keys").display().to_string(),
    ]
    .iter()
    .filter(|f| std::env::var_os("KBENCH_BATCHED").is_none() || **f != "--kafka-one-record-per-batch")
    .map(|s| s.to_string())
    .collect();
    let n0 = node(&bin, root.path().join("node0"), &flags).await;
    let n1 = node(&bin, root.path().join("node1"), &flags).await;
    let cid = client_at(&n0).await;
    let (p0, p1) = (n0.grpc, n1.grpc);
    let _ = sign_ups(p0, &cid, "warm", 200, 1).await;
    let (h, s) = sign_ups(p0, &cid, "k1-", 1000, 1).await;
    line("kafka: sign-up, 1 caller", &h, s);
    let (h, s) = reads(p1, &cid, 1000, Arc::new(AtomicBool::new(false))).await;
    line("kafka: read on the other process, idle", &h, s);

    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (cid, stop) = (cid.clone(), stop.clone());
        tokio::spawn(async move { reads(p1, &cid, usize::MAX, stop).await })
    };
    let (h, s) = sign_ups(p0, &cid, "k32-", 4000, 32).await;
    stop.store(true, Ordering::Relaxed);
    line("kafka: sign-up, 32 callers", &h, s);
    let (rh, rs) = reader.await.expect("reader");
    line("kafka: read on the other process during the 32-caller load", &rh, rs);

    let dir1 = n1.dir.clone();
    drop(n0);
    drop(n1);
    let out = std::process::Command::new(&bin)
        .args(["rebuild", "--data-dir", &dir1.display().to_string()])
        .args(&flags[..flags.len() - 4])
        .output()
        .expect("rebuild");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text} {}", String::from_utf8_lossy(&out.stderr));
    let field = |name: &str| text.lines().find_map(|l| l.strip_prefix(name)).map(|s| s.trim().to_string()).unwrap_or_default();
    assert_eq!(field("fingerprint before:"), field("fingerprint after:"));
    for l in text.lines().filter(|l| l.starts_with("replayed")) {
        eprintln!("kafka: replica apply (idp rebuild --log kafka, replica 1): {l}");
    }
}
