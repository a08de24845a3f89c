//! Cognito JSON errors: the ONE place an error name becomes an HTTP status.
//!
//! Wire form (what botocore and amazon-cognito-identity-js parse): status 400 for client
//! errors, body `{"__type": "<Name>", "message": "..."}`, headers `x-amzn-ErrorType:
//! <Name>:` and `x-amzn-RequestId` (the latter added by the dispatcher for every answer).
//! Internal faults are 500 `InternalErrorException` (botocore retries 5xx), and an unready
//! service is 503 (retried too).

use std::borrow::Cow;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use idp_app::AppError;

/// The content type of every Cognito answer.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// An error as the Cognito wire shows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {message}")]
pub struct CognitoError {
    pub name: Cow<'static, str>,
    pub message: String,
}

impl CognitoError {
    pub fn new(name: &'static str, message: impl Into<String>) -> Self {
        CognitoError { name: Cow::Borrowed(name), message: message.into() }
    }

    /// InvalidParameterException.
    pub fn invalid(message: impl Into<String>) -> Self {
        CognitoError::new("InvalidParameterException", message)
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        http_status(&self.name)
    }
}

/// Error name → HTTP status. Everything not listed is a client error (400), as in Cognito.
pub fn http_status(name: &str) -> StatusCode {
    match name {
        "InternalErrorException" => StatusCode::INTERNAL_SERVER_ERROR,
        "ServiceUnavailableException" => StatusCode::SERVICE_UNAVAILABLE,
        "RequestEntityTooLargeException" => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl From<AppError> for CognitoError {
    fn from(err: AppError) -> Self {
        if let AppError::Internal(detail) = &err {
            tracing::error!(error = %detail, "internal error");
        }
        CognitoError::new(err.name(), err.public_message())
    }
}

impl IntoResponse for CognitoError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::json!({ "__type": self.name, "message": self.message }).to_string();
        let mut resp = (status, body).into_response();
        let headers = resp.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        if let Ok(v) = HeaderValue::from_str(&format!("{}:", self.name)) {
            headers.insert("x-amzn-errortype", v);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idp_domain::DomainError;

    #[test]
    fn statuses() {
        assert_eq!(http_status("UsernameExistsException"), StatusCode::BAD_REQUEST);
        assert_eq!(http_status("NotAuthorizedException"), StatusCode::BAD_REQUEST);
        assert_eq!(http_status("InternalErrorException"), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(http_status("ServiceUnavailableException"), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(http_status("RequestEntityTooLargeException"), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn app_errors_keep_their_name_and_hide_internal_detail() {
        let e = CognitoError::from(AppError::Domain(DomainError::UsernameExists));
        assert_eq!((e.name.as_ref(), e.message.as_str()), ("UsernameExistsException", "User already exists"));
        let e = CognitoError::from(AppError::Internal("disk on fire at /secret/path".into()));
        assert_eq!(e.name, "InternalErrorException");
        assert!(!e.message.contains("secret"));
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn response_shape() {
        let resp = CognitoError::new("UserNotFoundException", "User does not exist.").into_response();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(resp.headers().get("x-amzn-errortype").and_then(|v| v.to_str().ok()), Some("UserNotFoundException:"));
        assert_eq!(resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some(CONTENT_TYPE));
    }
}
