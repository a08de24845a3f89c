//! The Cognito JSON 1.1 front of the real binary, driven with raw HTTP (no external tools):
//! transport details (header case, null/{} optionals, body limit, error headers, unsupported
//! operations, missing signature) and USER_SRP_AUTH with the crate's independent SRP client
//! (Session omitted, odd-length SRP_A, tampered blocks, stale timestamps, existence hiding),
//! plus the same SRP exchange over gRPC (both adapters share one command path).

mod cognito_support;
mod common;

use std::collections::HashMap;

use cognito_support::{call, error_type};
use common::{Server, PASSWORD};
use idp_api::pb::{CreateUserPoolClientRequest, CreateUserPoolRequest, InitiateAuthRequest, RespondToAuthChallengeRequest};
use idp_crypto::srp::client::{PasswordVerifierChallenge, SrpClient};
use rand::rngs::OsRng;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A pool (email auto-verified) and a public client with the given flows; returns (pool, client).
async fn pool_with_client(server: &Server, flows: &[&str], prevent: Option<bool>) -> (String, String) {
    let mut admin = server.admin().await;
    let pool = admin
        .client
        .create_user_pool(admin.req(CreateUserPoolRequest { pool_name: "wire".into(), auto_verified_attributes: vec!["email".into()], ..Default::default() }))
        .await
        .expect("create pool")
        .into_inner();
    let client = admin
        .client
        .create_user_pool_client(admin.req(CreateUserPoolClientRequest {
            user_pool_id: pool.id.clone(),
            client_name: "app".into(),
            explicit_auth_flows: flows.iter().map(|s| s.to_string()).collect(),
            prevent_user_existence_errors: prevent,
            ..Default::default()
        }))
        .await
        .expect("create client")
        .into_inner();
    (pool.id, client.client_id)
}

