//! Request ids make retries idempotent: a call repeated with the same `x-idp-request-id` (gRPC)
//! or the same `amz-sdk-invocation-id` (Cognito JSON: what the AWS SDKs send, unchanged across
//! the retries of one call) gets the original answer and writes nothing more, for every user
//! write. The same calls without a request id show that the repeat would otherwise be refused or
//! repeated.

mod common;

use std::time::Duration;

use common::*;
use idp_api::pb::*;
use serde_json::{json, Value};

fn with_rid<T>(msg: T, rid: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut().insert("x-idp-request-id", rid.parse().expect("ascii"));
    r
}

fn count(server: &Server, username: &str, kind: &str) -> usize {
    server.messages().iter().filter(|m| m["username"] == username && m["kind"] == kind).count()
}

/// Waits until `n` messages of `kind` went to `username`, lets the dispatcher drain (a message a
/// repeat wrongly caused would then be in the outbox too), checks there are exactly `n`, and
/// returns the latest code.
async fn nth_code(server: &Server, username: &str, kind: &str, n: usize) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while count(server, username, kind) < n {
        assert!(std::time::Instant::now() < deadline, "fewer than {n} {kind} messages for {username}: {:?}", server.messages());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(count(server, username, kind), n, "{kind} messages for {username}: {:?}", server.messages());
    server.code_for(username, kind).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_user_writes_with_a_request_id_are_answered_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), Server::FAST_HASH).await;
    let (_pool, cid) = pool_and_client(&server, false).await;
    let mut users = server.users().await;
    let sign_up = || SignUpRequest {
        client_id: cid.clone(),
        username: "rita".into(),
        password: PASSWORD.into(),
        user_attributes: attrs(&[("email", "rita@example.com")]),
        ..Default::default()
    };

    // SignUp: the repeat returns the same sub; a new request id is a new (refused) sign-up.
    let first = users.sign_up(with_rid(sign_up(), "su-1")).await.expect("sign up").into_inner();
    let again = users.sign_up(with_rid(sign_up(), "su-1")).await.expect("repeated sign up").into_inner();
    assert_eq!(first.user_sub, again.user_sub);
    assert_eq!(first.code_delivery_details, again.code_delivery_details);
    expect_error(users.sign_up(with_rid(sign_up(), "su-2")).await, "UsernameExistsException", tonic::Code::AlreadyExists);

    // ResendConfirmationCode: the repeat sends nothing and answers the same delivery.
    let resend = || ResendConfirmationCodeRequest { client_id: cid.clone(), username: "rita".into(), ..Default::default() };
    let d1 = users.resend_confirmation_code(with_rid(resend(), "rs-1")).await.expect("resend").into_inner();
    let d2 = users.resend_confirmation_code(with_rid(resend(), "rs-1")).await.expect("repeated resend").into_inner();
    assert_eq!(d1.code_delivery_details, d2.code_delivery_details);
    assert!(d1.code_delivery_details.is_some());
    // Sign-up + one resend.
    let code = nth_code(&server, "rita", "SIGN_UP", 2).await;

    // ConfirmSignUp: the repeat succeeds; without a request id it would be refused.
    let confirm = || ConfirmSignUpRequest { client_id: cid.clone(), username: "rita".into(), confirmation_code: code.clone(), ..Default::default() };
    users.confirm_sign_up(with_rid(confirm(), "cf-1")).await.expect("confirm");
    users.confirm_sign_up(with_rid(confirm(), "cf-1")).await.expect("repeated confirm answers the original success");
    expect_error(users.confirm_sign_up(confirm()).await, "NotAuthorizedException", tonic::Code::Unauthenticated);

    // ForgotPassword: one code for two calls; ConfirmForgotPassword: the repeat succeeds.
    let forgot = || ForgotPasswordRequest { client_id: cid.clone(), username: "rita".into(), ..Default::default() };
    let f1 = users.forgot_password(with_rid(forgot(), "fp-1")).await.expect("forgot").into_inner();
    let f2 = users.forgot_password(with_rid(forgot(), "fp-1")).await.expect("repeated forgot").into_inner();
    assert_eq!(f1.code_delivery_details, f2.code_delivery_details);
    let reset = nth_code(&server, "rita", "FORGOT_PASSWORD", 1).await;
    let new_password = "N3w-Horse-Battery!";
    let confirm_forgot = || ConfirmForgotPasswordRequest {
        client_id: cid.clone(),
        username: "rita".into(),
        confirmation_code: reset.clone(),
        password: new_password.into(),
        ..Default::default()
    };
    users.confirm_forgot_password(with_rid(confirm_forgot(), "cfp-1")).await.expect("confirm forgot");
    users.confirm_forgot_password(with_rid(confirm_forgot(), "cfp-1")).await.expect("repeated confirm forgot");
    expect_error(users.confirm_forgot_password(confirm_forgot()).await, "ExpiredCodeException", tonic::Code::InvalidArgument);

    let tokens = users
        .initiate_auth(InitiateAuthRequest {
            client_id: cid.clone(),
            auth_flow: "USER_PASSWORD_AUTH".into(),
            auth_parameters: params(&[("USERNAME", "rita"), ("PASSWORD", new_password)]),
            ..Default::default()
        })
        .await
        .expect("sign in")
        .into_inner()
        .authentication_result
        .expect("tokens");
    let access = tokens.access_token.clone();

    // ChangePassword: the repeat succeeds (the previous password no longer matches by then).
    let change = || ChangePasswordRequest { access_token: access.clone(), previous_password: new_password.into(), proposed_password: PASSWORD.into() };
    users.change_password(with_rid(change(), "cp-1")).await.expect("change password");
    users.change_password(with_rid(change(), "cp-1")).await.expect("repeated change password");
    expect_error(users.change_password(change()).await, "NotAuthorizedException", tonic::Code::Unauthenticated);

    // UpdateUserAttributes + GetUserAttributeVerificationCode: one code each, same answers.
    let update =
        || UpdateUserAttributesRequest { access_token: access.clone(), user_attributes: attrs(&[("email", "rita2@example.com")]), ..Default::default() };
    let u1 = users.update_user_attributes(with_rid(update(), "ua-1")).await.expect("update").into_inner();
    let u2 = users.update_user_attributes(with_rid(update(), "ua-1")).await.expect("repeated update").into_inner();
    assert_eq!(u1.code_delivery_details_list, u2.code_delivery_details_list);
    assert_eq!(u1.code_delivery_details_list.len(), 1, "the new email needs verifying");
    let verify_code = || GetUserAttributeVerificationCodeRequest { access_token: access.clone(), attribute_name: "email".into(), ..Default::default() };
    let v1 = users.get_user_attribute_verification_code(with_rid(verify_code(), "vc-1")).await.expect("code").into_inner();
    let v2 = users.get_user_attribute_verification_code(with_rid(verify_code(), "vc-1")).await.expect("repeated code").into_inner();
    assert_eq!(v1.code_delivery_details, v2.code_delivery_details);
    // The update's code + one explicit request.
    let attr_code = nth_code(&server, "rita", "VERIFY_ATTRIBUTE", 2).await;
    let verify = || VerifyUserAttributeRequest { access_token: access.clone(), attribute_name: "email".into(), code: attr_code.clone() };
    users.verify_user_attribute(with_rid(verify(), "va-1")).await.expect("verify");
    users.verify_user_attribute(with_rid(verify(), "va-1")).await.expect("repeated verify");

    // The repeats wrote nothing: a rebuild reproduces the projections.
    drop(users);
    let mut server = server;
    server.kill9();
    let (before, after, _) = server.rebuild();
    assert_eq!(before, after);
}

