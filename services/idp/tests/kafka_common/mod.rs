//! Several `idp serve` processes on one Kafka topic: shared keys, admin credential and dev outbox
//! file, each with its own data dir (its own replica of the projections).
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::common::Server;

/// The acknowledged sign-ups (still unconfirmed) that `server` does not hold: a password sign-in
/// of each must answer UserNotConfirmedException there. Returns `username (error name)` for
/// every one that answers anything else.
pub async fn missing_sign_ups(server: &Server, cid: &str, usernames: &BTreeSet<String>) -> Vec<String> {
    let mut users = server.users().await;
    let mut missing = Vec::new();
    for username in usernames {
        let r = users
            .initiate_auth(idp_api::pb::InitiateAuthRequest {
                client_id: cid.to_string(),
                auth_flow: "USER_PASSWORD_AUTH".into(),
                auth_parameters: super::common::params(&[("USERNAME", username), ("PASSWORD", super::common::PASSWORD)]),
                ..Default::default()
            })
            .await;
        let name = r.err().map(|s| super::common::error_name(&s)).unwrap_or_default();
        if name != "UserNotConfirmedException" {
            missing.push(format!("{username} ({name})"));
        }
    }
    missing
}

/// The broker address (`IDP_TEST_KAFKA`). Under CI a missing variable fails loudly; elsewhere
/// the test prints a skip notice and returns.
pub fn broker() -> Option<String> {
    required_env("IDP_TEST_KAFKA", "IDP_TEST_KAFKA not set: .ci/run must start the broker (.ci/kafka.sh)")
}

/// The tansu binary, for tests that start a broker of their own.
pub fn tansu_bin() -> Option<String> {
    required_env("IDP_TEST_TANSU_BIN", "IDP_TEST_TANSU_BIN not set: .ci/kafka.sh must install the broker and export it")
}

fn required_env(name: &str, ci_message: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Some(v),
        _ if std::env::var_os("CI").is_some() => panic!("{ci_message}"),
        _ => {
            eprintln!("SKIPPED: {name} is not set (run `eval \"$(bash .ci/kafka.sh)\"` first)");
            None
        }
    }
}

/// The sqlite-backed tansu build (`bash .ci/kafka.sh durable`), for tests that kill and restart
/// a broker of their own. Under CI a missing variable fails loudly.
pub fn tansu_durable_bin() -> Option<String> {
    required_env("IDP_TEST_TANSU_DURABLE_BIN", "IDP_TEST_TANSU_DURABLE_BIN not set: .ci/run must build the durable broker (`bash .ci/kafka.sh durable`)")
}

/// A tansu broker of the test's own: its own loopback port and its own sqlite file, killed with
/// SIGKILL and restarted on the same port and storage.
pub struct DurableBroker {
    bin: String,
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Option<std::process::Child>,
}

impl DurableBroker {
    pub fn start(bin: &str) -> DurableBroker {
        let mut b = DurableBroker { bin: bin.to_string(), port: super::common::free_port(), dir: tempfile::tempdir().expect("tempdir"), child: None };
        b.spawn();
        b
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// tansu 0.6 drops the URL path's leading `/` (`sqlite:///tmp/x.db` opens `<cwd>/tmp/x.db`),
    /// so an absolute path takes a fourth slash.
    pub fn storage_url(&self) -> String {
        format!("sqlite:///{}", self.dir.path().join("tansu.db").display())
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("tansu.log")
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log_path()).expect("tansu log");
        let err = log.try_clone().expect("tansu log");
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let child = Command::new(&self.bin)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", &self.storage_url()])
            .stdin(std::process::Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.bin));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("tansu exited ({status}) at start:\n{}", self.log_tail());
            }
            assert!(Instant::now() < deadline, "tansu did not listen on {} within 30 s:\n{}", self.port, self.log_tail());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The last lines of the broker's log (for failure messages).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// SIGKILL: no shutdown path runs; what the broker acknowledged must be in its sqlite file.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the broker again on the same port and storage.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }
}

impl Drop for DurableBroker {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn unique_topic(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix}-{}-{nanos:x}", std::process::id())
}

/// A deployment: one topic, shared secrets and outbox, N processes.
pub struct Cluster {
    pub root: tempfile::TempDir,
    pub brokers: String,
    pub topic: String,
    pub partitions: u32,
    pub servers: Vec<Server>,
    /// Argon2 flags (cheap by default).
    pub hash: Vec<String>,
}

pub const PARTITIONS: u32 = 4;

impl Cluster {
    /// The flags every process gets. tansu reports a partition's end offset as the start of the
    /// last record batch + 1, so producers send one record per batch (not needed on Kafka).
    pub fn flags(&self) -> Vec<String> {
        let shared = self.root.path().join("shared");
        let mut f: Vec<String> = vec![
            "--log".into(),
            "kafka".into(),
            "--brokers".into(),
            self.brokers.clone(),
            "--topic".into(),
            self.topic.clone(),
            "--partitions".into(),
            self.partitions.to_string(),
            "--kafka-one-record-per-batch".into(),
            // tansu holds a fetch for fetch.wait.max.ms even when records arrive.
            "--kafka-fetch-wait-ms".into(),
            "5".into(),
            // tansu 0.6 reads retention.ms=-1 ("forever" on Kafka) as "expire now": a restarted
            // sqlite broker would drop every record.
            "--kafka-topic-config".into(),
            "retention.ms=9223372036854775807".into(),
            // Every front signs tokens for the same public issuer.
            "--issuer-base".into(),
            "http://idp.test".into(),
            "--kafka-timeout-ms".into(),
            "5000".into(),
            "--keys-dir".into(),
            shared.join("keys").display().to_string(),
            "--admin-credentials".into(),
            shared.join("admin.json").display().to_string(),
            "--outbox-file".into(),
            self.outbox_path().display().to_string(),
        ];
        f.extend(self.hash.iter().cloned());
        f
    }

