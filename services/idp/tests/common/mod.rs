//! Test harness: runs the real `idp` binary on free loopback ports with a temp data dir, and
//! talks to it over real gRPC and HTTP.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use idp_api::pb::{admin_client::AdminClient, users_client::UsersClient};
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

pub struct Server {
    pub dir: PathBuf,
    pub grpc: u16,
    pub http: u16,
    child: Option<Child>,
    extra: Vec<String>,
}

impl Server {
    /// Starts a server on a fresh data dir. `extra` flags are passed to `idp serve`.
    pub async fn start(dir: &Path, extra: &[&str]) -> Server {
        let mut s = Server { dir: dir.to_path_buf(), grpc: free_port(), http: free_port(), child: None, extra: extra.iter().map(|s| s.to_string()).collect() };
        s.spawn().await;
        s
    }

    /// Cheap password hashing for tests that only care about concurrency and durability.
    pub const FAST_HASH: &'static [&'static str] = &["--argon2-m-kib", "1024", "--argon2-t", "1"];

    async fn spawn(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_idp"))
            .arg("serve")
            .arg("--data-dir")
            .arg(&self.dir)
            .arg("--grpc-addr")
            .arg(format!("127.0.0.1:{}", self.grpc))
            .arg("--http-addr")
            .arg(format!("127.0.0.1:{}", self.http))
            .args(&self.extra)
            .env("IDP_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn idp");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{}/readyz", self.http)).await {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "server did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn restart(&mut self) {
        self.kill9();
        self.spawn().await;
    }

    /// SIGKILL: no shutdown path runs.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The process id while a process runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is still running (it did not exit or crash).
    pub fn running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    pub async fn users(&self) -> UsersClient<Channel> {
        UsersClient::connect(format!("http://127.0.0.1:{}", self.grpc)).await.expect("connect users")
    }

    pub async fn admin(&self) -> Admin {
        let text = std::fs::read_to_string(self.dir.join("admin.json")).expect("admin.json");
        let creds: serde_json::Value = serde_json::from_str(&text).expect("admin json");
        Admin {
            client: AdminClient::connect(format!("http://127.0.0.1:{}", self.grpc)).await.expect("connect admin"),
            id: creds["access_key_id"].as_str().unwrap_or_default().to_string(),
            secret: creds["secret_access_key"].as_str().unwrap_or_default().to_string(),
        }
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.http, path)
    }

    /// The latest code sent to `username` (waits for the dispatcher).
    pub async fn code_for(&self, username: &str, kind: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(m) = self.messages().into_iter().rev().find(|m| m["username"] == username && m["kind"] == kind) {
                return m["code"].as_str().unwrap_or_default().to_string();
            }
            assert!(Instant::now() < deadline, "no {kind} code for {username} in the outbox");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn messages(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.join("outbox.jsonl")).unwrap_or_default().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }

    /// Runs `idp rebuild` (the server must be stopped) and returns (before, after, output).
    pub fn rebuild(&self) -> (String, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_idp")).arg("rebuild").arg("--data-dir").arg(&self.dir).output().expect("run rebuild");
        assert!(out.status.success(), "rebuild failed: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let field = |name: &str| text.lines().find_map(|l| l.strip_prefix(name)).map(|s| s.trim().to_string()).unwrap_or_default();
        (field("fingerprint before:"), field("fingerprint after:"), text)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub struct Admin {
    pub client: AdminClient<Channel>,
    id: String,
    secret: String,
}

impl Admin {
    pub fn req<T>(&self, msg: T) -> Request<T> {
        let mut r = Request::new(msg);
        r.metadata_mut().insert("x-idp-access-key-id", self.id.parse().expect("ascii"));
        r.metadata_mut().insert("x-idp-secret-access-key", self.secret.parse().expect("ascii"));
        r
    }
}

/// The stable error name a status carries.
pub fn error_name(s: &Status) -> String {
    s.metadata().get("x-idp-error").and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
}

pub fn expect_error<T: std::fmt::Debug>(r: Result<T, Status>, name: &str, code: Code) {
    match r {
        Ok(v) => panic!("expected {name}, got {v:?}"),
        Err(s) => {
            assert_eq!(error_name(&s), name, "status: {s:?}");
            assert_eq!(s.code(), code, "status: {s:?}");
        }
    }
}

pub fn attrs(pairs: &[(&str, &str)]) -> Vec<idp_api::pb::AttributeType> {
    pairs.iter().map(|(n, v)| idp_api::pb::AttributeType { name: n.to_string(), value: v.to_string() }).collect()
}

pub fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub const PASSWORD: &str = "Corr3ct-Horse-Battery";

/// Creates a pool (email auto-verified) and a client without secret allowing password + refresh.
pub async fn pool_and_client(server: &Server, prevent: bool) -> (String, String) {
    let mut admin = server.admin().await;
    let pool = admin
        .client
        .create_user_pool(admin.req(idp_api::pb::CreateUserPoolRequest {
            pool_name: "test".into(),
            auto_verified_attributes: vec!["email".into()],
            prevent_user_existence_errors: Some(prevent),
            ..Default::default()
        }))
        .await
        .expect("create pool")
        .into_inner();
    let client = admin
        .client
        .create_user_pool_client(admin.req(idp_api::pb::CreateUserPoolClientRequest {
            user_pool_id: pool.id.clone(),
            client_name: "app".into(),
            explicit_auth_flows: vec!["ALLOW_USER_PASSWORD_AUTH".into(), "ALLOW_REFRESH_TOKEN_AUTH".into()],
            ..Default::default()
        }))
        .await
        .expect("create client")
        .into_inner();
    (pool.id, client.client_id)
}
