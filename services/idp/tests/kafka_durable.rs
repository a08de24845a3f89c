//! The broker itself dies under load and comes back on its storage (tansu + sqlite, a broker of
//! the test's own): three `idp serve --log kafka` processes keep running through the outage,
//! `/readyz` goes false on each while the broker is down and true again after, no acknowledged
//! sign-up is lost on any replica, every code is sent once, and the replicas end identical.

mod common;
mod kafka_common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use idp_api::pb::*;
use kafka_common::*;

enum Outcome {
    Acked(Duration),
    /// Failed with this error name (the write may or may not be in the log).
    Failed(String),
}

async fn sign_up(port: u16, cid: &str, username: &str) -> Outcome {
    let started = Instant::now();
    let mut users = match idp_api::pb::users_client::UsersClient::connect(format!("http://127.0.0.1:{port}")).await {
        Ok(u) => u,
        Err(e) => return Outcome::Failed(format!("connect: {e}")),
    };
    let mut req = tonic::Request::new(SignUpRequest {
        client_id: cid.into(),
        username: username.into(),
        password: PASSWORD.into(),
        user_attributes: attrs(&[("email", &format!("{username}@example.com"))]),
        ..Default::default()
    });
    req.set_timeout(Duration::from_secs(30));
    match users.sign_up(req).await {
        Ok(_) => Outcome::Acked(started.elapsed()),
        Err(s) => Outcome::Failed(format!("{}: {}", error_name(&s), s.message())),
    }
}

async fn ready(http: u16) -> Option<bool> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().ok()?;
    let r = client.get(format!("http://127.0.0.1:{http}/readyz")).send().await.ok()?;
    Some(r.status().is_success())
}

