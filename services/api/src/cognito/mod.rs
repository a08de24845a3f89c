//! The Cognito wire protocol (JSON 1.1) on the HTTP listener: `POST /` with
//! `X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>`, so unchanged AWS SDKs,
//! amazon-cognito-identity-js and Amplify work by pointing their endpoint here.
//!
//! A thin adapter over the command path, like the gRPC one: every operation reads its members
//! ([`input`]), calls the same `App` method the gRPC service calls ([`admin_ops`],
//! [`admin_user_ops`], [`group_ops`], [`user_ops`]) and shapes Cognito's answer. No business
//! rule lives here.
//!
//! - [`errors`]: the one mapping from error name to HTTP status, and the error body/headers.
//! - [`sigv4`]: SigV4 verification of the signed (admin) operations against the admin key.
//! - [`input`]: member reading: tolerant of `null`/`{}`, strict about values.
//!
//! Per request: target header (any case) → body (at most [`MAX_BODY_BYTES`]) → SigV4 for signed
//! operations → members → `App` → JSON, with `x-amzn-RequestId` on every answer.

pub mod admin_ops;
pub mod admin_user_ops;
pub mod errors;
pub mod group_ops;
pub mod input;
pub mod mfa_ops;
pub mod sigv4;
pub mod user_ops;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use idp_app::credentials::AdminCredentials;
use idp_app::App;
use serde_json::Value;

use errors::{CognitoError, CONTENT_TYPE};
use input::Input;

/// Largest accepted request body (Cognito's own limit is far below this).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// An oversized body is read and dropped up to this size before the 413, so the client sees
/// the answer instead of a reset connection; beyond it the connection is simply closed.
pub const DRAIN_LIMIT_BYTES: usize = 8 * 1024 * 1024;
/// The `X-Amz-Target` prefix of every Cognito user pools operation.
pub const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";

/// Operations that require a SigV4 signature (everything else here is `noAuth`).
pub const SIGNED: &[&str] = &[
    "CreateUserPool",
    "DescribeUserPool",
    "UpdateUserPool",
    "DeleteUserPool",
    "ListUserPools",
    "CreateUserPoolClient",
    "DescribeUserPoolClient",
    "ListUserPoolClients",
    "DeleteUserPoolClient",
    "ListUsers",
    "AdminInitiateAuth",
    "AdminRespondToAuthChallenge",
    "AdminSetUserMFAPreference",
    "SetUserPoolMfaConfig",
    "GetUserPoolMfaConfig",
];

/// Whether `op` requires a SigV4 signature ([`SIGNED`] and the admin-user and group operations).
pub fn is_signed(op: &str) -> bool {
    SIGNED.contains(&op) || admin_user_ops::OPS.contains(&op) || group_ops::OPS.contains(&op)
}

/// Operations answered without a signature.
pub const UNSIGNED: &[&str] = &[
    "SignUp",
    "ConfirmSignUp",
    "ResendConfirmationCode",
    "InitiateAuth",
    "RespondToAuthChallenge",
    "GetTokensFromRefreshToken",
    "RevokeToken",
    "GetUser",
    "UpdateUserAttributes",
    "GetUserAttributeVerificationCode",
    "VerifyUserAttribute",
    "ChangePassword",
    "ForgotPassword",
    "ConfirmForgotPassword",
    "GlobalSignOut",
    "DeleteUser",
    "AssociateSoftwareToken",
    "VerifySoftwareToken",
    "SetUserMFAPreference",
];

/// Sign-in and code-verification operations, throttled per source address.
const THROTTLED: &[&str] = &["InitiateAuth", "RespondToAuthChallenge", "ConfirmSignUp", "ForgotPassword", "ConfirmForgotPassword"];

/// What the Cognito handler needs.
pub struct Cognito {
    pub app: Arc<App>,
    pub credentials: AdminCredentials,
}

/// The `POST /` route (and its CORS preflight, so browser SDKs on other origins can call it).
pub fn router(app: Arc<App>, credentials: AdminCredentials) -> Router {
    Router::new().route("/", post(handle).options(preflight)).with_state(Arc::new(Cognito { app, credentials }))
}

