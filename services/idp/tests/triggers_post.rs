//! PostConfirmation and PostAuthentication end to end over gRPC with real compiled components:
//! they run from the log (after the request was answered), with the event's id as idempotency
//! key; a failing trigger is retried with backoff and never fails the request; a call pending
//! at a crash is made after the restart (by the trigger deployed then), exactly once here; a
//! rebuild replays the queue without calling anything again.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use idp_api::pb::*;

fn component(name: &str) -> Option<Vec<u8>> {
    match idp_triggers::testing::example(name) {
        Ok(bytes) => bytes,
        Err(e) => panic!("building the example triggers: {e}"),
    }
}

/// The messages triggers logged (`--trigger-log-file`).
fn trigger_log(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["message"].as_str().map(str::to_string))
        .collect()
}

/// Waits until at least `n` logged messages contain `needle`; returns them.
async fn wait_lines(path: &Path, needle: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let lines: Vec<String> = trigger_log(path).into_iter().filter(|l| l.contains(needle)).collect();
        if lines.len() >= n {
            return lines;
        }
        assert!(Instant::now() < deadline, "waited for {n} trigger log lines with {needle:?}; log: {:#?}", trigger_log(path));
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The `key=` of a logged message.
fn key(line: &str) -> String {
    line.rsplit("key=").next().unwrap_or_default().to_string()
}

fn sign_in(cid: &str, user: &str, password: &str) -> InitiateAuthRequest {
    InitiateAuthRequest {
        client_id: cid.into(),
        auth_flow: "USER_PASSWORD_AUTH".into(),
        auth_parameters: params(&[("USERNAME", user), ("PASSWORD", password)]),
        ..Default::default()
    }
}

async fn deploy(server: &Server, pool: &str, kind: &str, component: Vec<u8>, config: &str) {
    let mut admin = server.admin().await;
    let req = DeployTriggerRequest { user_pool_id: pool.into(), kind: kind.into(), component, config: config.into(), ..Default::default() };
    admin.client.deploy_trigger(admin.req(req)).await.expect("deploy trigger");
}

async fn sign_up(server: &Server, cid: &str, user: &str) {
    let mut users = server.users().await;
    let req = SignUpRequest {
        client_id: cid.into(),
        username: user.into(),
        password: PASSWORD.into(),
        user_attributes: attrs(&[("email", &format!("{user}@example.com"))]),
        ..Default::default()
    };
    users.sign_up(req).await.expect("sign up");
}

async fn confirm(server: &Server, cid: &str, user: &str) {
    confirm_with(server, cid, user, &[]).await;
}

/// ConfirmSignUp with ClientMetadata.
async fn confirm_with(server: &Server, cid: &str, user: &str, metadata: &[(&str, &str)]) {
    let code = server.code_for(user, "SIGN_UP").await;
    let req =
        ConfirmSignUpRequest { client_id: cid.into(), username: user.into(), confirmation_code: code, client_metadata: params(metadata), ..Default::default() };
    server.users().await.confirm_sign_up(req).await.expect("confirm");
}

fn flags(log: &Path, attempts: &str) -> Vec<String> {
    let mut f: Vec<String> = Server::FAST_HASH.iter().map(|s| s.to_string()).collect();
    f.extend(["--trigger-log-file".to_string(), log.display().to_string(), "--trigger-retry-attempts".into(), attempts.into()]);
    f
}

fn log_path(dir: &Path) -> PathBuf {
    dir.join("trigger-log.jsonl")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_confirmation_and_post_authentication_run_from_the_log() {
    let (Some(confirmed), Some(audit)) = (component("post-confirmation-log"), component("post-authentication-log")) else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let log = log_path(dir.path());
    let f = flags(&log, "3");
    let server = Server::start(dir.path(), &f.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let (pool, cid) = pool_and_client(&server, false).await;
    let mut users = server.users().await;

    // Confirmed before any trigger: nothing is queued, and a later deploy does not see it.
    sign_up(&server, &cid, "early").await;
    confirm(&server, &cid, "early").await;
    deploy(&server, &pool, "PostConfirmation", confirmed.clone(), "").await;

    // ConfirmSignUp → PostConfirmation_ConfirmSignUp, with the client, the request's
    // ClientMetadata and the event's key.
    sign_up(&server, &cid, "alice").await;
    confirm_with(&server, &cid, "alice", &[("campaign", "spring")]).await;
    let lines = wait_lines(&log, "confirmed user=alice", 1).await;
    assert!(lines[0].contains("source=PostConfirmation_ConfirmSignUp"), "{lines:?}");
    assert!(lines[0].contains(" meta=campaign:spring "), "{lines:?}");
    assert!(lines[0].contains(&format!("client={cid}")), "{lines:?}");
    assert!(lines[0].contains("email=alice@example.com"), "{lines:?}");
    assert!(key(&lines[0]).ends_with("/0") && key(&lines[0]).len() > 30, "{lines:?}");

    // ConfirmForgotPassword → PostConfirmation_ConfirmForgotPassword.
    users.forgot_password(ForgotPasswordRequest { client_id: cid.clone(), username: "alice".into(), ..Default::default() }).await.expect("forgot");
    let code = server.code_for("alice", "FORGOT_PASSWORD").await;
    let new_password = "N3w-Password-Battery";
    let req = ConfirmForgotPasswordRequest {
        client_id: cid.clone(),
        username: "alice".into(),
        confirmation_code: code,
        password: new_password.into(),
        client_metadata: params(&[("locale", "fr"), ("app", "web")]),
        ..Default::default()
    };
    users.confirm_forgot_password(req).await.expect("reset");
    let lines = wait_lines(&log, "confirmed user=alice", 2).await;
    assert!(lines[1].contains("source=PostConfirmation_ConfirmForgotPassword"), "{lines:?}");
    assert!(lines[1].contains(" meta=app:web,locale:fr "), "{lines:?}");
    assert_ne!(key(&lines[0]), key(&lines[1]));

    // A PostAuthentication trigger that always fails: every sign-in still succeeds; each call is
    // made 3 times (--trigger-retry-attempts) with one key, then given up.
    deploy(&server, &pool, "PostAuthentication", audit.clone(), "fail").await;
    let tokens = users.initiate_auth(sign_in(&cid, "alice", new_password)).await.expect("sign in despite the failing trigger");
    assert!(tokens.into_inner().authentication_result.is_some());
    let failures = wait_lines(&log, "failing on purpose user=alice", 3).await;
    assert!(failures.iter().all(|l| key(l) == key(&failures[0])), "{failures:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(trigger_log(&log).iter().filter(|l| l.contains("failing on purpose user=alice")).count(), 3, "given up after 3 calls");

    // Replaced by a working one: one audit line per sign-in, each with its own key.
    deploy(&server, &pool, "PostAuthentication", audit, "").await;
    users.initiate_auth(sign_in(&cid, "alice", new_password)).await.expect("sign in");
    users.initiate_auth(sign_in(&cid, "alice", new_password)).await.expect("sign in");
    let lines = wait_lines(&log, "signed in user=alice", 2).await;
    assert!(lines.iter().all(|l| l.contains("source=PostAuthentication_Authentication") && l.contains(&format!("client={cid}"))), "{lines:?}");
    assert_ne!(key(&lines[0]), key(&lines[1]));
    // A wrong password is no sign-in.
    assert!(users.initiate_auth(sign_in(&cid, "alice", "Wr0ng-Password!")).await.is_err());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(trigger_log(&log).iter().filter(|l| l.contains("signed in user=alice")).count(), 2);
    assert!(!trigger_log(&log).iter().any(|l| l.contains("user=early")), "a confirmation before the deploy ran a trigger");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_post_trigger_call_survives_a_crash_and_a_rebuild_calls_nothing() {
    let Some(confirmed) = component("post-confirmation-log") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let log = log_path(dir.path());
    let f = flags(&log, "1000");
    let mut server = Server::start(dir.path(), &f.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let (pool, cid) = pool_and_client(&server, false).await;

    // The trigger fails: bob's call stays pending (retried with backoff) ...
    deploy(&server, &pool, "PostConfirmation", confirmed.clone(), "fail").await;
    sign_up(&server, &cid, "bob").await;
    confirm(&server, &cid, "bob").await;
    let failing = wait_lines(&log, "failing on purpose user=bob", 2).await;

    // ... across a crash; after the restart the fixed trigger makes it, with the same key.
    server.restart().await;
    let cursor = dir.path().join("trigger-cursor.json");
    let before = std::fs::read(&cursor).ok();
    deploy(&server, &pool, "PostConfirmation", confirmed, "").await;
    let done = wait_lines(&log, "confirmed user=bob", 1).await;
    assert_eq!(key(&done[0]), key(&failing[0]));
    // The runner saves its progress just after the call returns; a kill before that save would
    // make the call again (at-least-once, same key), which is not what this test is about.
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read(&cursor).ok() == before {
        assert!(Instant::now() < deadline, "the trigger runner never saved its progress past bob's call");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    // Restart and rebuild: the queue is replayed byte for byte, nothing is called again.
    server.kill9();
    let (before, after, _) = server.rebuild();
    assert_eq!(before, after, "rebuild reproduces the projections, trigger queue included");
    server.restart().await;
    sign_up(&server, &cid, "carol").await;
    confirm(&server, &cid, "carol").await;
    wait_lines(&log, "confirmed user=carol", 1).await;
    assert_eq!(trigger_log(&log).iter().filter(|l| l.contains("confirmed user=bob")).count(), 1, "bob's call was made again");
}