/// Waits until every process's `/readyz` answers `want`; returns how long it took.
async fn wait_all_ready(https: &[u16], want: bool, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let mut all = true;
        for h in https {
            all &= ready(*h).await == Some(want);
        }
        if all {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "/readyz did not become {want} on every process within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted.get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1))).copied().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn broker_killed_and_restarted_on_its_storage_under_load() {
    let Some(bin) = tansu_durable_bin() else { return };
    let started = Instant::now();
    let mut broker = DurableBroker::start(&bin);
    let mut cluster = Cluster::start(&broker.addr(), "idp-durable", 3).await;
    eprintln!("broker on {} ({}), 3 processes ready in {:?}", broker.addr(), broker.storage_url(), started.elapsed());
    let pids: Vec<Option<u32>> = cluster.servers.iter().map(|s| s.pid()).collect();
    let (_pool, cid) = pool_and_client(&cluster.servers[0], false).await;
    let ports: Vec<u16> = cluster.servers.iter().map(|s| s.grpc).collect();
    let https: Vec<u16> = cluster.servers.iter().map(|s| s.http).collect();

    // 24 callers sign up distinct users round robin over the three processes until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let acked_count = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant, Outcome)>();
    let mut load = Vec::new();
    for caller in 0..24usize {
        let (cid, ports, tx, stop, acked_count) = (cid.clone(), ports.clone(), tx.clone(), stop.clone(), acked_count.clone());
        load.push(tokio::spawn(async move {
            let mut j = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let username = format!("d{caller:02}x{j:04}");
                let at = Instant::now();
                let outcome = sign_up(ports[(caller + j) % 3], &cid, &username).await;
                match outcome {
                    Outcome::Acked(_) => {
                        acked_count.fetch_add(1, Ordering::Relaxed);
                    }
                    // Back off a little while the broker is away instead of spinning.
                    Outcome::Failed(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
                let _ = tx.send((username, at, outcome));
                j += 1;
            }
        }));
    }
    drop(tx);

    // Phase 1: 150 acknowledged sign-ups, then SIGKILL the broker.
    while acked_count.load(Ordering::Relaxed) < 150 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed_at = Instant::now();
    broker.kill9();
    eprintln!("broker killed after {} acknowledged sign-ups ({:?})", acked_count.load(Ordering::Relaxed), started.elapsed());
    let not_ready = wait_all_ready(&https, false, Duration::from_secs(60)).await;
    eprintln!("every process answered /readyz 503 {not_ready:?} after the kill");
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Phase 2: the broker comes back on the same port and sqlite file.
    let acked_before_restart = acked_count.load(Ordering::Relaxed);
    let restarted_at = Instant::now();
    broker.restart();
    eprintln!("broker restarted {:?} after the kill", killed_at.elapsed());
    let recovered = wait_all_ready(&https, true, Duration::from_secs(120)).await;
    eprintln!("every process ready again {recovered:?} after the restart");
    // Load keeps going until 150 more sign-ups are acknowledged after the restart.
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked_count.load(Ordering::Relaxed) < acked_before_restart + 150 {
        assert!(Instant::now() < deadline, "sign-ups did not recover after the broker restart:\n{}", broker.log_tail());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let first_ack_wait = restarted_at.elapsed();
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.await.expect("load task");
    }

    let mut acked = BTreeSet::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    let (mut lat_before, mut lat_after) = (Vec::new(), Vec::new());
    while let Some((username, at, outcome)) = rx.recv().await {
        match outcome {
            Outcome::Acked(d) => {
                acked.insert(username);
                if at < killed_at {
                    lat_before.push(d);
                } else if at > restarted_at + recovered {
                    lat_after.push(d);
                }
            }
            Outcome::Failed(e) => failed.push((username, e)),
        }
    }
    lat_before.sort();
    lat_after.sort();
    eprintln!(
        "{} acknowledged, {} failed; sign-up latency before the kill p50 {:?} p99 {:?} (n={}), after recovery p50 {:?} p99 {:?} (n={}); 150 acks after restart took {first_ack_wait:?}",
        acked.len(),
        failed.len(),
        percentile(&lat_before, 0.5),
        percentile(&lat_before, 0.99),
        lat_before.len(),
        percentile(&lat_after, 0.5),
        percentile(&lat_after, 0.99),
        lat_after.len()
    );
    // Only the outage may fail calls, and only as "unavailable" (never a wrong answer).
    for (username, e) in &failed {
        assert!(e.starts_with("ServiceUnavailableException"), "{username}: {e}");
    }

    // The processes recovered by themselves: the same processes, still running.
    for (i, s) in cluster.servers.iter_mut().enumerate() {
        assert!(s.running(), "process {i} exited");
        assert_eq!(s.pid(), pids[i], "process {i} was restarted");
    }

    // No acknowledged sign-up lost: every one exists on every replica.
    for (i, s) in cluster.servers.iter().enumerate() {
        let missing = missing_sign_ups(s, &cid, &acked).await;
        assert!(missing.is_empty(), "replica {i} lacks acknowledged sign-ups: {missing:?}");
    }

    // Every acknowledged sign-up's code is sent, none twice.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let messages = cluster.messages();
        let per_event = lines_per_event(&messages);
        assert!(per_event.values().all(|n| *n == 1), "a message was sent twice");
        let sent: BTreeSet<String> = messages.iter().filter_map(|m| m["username"].as_str().map(str::to_string)).collect();
        if acked.is_subset(&sent) {
            break;
        }
        assert!(Instant::now() < deadline, "{} acknowledged sign-ups have no message", acked.difference(&sent).count());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The topic itself kept every acknowledged sign-up: replica 0 rebuilt from a fresh replay of
    // the restarted broker's storage (nothing of its own state) still has each one.
    for s in &mut cluster.servers {
        s.kill9();
    }
    if let Ok(keep) = std::env::var("IDP_TEST_KEEP_DIR") {
        let _ = std::process::Command::new("cp").args(["-a", &cluster.root.path().display().to_string(), &format!("{keep}/cluster")]).status();
        let _ = std::process::Command::new("cp").args(["-a", &broker.dir.path().display().to_string(), &format!("{keep}/broker")]).status();
        eprintln!("kept the cluster and broker dirs under {keep} (topic {})", cluster.topic);
    }
    let (_, _, replay) = cluster.rebuild_output(0);
    eprintln!("replica 0 after a fresh replay of the topic:\n{replay}");
    cluster.servers[0].restart().await;
    let missing = missing_sign_ups(&cluster.servers[0], &cid, &acked).await;
    assert!(missing.is_empty(), "{} acknowledged sign-ups are not in the topic after the broker restart: {missing:?}", missing.len());

    // Replicas identical to each other and to a fresh replay of the topic from the restarted
    // broker's storage.
    cluster.assert_replicas_identical();
    eprintln!("total {:?}", started.elapsed());
}