/// Headers browsers may send and read cross-origin (as Cognito's endpoint allows: any origin,
/// no cookies, so a wildcard is safe).
const ALLOW_HEADERS: &str = "content-type, x-amz-target, x-amz-user-agent, x-amz-date, x-amz-security-token, x-amz-content-sha256, authorization, cache-control, amz-sdk-invocation-id, amz-sdk-request";
const EXPOSE_HEADERS: &str = "x-amzn-requestid, x-amzn-errortype, x-amzn-errormessage, date";

fn cors(headers: &mut HeaderMap) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSE_HEADERS));
}

async fn preflight(req_headers: HeaderMap) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    cors(h);
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, OPTIONS"));
    let asked = req_headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS).cloned();
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.unwrap_or(HeaderValue::from_static(ALLOW_HEADERS)));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    resp
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

async fn handle(State(cognito): State<Arc<Cognito>>, req: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut resp = match cognito.call(req).await {
        Ok(value) => {
            let mut r = (StatusCode::OK, value.to_string()).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
            r
        }
        Err(e) => e.into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    cors(resp.headers_mut());
    resp
}

/// The operation named by `X-Amz-Target`.
fn operation(headers: &HeaderMap) -> Result<String, CognitoError> {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).map(str::trim).unwrap_or("");
    match target.strip_prefix(TARGET_PREFIX) {
        Some(op) if !op.is_empty() => Ok(op.to_string()),
        _ if target.is_empty() => Err(CognitoError::new("UnknownOperationException", "Missing X-Amz-Target header.")),
        _ => Err(CognitoError::new("UnknownOperationException", format!("Unknown operation target {target}."))),
    }
}

/// The idempotency key of a write, when the caller sends one (as over gRPC).
/// The caller's idempotency key: `x-idp-request-id`, else the `amz-sdk-invocation-id` the AWS
/// SDKs send (one per call, the same on each of its retries), so unchanged SDK code gets
/// idempotent retries.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(crate::meta::REQUEST_ID)
        .or_else(|| headers.get("amz-sdk-invocation-id"))
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(128).collect())
        .unwrap_or_default()
}

fn too_large() -> CognitoError {
    CognitoError::new("RequestEntityTooLargeException", format!("The request body is larger than {MAX_BODY_BYTES} bytes."))
}

/// Reads at most [`MAX_BODY_BYTES`]; a larger body is drained (bounded) and refused.
async fn read_body(body: Body, declared: Option<usize>) -> Result<Vec<u8>, CognitoError> {
    use tokio_stream::StreamExt;
    if declared.is_some_and(|n| n > DRAIN_LIMIT_BYTES) {
        return Err(too_large());
    }
    let mut stream = body.into_data_stream();
    let (mut buf, mut total) = (Vec::new(), 0usize);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| CognitoError::invalid("The request body could not be read."))?;
        total += chunk.len();
        if total > DRAIN_LIMIT_BYTES {
            return Err(too_large());
        }
        if total <= MAX_BODY_BYTES {
            buf.extend_from_slice(&chunk);
        }
    }
    if total > MAX_BODY_BYTES {
        return Err(too_large());
    }
    Ok(buf)
}

impl Cognito {
    async fn call(&self, req: Request) -> Result<Value, CognitoError> {
        let (parts, body): (_, Body) = req.into_parts();
        let op = operation(&parts.headers)?;
        if THROTTLED.contains(&op.as_str()) {
            let source = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
            self.app.admit_attempt(source)?;
        }
        let signed = is_signed(&op);
        if !signed && !UNSIGNED.contains(&op.as_str()) {
            return Err(CognitoError::invalid(format!("Operation {op} is not supported by this service.")));
        }
        let declared = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
        let bytes = read_body(body, declared).await?;
        if signed {
            let req = sigv4::SignedRequest { method: &parts.method, uri: &parts.uri, headers: &parts.headers, body: &bytes };
            sigv4::verify(&req, &self.credentials, now_secs())?;
        }
        let body = input::parse_body(&bytes)?;
        let input = Input::root(&body);
        let rid = request_id(&parts.headers);
        // Every trigger this call runs gets the caller's ClientMetadata (the operation itself
        // reports a malformed one).
        if let Ok(metadata) = input.string_map("ClientMetadata") {
            idp_app::scope::set_client_metadata(metadata);
        }
        self.dispatch(&op, &input, &rid).await
    }

