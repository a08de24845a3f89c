//! Three `idp` processes on one Kafka topic, each a full replica: one arbiter per username across
//! processes, and read-your-writes on any front (every call of a user on another process).

mod common;
mod kafka_common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::*;
use idp_api::pb::*;
use kafka_common::*;

/// InitiateAuth as an existence probe that writes nothing: a known unconfirmed user answers
/// UserNotConfirmedException, an unknown one UserNotFoundException.
async fn probe(server: &Server, cid: &str, username: &str) -> String {
    let mut users = server.users().await;
    let r = users
        .initiate_auth(InitiateAuthRequest {
            client_id: cid.into(),
            auth_flow: "USER_PASSWORD_AUTH".into(),
            auth_parameters: params(&[("USERNAME", username), ("PASSWORD", PASSWORD)]),
            ..Default::default()
        })
        .await;
    match r {
        Ok(_) => "ok".into(),
        Err(s) => error_name(&s),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_processes_one_arbiter_and_read_your_writes_on_any_front() {
    let Some(brokers) = broker() else { return };
    let started = Instant::now();
    let mut cluster = Cluster::start(&brokers, "idp-multi", 3).await;
    eprintln!("3 processes ready in {:?}", started.elapsed());
    let (_pool, cid) = pool_and_client(&cluster.servers[0], false).await;

    // 500 concurrent sign-ups over the three processes: 50 usernames, 10 callers each.
    let mut tasks = Vec::new();
    for caller in 0..10u32 {
        for name in 0..50u32 {
            let server = &cluster.servers[((caller * 50 + name) % 3) as usize];
            let mut users = server.users().await;
            let cid = cid.clone();
            tasks.push(tokio::spawn(async move {
                let r = users
                    .sign_up(SignUpRequest {
                        client_id: cid,
                        username: format!("user{name:02}"),
                        password: PASSWORD.into(),
                        user_attributes: attrs(&[("email", &format!("c{caller}-u{name}@example.com"))]),
                        ..Default::default()
                    })
                    .await;
                (name, r.map(|r| r.into_inner().user_sub).map_err(|s| (error_name(&s), s.code())))
            }));
        }
    }
    let mut winners: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
    let mut losers = 0;
    for t in tasks {
        let (name, r) = t.await.expect("task");
        match r {
            Ok(sub) => {
                winners.entry(name).or_default().insert(sub);
            }
            Err((e, code)) => {
                assert_eq!(e, "UsernameExistsException", "{code:?}");
                losers += 1;
            }
        }
    }
    eprintln!("500 contended sign-ups done at {:?}", started.elapsed());
    assert_eq!(winners.len(), 50, "every username has a winner");
    assert!(winners.values().all(|subs| subs.len() == 1), "exactly one winner per username: {winners:?}");
    assert_eq!(losers, 450);
    // Every replica has the 50 users (and not a 51st).
    for (i, server) in cluster.servers.iter().enumerate() {
        for name in 0..50 {
            assert_eq!(probe(server, &cid, &format!("user{name:02}")).await, "UserNotConfirmedException", "replica {i} user{name:02}");
        }
        assert_eq!(probe(server, &cid, "user50").await, "UserNotFoundException", "replica {i}");
    }

    // 200 users: sign-up, confirm, sign-in and get-user, each call on another process than the
    // previous one, no retries.
    let flow_started = Instant::now();
    let mut flows = Vec::new();
    for k in 0..200usize {
        let ports: Vec<u16> = (0..4).map(|step| cluster.servers[(k + step) % 3].grpc).collect();
        let cid = cid.clone();
        let outbox = cluster.outbox_path();
        flows.push(tokio::spawn(async move { user_flow(k, &ports, &cid, &outbox).await }));
    }
    let mut latencies = Vec::new();
    for f in flows {
        latencies.push(f.await.expect("flow task"));
    }
    latencies.sort();
    eprintln!("200 cross-front flows in {:?} (per flow p50 {:?}, max {:?})", flow_started.elapsed(), latencies[latencies.len() / 2], latencies.last());
    // Each sign-up's code was sent exactly once, whatever process owned its partition.
    let per_event = lines_per_event(&cluster.messages());
    assert!(per_event.values().all(|n| *n == 1), "duplicate messages: {:?}", per_event.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>());
    assert_eq!(per_event.len(), 250, "50 contended winners + 200 flows each got one code");

    cluster.assert_replicas_identical();
    eprintln!("total {:?}", started.elapsed());
}

async fn users_at(port: u16) -> idp_api::pb::users_client::UsersClient<tonic::transport::Channel> {
    idp_api::pb::users_client::UsersClient::connect(format!("http://127.0.0.1:{port}")).await.expect("connect")
}

async fn code_in(outbox: &std::path::Path, username: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let text = std::fs::read_to_string(outbox).unwrap_or_default();
        let found =
            text.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).find(|m| m["username"] == username && m["kind"] == "SIGN_UP");
        if let Some(m) = found {
            return m["code"].as_str().unwrap_or_default().to_string();
        }
        assert!(Instant::now() < deadline, "no code for {username}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// sign-up on ports[0], confirm on ports[1], sign-in on ports[2], get-user on ports[3].
async fn user_flow(k: usize, ports: &[u16], cid: &str, outbox: &std::path::Path) -> Duration {
    let username = format!("flow{k:03}");
    let t0 = Instant::now();
    users_at(ports[0])
        .await
        .sign_up(SignUpRequest {
            client_id: cid.into(),
            username: username.clone(),
            password: PASSWORD.into(),
            user_attributes: attrs(&[("email", &format!("{username}@example.com"))]),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|s| panic!("sign-up {username} on {}: {s:?}", ports[0]));
    let signed_up = t0.elapsed();
    let code = code_in(outbox, &username).await;
    let t1 = Instant::now();
    users_at(ports[1])
        .await
        .confirm_sign_up(ConfirmSignUpRequest { client_id: cid.into(), username: username.clone(), confirmation_code: code, ..Default::default() })
        .await
        .unwrap_or_else(|s| panic!("confirm {username} on {}: {s:?}", ports[1]));
    let auth = users_at(ports[2])
        .await
        .initiate_auth(InitiateAuthRequest {
            client_id: cid.into(),
            auth_flow: "USER_PASSWORD_AUTH".into(),
            auth_parameters: params(&[("USERNAME", &username), ("PASSWORD", PASSWORD)]),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|s| panic!("sign-in {username} on {}: {s:?}", ports[2]))
        .into_inner();
    let access = auth.authentication_result.map(|r| r.access_token).unwrap_or_default();
    let user = users_at(ports[3])
        .await
        .get_user(AccessTokenRequest { access_token: access })
        .await
        .unwrap_or_else(|s| panic!("get-user {username} on {}: {s:?}", ports[3]))
        .into_inner();
    assert_eq!(user.username, username);
    // Time spent in the four calls (the wait for the code is excluded).
    signed_up + t1.elapsed()
}
