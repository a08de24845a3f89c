//! Sign-in and message triggers end to end over gRPC with real compiled components:
//! PreTokenGeneration (claims added/suppressed, group added, also on refresh), PreAuthentication
//! (a blocked user cannot sign in; a wrong password never reaches the trigger) and CustomMessage
//! (the confirmation email's subject and text come from the trigger, with the real code in it).

mod common;

use base64::Engine;
use common::*;
use idp_api::pb::*;
use tonic::Code;

fn component(name: &str) -> Option<Vec<u8>> {
    match idp_triggers::testing::example(name) {
        Ok(bytes) => bytes,
        Err(e) => panic!("building the example triggers: {e}"),
    }
}

fn payload(jwt: &str) -> serde_json::Value {
    let part = jwt.split('.').nth(1).expect("jwt payload");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("b64")).expect("json")
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

async fn confirmed_user(server: &Server, cid: &str, user: &str) {
    let mut users = server.users().await;
    let req = SignUpRequest {
        client_id: cid.into(),
        username: user.into(),
        password: PASSWORD.into(),
        user_attributes: attrs(&[("email", &format!("{user}@example.com")), ("name", "Secret Name")]),
        ..Default::default()
    };
    users.sign_up(req).await.expect("sign up");
    let code = server.code_for(user, "SIGN_UP").await;
    let req = ConfirmSignUpRequest { client_id: cid.into(), username: user.into(), confirmation_code: code, ..Default::default() };
    users.confirm_sign_up(req).await.expect("confirm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_claims_blocked_users_and_custom_messages() {
    let (Some(claims), Some(block), Some(message)) = (component("token-claims"), component("block-users"), component("custom-message")) else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), Server::FAST_HASH).await;
    let (pool, cid) = pool_and_client(&server, false).await;
    deploy(&server, &pool, "PreTokenGeneration", claims, r#"{"claims": {"tenant": "acme"}, "group": "beta-testers", "suppress": ["name"]}"#).await;
    deploy(&server, &pool, "PreAuthentication", block, "mallory").await;
    let templates = r#"{"SIGN_UP": {"subject": "Welcome to Acme", "email": "Hi {username}, your Acme code is {####}."},
        "RESEND_CODE": {"subject": "Your new Acme code", "email": "Again, {username}: {####} ({meta:app})"}}"#;
    deploy(&server, &pool, "CustomMessage", message, templates).await;

    // CustomMessage: the confirmation email is the trigger's, with the real code in it.
    confirmed_user(&server, &cid, "alice").await;
    let msg = server.messages().into_iter().find(|m| m["username"] == "alice").expect("alice's message");
    let code = msg["code"].as_str().unwrap_or_default().to_string();
    assert_eq!(msg["subject"], "Welcome to Acme");
    assert_eq!(msg["text"].as_str(), Some(format!("Hi alice, your Acme code is {code}.").as_str()));

    // PreTokenGeneration: custom claim and group, suppressed attribute; on refresh too.
    let mut users = server.users().await;
    let tokens = users.initiate_auth(sign_in(&cid, "alice", PASSWORD)).await.expect("sign in").into_inner().authentication_result.expect("tokens");
    let (id, access) = (payload(&tokens.id_token), payload(&tokens.access_token));
    assert_eq!(id["tenant"], "acme");
    assert_eq!(id["cognito:groups"], serde_json::json!(["beta-testers"]));
    assert_eq!(access["cognito:groups"], serde_json::json!(["beta-testers"]));
    assert!(id.get("name").is_none(), "suppressed claim present: {id}");
    assert_eq!(id["email"], "alice@example.com");
    let refresh = InitiateAuthRequest {
        client_id: cid.clone(),
        auth_flow: "REFRESH_TOKEN_AUTH".into(),
        auth_parameters: params(&[("REFRESH_TOKEN", &tokens.refresh_token)]),
        ..Default::default()
    };
    let refreshed = users.initiate_auth(refresh).await.expect("refresh").into_inner().authentication_result.expect("tokens");
    assert_eq!(payload(&refreshed.id_token)["tenant"], "acme");

    // CustomMessage on a resend: the trigger is told its source (ResendCode) and gets the
    // ClientMetadata of the request that issued the code, though the message goes out later.
    let req = SignUpRequest {
        client_id: cid.clone(),
        username: "bob".into(),
        password: PASSWORD.into(),
        user_attributes: attrs(&[("email", "bob@example.com")]),
        ..Default::default()
    };
    users.sign_up(req).await.expect("sign up bob");
    let resend = ResendConfirmationCodeRequest {
        client_id: cid.clone(),
        username: "bob".into(),
        client_metadata: [("app".to_string(), "ios".to_string())].into(),
        ..Default::default()
    };
    users.resend_confirmation_code(resend).await.expect("resend");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let resent = loop {
        if let Some(m) = server.messages().into_iter().find(|m| m["username"] == "bob" && m["subject"] == "Your new Acme code") {
            break m;
        }
        assert!(std::time::Instant::now() < deadline, "no resent message for bob: {:?}", server.messages());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let code = resent["code"].as_str().unwrap_or_default().to_string();
    assert_eq!(resent["text"].as_str(), Some(format!("Again, bob: {code} (ios)").as_str()));

    // PreAuthentication: mallory is blocked (with the trigger's message); a wrong password is
    // refused before the trigger runs.
    confirmed_user(&server, &cid, "mallory").await;
    let blocked = users.initiate_auth(sign_in(&cid, "mallory", PASSWORD)).await;
    match &blocked {
        Err(s) => assert!(s.message().contains("PreAuthentication failed with error User mallory is blocked"), "{s:?}"),
        Ok(_) => panic!("a blocked user signed in"),
    }
    expect_error(blocked, "UserLambdaValidationException", Code::InvalidArgument);
    expect_error(users.initiate_auth(sign_in(&cid, "mallory", "Wr0ng-Password!")).await, "NotAuthorizedException", Code::Unauthenticated);
    let mut admin = server.admin().await;
    admin.client.remove_trigger(admin.req(RemoveTriggerRequest { user_pool_id: pool.clone(), kind: "PreAuthentication".into() })).await.expect("remove");
    users.initiate_auth(sign_in(&cid, "mallory", PASSWORD)).await.expect("mallory signs in once unblocked");
}
