//! boto3's unchanged `cognito-idp` client against the real binary: every admin user operation
//! and every group operation (SigV4-signed with the admin key), their error cases as boto3's
//! modeled exceptions, the invitation through the outbox, and `cognito:groups` in the ID and
//! access tokens; then no temporary password in the log or store, and a rebuild giving
//! identical projections. Tools: `.ci/clients.sh`.

mod cognito_support;
mod common;

use cognito_support::{admin_keys, assert_checks, python, require, run_script};
use common::Server;

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_admin_user_apis_and_groups() {
    let Some(python) = require(python(), "boto3_admin_user_apis_and_groups") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), Server::FAST_HASH).await;
    let endpoint = format!("http://127.0.0.1:{}", server.http);
    let (key_id, secret) = admin_keys(dir.path());

    let flow = run_script(
        &python,
        "boto3_admin_groups.py",
        &[("IDP_ENDPOINT", endpoint), ("IDP_ACCESS_KEY_ID", key_id), ("IDP_SECRET_ACCESS_KEY", secret), ("IDP_DATA_DIR", dir.path().display().to_string())],
    )
    .await;
    assert_checks(
        &flow,
        &[
            "AddCustomAttributes: custom:tier in the schema",
            "AddCustomAttributes of an existing name: InvalidParameterException",
            "AdminCreateUser: FORCE_CHANGE_PASSWORD",
            "invitation by email with the temporary password",
            "RESEND: a new temporary password",
            "SUPPRESS: no invitation",
            "AdminCreateUser of an existing user: UsernameExistsException",
            "AdminCreateUser with a weak temporary password: InvalidPasswordException",
            "AdminCreateUser with custom:tier out of range: InvalidParameterException",
            "RESEND for an unknown user: UserNotFoundException",
            "rejected creates wrote nothing: UserNotFoundException",
            "AdminGetUser",
            "AdminSetUserPassword Permanent: CONFIRMED",
            "AdminSetUserPassword not permanent: FORCE_CHANGE_PASSWORD",
            "AdminDisableUser",
            "disabled user signs in: NotAuthorizedException",
            "AdminEnableUser: signs in again",
            "AdminUpdateUserAttributes",
            "AdminUpdateUserAttributes of an immutable custom attribute: InvalidParameterException",
            "AdminDeleteUserAttributes",
            "AdminConfirmSignUp",
            "AdminConfirmSignUp twice: NotAuthorizedException",
            "AdminResetUserPassword: RESET_REQUIRED",
            "reset code sets a new password",
            "access token after AdminUserGlobalSignOut: NotAuthorizedException",
            "CreateGroup",
            "CreateGroup of an existing group: GroupExistsException",
            "GetGroup of an unknown group: ResourceNotFoundException",
            "UpdateGroup keeps unset members",
            "ListGroups pages",
            "ListUsersInGroup pages",
            "AdminListGroupsForUser",
            "ID token cognito:groups by precedence",
            "access token cognito:groups by precedence",
            "a re-created group has no members",
            "the deleted group left the tokens",
            "AdminRemoveUserFromGroup",
            "AdminDeleteUser: gone: UserNotFoundException",
        ],
    );

    // The temporary passwords are only in the dev outbox, never in the log or the store.
    let mut server = server;
    server.kill9();
    let temporaries: Vec<String> = flow["temporary_passwords"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect();
    assert_eq!(temporaries.len(), 2);
    for path in walk(dir.path()) {
        if path.ends_with("outbox.jsonl") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap_or_default();
        for secret in temporaries.iter().map(String::as_str).chain(["Temp-Passw0rd!", "Reset-Passw0rd"]) {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{secret} found in {}", path.display());
        }
    }
    let (before, after, _) = server.rebuild();
    assert_eq!(before.len(), 64);
    assert_eq!(before, after, "replay gives identical projections");
}
