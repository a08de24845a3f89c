//! Trigger latency figures against the real binary (ignored by default; run with
//! `cargo nextest run --workspace -E 'binary(triggers_bench)' --run-ignored only --no-capture`):
//! a password sign-in without and with a PostAuthentication trigger (the extra
//! `UserAuthenticated` append), the lag from ConfirmSignUp's answer to its PostConfirmation call,
//! and a CUSTOM_AUTH sign-in (InitiateAuth + one RespondToAuthChallenge, three trigger calls and
//! one append). Figures go to docs/benchmarks.md.

mod common;

use std::time::{Duration, Instant};

use common::*;
use idp_api::pb::*;

fn component(name: &str) -> Option<Vec<u8>> {
    match idp_triggers::testing::example(name) {
        Ok(bytes) => bytes,
        Err(e) => panic!("building the example triggers: {e}"),
    }
}

async fn deploy(server: &Server, pool: &str, kind: &str, component: Vec<u8>, config: &str) {
    let mut admin = server.admin().await;
    let req = DeployTriggerRequest { user_pool_id: pool.into(), kind: kind.into(), component, config: config.into(), ..Default::default() };
    admin.client.deploy_trigger(admin.req(req)).await.expect("deploy trigger");
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!("{what}: n={} p50={:?} p99={:?} max={:?}", samples.len(), at(0.5), at(0.99), at(1.0));
}

async fn confirmed(server: &Server, cid: &str, user: &str) -> Instant {
    let mut users = server.users().await;
    let req = SignUpRequest {
        client_id: cid.into(),
        username: user.into(),
        password: PASSWORD.into(),
        user_attributes: attrs(&[("email", &format!("{user}@example.com"))]),
        ..Default::default()
    };
    users.sign_up(req).await.expect("sign up");
    let code = server.code_for(user, "SIGN_UP").await;
    let req = ConfirmSignUpRequest { client_id: cid.into(), username: user.into(), confirmation_code: code, ..Default::default() };
    users.confirm_sign_up(req).await.expect("confirm");
    Instant::now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn trigger_latencies() {
    let (Some(confirm_log), Some(audit), Some(define), Some(create), Some(verify)) = (
        component("post-confirmation-log"),
        component("post-authentication-log"),
        component("define-challenge"),
        component("create-challenge"),
        component("verify-challenge"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("trigger-log.jsonl");
    let mut flags: Vec<String> = Server::FAST_HASH.iter().map(|s| s.to_string()).collect();
    flags.extend(["--trigger-log-file".into(), log.display().to_string()]);
    let server = Server::start(dir.path(), &flags.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let (pool, _) = pool_and_client(&server, false).await;
    let mut admin = server.admin().await;
    let cid = admin
        .client
        .create_user_pool_client(admin.req(CreateUserPoolClientRequest {
            user_pool_id: pool.clone(),
            client_name: "bench".into(),
            explicit_auth_flows: vec!["ALLOW_CUSTOM_AUTH".into(), "ALLOW_USER_PASSWORD_AUTH".into(), "ALLOW_REFRESH_TOKEN_AUTH".into()],
            ..Default::default()
        }))
        .await
        .expect("client")
        .into_inner()
        .client_id;
    confirmed(&server, &cid, "alice").await;
    let mut users = server.users().await;
    let sign_in = || InitiateAuthRequest {
        client_id: cid.clone(),
        auth_flow: "USER_PASSWORD_AUTH".into(),
        auth_parameters: params(&[("USERNAME", "alice"), ("PASSWORD", PASSWORD)]),
        ..Default::default()
    };
    let n = 200;
    for _ in 0..20 {
        users.initiate_auth(sign_in()).await.expect("warm up");
    }
    let mut plain = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        users.initiate_auth(sign_in()).await.expect("sign in");
        plain.push(t.elapsed());
    }
    report("USER_PASSWORD_AUTH, no PostAuthentication trigger", plain);
    deploy(&server, &pool, "PostAuthentication", audit, "").await;
    let mut with = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        users.initiate_auth(sign_in()).await.expect("sign in");
        with.push(t.elapsed());
    }
    report("USER_PASSWORD_AUTH, PostAuthentication deployed (+UserAuthenticated append)", with);

    // Lag: ConfirmSignUp answered → its PostConfirmation call has logged.
    deploy(&server, &pool, "PostConfirmation", confirm_log, "").await;
    let mut lag = Vec::new();
    for i in 0..50 {
        let user = format!("u{i}");
        let answered = confirmed(&server, &cid, &user).await;
        let needle = format!("confirmed user={user} ");
        loop {
            if std::fs::read_to_string(&log).unwrap_or_default().contains(&needle) {
                lag.push(answered.elapsed());
                break;
            }
            assert!(answered.elapsed() < Duration::from_secs(10), "no PostConfirmation call for {user}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    report("ConfirmSignUp answer -> PostConfirmation call logged", lag);

    // CUSTOM_AUTH: InitiateAuth (Define + Create) and RespondToAuthChallenge (Verify + append +
    // Define + tokens, and the PostAuthentication append).
    deploy(&server, &pool, "DefineAuthChallenge", define, "3").await;
    deploy(&server, &pool, "CreateAuthChallenge", create, r#"{"question": "q", "answer": "a"}"#).await;
    deploy(&server, &pool, "VerifyAuthChallengeResponse", verify, "").await;
    let (mut initiate, mut respond) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let t = Instant::now();
        let req = InitiateAuthRequest {
            client_id: cid.clone(),
            auth_flow: "CUSTOM_AUTH".into(),
            auth_parameters: params(&[("USERNAME", "alice")]),
            ..Default::default()
        };
        let c = users.initiate_auth(req).await.expect("initiate").into_inner();
        initiate.push(t.elapsed());
        let t = Instant::now();
        let req = RespondToAuthChallengeRequest {
            client_id: cid.clone(),
            challenge_name: "CUSTOM_CHALLENGE".into(),
            challenge_responses: params(&[("USERNAME", "alice"), ("ANSWER", "a")]),
            session: c.session,
            ..Default::default()
        };
        let done = users.respond_to_auth_challenge(req).await.expect("respond").into_inner();
        assert!(done.authentication_result.is_some());
        respond.push(t.elapsed());
    }
    report("CUSTOM_AUTH InitiateAuth (Define + Create)", initiate);
    report("CUSTOM_AUTH RespondToAuthChallenge (Verify + append + Define + tokens + UserAuthenticated)", respond);
}
