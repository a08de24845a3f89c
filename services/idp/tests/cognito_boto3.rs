//! boto3's unchanged `cognito-idp` client against the real binary: the seed flow (admin calls
//! SigV4-signed with the admin key, user calls unsigned), the error cases as boto3's modeled
//! exceptions, a wrong signature refused, SRP through pycognito; then PyJWT's PyJWKClient
//! verifies the tokens from the pool's JWKS. Tools: `.ci/clients.sh`.

mod cognito_support;
mod common;

use cognito_support::{admin_keys, assert_checks, python, require, run_script};
use common::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_seed_flow_then_pyjwt_verifies_the_tokens() {
    let Some(python) = require(python(), "boto3_seed_flow_then_pyjwt_verifies_the_tokens") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &["--region", "eu-west-3"]).await;
    let endpoint = format!("http://127.0.0.1:{}", server.http);
    let (key_id, secret) = admin_keys(dir.path());

    let flow = run_script(
        &python,
        "boto3_flow.py",
        &[
            ("IDP_ENDPOINT", endpoint.clone()),
            ("IDP_ACCESS_KEY_ID", key_id),
            ("IDP_SECRET_ACCESS_KEY", secret),
            ("IDP_DATA_DIR", dir.path().display().to_string()),
            ("IDP_REGION", "eu-west-3".into()),
        ],
    )
    .await;
    assert_checks(
        &flow,
        &[
            "pool id has Cognito's format (eu-west-3_",
            "DescribeUserPool",
            "ListUserPools",
            "DescribeUserPoolClient returns the secret",
            "duplicate user: UsernameExistsException",
            "unconfirmed user: UserNotConfirmedException",
            "wrong code: CodeMismatchException",
            "ConfirmSignUp with the outbox code",
            "wrong password: NotAuthorizedException",
            "USER_PASSWORD_AUTH tokens",
            "GetUser",
            "attribute updated",
            "ChangePassword",
            "REFRESH_TOKEN_AUTH",
            "ConfirmForgotPassword",
            "access token after GlobalSignOut: NotAuthorizedException",
            "refresh token after RevokeToken: NotAuthorizedException",
            "SigV4 with a wrong secret: InvalidSignatureException",
            "SigV4 with an unknown key id: UnrecognizedClientException",
            "rejected calls changed nothing",
            "deleted user: UserNotFoundException",
        ],
    );
    // pycognito is installed by .ci/clients.sh: in CI its SRP sign-in must have run.
    if std::env::var_os("CI").is_some() {
        assert_eq!(flow["srp"], "ok", "pycognito SRP did not run: {}", flow["srp"]);
        assert_checks(&flow, &["pycognito USER_SRP_AUTH", "pycognito SRP with a wrong password: NotAuthorizedException"]);
    }

    let pool_id = flow["pool_id"].as_str().expect("pool_id").to_string();
    let verified = run_script(
        &python,
        "pyjwt_verify.py",
        &[
            ("IDP_ENDPOINT", endpoint.clone()),
            ("IDP_ISSUER", format!("{endpoint}/{pool_id}")),
            ("IDP_POOL_ID", pool_id),
            ("IDP_CLIENT_ID", flow["client_id"].as_str().expect("client_id").to_string()),
            ("IDP_ID_TOKEN", flow["id_token"].as_str().expect("id_token").to_string()),
            ("IDP_ACCESS_TOKEN", flow["access_token"].as_str().expect("access_token").to_string()),
        ],
    )
    .await;
    assert_checks(
        &verified,
        &[
            "ID token kid is in the JWKS",
            "ID token: token_use id",
            "ID token: aud is the client id",
            "ID token: exp one hour ahead",
            "access token: token_use access",
            "access token: client_id, no aud",
            "ID token with another audience: InvalidAudienceError",
            "tampered ID token",
            "OIDC discovery issuer and jwks_uri",
        ],
    );
}

/// ListUsers with each filter form, AttributesToGet, Limit and PaginationToken over several
/// pages, the boto3 paginator, and bad filters / tokens as InvalidParameterException.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_list_users_with_filters() {
    let Some(python) = require(python(), "boto3_list_users_with_filters") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), Server::FAST_HASH).await;
    let (key_id, secret) = admin_keys(dir.path());
    let out = run_script(
        &python,
        "boto3_search.py",
        &[
            ("IDP_ENDPOINT", format!("http://127.0.0.1:{}", server.http)),
            ("IDP_ACCESS_KEY_ID", key_id),
            ("IDP_SECRET_ACCESS_KEY", secret),
            ("IDP_DATA_DIR", dir.path().display().to_string()),
        ],
    )
    .await;
    assert_checks(
        &out,
        &[
            "ListUsers Filter exact",
            "ListUsers Filter prefix",
            "ListUsers Filter with an escaped quote",
            "ListUsers Filter cognito:user_status (case-insensitive)",
            "ListUsers Filter status",
            "ListUsers Filter username",
            "ListUsers Filter sub",
            "ListUsers Filter + AttributesToGet",
            "ListUsers Limit + PaginationToken pages [4, 4, 4, 1]",
            "boto3 paginator with a filter",
            "unquoted value: InvalidParameterException",
            "custom attribute: InvalidParameterException",
            "pagination token of another filter: InvalidParameterException",
            "Limit over 60 refused",
        ],
    );
}
