//! PreSignUp triggers end to end: real compiled components deployed over gRPC (and with
//! `idp trigger deploy`) against the real binary; hostile components fail the request with the
//! right error, promptly, writing nothing; a rebuild after replacing triggers reproduces the
//! projections (the outcome is recorded, the trigger never re-runs).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use idp_api::pb::*;
use tonic::Code;

/// The bytes of an example component (None: skip, the wasm32-wasip2 target is missing off CI).
fn component(name: &str) -> Option<Vec<u8>> {
    match idp_triggers::testing::example(name) {
        Ok(bytes) => bytes,
        Err(e) => panic!("building the example triggers: {e}"),
    }
}

fn sign_up(cid: &str, user: &str, email: &str) -> SignUpRequest {
    SignUpRequest { client_id: cid.into(), username: user.into(), password: PASSWORD.into(), user_attributes: attrs(&[("email", email)]), ..Default::default() }
}

fn sign_in(cid: &str, user: &str) -> InitiateAuthRequest {
    InitiateAuthRequest {
        client_id: cid.into(),
        auth_flow: "USER_PASSWORD_AUTH".into(),
        auth_parameters: params(&[("USERNAME", user), ("PASSWORD", PASSWORD)]),
        ..Default::default()
    }
}

async fn deploy(server: &Server, pool: &str, kind: &str, bytes: Vec<u8>, config: &str, timeout_ms: u64, memory_limit_bytes: u64) -> Trigger {
    let mut admin = server.admin().await;
    let req = DeployTriggerRequest { user_pool_id: pool.into(), kind: kind.into(), component: bytes, config: config.into(), timeout_ms, memory_limit_bytes };
    admin.client.deploy_trigger(admin.req(req)).await.expect("deploy trigger").into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_sign_up_auto_confirms_rejects_is_replaced_and_replays() {
    let (Some(auto), Some(reject)) = (component("auto-confirm"), component("reject-disposable")) else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path(), Server::FAST_HASH).await;
    let (pool, cid) = pool_and_client(&server, false).await;
    let mut users = server.users().await;

    // Deployed with the CLI, as a human would.
    let file = dir.path().join("auto-confirm.wasm");
    std::fs::write(&file, &auto).expect("write wasm");
    let out = Command::new(env!("CARGO_BIN_EXE_idp"))
        .args(["trigger", "deploy", &pool, "PreSignUp"])
        .arg(&file)
        .args(["--config", r#"{"domains": ["example.com"]}"#])
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--grpc-addr", &format!("127.0.0.1:{}", server.grpc)])
        .output()
        .expect("idp trigger deploy");
    assert!(out.status.success(), "idp trigger deploy: {}", String::from_utf8_lossy(&out.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).expect("deploy output");
    assert_eq!((shown["Kind"].as_str(), shown["Version"].as_u64()), (Some("PreSignUp"), Some(1)));
    assert!(dir.path().join(format!("triggers/{}.wasm", shown["Sha256"].as_str().unwrap_or_default())).is_file());

    // example.com: confirmed at once, email verified, no code sent; can sign in right away.
    let up = users.sign_up(sign_up(&cid, "alice", "alice@example.com")).await.expect("sign up").into_inner();
    assert!(up.user_confirmed);
    assert!(up.code_delivery_details.is_none());
    let tokens = users.initiate_auth(sign_in(&cid, "alice")).await.expect("sign in").into_inner().authentication_result.expect("tokens");
    let me = users.get_user(AccessTokenRequest { access_token: tokens.access_token }).await.expect("get user").into_inner();
    assert_eq!(me.user_status, "CONFIRMED");
    assert!(me.user_attributes.iter().any(|a| a.name == "email_verified" && a.value == "true"));
    // Other domains sign up as usual.
    let up = users.sign_up(sign_up(&cid, "bob", "bob@elsewhere.org")).await.expect("sign up").into_inner();
    assert!(!up.user_confirmed);
    assert!(up.code_delivery_details.is_some());
    expect_error(users.initiate_auth(sign_in(&cid, "bob")).await, "UserNotConfirmedException", Code::FailedPrecondition);

    // Replaced by the disposable-domain filter: rejected sign-ups write nothing.
    let t = deploy(&server, &pool, "pre-sign-up", reject, "", 0, 0).await;
    assert_eq!((t.kind.as_str(), t.version, t.timeout_ms, t.memory_limit_bytes), ("PreSignUp", 2, 5000, 64 << 20));
    let rejected = users.sign_up(sign_up(&cid, "spammer", "x@mailinator.com")).await;
    match &rejected {
        Err(s) => assert!(s.message().contains("disposable"), "{s:?}"),
        Ok(_) => panic!("a disposable domain was accepted"),
    }
    expect_error(rejected, "UserLambdaValidationException", Code::InvalidArgument);
    expect_error(users.initiate_auth(sign_in(&cid, "spammer")).await, "UserNotFoundException", Code::NotFound);
    let up = users.sign_up(sign_up(&cid, "carol", "carol@example.com")).await.expect("sign up").into_inner();
    assert!(!up.user_confirmed, "the replaced trigger no longer auto-confirms");

    let mut admin = server.admin().await;
    let listed = admin.client.list_triggers(admin.req(ListTriggersRequest { user_pool_id: pool.clone() })).await.expect("list").into_inner();
    assert_eq!(listed.triggers.iter().map(|t| (t.kind.as_str(), t.version)).collect::<Vec<_>>(), [("PreSignUp", 2)]);
    let bad = DeployTriggerRequest { user_pool_id: pool.clone(), kind: "PostConfirmation".into(), component: auto.clone(), ..Default::default() };
    expect_error(admin.client.deploy_trigger(admin.req(bad)).await, "InvalidParameterException", Code::InvalidArgument);
    let bad = DeployTriggerRequest { user_pool_id: pool.clone(), kind: "PreSignUp".into(), component: b"not wasm".to_vec(), ..Default::default() };
    expect_error(admin.client.deploy_trigger(admin.req(bad)).await, "InvalidParameterException", Code::InvalidArgument);

    // Removed: sign-ups are plain again; the spammer can now sign up (nothing was written).
    admin.client.remove_trigger(admin.req(RemoveTriggerRequest { user_pool_id: pool.clone(), kind: "PreSignUp".into() })).await.expect("remove");
    users.sign_up(sign_up(&cid, "spammer", "x@mailinator.com")).await.expect("sign up without trigger");

    // Restart (the component is loaded back from the blob store), then replay: same state.
    server.restart().await;
    let mut users = server.users().await;
    users.initiate_auth(sign_in(&cid, "alice")).await.expect("alice still confirmed after restart");
    server.kill9();
    let (before, after, out) = server.rebuild();
    assert!(!before.is_empty() && before == after, "rebuild changed the projections:\n{out}");
}

/// How long the server says the trigger ran before it was stopped, from a timeout's message
/// ("... timed out after 251.3ms (deadline 250ms)").
fn stopped_after(message: &str) -> Option<Duration> {
    let text = message.split("timed out after ").nth(1)?.split(' ').next()?;
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(us) = text.strip_suffix("µs") {
        (us, 1e-6)
    } else {
        (text.strip_suffix('s')?, 1.0)
    };
    number.parse::<f64>().ok().map(|v| Duration::from_secs_f64(v * scale))
}

/// Runs a sign-up that must fail with `name`, and checks the user was not written. A timeout
/// must have stopped the trigger within `deadline + 10 ms` (as the server measured it; the
/// round trip adds the request's own work) and answered within `deadline + 1 s`; a late stop on
/// a busy machine is retried twice before the test fails.
async fn fails_promptly(server: &Server, cid: &str, user: &str, deadline: Duration, name: &str) {
    let mut users = server.users().await;
    let mut late = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let r = users.sign_up(sign_up(cid, user, &format!("{user}@example.com"))).await;
        let took = started.elapsed();
        let status = match r {
            Err(s) => s,
            Ok(_) => panic!("{user}: the hostile trigger's sign-up succeeded"),
        };
        assert_eq!(error_name(&status), name, "{status:?}");
        assert!(took < deadline + Duration::from_secs(1), "{user}: answered after {took:?}");
        let stopped = stopped_after(status.message());
        eprintln!("{user}: {name} after {took:?}, trigger stopped after {stopped:?} (deadline {deadline:?})");
        expect_error(users.initiate_auth(sign_in(cid, user)).await, "UserNotFoundException", Code::NotFound);
        match stopped {
            Some(s) if s > deadline + Duration::from_millis(10) => late.push(s),
            _ => return,
        }
    }
    panic!("{user}: the trigger was stopped after {late:?}, past {deadline:?} + 10 ms every time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_pre_sign_up_triggers_fail_the_request_and_write_nothing() {
    let names = ["hostile-loop", "hostile-memory", "hostile-trap", "hostile-malformed", "auto-confirm"];
    let Some(bytes) = names.iter().map(|n| component(n)).collect::<Option<Vec<_>>>() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), Server::FAST_HASH).await;
    let (pool, cid) = pool_and_client(&server, false).await;

    deploy(&server, &pool, "PreSignUp", bytes[0].clone(), "", 250, 0).await;
    fails_promptly(&server, &cid, "looper", Duration::from_millis(250), "UnexpectedLambdaException").await;
    deploy(&server, &pool, "PreSignUp", bytes[1].clone(), "", 0, 16 << 20).await;
    fails_promptly(&server, &cid, "hog", Duration::from_secs(5), "UnexpectedLambdaException").await;
    deploy(&server, &pool, "PreSignUp", bytes[2].clone(), "", 0, 0).await;
    fails_promptly(&server, &cid, "crasher", Duration::from_secs(5), "UnexpectedLambdaException").await;
    deploy(&server, &pool, "PreSignUp", bytes[3].clone(), "", 0, 0).await;
    fails_promptly(&server, &cid, "garbler", Duration::from_secs(5), "InvalidLambdaResponseException").await;

    // The service is healthy: a well-behaved trigger works right after.
    deploy(&server, &pool, "PreSignUp", bytes[4].clone(), r#"{"domains": ["example.com"]}"#, 0, 0).await;
    let mut users = server.users().await;
    let up = users.sign_up(sign_up(&cid, "fine", "fine@example.com")).await.expect("sign up").into_inner();
    assert!(up.user_confirmed);
    let ready = reqwest::get(server.http("/readyz")).await.expect("readyz");
    assert!(ready.status().is_success());
}
