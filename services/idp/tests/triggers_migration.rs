//! UserMigration end to end over gRPC with a real compiled component: legacy users migrate on
//! their first password sign-in or ForgotPassword; a wrong legacy password or an unknown user
//! writes nothing; replay after the trigger is gone reproduces the migrated users.

mod common;

use common::*;
use idp_api::pb::*;
use tonic::Code;

const LEGACY: &str = r#"{"users": {
    "legacy-bob": {"password": "Legacy-Passw0rd!", "attributes": {"email": "bob@example.com", "email_verified": "true", "name": "Bob"}},
    "legacy-carol": {"password": "unused", "attributes": {"email": "carol@example.com", "email_verified": "true"}}
}}"#;

fn sign_in(cid: &str, user: &str, password: &str) -> InitiateAuthRequest {
    InitiateAuthRequest {
        client_id: cid.into(),
        auth_flow: "USER_PASSWORD_AUTH".into(),
        auth_parameters: params(&[("USERNAME", user), ("PASSWORD", password)]),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_users_migrate_on_sign_in_and_forgot_password() {
    let component = match idp_triggers::testing::example("user-migration") {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return,
        Err(e) => panic!("building the example triggers: {e}"),
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path(), Server::FAST_HASH).await;
    let (pool, cid) = pool_and_client(&server, false).await;
    let mut admin = server.admin().await;
    let req = DeployTriggerRequest { user_pool_id: pool.clone(), kind: "UserMigration".into(), component, config: LEGACY.into(), ..Default::default() };
    admin.client.deploy_trigger(admin.req(req)).await.expect("deploy");
    let mut users = server.users().await;

    // Wrong legacy password, unknown user: refused, nothing written.
    expect_error(users.initiate_auth(sign_in(&cid, "legacy-bob", "wrong")).await, "UserNotFoundException", Code::NotFound);
    expect_error(users.initiate_auth(sign_in(&cid, "nobody", "whatever")).await, "UserNotFoundException", Code::NotFound);

    // First sign-in with the legacy password migrates the user, confirmed, with attributes.
    let tokens = users.initiate_auth(sign_in(&cid, "legacy-bob", "Legacy-Passw0rd!")).await.expect("migrating sign-in").into_inner();
    let access = tokens.authentication_result.expect("tokens").access_token;
    let me = users.get_user(AccessTokenRequest { access_token: access }).await.expect("get user").into_inner();
    assert_eq!(me.user_status, "CONFIRMED");
    let attr = |n: &str| me.user_attributes.iter().find(|a| a.name == n).map(|a| a.value.clone());
    assert_eq!((attr("email").as_deref(), attr("email_verified").as_deref(), attr("name").as_deref()), (Some("bob@example.com"), Some("true"), Some("Bob")));
    // From now on the pool's own rules: the password works, a wrong one is a wrong password.
    users.initiate_auth(sign_in(&cid, "legacy-bob", "Legacy-Passw0rd!")).await.expect("sign in again");
    expect_error(users.initiate_auth(sign_in(&cid, "legacy-bob", "wrong")).await, "NotAuthorizedException", Code::Unauthenticated);

    // ForgotPassword migrates with RESET_REQUIRED and sends the code; the reset confirms.
    let sent = users
        .forgot_password(ForgotPasswordRequest { client_id: cid.clone(), username: "legacy-carol".into(), ..Default::default() })
        .await
        .expect("forgot password")
        .into_inner();
    assert_eq!(sent.code_delivery_details.map(|d| d.destination), Some("c***@e***".to_string()));
    expect_error(users.initiate_auth(sign_in(&cid, "legacy-carol", "unused")).await, "NotAuthorizedException", Code::Unauthenticated);
    let code = server.code_for("legacy-carol", "FORGOT_PASSWORD").await;
    let reset = ConfirmForgotPasswordRequest {
        client_id: cid.clone(),
        username: "legacy-carol".into(),
        confirmation_code: code,
        password: PASSWORD.into(),
        ..Default::default()
    };
    users.confirm_forgot_password(reset).await.expect("confirm forgot password");
    users.initiate_auth(sign_in(&cid, "legacy-carol", PASSWORD)).await.expect("sign in after reset");

    // The trigger is gone; the migrated users stay, and a replay reproduces them.
    admin.client.remove_trigger(admin.req(RemoveTriggerRequest { user_pool_id: pool.clone(), kind: "UserMigration".into() })).await.expect("remove");
    users.initiate_auth(sign_in(&cid, "legacy-bob", "Legacy-Passw0rd!")).await.expect("no trigger needed any more");
    server.kill9();
    let (before, after, out) = server.rebuild();
    assert!(!before.is_empty() && before == after, "rebuild changed the projections:\n{out}");
}
