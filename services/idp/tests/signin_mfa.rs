//! Sign-in protection and MFA over real gRPC (the `SignIn` service next to `Users`): lockout
//! with growing delays, per-source throttling (gRPC and Cognito JSON share it), the pool's MFA
//! configuration, TOTP association/verification and the SOFTWARE_TOKEN_MFA challenge (a code
//! accepted once), EMAIL_OTP and SMS_MFA through the message sender, NEW_PASSWORD_REQUIRED after
//! AdminCreateUser, MFA_SETUP by session, AdminInitiateAuth, and sessions that are single-use,
//! bound to their client and refused when forged.

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{attrs, expect_error, params, pool_and_client, Server, PASSWORD};
use idp_api::pb::{self, sign_in_client::SignInClient};
use tonic::transport::Channel;
use tonic::Code;

async fn sign_in_client(server: &Server) -> SignInClient<Channel> {
    SignInClient::connect(format!("http://127.0.0.1:{}", server.grpc)).await.expect("connect sign-in")
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The TOTP code `steps` steps from now.
fn totp(secret: &str, steps: i64) -> String {
    idp_crypto::totp::code_at(secret, (now_secs() as i64 + 30 * steps) as u64).expect("totp")
}

async fn confirmed_user(server: &Server, client_id: &str, name: &str) {
    let mut users = server.users().await;
    users
        .sign_up(pb::SignUpRequest {
            client_id: client_id.into(),
            username: name.into(),
            password: PASSWORD.into(),
            user_attributes: attrs(&[("email", &format!("{name}@example.com"))]),
            ..Default::default()
        })
        .await
        .expect("sign up");
    let code = server.code_for(name, "SIGN_UP").await;
    users
        .confirm_sign_up(pb::ConfirmSignUpRequest { client_id: client_id.into(), username: name.into(), confirmation_code: code, ..Default::default() })
        .await
        .expect("confirm");
}

async fn password_auth(server: &Server, client_id: &str, name: &str, password: &str) -> Result<pb::InitiateAuthResponse, tonic::Status> {
    let mut users = server.users().await;
    users
        .initiate_auth(pb::InitiateAuthRequest {
            client_id: client_id.into(),
            auth_flow: "USER_PASSWORD_AUTH".into(),
            auth_parameters: params(&[("USERNAME", name), ("PASSWORD", password)]),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

async fn respond(
    server: &Server,
    client_id: &str,
    challenge: &str,
    session: &str,
    responses: &[(&str, &str)],
) -> Result<pb::InitiateAuthResponse, tonic::Status> {
    let mut users = server.users().await;
    users
        .respond_to_auth_challenge(pb::RespondToAuthChallengeRequest {
            client_id: client_id.into(),
            challenge_name: challenge.into(),
            challenge_responses: params(responses),
            session: session.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_grows_and_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]).await;
    let (_pool, cid) = pool_and_client(&server, false).await;
    confirmed_user(&server, &cid, "lou").await;
    for _ in 0..5 {
        expect_error(password_auth(&server, &cid, "lou", "Wr0ng-Password").await, "NotAuthorizedException", Code::Unauthenticated);
    }
    // The sixth failure locks for 1 s: the right password is refused meanwhile.
    expect_error(password_auth(&server, &cid, "lou", "Wr0ng-Password").await, "NotAuthorizedException", Code::Unauthenticated);
    let locked_at = Instant::now();
    let err = password_auth(&server, &cid, "lou", PASSWORD).await.expect_err("locked");
    assert!(err.message().contains("Password attempts exceeded"), "{err:?}");
    // After the lock: one more failure locks for 2 s.
    tokio::time::sleep(Duration::from_millis(1100).saturating_sub(locked_at.elapsed())).await;
    expect_error(password_auth(&server, &cid, "lou", "Wr0ng-Password").await, "NotAuthorizedException", Code::Unauthenticated);
    // (the exact doubling is checked with a controlled clock in the domain tests)
    let err = password_auth(&server, &cid, "lou", PASSWORD).await.expect_err("locked again, now for 2 s");
    assert!(err.message().contains("Password attempts exceeded"), "{err:?}");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let ok = password_auth(&server, &cid, "lou", PASSWORD).await.expect("lock over");
    assert!(ok.authentication_result.is_some());
    // The success cleared the streak: a single failure does not lock.
    expect_error(password_auth(&server, &cid, "lou", "Wr0ng-Password").await, "NotAuthorizedException", Code::Unauthenticated);
    assert!(password_auth(&server, &cid, "lou", PASSWORD).await.expect("not locked").authentication_result.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_email_otp_setup_and_sessions_over_grpc() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]).await;
    let (pool, cid) = pool_and_client(&server, false).await;
    let admin = server.admin().await;
    let mut sign_in = sign_in_client(&server).await;

    // pool configuration
    let cfg = sign_in.get_user_pool_mfa_config(admin.req(pb::GetUserPoolMfaConfigRequest { user_pool_id: pool.clone() })).await.expect("get").into_inner();
    assert_eq!(cfg.mfa_configuration, "OFF");
    expect_error(
        sign_in.get_user_pool_mfa_config(pb::GetUserPoolMfaConfigRequest { user_pool_id: pool.clone() }).await,
        "UnrecognizedClientException",
        Code::Unauthenticated,
    );
    let cfg = sign_in
        .set_user_pool_mfa_config(admin.req(pb::SetUserPoolMfaConfigRequest {
            user_pool_id: pool.clone(),
            mfa_configuration: "OPTIONAL".into(),
            software_token_enabled: Some(true),
            email_enabled: Some(true),
            ..Default::default()
        }))
        .await
        .expect("set")
        .into_inner();
    assert!(cfg.software_token_enabled && cfg.email_enabled);

    // TOTP by access token
    confirmed_user(&server, &cid, "tom").await;
    let tokens = password_auth(&server, &cid, "tom", PASSWORD).await.expect("sign in").authentication_result.expect("tokens");
    let access = tokens.access_token;
    let secret = sign_in
        .associate_software_token(pb::AssociateSoftwareTokenRequest { access_token: access.clone(), ..Default::default() })
        .await
        .expect("associate")
        .into_inner()
        .secret_code;
    expect_error(
        sign_in.verify_software_token(pb::VerifySoftwareTokenRequest { access_token: access.clone(), user_code: "123456".into(), ..Default::default() }).await,
        "EnableSoftwareTokenMFAException",
        Code::InvalidArgument,
    );
    sign_in
        .verify_software_token(pb::VerifySoftwareTokenRequest { access_token: access.clone(), user_code: totp(&secret, 0), ..Default::default() })
        .await
        .expect("verify");
    let me = server.users().await.get_user(pb::AccessTokenRequest { access_token: access.clone() }).await.expect("get user").into_inner();
    assert_eq!(me.user_mfa_setting_list, vec!["SOFTWARE_TOKEN_MFA".to_string()]);
    let ch = password_auth(&server, &cid, "tom", PASSWORD).await.expect("challenge");
    assert_eq!(ch.challenge_name, "SOFTWARE_TOKEN_MFA");
    // a forged session, another client's use, then the right answer
    expect_error(
        respond(&server, &cid, "SOFTWARE_TOKEN_MFA", &format!("{}x", ch.session), &[("USERNAME", "tom"), ("SOFTWARE_TOKEN_MFA_CODE", &totp(&secret, 1))]).await,
        "NotAuthorizedException",
        Code::Unauthenticated,
    );
    let code = totp(&secret, 1);
    let ok = respond(&server, &cid, "SOFTWARE_TOKEN_MFA", &ch.session, &[("USERNAME", "tom"), ("SOFTWARE_TOKEN_MFA_CODE", &code)]).await.expect("mfa");
    assert!(ok.authentication_result.is_some());
    expect_error(
        respond(&server, &cid, "SOFTWARE_TOKEN_MFA", &ch.session, &[("USERNAME", "tom"), ("SOFTWARE_TOKEN_MFA_CODE", &code)]).await,
        "NotAuthorizedException",
        Code::Unauthenticated,
    );
    let ch = password_auth(&server, &cid, "tom", PASSWORD).await.expect("challenge");
    expect_error(
        respond(&server, &cid, "SOFTWARE_TOKEN_MFA", &ch.session, &[("USERNAME", "tom"), ("SOFTWARE_TOKEN_MFA_CODE", &code)]).await,
        "CodeMismatchException",
        Code::InvalidArgument,
    );

    // EMAIL_OTP set by the admin
    confirmed_user(&server, &cid, "eve").await;
    sign_in
        .admin_set_user_mfa_preference(admin.req(pb::AdminSetUserMfaPreferenceRequest {
            user_pool_id: pool.clone(),
            username: "eve".into(),
            email: Some(pb::MfaMethodPreference { enabled: Some(true), preferred: Some(true) }),
            ..Default::default()
        }))
        .await
        .expect("admin preference");
    let ch = password_auth(&server, &cid, "eve", PASSWORD).await.expect("challenge");
    assert_eq!(ch.challenge_name, "EMAIL_OTP");
    assert_eq!(ch.challenge_parameters.get("CODE_DELIVERY_DELIVERY_MEDIUM").map(String::as_str), Some("EMAIL"));
    let code = server.code_for("eve", "MFA").await;
    let ok = respond(&server, &cid, "EMAIL_OTP", &ch.session, &[("USERNAME", "eve"), ("EMAIL_OTP_CODE", &code)]).await.expect("email otp");
    assert!(ok.authentication_result.is_some());
    let text = std::fs::read_to_string(dir.path().join("outbox.jsonl")).expect("outbox");
    assert!(text.contains("Your authentication code is"), "the MFA message text");

    // MFA ON + ADMIN_USER_PASSWORD_AUTH: MFA_SETUP by session
    sign_in
        .set_user_pool_mfa_config(admin.req(pb::SetUserPoolMfaConfigRequest {
            user_pool_id: pool.clone(),
            mfa_configuration: "ON".into(),
            software_token_enabled: Some(true),
            email_enabled: Some(false),
            ..Default::default()
        }))
        .await
        .expect("on");
    let mut admin_api = server.admin().await;
    let admin_client = admin_api
        .client
        .create_user_pool_client(admin_api.req(pb::CreateUserPoolClientRequest {
            user_pool_id: pool.clone(),
            client_name: "backend".into(),
            explicit_auth_flows: vec!["ALLOW_ADMIN_USER_PASSWORD_AUTH".into()],
            ..Default::default()
        }))
        .await
        .expect("client")
        .into_inner()
        .client_id;
    confirmed_user(&server, &cid, "sam").await;
    let admin_auth = |flow: &str| {
        admin.req(pb::AdminInitiateAuthRequest {
            user_pool_id: pool.clone(),
            client_id: admin_client.clone(),
            auth_flow: flow.into(),
            auth_parameters: params(&[("USERNAME", "sam"), ("PASSWORD", PASSWORD)]),
            ..Default::default()
        })
    };
    expect_error(sign_in.admin_initiate_auth(pb::AdminInitiateAuthRequest::default()).await, "UnrecognizedClientException", Code::Unauthenticated);
    let ch = sign_in.admin_initiate_auth(admin_auth("ADMIN_USER_PASSWORD_AUTH")).await.expect("admin auth").into_inner();
    assert_eq!(ch.challenge_name, "MFA_SETUP");
    let assoc = sign_in
        .associate_software_token(pb::AssociateSoftwareTokenRequest { session: ch.session.clone(), ..Default::default() })
        .await
        .expect("associate by session")
        .into_inner();
    let verified = sign_in
        .verify_software_token(pb::VerifySoftwareTokenRequest { session: assoc.session.clone(), user_code: totp(&assoc.secret_code, 0), ..Default::default() })
        .await
        .expect("verify by session")
        .into_inner();
    // the session of the association step is spent by the verification
    expect_error(
        sign_in.associate_software_token(pb::AssociateSoftwareTokenRequest { session: assoc.session.clone(), ..Default::default() }).await,
        "NotAuthorizedException",
        Code::Unauthenticated,
    );
    // the MFA_SETUP answer must come through a client of the session
    expect_error(respond(&server, &cid, "MFA_SETUP", &verified.session, &[("USERNAME", "sam")]).await, "NotAuthorizedException", Code::Unauthenticated);
    let ok = sign_in
        .admin_respond_to_auth_challenge(admin.req(pb::AdminRespondToAuthChallengeRequest {
            user_pool_id: pool.clone(),
            client_id: admin_client.clone(),
            challenge_name: "MFA_SETUP".into(),
            challenge_responses: params(&[("USERNAME", "sam")]),
            session: verified.session.clone(),
            ..Default::default()
        }))
        .await
        .expect("setup done")
        .into_inner();
    assert!(ok.authentication_result.is_some());
    let ch = sign_in.admin_initiate_auth(admin_auth("ADMIN_USER_PASSWORD_AUTH")).await.expect("again").into_inner();
    assert_eq!(ch.challenge_name, "SOFTWARE_TOKEN_MFA");
    // USER_PASSWORD_AUTH is not allowed for the backend client, ADMIN_ is not for the app client
    expect_error(password_auth(&server, &admin_client, "sam", PASSWORD).await, "InvalidParameterException", Code::InvalidArgument);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_are_throttled_per_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &["--attempts-per-source", "1", "--throttle-loopback"]).await;
    let (_pool, cid) = pool_and_client(&server, false).await;
    // A burst of 2 (twice the rate): of 10 attempts sent at once, most are refused before any
    // password is checked (sent together so that slow machines cannot refill the bucket).
    let attempts = (0..10).map(|_| password_auth(&server, &cid, "nobody", "Wr0ng-Password"));
    let refused = futures::future::join_all(attempts)
        .await
        .into_iter()
        .filter(|r| match r {
            Err(s) if common::error_name(s) == "TooManyRequestsException" => {
                assert_eq!(s.code(), Code::ResourceExhausted);
                true
            }
            _ => false,
        })
        .count();
    assert!(refused >= 5, "only {refused} of 10 simultaneous attempts were throttled");
    // Cognito JSON shares the limiter (same source address).
    let resp = reqwest::Client::new()
        .post(server.http("/"))
        .header("X-Amz-Target", "AWSCognitoIdentityProviderService.InitiateAuth")
        .header("Content-Type", "application/x-amz-json-1.1")
        .body(serde_json::json!({"ClientId": cid, "AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": {"USERNAME": "nobody", "PASSWORD": "x"}}).to_string())
        .send()
        .await
        .expect("post");
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["__type"], "TooManyRequestsException", "{body}");
    // After a second the source may try again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    expect_error(password_auth(&server, &cid, "nobody", "Wr0ng-Password").await, "UserNotFoundException", Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_mfa_code_goes_by_sms_and_counts_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]).await;
    let (pool, cid) = pool_and_client(&server, false).await;
    let admin = server.admin().await;
    let mut sign_in = sign_in_client(&server).await;
    sign_in
        .set_user_pool_mfa_config(admin.req(pb::SetUserPoolMfaConfigRequest {
            user_pool_id: pool.clone(),
            mfa_configuration: "OPTIONAL".into(),
            sms_enabled: Some(true),
            sms_message: "Your sign-in code is {####}".into(),
            ..Default::default()
        }))
        .await
        .expect("sms mfa on");
    let mut users = server.users().await;
    users
        .sign_up(pb::SignUpRequest {
            client_id: cid.clone(),
            username: "sid".into(),
            password: PASSWORD.into(),
            user_attributes: attrs(&[("email", "sid@example.com"), ("phone_number", "+15550001234")]),
            ..Default::default()
        })
        .await
        .expect("sign up");
    let code = server.code_for("sid", "SIGN_UP").await;
    users
        .confirm_sign_up(pb::ConfirmSignUpRequest { client_id: cid.clone(), username: "sid".into(), confirmation_code: code, ..Default::default() })
        .await
        .expect("confirm");
    sign_in
        .admin_set_user_mfa_preference(admin.req(pb::AdminSetUserMfaPreferenceRequest {
            user_pool_id: pool.clone(),
            username: "sid".into(),
            sms: Some(pb::MfaMethodPreference { enabled: Some(true), preferred: Some(true) }),
            ..Default::default()
        }))
        .await
        .expect("sms preferred");
    let ch = password_auth(&server, &cid, "sid", PASSWORD).await.expect("challenge");
    assert_eq!(ch.challenge_name, "SMS_MFA");
    assert_eq!(ch.challenge_parameters.get("CODE_DELIVERY_DELIVERY_MEDIUM").map(String::as_str), Some("SMS"));
    assert_eq!(ch.challenge_parameters.get("CODE_DELIVERY_DESTINATION").map(String::as_str), Some("+*******1234"));
    server.code_for("sid", "MFA").await; // waits for the dispatcher
    let sms = server.messages().into_iter().rev().find(|m| m["username"] == "sid" && m["kind"] == "MFA").expect("an MFA message");
    assert_eq!(sms["channel"], "SMS");
    assert_eq!(sms["destination"], "+15550001234");
    let code = sms["code"].as_str().expect("code").to_string();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    assert_eq!(sms["text"], format!("Your sign-in code is {code}"), "the pool's SmsAuthenticationMessage, {{####}} replaced");
    expect_error(
        respond(&server, &cid, "SMS_MFA", &ch.session, &[("USERNAME", "sid"), ("SMS_MFA_CODE", "000000")]).await,
        "CodeMismatchException",
        Code::InvalidArgument,
    );
    // As on Cognito, a wrong code leaves the session usable: the right code on the same session
    // signs in, and then the session is spent.
    let ok = respond(&server, &cid, "SMS_MFA", &ch.session, &[("USERNAME", "sid"), ("SMS_MFA_CODE", &code)]).await.expect("retry on the same session");
    assert!(ok.authentication_result.is_some());
    expect_error(
        respond(&server, &cid, "SMS_MFA", &ch.session, &[("USERNAME", "sid"), ("SMS_MFA_CODE", &code)]).await,
        "NotAuthorizedException",
        Code::Unauthenticated,
    );
    // a new sign-in sends a new code
    let ch = password_auth(&server, &cid, "sid", PASSWORD).await.expect("challenge again");
    let deadline = Instant::now() + Duration::from_secs(10);
    let fresh = loop {
        let sent: Vec<_> = server.messages().into_iter().filter(|m| m["username"] == "sid" && m["kind"] == "MFA").collect();
        if sent.len() >= 2 {
            break sent[sent.len() - 1]["code"].as_str().expect("code").to_string();
        }
        assert!(Instant::now() < deadline, "no second MFA code was sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let ok = respond(&server, &cid, "SMS_MFA", &ch.session, &[("USERNAME", "sid"), ("SMS_MFA_CODE", &fresh)]).await.expect("sms mfa");
    assert!(ok.authentication_result.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_password_required_after_admin_create_user() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]).await;
    let (pool, cid) = pool_and_client(&server, false).await;
    let admin = server.admin().await;
    let mut admin_users =
        idp_api::pb::admin_users_client::AdminUsersClient::connect(format!("http://127.0.0.1:{}", server.grpc)).await.expect("connect admin users");
    admin_users
        .admin_create_user(admin.req(pb::AdminCreateUserRequest {
            user_pool_id: pool.clone(),
            username: "nina".into(),
            user_attributes: attrs(&[("email", "nina@example.com")]),
            temporary_password: Some("Temp-Passw0rd-1".into()),
            message_action: "SUPPRESS".into(),
            ..Default::default()
        }))
        .await
        .expect("admin create user");
    let ch = password_auth(&server, &cid, "nina", "Temp-Passw0rd-1").await.expect("challenge");
    assert_eq!(ch.challenge_name, "NEW_PASSWORD_REQUIRED");
    expect_error(
        respond(&server, &cid, "NEW_PASSWORD_REQUIRED", &ch.session, &[("USERNAME", "nina"), ("NEW_PASSWORD", "short")]).await,
        "InvalidPasswordException",
        Code::InvalidArgument,
    );
    let ok = respond(&server, &cid, "NEW_PASSWORD_REQUIRED", &ch.session, &[("USERNAME", "nina"), ("NEW_PASSWORD", PASSWORD)]).await.expect("answer");
    assert!(ok.authentication_result.is_some());
    expect_error(
        respond(&server, &cid, "NEW_PASSWORD_REQUIRED", &ch.session, &[("USERNAME", "nina"), ("NEW_PASSWORD", "Another-Passw0rd-2")]).await,
        "NotAuthorizedException",
        Code::Unauthenticated,
    );
    assert!(password_auth(&server, &cid, "nina", PASSWORD).await.expect("new password").authentication_result.is_some());
    expect_error(password_auth(&server, &cid, "nina", "Temp-Passw0rd-1").await, "NotAuthorizedException", Code::Unauthenticated);
}
