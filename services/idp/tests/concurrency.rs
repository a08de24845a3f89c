//! One arbiter per username under contention, and durability under kill -9.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use common::*;
use idp_api::pb::*;
use tokio::sync::Mutex;

/// 500 concurrent sign-ups: 50 usernames, each wanted by 10 callers → exactly one winner each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sign_ups_have_one_winner_per_username() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path(), Server::FAST_HASH).await;
    let (pool, cid) = pool_and_client(&server, false).await;
    let mut tasks = Vec::new();
    for caller in 0..10 {
        for name in 0..50 {
            let users = server.users().await;
            let cid = cid.clone();
            tasks.push(tokio::spawn(async move {
                let mut users = users;
                let r = users
                    .sign_up(SignUpRequest {
                        client_id: cid,
                        username: format!("user{name:02}"),
                        password: PASSWORD.into(),
                        user_attributes: attrs(&[("email", &format!("c{caller}-u{name}@example.com"))]),
                        ..Default::default()
                    })
                    .await;
                (name, r.map(|r| r.into_inner().user_sub).map_err(|s| error_name(&s)))
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
            Err(e) => {
                assert_eq!(e, "UsernameExistsException");
                losers += 1;
            }
        }
    }
    assert_eq!(winners.len(), 50, "every username has a winner");
    assert!(winners.values().all(|subs| subs.len() == 1), "exactly one winner per username: {winners:?}");
    assert_eq!(losers, 450);
    // Each username exists once, with the winner's sub, after a restart too.
    server.restart().await;
    let mut users = server.users().await;
    for name in 0..50 {
        let r = users
            .resend_confirmation_code(ResendConfirmationCodeRequest { client_id: cid.clone(), username: format!("user{name:02}"), ..Default::default() })
            .await;
        assert!(r.is_ok(), "user{name:02}: {r:?}");
    }
    // Sign-up codes: one per winner, not one per caller.
    let signups = server.messages().iter().filter(|m| m["kind"] == "SIGN_UP").count();
    assert!(signups >= 50, "{signups}");
    // ListUsers pages through exactly the 50 winners, each with the winner's sub.
    let mut admin = server.admin().await;
    let (mut listed, mut token) = (Vec::new(), String::new());
    loop {
        let page = admin
            .client
            .list_users(admin.req(ListUsersRequest { user_pool_id: pool.clone(), limit: 20, pagination_token: token.clone(), ..Default::default() }))
            .await
            .expect("list users")
            .into_inner();
        assert!(page.users.len() <= 20);
        listed.extend(page.users);
        if page.pagination_token.is_empty() {
            break;
        }
        token = page.pagination_token;
    }
    assert_eq!(listed.len(), 50);
    for u in &listed {
        let name: u32 = u.username.trim_start_matches("user").parse().expect("name");
        assert!(winners[&name].contains(&u.sub), "{} has a loser's sub", u.username);
    }
    // The CLI lists the same users with the same credential file.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_idp"))
        .args(["users", "list", "--pool", &pool, "--grpc-addr", &format!("127.0.0.1:{}", server.grpc), "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("idp users list");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 50);
}

/// kill -9 during 500 concurrent sign-ups: every acknowledged one survives the restart, and a
/// replay reproduces the projections byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_sign_ups_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path(), Server::FAST_HASH).await;
    let (_pool, cid) = pool_and_client(&server, false).await;
    let acked = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let mut tasks = Vec::new();
    for i in 0..500 {
        let users = server.users().await;
        let (cid, acked) = (cid.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            let mut users = users;
            let name = format!("durable{i:03}");
            if let Ok(r) = users.sign_up(SignUpRequest { client_id: cid, username: name.clone(), password: PASSWORD.into(), ..Default::default() }).await {
                acked.lock().await.push((name, r.into_inner().user_sub));
            }
        }));
    }
    // Kill once a good share is acknowledged, while the rest are in flight.
    loop {
        if acked.lock().await.len() >= 150 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.kill9();
    for t in tasks {
        let _ = t.await;
    }
    let acked = acked.lock().await.clone();
    assert!(acked.len() >= 150 && acked.len() < 500, "killed mid-load: {} acked", acked.len());
    server.restart().await;
    let mut users = server.users().await;
    for (name, _sub) in &acked {
        // A second sign-up of an acknowledged name must find it taken.
        let r = users.sign_up(SignUpRequest { client_id: cid.clone(), username: name.clone(), password: PASSWORD.into(), ..Default::default() }).await;
        match r {
            Err(s) => assert_eq!(error_name(&s), "UsernameExistsException", "{name}"),
            Ok(_) => panic!("acknowledged sign-up {name} was lost"),
        }
    }
    server.kill9();
    let (before, after, out) = server.rebuild();
    assert_eq!(before, after, "{out}");
}

/// Bad input gets the right error name and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path(), Server::FAST_HASH).await;
    let (_pool, cid) = pool_and_client(&server, false).await;
    let mut users = server.users().await;
    let base = SignUpRequest { client_id: cid.clone(), username: "carol".into(), password: PASSWORD.into(), ..Default::default() };
    let cases: Vec<(SignUpRequest, &str)> = vec![
        (SignUpRequest { username: "".into(), ..base.clone() }, "InvalidParameterException"),
        (SignUpRequest { username: "has space".into(), ..base.clone() }, "InvalidParameterException"),
        (SignUpRequest { username: "x".repeat(129), ..base.clone() }, "InvalidParameterException"),
        (SignUpRequest { password: "short".into(), ..base.clone() }, "InvalidPasswordException"),
        (SignUpRequest { password: "alllowercase-1".into(), ..base.clone() }, "InvalidPasswordException"),
        (SignUpRequest { user_attributes: attrs(&[("shoe_size", "9")]), ..base.clone() }, "InvalidParameterException"),
        (SignUpRequest { user_attributes: attrs(&[("custom:tier", "gold")]), ..base.clone() }, "InvalidParameterException"),
        (SignUpRequest { user_attributes: attrs(&[("email", "not-an-email")]), ..base.clone() }, "InvalidParameterException"),
        (SignUpRequest { user_attributes: attrs(&[("phone_number", "555-1234")]), ..base.clone() }, "InvalidParameterException"),
        (SignUpRequest { user_attributes: attrs(&[("name", &"n".repeat(2049))]), ..base.clone() }, "InvalidParameterException"),
        (SignUpRequest { user_attributes: attrs(&[("email_verified", "true")]), ..base.clone() }, "InvalidParameterException"),
        (SignUpRequest { client_id: "nosuchclient".into(), ..base.clone() }, "NotAuthorizedException"),
    ];
    let log_before = log_bytes(dir.path());
    for (req, name) in cases {
        let r = users.sign_up(req.clone()).await;
        match r {
            Err(s) => assert_eq!(error_name(&s), name, "{:?}", (&req.username.len(), &req.password, &req.user_attributes)),
            Ok(_) => panic!("accepted bad input {:?}", req.user_attributes),
        }
    }
    assert_eq!(log_bytes(dir.path()), log_before, "bad input wrote to the log");
    // The name is still free.
    users.sign_up(base.clone()).await.expect("valid sign-up after the bad ones");
    // Wrong codes: refused with CodeMismatchException; the user stays unconfirmed.
    for _ in 0..3 {
        let r = users
            .confirm_sign_up(ConfirmSignUpRequest {
                client_id: cid.clone(),
                username: "carol".into(),
                confirmation_code: "12345x".into(),
                ..Default::default()
            })
            .await;
        assert_eq!(r.map_err(|s| error_name(&s)).err().as_deref(), Some("CodeMismatchException"));
    }
    let r = users
        .initiate_auth(InitiateAuthRequest {
            client_id: cid.clone(),
            auth_flow: "USER_PASSWORD_AUTH".into(),
            auth_parameters: params(&[("USERNAME", "carol"), ("PASSWORD", PASSWORD)]),
            ..Default::default()
        })
        .await;
    assert_eq!(r.map_err(|s| error_name(&s)).err().as_deref(), Some("UserNotConfirmedException"));
    server.kill9();
}

/// PreventUserExistenceErrors: unknown users look like wrong passwords.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prevent_user_existence_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), Server::FAST_HASH).await;
    for (prevent, expected) in [(false, "UserNotFoundException"), (true, "NotAuthorizedException")] {
        let (_pool, cid) = pool_and_client(&server, prevent).await;
        let mut users = server.users().await;
        let r = users
            .initiate_auth(InitiateAuthRequest {
                client_id: cid.clone(),
                auth_flow: "USER_PASSWORD_AUTH".into(),
                auth_parameters: params(&[("USERNAME", "ghost"), ("PASSWORD", PASSWORD)]),
                ..Default::default()
            })
            .await;
        assert_eq!(r.map_err(|s| error_name(&s)).err().as_deref(), Some(expected), "prevent={prevent}");
        let r = users.forgot_password(ForgotPasswordRequest { client_id: cid.clone(), username: "ghost".into(), ..Default::default() }).await;
        if prevent {
            assert!(r.is_ok(), "forgot password must not reveal unknown users: {r:?}");
        } else {
            assert_eq!(r.map_err(|s| error_name(&s)).err().as_deref(), Some("UserNotFoundException"));
        }
    }
}

/// Total bytes of the log's segment files.
fn log_bytes(dir: &std::path::Path) -> u64 {
    fn walk(p: &std::path::Path) -> u64 {
        std::fs::read_dir(p)
            .map(|rd| {
                rd.flatten()
                    .map(|e| {
                        let p = e.path();
                        if p.is_dir() {
                            walk(&p)
                        } else {
                            e.metadata().map(|m| m.len()).unwrap_or(0)
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(&dir.join("log"))
}
