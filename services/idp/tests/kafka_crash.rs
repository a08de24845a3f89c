//! kill -9 one of three processes during load, restart it: it catches up, every replica equals
//! the others and a fresh replay of the topic, no acknowledged write is lost, and every
//! verification message is sent exactly once although the dispatcher owning some partitions died.

mod common;
mod kafka_common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use idp_api::pb::*;
use kafka_common::*;

async fn sign_up(port: u16, cid: &str, username: &str) -> Result<(), String> {
    let mut users = match idp_api::pb::users_client::UsersClient::connect(format!("http://127.0.0.1:{port}")).await {
        Ok(u) => u,
        Err(e) => return Err(format!("connect: {e}")),
    };
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
        .map_err(|s| format!("{}: {}", error_name(&s), s.message()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_one_process_under_load_and_restart_it() {
    let Some(brokers) = broker() else { return };
    let started = Instant::now();
    let mut cluster = Cluster::start(&brokers, "idp-crash", 3).await;
    let (_pool, cid) = pool_and_client(&cluster.servers[0], false).await;
    let ports: Vec<u16> = cluster.servers.iter().map(|s| s.grpc).collect();

    // 300 sign-ups from 30 concurrent callers, round robin over the three processes; process 2
    // is killed after the first 100 acknowledgements.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut load = Vec::new();
    for caller in 0..30usize {
        let (cid, ports, tx) = (cid.clone(), ports.clone(), tx.clone());
        load.push(tokio::spawn(async move {
            for j in 0..10usize {
                let k = caller * 10 + j;
                let username = format!("crash{k:03}");
                let r = sign_up(ports[k % 3], &cid, &username).await;
                let _ = tx.send((username, k % 3, r));
            }
        }));
    }
    drop(tx);
    let mut acked = BTreeSet::new();
    let mut failed_on_killed = 0;
    let mut killed = false;
    while let Some((username, target, r)) = rx.recv().await {
        match r {
            Ok(()) => {
                acked.insert(username);
            }
            Err(e) => {
                // Only calls to the killed process may fail (connection refused or reset).
                assert!(killed && target == 2, "{username} on process {target} failed: {e}");
                failed_on_killed += 1;
            }
        }
        if !killed && acked.len() >= 100 {
            cluster.servers[2].kill9();
            killed = true;
            eprintln!("killed process 2 after {} acknowledged sign-ups ({:?})", acked.len(), started.elapsed());
        }
    }
    for t in load {
        t.await.expect("load task");
    }
    eprintln!("{} acknowledged, {failed_on_killed} failed on the killed process", acked.len());
    cluster.servers[2].restart().await;
    eprintln!("process 2 restarted and ready at {:?}", started.elapsed());

    // No acknowledged write lost: every acknowledged user exists on every replica.
    for (i, s) in cluster.servers.iter().enumerate() {
        let missing = missing_sign_ups(s, &cid, &acked).await;
        assert!(missing.is_empty(), "replica {i} lacks acknowledged sign-ups: {missing:?}");
    }

    // Every acknowledged sign-up's code is sent, and no message twice, although the owner of some
    // partitions died (its partitions move to the others after the session timeout).
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let messages = cluster.messages();
        let sent: BTreeSet<String> = messages.iter().filter(|m| m["kind"] == "SIGN_UP").filter_map(|m| m["username"].as_str().map(str::to_string)).collect();
        let per_event = lines_per_event(&messages);
        assert!(per_event.values().all(|n| *n == 1), "a message was sent twice");
        if acked.is_subset(&sent) {
            let per_user = messages.iter().filter(|m| m["kind"] == "SIGN_UP").count();
            assert_eq!(per_user, sent.len(), "one code per user");
            break;
        }
        assert!(Instant::now() < deadline, "{} acknowledged sign-ups have no message", acked.difference(&sent).count());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("every message sent once at {:?}", started.elapsed());
    cluster.assert_replicas_identical();
    eprintln!("total {:?}", started.elapsed());
}
