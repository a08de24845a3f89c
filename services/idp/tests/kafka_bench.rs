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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "benchmark: cargo test --release -p idp --test kafka_bench -- --ignored --nocapture"]
async fn kafka_write_path_and_replicas() {
    let Some(brokers) = broker() else { return };
    // Embedded baseline.
    {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = Server::start(dir.path(), HASH).await;
        let (_pool, cid) = pool_and_client(&server, false).await;
        let (h, s) = sign_ups(server.grpc, &cid, "warm", 200, 1).await;
        let _ = (h, s);
        let (h, s) = sign_ups(server.grpc, &cid, "e1-", 1000, 1).await;
        line("embedded: sign-up, 1 caller", &h, s);
        let (h, s) = sign_ups(server.grpc, &cid, "e32-", 4000, 32).await;
        line("embedded: sign-up, 32 callers", &h, s);
        let (h, s) = reads(server.grpc, &cid, 1000, Arc::new(AtomicBool::new(false))).await;
        line("embedded: read (sign-in, unknown user), idle", &h, s);
    }

    let mut cluster = Cluster::start_with(&brokers, "idp-bench", 2, HASH).await;
    let (_pool, cid) = pool_and_client(&cluster.servers[0], false).await;
    let (p0, p1) = (cluster.servers[0].grpc, cluster.servers[1].grpc);
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

    for s in &mut cluster.servers {
        s.kill9();
    }
    let (before, after, out) = cluster.rebuild_output(1);
    assert_eq!(before, after);
    for l in out.lines().filter(|l| l.starts_with("replayed")) {
        eprintln!("kafka: replica apply (idp rebuild --log kafka, replica 1): {l}");
    }
}