    async fn dispatch(&self, op: &str, i: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
        let app = &*self.app;
        if let Some(answer) = admin_user_ops::dispatch(app, op, i, rid).await {
            return answer;
        }
        if let Some(answer) = group_ops::dispatch(app, op, i, rid).await {
            return answer;
        }
        match op {
            "CreateUserPool" => admin_ops::create_user_pool(app, i, rid).await,
            "DescribeUserPool" => admin_ops::describe_user_pool(app, i).await,
            "UpdateUserPool" => admin_ops::update_user_pool(app, i, rid).await,
            "DeleteUserPool" => admin_ops::delete_user_pool(app, i, rid).await,
            "ListUserPools" => admin_ops::list_user_pools(app, i).await,
            "CreateUserPoolClient" => admin_ops::create_user_pool_client(app, i, rid).await,
            "DescribeUserPoolClient" => admin_ops::describe_user_pool_client(app, i).await,
            "ListUserPoolClients" => admin_ops::list_user_pool_clients(app, i).await,
            "DeleteUserPoolClient" => admin_ops::delete_user_pool_client(app, i, rid).await,
            "ListUsers" => admin_ops::list_users(app, i).await,
            "SignUp" => user_ops::sign_up(app, i, rid).await,
            "ConfirmSignUp" => user_ops::confirm_sign_up(app, i, rid).await,
            "ResendConfirmationCode" => user_ops::resend_confirmation_code(app, i, rid).await,
            "InitiateAuth" => user_ops::initiate_auth(app, i).await,
            "RespondToAuthChallenge" => user_ops::respond_to_auth_challenge(app, i).await,
            "GetTokensFromRefreshToken" => user_ops::get_tokens_from_refresh_token(app, i).await,
            "RevokeToken" => user_ops::revoke_token(app, i, rid).await,
            "GetUser" => user_ops::get_user(app, i).await,
            "UpdateUserAttributes" => user_ops::update_user_attributes(app, i, rid).await,
            "GetUserAttributeVerificationCode" => user_ops::get_user_attribute_verification_code(app, i, rid).await,
            "VerifyUserAttribute" => user_ops::verify_user_attribute(app, i, rid).await,
            "ChangePassword" => user_ops::change_password(app, i, rid).await,
            "ForgotPassword" => user_ops::forgot_password(app, i, rid).await,
            "ConfirmForgotPassword" => user_ops::confirm_forgot_password(app, i, rid).await,
            "GlobalSignOut" => user_ops::global_sign_out(app, i, rid).await,
            "DeleteUser" => user_ops::delete_user(app, i, rid).await,
            "AdminInitiateAuth" => mfa_ops::admin_initiate_auth(app, i).await,
            "AdminRespondToAuthChallenge" => mfa_ops::admin_respond_to_auth_challenge(app, i).await,
            "AssociateSoftwareToken" => mfa_ops::associate_software_token(app, i).await,
            "VerifySoftwareToken" => mfa_ops::verify_software_token(app, i).await,
            "SetUserMFAPreference" => mfa_ops::set_user_mfa_preference(app, i).await,
            "AdminSetUserMFAPreference" => mfa_ops::admin_set_user_mfa_preference(app, i).await,
            "SetUserPoolMfaConfig" => mfa_ops::set_user_pool_mfa_config(app, i, rid).await,
            "GetUserPoolMfaConfig" => mfa_ops::get_user_pool_mfa_config(app, i).await,
            other => Err(CognitoError::invalid(format!("Operation {other} is not supported by this service."))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert("X-AMZ-TARGET", v);
        }
        h
    }

    #[test]
    fn target_parsing() {
        assert_eq!(operation(&target("AWSCognitoIdentityProviderService.SignUp")).ok().as_deref(), Some("SignUp"));
        assert_eq!(operation(&HeaderMap::new()).err().map(|e| e.name.to_string()).as_deref(), Some("UnknownOperationException"));
        assert_eq!(operation(&target("DynamoDB_20120810.GetItem")).err().map(|e| e.name.to_string()).as_deref(), Some("UnknownOperationException"));
    }

    #[test]
    fn operation_lists_are_disjoint() {
        assert!(SIGNED.iter().all(|op| !UNSIGNED.contains(op)));
        assert_eq!(SIGNED.len() + UNSIGNED.len(), 34);
        let extra: Vec<&str> = admin_user_ops::OPS.iter().chain(group_ops::OPS).copied().collect();
        assert_eq!(extra.len(), 21);
        assert!(extra.iter().all(|op| is_signed(op) && !UNSIGNED.contains(op) && !SIGNED.contains(op)));
    }
}