/// The Cognito JSON front takes the AWS SDKs' `amz-sdk-invocation-id` as the request id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cognito_json_retries_with_one_invocation_id_are_answered_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), Server::FAST_HASH).await;
    let (_pool, cid) = pool_and_client(&server, false).await;
    let http = reqwest::Client::new();
    let call = |op: &'static str, body: Value, invocation: Option<&'static str>| {
        let mut req = http
            .post(server.http("/"))
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", format!("AWSCognitoIdentityProviderService.{op}"))
            .body(body.to_string());
        if let Some(id) = invocation {
            req = req.header("amz-sdk-invocation-id", id);
        }
        async move {
            let r = req.send().await.expect("send");
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let body = json!({"ClientId": cid, "Username": "otto", "Password": PASSWORD, "UserAttributes": [{"Name": "email", "Value": "otto@example.com"}]});
    let (s1, a) = call("SignUp", body.clone(), Some("6f1c9a52-0d1e-4c47-9a43-3d2f5e0f8b11")).await;
    let (s2, b) = call("SignUp", body.clone(), Some("6f1c9a52-0d1e-4c47-9a43-3d2f5e0f8b11")).await;
    assert_eq!((s1, s2), (200, 200), "{a} {b}");
    assert_eq!(a["UserSub"], b["UserSub"]);
    let (s3, c) = call("SignUp", body, Some("0b7e7c1e-7d59-4b1c-8d0e-6a1b2c3d4e5f")).await;
    assert_eq!((s3, c["__type"].as_str()), (400, Some("UsernameExistsException")));

    let code = server.code_for("otto", "SIGN_UP").await;
    let confirm = json!({"ClientId": cid, "Username": "otto", "ConfirmationCode": code});
    assert_eq!(call("ConfirmSignUp", confirm.clone(), Some("a3c1e0f2-1111-4b1c-8d0e-6a1b2c3d4e5f")).await.0, 200);
    assert_eq!(call("ConfirmSignUp", confirm.clone(), Some("a3c1e0f2-1111-4b1c-8d0e-6a1b2c3d4e5f")).await.0, 200);
    let (s, e) = call("ConfirmSignUp", confirm, None).await;
    assert_eq!((s, e["__type"].as_str()), (400, Some("NotAuthorizedException")));
}