    pub fn outbox_path(&self) -> PathBuf {
        self.root.path().join("shared").join("outbox.jsonl")
    }

    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.root.path().join(format!("node{i}"))
    }

    /// Starts `n` processes (each waits for `/readyz`).
    pub async fn start(brokers: &str, prefix: &str, n: usize) -> Cluster {
        Cluster::start_with(brokers, prefix, n, Server::FAST_HASH).await
    }

    /// Like [`Cluster::start`] with other Argon2 flags.
    pub async fn start_with(brokers: &str, prefix: &str, n: usize, hash: &[&str]) -> Cluster {
        let root = tempfile::tempdir().expect("tempdir");
        let shared = root.path().join("shared");
        std::fs::create_dir_all(&shared).expect("shared dir");
        let admin = serde_json::json!({"access_key_id": "AKIDKAFKATEST0001", "secret_access_key": "kafka-test-secret-0123456789abcdef"});
        std::fs::write(shared.join("admin.json"), admin.to_string()).expect("admin.json");
        let mut c = Cluster {
            root,
            brokers: brokers.to_string(),
            topic: unique_topic(prefix),
            partitions: PARTITIONS,
            servers: vec![],
            hash: hash.iter().map(|s| s.to_string()).collect(),
        };
        for i in 0..n {
            let s = c.spawn(i).await;
            c.servers.push(s);
        }
        c
    }

    async fn spawn(&self, i: usize) -> Server {
        let dir = self.data_dir(i);
        std::fs::create_dir_all(&dir).expect("data dir");
        // The harness's admin client reads <data-dir>/admin.json; the server reads the shared file.
        std::fs::copy(self.root.path().join("shared").join("admin.json"), dir.join("admin.json")).expect("copy admin.json");
        let flags = self.flags();
        let refs: Vec<&str> = flags.iter().map(String::as_str).collect();
        Server::start(&dir, &refs).await
    }

    /// The dev outbox lines, shared by every process.
    pub fn messages(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.outbox_path()).unwrap_or_default().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }

    /// The code sent to `username` (waits: the dispatch group may still be forming, ~20 s on tansu).
    pub async fn code_for(&self, username: &str, kind: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.messages().into_iter().rev().find(|m| m["username"] == username && m["kind"] == kind) {
                return m["code"].as_str().unwrap_or_default().to_string();
            }
            assert!(Instant::now() < deadline, "no {kind} code for {username} in the shared outbox within {timeout:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `idp rebuild` on replica `i` (stopped): (fingerprint caught up to the log end, after a
    /// fresh replay of the topic).
    pub fn rebuild(&self, i: usize) -> (String, String) {
        let (before, after, _) = self.rebuild_output(i);
        (before, after)
    }

    /// [`Cluster::rebuild`] plus the command's whole output.
    pub fn rebuild_output(&self, i: usize) -> (String, String, String) {
        let mut args: Vec<String> = vec!["rebuild".into(), "--data-dir".into(), self.data_dir(i).display().to_string()];
        let flags = self.flags();
        // Only the log flags apply to rebuild.
        let mut it = flags.iter();
        while let Some(f) = it.next() {
            if f == "--kafka-one-record-per-batch" {
                args.push(f.clone());
            } else if matches!(
                f.as_str(),
                "--log"
                    | "--brokers"
                    | "--topic"
                    | "--partitions"
                    | "--kafka-property"
                    | "--kafka-timeout-ms"
                    | "--kafka-fetch-wait-ms"
                    | "--kafka-topic-config"
            ) {
                args.push(f.clone());
                if let Some(v) = it.next() {
                    args.push(v.clone());
                }
            }
        }
        let out = Command::new(env!("CARGO_BIN_EXE_idp")).args(&args).env("IDP_LOG", "warn").output().expect("run rebuild");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "rebuild failed: {}\n{text}", String::from_utf8_lossy(&out.stderr));
        let field = |name: &str| text.lines().find_map(|l| l.strip_prefix(name)).map(|s| s.trim().to_string()).unwrap_or_default();
        (field("fingerprint before:"), field("fingerprint after:"), text)
    }

    /// Stops every process (kill -9; the replicas resume from their stored offsets) and checks
    /// that every replica, caught up to the end of the topic, has the same fingerprint, equal to
    /// a fresh replay of the topic.
    pub fn assert_replicas_identical(&mut self) {
        for s in &mut self.servers {
            s.kill9();
        }
        let mut prints = BTreeMap::new();
        for i in 0..self.servers.len() {
            let (before, after, text) = self.rebuild_output(i);
            assert_eq!(before.len(), 64, "fingerprint of replica {i}: {before:?}\n{text}");
            assert_eq!(before, after, "replica {i} differs from a fresh replay of the topic:\n{text}");
            prints.insert(i, before);
        }
        let first = prints.values().next().cloned().unwrap_or_default();
        assert!(prints.values().all(|p| *p == first), "replicas differ: {prints:?}");
    }
}

/// Counts per event id in the shared outbox.
pub fn lines_per_event(messages: &[serde_json::Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for v in messages {
        *m.entry(v["event_id"].as_str().unwrap_or_default().to_string()).or_insert(0) += 1;
    }
    m
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}
