//! CUSTOM_AUTH end to end with real compiled DefineAuthChallenge / CreateAuthChallenge /
//! VerifyAuthChallengeResponse components, over gRPC and the Cognito JSON front: a question
//! whose answer only the sealed session knows; a wrong answer, then the right one; a replayed
//! or tampered session refused; too many wrong answers; hostile triggers stopped with the right
//! error and nothing written.

mod cognito_support;
mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use cognito_support::call;
use common::*;
use idp_api::pb::*;
use serde_json::json;
use tonic::Code;

fn component(name: &str) -> Option<Vec<u8>> {
    match idp_triggers::testing::example(name) {
        Ok(bytes) => bytes,
        Err(e) => panic!("building the example triggers: {e}"),
    }
}

const QUESTION: &str = r#"{"question": "Capital of France?", "answer": "Paris"}"#;

async fn deploy(server: &Server, pool: &str, kind: &str, component: Vec<u8>, config: &str, timeout_ms: u64, memory_limit_bytes: u64) {
    let mut admin = server.admin().await;
    let req = DeployTriggerRequest { user_pool_id: pool.into(), kind: kind.into(), component, config: config.into(), timeout_ms, memory_limit_bytes };
    admin.client.deploy_trigger(admin.req(req)).await.expect("deploy trigger");
}

/// A pool and a client allowing CUSTOM_AUTH (and password sign-in, to compare).
async fn custom_pool(server: &Server) -> (String, String) {
    let (pool, _) = pool_and_client(server, false).await;
    let mut admin = server.admin().await;
    let client = admin
        .client
        .create_user_pool_client(admin.req(CreateUserPoolClientRequest {
            user_pool_id: pool.clone(),
            client_name: "custom".into(),
            explicit_auth_flows: vec!["ALLOW_CUSTOM_AUTH".into(), "ALLOW_USER_PASSWORD_AUTH".into(), "ALLOW_REFRESH_TOKEN_AUTH".into()],
            ..Default::default()
        }))
        .await
        .expect("create client")
        .into_inner();
    (pool, client.client_id)
}

async fn confirmed_user(server: &Server, cid: &str, user: &str) {
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
}

fn start(cid: &str, user: &str) -> InitiateAuthRequest {
    InitiateAuthRequest { client_id: cid.into(), auth_flow: "CUSTOM_AUTH".into(), auth_parameters: params(&[("USERNAME", user)]), ..Default::default() }
}

fn answer(cid: &str, user: &str, answer: &str, session: &str) -> RespondToAuthChallengeRequest {
    RespondToAuthChallengeRequest {
        client_id: cid.into(),
        challenge_name: "CUSTOM_CHALLENGE".into(),
        challenge_responses: params(&[("USERNAME", user), ("ANSWER", answer)]),
        session: session.into(),
        ..Default::default()
    }
}

fn username_claim(jwt: &str) -> String {
    let part = jwt.split('.').nth(1).expect("jwt payload");
    let v: serde_json::Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("b64")).expect("json");
    v["cognito:username"].as_str().unwrap_or_default().to_string()
}