async fn confirmed_user(server: &Server, http: &reqwest::Client, endpoint: &str, client_id: &str, username: &str) {
    let (status, _, body) = call(
        http,
        endpoint,
        "SignUp",
        &json!({"ClientId": client_id, "Username": username, "Password": PASSWORD, "UserAttributes": [{"Name": "email", "Value": "u@example.com"}]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let code = server.code_for(username, "SIGN_UP").await;
    let (status, _, body) = call(http, endpoint, "ConfirmSignUp", &json!({"ClientId": client_id, "Username": username, "ConfirmationCode": code})).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_details_and_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), Server::FAST_HASH).await;
    let endpoint = server.http("/");
    let http = reqwest::Client::new();
    let (_pool, cid) = pool_with_client(&server, &["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"], None).await;

    // A signed operation without a signature: AWS's name, the error headers, nothing done.
    let (status, headers, body) = call(&http, &endpoint, "CreateUserPool", &json!({"PoolName": "unsigned"})).await;
    assert_eq!((status, error_type(&body).as_str()), (400, "MissingAuthenticationTokenException"), "{body}");
    assert_eq!(headers.get("x-amzn-errortype").and_then(|v| v.to_str().ok()), Some("MissingAuthenticationTokenException:"));
    assert!(headers.get("x-amzn-requestid").and_then(|v| v.to_str().ok()).is_some_and(|v| v.len() == 36));
    assert_eq!(headers.get("content-type").and_then(|v| v.to_str().ok()), Some("application/x-amz-json-1.1"));
    let mut admin = server.admin().await;
    let pools = admin.client.list_user_pools(admin.req(idp_api::pb::ListUserPoolsRequest { max_results: 60, next_token: String::new() })).await.expect("list");
    assert!(pools.into_inner().user_pools.iter().all(|p| p.name != "unsigned"));

    // Optional members may be null or {}; success answers carry a request id too.
    let (status, headers, body) = call(
        &http,
        &endpoint,
        "SignUp",
        &json!({"ClientId": cid, "Username": "nully", "Password": PASSWORD, "SecretHash": null, "ValidationData": null,
                "ClientMetadata": {}, "AnalyticsMetadata": null, "UserContextData": {}, "UserAttributes": [{"Name": "email", "Value": "n@example.com"}]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["UserConfirmed"], false);
    assert_eq!(body["CodeDeliveryDetails"]["Destination"], "n***@e***");
    assert!(headers.get("x-amzn-requestid").is_some());
    // Where the time went, as on gRPC: the sign-up's password hashing inside its whole time.
    let timing = headers.get("server-timing").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let dur = |name: &str| -> f64 {
        let metric = timing.split(',').map(str::trim).find(|m| m.split(';').next() == Some(name)).unwrap_or_default();
        metric.split(';').find_map(|p| p.strip_prefix("dur=")).and_then(|d| d.parse().ok()).unwrap_or(-1.0)
    };
    assert!(dur("hash") > 0.0 && dur("hash") <= dur("app"), "server-timing of a JSON sign-up: {timing:?}");

    // Strict values: a clear InvalidParameterException naming the member, never the value.
    let (status, _, body) = call(&http, &endpoint, "SignUp", &json!({"ClientId": "bad client!", "Username": "u", "Password": PASSWORD})).await;
    assert_eq!((status, error_type(&body).as_str()), (400, "InvalidParameterException"), "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("'clientId'") && !m.contains("bad client")), "{body}");
    let (_, _, body) = call(&http, &endpoint, "SignUp", &json!({"ClientId": cid, "Username": 42, "Password": PASSWORD})).await;
    assert_eq!(error_type(&body), "InvalidParameterException", "{body}");
    let (_, _, body) = call(&http, &endpoint, "SignUp", &json!({"ClientId": cid, "Password": PASSWORD})).await;
    assert!(body["message"].as_str().is_some_and(|m| m.contains("Value null at 'username'")), "{body}");
    let (_, _, body) = call(&http, &endpoint, "InitiateAuth", &json!({"ClientId": cid, "AuthFlow": "MAGIC", "AuthParameters": {}})).await;
    assert!(body["message"].as_str().is_some_and(|m| m.contains("enum value set")), "{body}");

    // Domain errors keep their Cognito names, the same names the gRPC adapter sends.
    let (_, _, body) = call(&http, &endpoint, "SignUp", &json!({"ClientId": cid, "Username": "nully", "Password": PASSWORD})).await;
    assert_eq!(error_type(&body), "UsernameExistsException", "{body}");
    let mut users = server.users().await;
    let grpc = users
        .sign_up(idp_api::pb::SignUpRequest { client_id: cid.clone(), username: "nully".into(), password: PASSWORD.into(), ..Default::default() })
        .await
        .expect_err("duplicate over gRPC");
    assert_eq!(common::error_name(&grpc), "UsernameExistsException");

    // Unsupported and unknown operations, malformed bodies, the size limit.
    let (status, _, body) = call(&http, &endpoint, "CreateIdentityProvider", &json!({})).await;
    assert_eq!((status, error_type(&body).as_str()), (400, "InvalidParameterException"), "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("CreateIdentityProvider is not supported")));
    let r = http.post(&endpoint).body("{}").send().await.expect("send");
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(error_type(&r.json::<Value>().await.expect("json")), "UnknownOperationException");
    let r = http.post(&endpoint).header("x-amz-target", "AWSCognitoIdentityProviderService.SignUp").body("{not json").send().await.expect("send");
    assert_eq!(error_type(&r.json::<Value>().await.expect("json")), "SerializationException");
    let big = format!("{{\"ClientId\": \"{}\"}}", "a".repeat(1024 * 1024 + 10));
    let r = http.post(&endpoint).header("x-amz-target", "AWSCognitoIdentityProviderService.SignUp").body(big).send().await.expect("send");
    assert_eq!(r.status().as_u16(), 413);
    assert_eq!(error_type(&r.json::<Value>().await.expect("json")), "RequestEntityTooLargeException");

    // Browsers on another origin: CORS preflight and headers readable by scripts.
    let r = http
        .request(reqwest::Method::OPTIONS, &endpoint)
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,x-amz-target,x-amz-user-agent")
        .send()
        .await
        .expect("preflight");
    assert!(r.status().is_success());
    assert_eq!(r.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok()), Some("*"));
    assert!(r.headers().get("access-control-allow-headers").and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("x-amz-target")));
    assert!(headers.get("access-control-expose-headers").and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("x-amzn-requestid")));

    // Header names in any case, on a raw connection (clients differ: Amplify sends lowercase).
    let body = json!({"ClientId": cid, "Username": "nobody-here", "Password": PASSWORD}).to_string();
    let raw = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-AMZ-TARGET: AWSCognitoIdentityProviderService.ForgotPassword\r\nCONTENT-TYPE: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", server.http)).await.expect("connect");
    conn.write_all(raw.as_bytes()).await.expect("write");
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.expect("read");
    assert!(answer.contains("UserNotFoundException"), "{answer}");
}

fn challenge_of(body: &Value) -> PasswordVerifierChallenge {
    let p = &body["ChallengeParameters"];
    let s = |k: &str| p[k].as_str().unwrap_or_else(|| panic!("{k} missing in {body}")).to_string();
    PasswordVerifierChallenge { salt_hex: s("SALT"), srp_b_hex: s("SRP_B"), secret_block_b64: s("SECRET_BLOCK"), user_id_for_srp: s("USER_ID_FOR_SRP") }
}

fn responses(username: &str, block: &str, timestamp: &str, signature: &str) -> Value {
    json!({"USERNAME": username, "PASSWORD_CLAIM_SECRET_BLOCK": block, "TIMESTAMP": timestamp, "PASSWORD_CLAIM_SIGNATURE": signature})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_srp_auth_with_an_independent_client() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), Server::FAST_HASH).await;
    let endpoint = server.http("/");
    let http = reqwest::Client::new();
    let (pool_id, cid) = pool_with_client(&server, &["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"], None).await;
    let pool_name = idp_crypto::srp::pool_name(&pool_id).to_string();
    confirmed_user(&server, &http, &endpoint, &cid, "Srp.User").await;

    let initiate =
        |a: String, user: &str| json!({"ClientId": cid, "AuthFlow": "USER_SRP_AUTH", "AuthParameters": {"USERNAME": user, "SRP_A": a}, "ClientMetadata": {}});
    let client = SrpClient::new(&pool_name, &mut OsRng).expect("client");
    // Another case of the username (the pool is case-insensitive) and an odd-length SRP_A.
    let (status, _, body) = call(&http, &endpoint, "InitiateAuth", &initiate(format!("0{}", client.srp_a_hex()), "srp.user")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ChallengeName"], "PASSWORD_VERIFIER");
    assert!(body.get("Session").is_none(), "{body}");
    let ch = challenge_of(&body);
    assert_eq!(ch.user_id_for_srp, "Srp.User");
    assert_eq!(body["ChallengeParameters"]["USERNAME"], "Srp.User");

    let ts = idp_crypto::srp::format_timestamp(now_secs());
    let claim = client.respond(PASSWORD, &ch, &ts).expect("claim");
    let respond = |r: Value| json!({"ClientId": cid, "ChallengeName": "PASSWORD_VERIFIER", "ChallengeResponses": r});

    // A wrong password, a tampered block, a stale or malformed timestamp: refused.
    let wrong = client.respond("Wr0ng-Password!", &ch, &ts).expect("claim");
    let (_, _, body) =
        call(&http, &endpoint, "RespondToAuthChallenge", &respond(responses(&claim.username, &wrong.secret_block_b64, &ts, &wrong.signature_b64))).await;
    assert_eq!(error_type(&body), "NotAuthorizedException", "{body}");
    assert_eq!(body["message"], "Incorrect username or password.");
    let mut tampered = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &ch.secret_block_b64).expect("b64");
    tampered[30] ^= 1;
    let tampered = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, tampered);
    let (_, _, body) = call(&http, &endpoint, "RespondToAuthChallenge", &respond(responses(&claim.username, &tampered, &ts, &claim.signature_b64))).await;
    assert_eq!(error_type(&body), "NotAuthorizedException", "{body}");
    let stale_ts = idp_crypto::srp::format_timestamp(now_secs() - 600);
    let stale = client.respond(PASSWORD, &ch, &stale_ts).expect("claim");
    let (_, _, body) =
        call(&http, &endpoint, "RespondToAuthChallenge", &respond(responses(&claim.username, &ch.secret_block_b64, &stale_ts, &stale.signature_b64))).await;
    assert_eq!(error_type(&body), "NotAuthorizedException", "{body}");
    let (_, _, body) =
        call(&http, &endpoint, "RespondToAuthChallenge", &respond(responses(&claim.username, &ch.secret_block_b64, "yesterday", &claim.signature_b64))).await;
    assert_eq!(error_type(&body), "InvalidParameterException", "{body}");

    // The right claim, without Session: tokens.
    let (status, _, body) =
        call(&http, &endpoint, "RespondToAuthChallenge", &respond(responses(&claim.username, &claim.secret_block_b64, &ts, &claim.signature_b64))).await;
    assert_eq!(status, 200, "{body}");
    let result = &body["AuthenticationResult"];
    assert!(result["AccessToken"].as_str().is_some_and(|t| !t.is_empty()) && result["RefreshToken"].as_str().is_some(), "{body}");
    let (status, _, me) = call(&http, &endpoint, "GetUser", &json!({"AccessToken": result["AccessToken"]})).await;
    assert_eq!((status, me["Username"].as_str()), (200, Some("Srp.User")), "{me}");

    // SRP_A ≡ 0 is refused; so is a block presented to another client.
    let (_, _, body) = call(&http, &endpoint, "InitiateAuth", &initiate("000".into(), "Srp.User")).await;
    assert_eq!(error_type(&body), "InvalidParameterException", "{body}");
    let (_, other) = pool_with_client(&server, &["ALLOW_USER_SRP_AUTH"], None).await;
    let (_, _, body) = call(
        &http,
        &endpoint,
        "RespondToAuthChallenge",
        &json!({"ClientId": other, "ChallengeName": "PASSWORD_VERIFIER", "ChallengeResponses": responses(&claim.username, &claim.secret_block_b64, &ts, &claim.signature_b64)}),
    )
    .await;
    assert_eq!(error_type(&body), "NotAuthorizedException", "{body}");

    // A client that does not allow SRP; an unknown user.
    let (_, password_only) = pool_with_client(&server, &["ALLOW_USER_PASSWORD_AUTH"], None).await;
    let (_, _, body) = call(
        &http,
        &endpoint,
        "InitiateAuth",
        &json!({"ClientId": password_only, "AuthFlow": "USER_SRP_AUTH", "AuthParameters": {"USERNAME": "x", "SRP_A": client.srp_a_hex()}}),
    )
    .await;
    assert_eq!(error_type(&body), "InvalidParameterException", "{body}");
    let (_, _, body) = call(&http, &endpoint, "InitiateAuth", &initiate(client.srp_a_hex().to_string(), "nobody")).await;
    assert_eq!(error_type(&body), "UserNotFoundException", "{body}");

    // The same exchange over gRPC: one command path behind both adapters.
    let mut users = server.users().await;
    let grpc_client = SrpClient::new(&pool_name, &mut OsRng).expect("client");
    let params: HashMap<String, String> = [("USERNAME".to_string(), "Srp.User".to_string()), ("SRP_A".to_string(), grpc_client.srp_a_hex().to_string())].into();
    let started = users
        .initiate_auth(InitiateAuthRequest { client_id: cid.clone(), auth_flow: "USER_SRP_AUTH".into(), auth_parameters: params, ..Default::default() })
        .await
        .expect("grpc initiate")
        .into_inner();
    assert_eq!(started.challenge_name, "PASSWORD_VERIFIER");
    let p = &started.challenge_parameters;
    let get = |k: &str| p.get(k).cloned().unwrap_or_default();
    let ch = PasswordVerifierChallenge {
        salt_hex: get("SALT"),
        srp_b_hex: get("SRP_B"),
        secret_block_b64: get("SECRET_BLOCK"),
        user_id_for_srp: get("USER_ID_FOR_SRP"),
    };
    let ts = idp_crypto::srp::format_timestamp(now_secs());
    let c = grpc_client.respond(PASSWORD, &ch, &ts).expect("claim");
    let answer: HashMap<String, String> = [
        ("USERNAME", c.username),
        ("PASSWORD_CLAIM_SECRET_BLOCK", c.secret_block_b64),
        ("TIMESTAMP", c.timestamp),
        ("PASSWORD_CLAIM_SIGNATURE", c.signature_b64),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let done = users
        .respond_to_auth_challenge(RespondToAuthChallengeRequest {
            client_id: cid.clone(),
            challenge_name: "PASSWORD_VERIFIER".into(),
            challenge_responses: answer,
            session: String::new(),
            ..Default::default()
        })
        .await
        .expect("grpc respond")
        .into_inner();
    assert!(done.authentication_result.is_some_and(|t| !t.refresh_token.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn srp_hides_unknown_users_when_the_client_prevents_existence_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), Server::FAST_HASH).await;
    let endpoint = server.http("/");
    let http = reqwest::Client::new();
    let (pool_id, cid) = pool_with_client(&server, &["ALLOW_USER_SRP_AUTH"], Some(true)).await;
    let pool_name = idp_crypto::srp::pool_name(&pool_id).to_string();
    let client = SrpClient::new(&pool_name, &mut OsRng).expect("client");
    let initiate = json!({"ClientId": cid, "AuthFlow": "USER_SRP_AUTH", "AuthParameters": {"USERNAME": "ghost", "SRP_A": client.srp_a_hex()}});
    let (status, _, first) = call(&http, &endpoint, "InitiateAuth", &initiate).await;
    assert_eq!(status, 200, "an unknown user gets a plausible challenge: {first}");
    let (_, _, second) = call(&http, &endpoint, "InitiateAuth", &initiate).await;
    assert_eq!(first["ChallengeParameters"]["SALT"], second["ChallengeParameters"]["SALT"], "the decoy salt is stable");
    assert_ne!(first["ChallengeParameters"]["SRP_B"], second["ChallengeParameters"]["SRP_B"]);
    let ch = challenge_of(&first);
    let ts = idp_crypto::srp::format_timestamp(now_secs());
    let c = client.respond(PASSWORD, &ch, &ts).expect("claim");
    let (_, _, body) = call(
        &http,
        &endpoint,
        "RespondToAuthChallenge",
        &json!({"ClientId": cid, "ChallengeName": "PASSWORD_VERIFIER", "ChallengeResponses": responses(&c.username, &c.secret_block_b64, &ts, &c.signature_b64)}),
    )
    .await;
    assert_eq!((error_type(&body).as_str(), body["message"].as_str()), ("NotAuthorizedException", Some("Incorrect username or password.")), "{body}");
}
