//! Sign-in protection and MFA through boto3's unchanged `cognito-idp` client, TOTP codes from
//! pyotp: NEW_PASSWORD_REQUIRED after AdminCreateUser, pool MFA configuration, software-token
//! association and verification (by access token and by MFA_SETUP session), SOFTWARE_TOKEN_MFA /
//! EMAIL_OTP / SELECT_MFA_TYPE challenges, AdminInitiateAuth / AdminRespondToAuthChallenge,
//! single-use sessions, a TOTP code accepted once, and lockout after failed passwords. Tools:
//! `.ci/clients.sh`.

mod cognito_support;
mod common;

use cognito_support::{admin_keys, assert_checks, python, require, run_script};
use common::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_mfa_and_lockout() {
    let Some(python) = require(python(), "boto3_mfa_and_lockout") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]).await;
    let (key_id, secret) = admin_keys(dir.path());
    let out = run_script(
        &python,
        "boto3_mfa.py",
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
            "AdminCreateUser + temporary password: NEW_PASSWORD_REQUIRED",
            "a new password against the policy: InvalidPasswordException",
            "NEW_PASSWORD_REQUIRED answered: tokens",
            "the answered NEW_PASSWORD_REQUIRED session cannot be replayed: NotAuthorizedException",
            "nina is CONFIRMED",
            "GetUserPoolMfaConfig: OFF by default",
            "MfaConfiguration ON without a method: InvalidParameterException",
            "VerifySoftwareToken with pyotp's code",
            "sign-in now answers SOFTWARE_TOKEN_MFA",
            "wrong TOTP code: CodeMismatchException",
            "SOFTWARE_TOKEN_MFA answered with pyotp's code on the same session: tokens",
            "an answered session is spent: NotAuthorizedException",
            "a TOTP code is accepted only once: CodeMismatchException",
            "EMAIL_OTP answered with the emailed code",
            "a used session cannot be replayed: NotAuthorizedException",
            "SELECT_MFA_TYPE offers both methods",
            "MFA_SETUP: associate + verify by session",
            "AdminRespondToAuthChallenge MFA_SETUP: tokens",
            "locked: even the right password is refused: NotAuthorizedException",
            "after the lockout the right password works",
        ],
    );
    // Every answer above is in the log: a rebuild reproduces the projections byte for byte.
    let mut server = server;
    server.kill9();
    let (before, after, _) = server.rebuild();
    assert!(!before.is_empty(), "rebuild printed no fingerprint");
    assert_eq!(before, after, "rebuild after the MFA flows changed the projections");
}