async fn deploy_question(server: &Server, pool: &str) -> bool {
    let (Some(define), Some(create), Some(verify)) = (component("define-challenge"), component("create-challenge"), component("verify-challenge")) else {
        return false;
    };
    deploy(server, pool, "DefineAuthChallenge", define, "3", 0, 0).await;
    deploy(server, pool, "CreateAuthChallenge", create, QUESTION, 0, 0).await;
    deploy(server, pool, "VerifyAuthChallengeResponse", verify, "", 0, 0).await;
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_auth_question_over_grpc() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), Server::FAST_HASH).await;
    let (pool, cid) = custom_pool(&server).await;
    confirmed_user(&server, &cid, "alice").await;
    let mut users = server.users().await;

    // No DefineAuthChallenge yet: refused.
    expect_error(users.initiate_auth(start(&cid, "alice")).await, "InvalidParameterException", Code::InvalidArgument);
    if !deploy_question(&server, &pool).await {
        return;
    }

    // The challenge: public question, USERNAME, a sealed session without the answer in it.
    let c = users.initiate_auth(start(&cid, "alice")).await.expect("initiate").into_inner();
    assert_eq!(c.challenge_name, "CUSTOM_CHALLENGE");
    assert_eq!(c.challenge_parameters.get("question").map(String::as_str), Some("Capital of France?"));
    assert_eq!(c.challenge_parameters.get("USERNAME").map(String::as_str), Some("alice"));
    assert!(c.authentication_result.is_none() && !c.session.is_empty());
    assert!(!c.session.contains("Paris") && !c.challenge_parameters.values().any(|v| v.contains("Paris")));

    assert!(!c.challenge_parameters.contains_key("locale"), "no ClientMetadata, nothing echoed");

    // Wrong answer: another challenge, with a new session. The call's ClientMetadata reaches
    // CreateAuthChallenge (the example echoes a `locale`).
    let mut wrong = answer(&cid, "alice", "Lyon", &c.session);
    wrong.client_metadata = params(&[("locale", "fr")]);
    let second = users.respond_to_auth_challenge(wrong).await.expect("wrong answer").into_inner();
    assert_eq!(second.challenge_name, "CUSTOM_CHALLENGE");
    assert_eq!(second.challenge_parameters.get("locale").map(String::as_str), Some("fr"));
    assert!(second.authentication_result.is_none());
    assert_ne!(second.session, c.session);

    // The first session again (replayed), even with the right answer: refused.
    expect_error(users.respond_to_auth_challenge(answer(&cid, "alice", "Paris", &c.session)).await, "NotAuthorizedException", Code::Unauthenticated);
    // A tampered session: refused.
    let mut tampered = second.session.clone().into_bytes();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    expect_error(users.respond_to_auth_challenge(answer(&cid, "alice", "Paris", &tampered)).await, "NotAuthorizedException", Code::Unauthenticated);
    // Another user's name with this session: refused.
    expect_error(users.respond_to_auth_challenge(answer(&cid, "bob", "Paris", &second.session)).await, "NotAuthorizedException", Code::Unauthenticated);

    // The right answer: tokens for alice. Then this session is spent too.
    let done = users.respond_to_auth_challenge(answer(&cid, "alice", " Paris ", &second.session)).await.expect("right answer").into_inner();
    let tokens = done.authentication_result.expect("tokens");
    assert_eq!(username_claim(&tokens.id_token), "alice");
    assert!(!tokens.refresh_token.is_empty());
    expect_error(users.respond_to_auth_challenge(answer(&cid, "alice", "Paris", &second.session)).await, "NotAuthorizedException", Code::Unauthenticated);

    // Three wrong answers: the third fails the sign-in.
    let mut session = users.initiate_auth(start(&cid, "alice")).await.expect("initiate").into_inner().session;
    for round in 1..=3 {
        let r = users.respond_to_auth_challenge(answer(&cid, "alice", "Marseille", &session)).await;
        if round < 3 {
            session = r.expect("another challenge").into_inner().session;
        } else {
            expect_error(r, "NotAuthorizedException", Code::Unauthenticated);
        }
    }

    // Unknown user (existence errors not prevented): UserNotFoundException.
    expect_error(users.initiate_auth(start(&cid, "nobody")).await, "UserNotFoundException", Code::NotFound);
    // The flow must be allowed for the client.
    let (_, password_only) = pool_and_client(&server, false).await;
    assert!(users.initiate_auth(start(&password_only, "alice")).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_auth_over_cognito_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), Server::FAST_HASH).await;
    let (pool, cid) = custom_pool(&server).await;
    confirmed_user(&server, &cid, "alice").await;
    if !deploy_question(&server, &pool).await {
        return;
    }
    let http = reqwest::Client::new();
    let endpoint = server.http("/");
    let (status, _, c) = call(
        &http,
        &endpoint,
        "InitiateAuth",
        &json!({"ClientId": cid, "AuthFlow": "CUSTOM_AUTH", "AuthParameters": {"USERNAME": "alice"}, "ClientMetadata": {"locale": "de"}}),
    )
    .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["ChallengeName"], "CUSTOM_CHALLENGE");
    assert_eq!(c["ChallengeParameters"]["question"], "Capital of France?");
    assert_eq!(c["ChallengeParameters"]["locale"], "de", "ClientMetadata reaches CreateAuthChallenge");
    let session = c["Session"].as_str().expect("session").to_string();
    let respond = |answer: &str, session: &str| json!({"ClientId": cid, "ChallengeName": "CUSTOM_CHALLENGE", "Session": session, "ChallengeResponses": {"USERNAME": "alice", "ANSWER": answer}});
    let (status, _, done) = call(&http, &endpoint, "RespondToAuthChallenge", &respond("Paris", &session)).await;
    assert_eq!(status, 200, "{done}");
    assert!(done["AuthenticationResult"]["IdToken"].is_string(), "{done}");
    let (status, _, again) = call(&http, &endpoint, "RespondToAuthChallenge", &respond("Paris", &session)).await;
    assert_eq!(status, 400, "{again}");
    assert_eq!(cognito_support::error_type(&again), "NotAuthorizedException", "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_challenge_triggers_fail_cleanly() {
    let (Some(define), Some(hostile), Some(verify)) = (component("define-challenge"), component("hostile-challenge"), component("verify-challenge")) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), Server::FAST_HASH).await;
    let (pool, cid) = custom_pool(&server).await;
    confirmed_user(&server, &cid, "alice").await;
    deploy(&server, &pool, "DefineAuthChallenge", define, "3", 0, 0).await;
    deploy(&server, &pool, "VerifyAuthChallengeResponse", verify, "", 0, 0).await;
    let mut users = server.users().await;
    for (config, timeout_ms, memory, expected) in [
        ("loop", 200, 0, "UnexpectedLambdaException"),
        ("memory", 0, 16 << 20, "UnexpectedLambdaException"),
        ("trap", 0, 0, "UnexpectedLambdaException"),
        ("huge", 0, 0, "InvalidLambdaResponseException"),
    ] {
        deploy(&server, &pool, "CreateAuthChallenge", hostile.clone(), config, timeout_ms, memory).await;
        let started = Instant::now();
        let r = users.initiate_auth(start(&cid, "alice")).await;
        let took = started.elapsed();
        match &r {
            Err(s) => assert_eq!(error_name(s), expected, "{config}: {s:?}"),
            Ok(v) => panic!("{config}: expected {expected}, got {v:?}"),
        }
        if config == "loop" {
            assert!(took < Duration::from_millis(200 + 500), "the looping trigger ran {took:?}");
        }
    }
    // Nothing was written: the user still signs in with a password, and a sane trigger works.
    let password = InitiateAuthRequest {
        client_id: cid.clone(),
        auth_flow: "USER_PASSWORD_AUTH".into(),
        auth_parameters: params(&[("USERNAME", "alice"), ("PASSWORD", PASSWORD)]),
        ..Default::default()
    };
    users.initiate_auth(password).await.expect("password sign-in");
    let Some(create) = component("create-challenge") else { return };
    deploy(&server, &pool, "CreateAuthChallenge", create, QUESTION, 0, 0).await;
    let c = users.initiate_auth(start(&cid, "alice")).await.expect("initiate").into_inner();
    let done = users.respond_to_auth_challenge(answer(&cid, "alice", "Paris", &c.session)).await.expect("answer").into_inner();
    assert!(done.authentication_result.is_some());
}
