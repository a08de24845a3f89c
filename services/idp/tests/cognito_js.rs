//! amazon-cognito-identity-js (unchanged, `endpoint` pointed at the real binary): signUp,
//! confirmRegistration, SRP `authenticateUser`, `refreshSession`, `signOut` revoking the
//! refresh token; `jose` verifies the tokens against the pool's JWKS. Tools: `.ci/clients.sh`.

mod cognito_support;
mod common;

use cognito_support::{assert_checks, node, require, run_script};
use common::Server;
use idp_api::pb::{CreateUserPoolClientRequest, CreateUserPoolRequest};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amazon_cognito_identity_js_signs_up_signs_in_with_srp_and_refreshes() {
    let Some((node, modules)) = require(node(), "amazon_cognito_identity_js_signs_up_signs_in_with_srp_and_refreshes") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]).await;
    let endpoint = format!("http://127.0.0.1:{}", server.http);

    // The pool and its public client (the JS library cannot hold a client secret).
    let mut admin = server.admin().await;
    let pool = admin
        .client
        .create_user_pool(admin.req(CreateUserPoolRequest { pool_name: "js".into(), auto_verified_attributes: vec!["email".into()], ..Default::default() }))
        .await
        .expect("create pool")
        .into_inner();
    let client = admin
        .client
        .create_user_pool_client(admin.req(CreateUserPoolClientRequest {
            user_pool_id: pool.id.clone(),
            client_name: "spa".into(),
            explicit_auth_flows: vec!["ALLOW_USER_SRP_AUTH".into(), "ALLOW_REFRESH_TOKEN_AUTH".into()],
            ..Default::default()
        }))
        .await
        .expect("create client")
        .into_inner();

    let out = run_script(
        &node,
        "cognito_js_flow.mjs",
        &[
            ("IDP_ENDPOINT", endpoint.clone()),
            ("IDP_POOL_ID", pool.id.clone()),
            ("IDP_CLIENT_ID", client.client_id.clone()),
            ("IDP_ISSUER", format!("{endpoint}/{}", pool.id)),
            ("IDP_DATA_DIR", dir.path().display().to_string()),
            ("IDP_TEST_NODE_MODULES", modules.display().to_string()),
        ],
    )
    .await;
    assert_checks(
        &out,
        &[
            "signUp",
            "duplicate signUp: UsernameExistsException",
            "SRP sign-in of an unconfirmed user: UserNotConfirmedException",
            "wrong confirmation code: CodeMismatchException",
            "confirmRegistration",
            "SRP with a wrong password: NotAuthorizedException",
            "authenticateUser (SRP) gives a valid session",
            "getUserAttributes (GetUser)",
            "refreshSession gives new tokens",
            "jose: ID token (iss, aud, token_use, exp)",
            "jose: access token (iss, client_id, token_use)",
            "jose: another audience is refused",
            "signOut with RevokeToken",
            "refresh after signOut: NotAuthorizedException",
        ],
    );
}
