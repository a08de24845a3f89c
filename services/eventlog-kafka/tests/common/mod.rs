//! Shared test plumbing: where the broker is, fresh topics, and a second broker the failure
//! tests can start and kill.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use idp_eventlog::EventLog;
use idp_eventlog_kafka::{KafkaConfig, KafkaLog};

/// The broker address from `IDP_TEST_KAFKA`. Under CI (`CI` set) a missing variable fails the
/// test loudly; on a developer machine the test prints a skip notice and returns `None`.
pub fn broker() -> Option<String> {
    required_env("IDP_TEST_KAFKA", "IDP_TEST_KAFKA not set: .ci/kafka.sh must start the broker")
}

/// The tansu binary (`IDP_TEST_TANSU_BIN`, printed by `.ci/kafka.sh`), for tests that start and
/// kill a broker of their own. Same CI / laptop rule as [`broker`].
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

/// A topic name no other test (or earlier run against the same broker) uses.
pub fn unique_topic(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}-{}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed), uuid_suffix())
}

fn uuid_suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{nanos:08x}")
}

/// Test defaults: short timeouts so a broken broker fails a test quickly.
pub fn config(brokers: &str, topic: &str, partitions: u32) -> KafkaConfig {
    let mut cfg = KafkaConfig::new(brokers, topic, partitions);
    cfg.client_id = "idp-eventlog-kafka-test".into();
    cfg.connect_timeout = Duration::from_secs(20);
    cfg.message_timeout = Duration::from_secs(20);
    cfg
}

/// A fresh log on a new topic (the conformance suite's factory).
pub async fn fresh_log(brokers: String, partitions: u32) -> Arc<dyn EventLog> {
    let topic = unique_topic("conformance");
    match KafkaLog::connect(config(&brokers, &topic, partitions)).await {
        Ok(log) => log,
        Err(e) => panic!("cannot create a fresh Kafka log on {brokers} (topic {topic}): {e}"),
    }
}

/// A port on 127.0.0.1 nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

/// A tansu broker owned by one test, killed on drop.
pub struct TestBroker {
    bin: String,
    pub port: u16,
    child: Option<Child>,
}

impl TestBroker {
    pub fn start(bin: &str, port: u16) -> TestBroker {
        let mut b = TestBroker { bin: bin.to_string(), port, child: None };
        b.restart();
        b
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// (Re)starts the broker process on the same port and waits until it accepts connections.
    pub fn restart(&mut self) {
        self.kill();
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let child = Command::new(&self.bin)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "test broker did not listen on {}", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILLs the broker (no clean shutdown) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        self.kill();
    }
}
