//! The seed flow end to end over real gRPC against the real binary.

mod common;

use base64::Engine;
use common::*;
use idp_api::pb::*;
use tonic::Code;

fn payload(jwt: &str) -> serde_json::Value {
    let part = jwt.split('.').nth(1).expect("jwt payload");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("b64")).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_flow_over_grpc() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path(), &[]).await;
    let mut admin = server.admin().await;

    // create pool -> client with secret
    let pool = admin
        .client
        .create_user_pool(admin.req(CreateUserPoolRequest { pool_name: "seed".into(), auto_verified_attributes: vec!["email".into()], ..Default::default() }))
        .await
        .expect("create pool")
        .into_inner();
    assert!(pool.id.starts_with("us-east-1_"), "{}", pool.id);
    let client = admin
        .client
        .create_user_pool_client(admin.req(CreateUserPoolClientRequest {
            user_pool_id: pool.id.clone(),
            client_name: "web".into(),
            generate_secret: true,
            explicit_auth_flows: vec!["ALLOW_USER_PASSWORD_AUTH".into(), "ALLOW_REFRESH_TOKEN_AUTH".into()],
            ..Default::default()
        }))
        .await
        .expect("create client")
        .into_inner();
    assert!(!client.client_secret.is_empty());
    let described = admin
        .client
        .describe_user_pool_client(admin.req(DescribeUserPoolClientRequest { user_pool_id: pool.id.clone(), client_id: client.client_id.clone() }))
        .await
        .expect("describe client")
        .into_inner();
    assert_eq!(described.client_secret, client.client_secret);
    let sh = |u: &str| idp_crypto::secret_hash::secret_hash(&client.client_secret, u, &client.client_id);
    let cid = client.client_id.clone();

    let mut users = server.users().await;
    // sign-up with email + phone attributes
    let up = users
        .sign_up(SignUpRequest {
            client_id: cid.clone(),
            secret_hash: sh("alice"),
            username: "alice".into(),
            password: PASSWORD.into(),
            user_attributes: attrs(&[("email", "alice@example.com"), ("phone_number", "+12065551234")]),
            validation_data: vec![],
            client_metadata: Default::default(),
        })
        .await
        .expect("sign up");
    // Where the time went: the sign-up hashed a password (Argon2id + SRP verifier), inside the
    // request's whole time.
    let (hash, app) = server_timing(up.metadata()).expect("sign-up answers with server-timing");
    assert!(hash > 0.0 && hash <= app, "sign-up server-timing: hash {hash} ms, app {app} ms");
    let up = up.into_inner();
    assert!(!up.user_confirmed);
    let delivery = up.code_delivery_details.expect("delivery");
    assert_eq!((delivery.delivery_medium.as_str(), delivery.destination.as_str()), ("EMAIL", "a***@e***"));

    // missing / wrong SECRET_HASH
    let mut bad = SignUpRequest { client_id: cid.clone(), username: "bob".into(), password: PASSWORD.into(), ..Default::default() };
    expect_error(users.sign_up(bad.clone()).await, "NotAuthorizedException", Code::Unauthenticated);
    bad.secret_hash = sh("mallory");
    expect_error(users.sign_up(bad).await, "NotAuthorizedException", Code::Unauthenticated);

    // duplicate username (case-insensitive by default)
    let dup = SignUpRequest { client_id: cid.clone(), secret_hash: sh("ALICE"), username: "ALICE".into(), password: PASSWORD.into(), ..Default::default() };
    expect_error(users.sign_up(dup).await, "UsernameExistsException", Code::AlreadyExists);

    // unconfirmed sign-in is refused with UserNotConfirmed
    let auth = |u: &str, p: &str| InitiateAuthRequest {
        client_id: cid.clone(),
        auth_flow: "USER_PASSWORD_AUTH".into(),
        auth_parameters: params(&[("USERNAME", u), ("PASSWORD", p), ("SECRET_HASH", &sh(u))]),
        ..Default::default()
    };
    expect_error(users.initiate_auth(auth("alice", PASSWORD)).await, "UserNotConfirmedException", Code::FailedPrecondition);

    // code from the outbox -> wrong code first -> confirm
    let code = server.code_for("alice", "SIGN_UP").await;
    assert_eq!(code.len(), 6);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    expect_error(
        users
            .confirm_sign_up(ConfirmSignUpRequest {
                client_id: cid.clone(),
                secret_hash: sh("alice"),
                username: "alice".into(),
                confirmation_code: wrong.into(),
                ..Default::default()
            })
            .await,
        "CodeMismatchException",
        Code::InvalidArgument,
    );
    users
        .confirm_sign_up(ConfirmSignUpRequest {
            client_id: cid.clone(),
            secret_hash: sh("alice"),
            username: "alice".into(),
            confirmation_code: code,
            ..Default::default()
        })
        .await
        .expect("confirm");

    // sign-in; wrong password
    expect_error(users.initiate_auth(auth("alice", "Wr0ng-Password!")).await, "NotAuthorizedException", Code::Unauthenticated);
    let tokens = users.initiate_auth(auth("alice", PASSWORD)).await.expect("sign in").into_inner().authentication_result.expect("tokens");
    assert!(!tokens.refresh_token.is_empty());
    assert_eq!(tokens.expires_in, 3600);
    let id = payload(&tokens.id_token);
    assert_eq!(id["token_use"], "id");
    assert_eq!(id["aud"], cid.as_str());
    assert_eq!(id["cognito:username"], "alice");
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["iss"], format!("http://127.0.0.1:{}/{}", server.http, pool.id));
    let access = payload(&tokens.access_token);
    assert_eq!(access["token_use"], "access");
    assert_eq!(access["client_id"], cid.as_str());

    // JWKS serves the signing key
    let jwks: serde_json::Value = reqwest::get(server.http(&format!("/{}/.well-known/jwks.json", pool.id))).await.expect("jwks").json().await.expect("json");
    let header: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(tokens.id_token.split('.').next().expect("header")).expect("b64"))
            .expect("header json");
    assert!(jwks["keys"].as_array().expect("keys").iter().any(|k| k["kid"] == header["kid"]));
    let oidc: serde_json::Value =
        reqwest::get(server.http(&format!("/{}/.well-known/openid-configuration", pool.id))).await.expect("oidc").json().await.expect("json");
    assert_eq!(oidc["issuer"], id["iss"]);

    // get user (read-your-writes right after each write)
    let me = users.get_user(AccessTokenRequest { access_token: tokens.access_token.clone() }).await.expect("get user");
    let (hash, app) = server_timing(me.metadata()).expect("get-user answers with server-timing");
    assert!(hash == 0.0 && app > 0.0, "a read hashes nothing: hash {hash} ms, app {app} ms");
    let me = me.into_inner();
    assert_eq!(me.username, "alice");
    assert_eq!(me.user_status, "CONFIRMED");
    let attr = |me: &GetUserResponse, n: &str| me.user_attributes.iter().find(|a| a.name == n).map(|a| a.value.clone());
    assert_eq!(attr(&me, "phone_number").as_deref(), Some("+12065551234"));
    assert_eq!(attr(&me, "sub").as_deref(), Some(up.user_sub.as_str()));

    // update attribute (email change needs re-verification)
    let upd = users
        .update_user_attributes(UpdateUserAttributesRequest {
            access_token: tokens.access_token.clone(),
            user_attributes: attrs(&[("email", "alice2@example.com"), ("name", "Alice")]),
            ..Default::default()
        })
        .await
        .expect("update")
        .into_inner();
    assert_eq!(upd.code_delivery_details_list.len(), 1);
    let me = users.get_user(AccessTokenRequest { access_token: tokens.access_token.clone() }).await.expect("get user").into_inner();
    assert_eq!(attr(&me, "email").as_deref(), Some("alice2@example.com"));
    assert_eq!(attr(&me, "email_verified").as_deref(), Some("false"));
    let vcode = server.code_for("alice", "VERIFY_ATTRIBUTE").await;
    users
        .verify_user_attribute(VerifyUserAttributeRequest { access_token: tokens.access_token.clone(), attribute_name: "email".into(), code: vcode })
        .await
        .expect("verify");
    let me = users.get_user(AccessTokenRequest { access_token: tokens.access_token.clone() }).await.expect("get user").into_inner();
    assert_eq!(attr(&me, "email_verified").as_deref(), Some("true"));

    // change password
    let new_pw = "N3w-Password-Here";
    users
        .change_password(ChangePasswordRequest {
            access_token: tokens.access_token.clone(),
            previous_password: PASSWORD.into(),
            proposed_password: new_pw.into(),
        })
        .await
        .expect("change password");
    expect_error(users.initiate_auth(auth("alice", PASSWORD)).await, "NotAuthorizedException", Code::Unauthenticated);
    users.initiate_auth(auth("alice", new_pw)).await.expect("sign in with the new password");

    // refresh
    let refresh = InitiateAuthRequest {
        client_id: cid.clone(),
        auth_flow: "REFRESH_TOKEN_AUTH".into(),
        auth_parameters: params(&[("REFRESH_TOKEN", &tokens.refresh_token), ("SECRET_HASH", &sh("alice"))]),
        ..Default::default()
    };
    let refreshed = users.initiate_auth(refresh.clone()).await.expect("refresh").into_inner().authentication_result.expect("tokens");
    assert!(refreshed.refresh_token.is_empty());
    assert_eq!(payload(&refreshed.access_token)["origin_jti"], access["origin_jti"]);

    // forgot / confirm forgot password
    users
        .forgot_password(ForgotPasswordRequest { client_id: cid.clone(), secret_hash: sh("alice"), username: "alice".into(), ..Default::default() })
        .await
        .expect("forgot");
    let rcode = server.code_for("alice", "FORGOT_PASSWORD").await;
    users
        .confirm_forgot_password(ConfirmForgotPasswordRequest {
            client_id: cid.clone(),
            secret_hash: sh("alice"),
            username: "alice".into(),
            confirmation_code: rcode,
            password: "Re5et-Password-1".into(),
            ..Default::default()
        })
        .await
        .expect("confirm forgot");
    users.initiate_auth(auth("alice", "Re5et-Password-1")).await.expect("sign in after reset");

    // global sign-out -> old refresh and access tokens rejected
    users.global_sign_out(AccessTokenRequest { access_token: refreshed.access_token.clone() }).await.expect("global sign out");
    expect_error(users.initiate_auth(refresh).await, "NotAuthorizedException", Code::Unauthenticated);
    expect_error(users.get_user(AccessTokenRequest { access_token: tokens.access_token.clone() }).await, "NotAuthorizedException", Code::Unauthenticated);
    // a new session after sign-out works
    let fresh = users.initiate_auth(auth("alice", "Re5et-Password-1")).await.expect("sign in again").into_inner().authentication_result.expect("tokens");
    users.get_user(AccessTokenRequest { access_token: fresh.access_token.clone() }).await.expect("fresh token works");

    // RevokeToken revokes one session
    users
        .revoke_token(RevokeTokenRequest { token: fresh.refresh_token.clone(), client_id: cid.clone(), client_secret: client.client_secret.clone() })
        .await
        .expect("revoke");
    expect_error(users.get_user(AccessTokenRequest { access_token: fresh.access_token.clone() }).await, "NotAuthorizedException", Code::Unauthenticated);

    // every message was delivered exactly once
    let msgs = server.messages();
    let mut ids: Vec<_> = msgs.iter().map(|m| m["event_id"].as_str().unwrap_or("").to_string()).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "duplicate deliveries");

    // no plaintext password or code in the log or the projections
    server.kill9();
    for entry in walk(dir.path()) {
        let name = entry.to_string_lossy().to_string();
        if name.ends_with("outbox.jsonl") {
            continue;
        }
        let bytes = std::fs::read(&entry).unwrap_or_default();
        for secret in [PASSWORD, new_pw, "Re5et-Password-1", client.client_secret.as_str()] {
            assert!(!contains(&bytes, secret.as_bytes()), "{secret} found in {name}");
        }
        for m in &msgs {
            let code = m["code"].as_str().unwrap_or("");
            assert!(!contains(&bytes, format!("\"{code}\"").as_bytes()), "a code found in {name}");
        }
    }

    // rebuild reproduces the projections byte for byte
    let (before, after, _) = server.rebuild();
    assert_eq!(before.len(), 64);
    assert_eq!(before, after);
    // and the service comes back with the same state
    server.restart().await;
    let mut users = server.users().await;
    users.initiate_auth(auth("alice", "Re5et-Password-1")).await.expect("sign in after rebuild");
}

/// (hash, app) durations in ms from the response's `server-timing` header.
fn server_timing(metadata: &tonic::metadata::MetadataMap) -> Option<(f64, f64)> {
    let header = metadata.get("server-timing")?.to_str().ok()?;
    let dur = |name: &str| -> Option<f64> {
        let metric = header.split(',').map(str::trim).find(|m| m.split(';').next() == Some(name))?;
        metric.split(';').find_map(|p| p.strip_prefix("dur="))?.parse().ok()
    };
    Some((dur("hash")?, dur("app")?))
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}
