//! [`AppError`]: what the command path returns. `name()` is the stable exception name; each
//! adapter maps names to its wire in exactly one place.

use idp_domain::DomainError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// A business rule refused the command.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The log or the projector cannot serve right now (broker down, still catching up).
    #[error("service not ready: {0}")]
    NotReady(String),
    /// Too many conflicting writers on one aggregate; the caller may retry.
    #[error("{0}")]
    TooManyRequests(String),
    /// A bug or a broken dependency. The message is logged; callers see a generic text.
    #[error("internal error: {0}")]
    Internal(String),
    /// A trigger refused the operation (its message is shown).
    #[error("{0}")]
    UserLambdaValidation(String),
    /// A trigger failed: trap, timeout, memory or fuel exhausted, not runnable.
    #[error("{0}")]
    UnexpectedLambda(String),
    /// A trigger answered something unreadable or against the response rules.
    #[error("{0}")]
    InvalidLambdaResponse(String),
}

impl AppError {
    pub fn name(&self) -> &'static str {
        match self {
            AppError::Domain(e) => e.name(),
            AppError::NotReady(_) => "ServiceUnavailableException",
            AppError::TooManyRequests(_) => "TooManyRequestsException",
            AppError::Internal(_) => "InternalErrorException",
            AppError::UserLambdaValidation(_) => "UserLambdaValidationException",
            AppError::UnexpectedLambda(_) => "UnexpectedLambdaException",
            AppError::InvalidLambdaResponse(_) => "InvalidLambdaResponseException",
        }
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        AppError::Domain(DomainError::InvalidParameter(msg.into()))
    }

    pub fn not_authorized(msg: impl Into<String>) -> Self {
        AppError::Domain(DomainError::NotAuthorized(msg.into()))
    }

    pub fn not_found(msg: impl Into<String>) -> Self {
        AppError::Domain(DomainError::ResourceNotFound(msg.into()))
    }

    /// The message safe to show a caller (internal details stay in the logs).
    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => "An internal error occurred.".into(),
            other => other.to_string(),
        }
    }
}

impl From<idp_store::StoreError> for AppError {
    fn from(e: idp_store::StoreError) -> Self {
        match e {
            idp_store::StoreError::Unavailable(m) => AppError::NotReady(format!("projection store unavailable: {m}")),
            other => AppError::Internal(format!("projection store: {other}")),
        }
    }
}

impl From<idp_eventlog::LogError> for AppError {
    fn from(e: idp_eventlog::LogError) -> Self {
        match e {
            idp_eventlog::LogError::Unavailable(m) => AppError::NotReady(format!("event log unavailable: {m}")),
            other => AppError::NotReady(format!("event log: {other}")),
        }
    }
}
