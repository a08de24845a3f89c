//! Domain errors. `name()` is the stable, Cognito-compatible exception name that every adapter
//! (gRPC status details, Cognito JSON `__type`) exposes; it never changes once released.

/// A rule said no. Messages are safe to show to callers (no secrets, no internal detail).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    InvalidPassword(String),
    #[error("User already exists")]
    UsernameExists,
    #[error("User does not exist.")]
    UserNotFound,
    #[error("{0}")]
    NotAuthorized(String),
    #[error("User is not confirmed.")]
    UserNotConfirmed,
    #[error("Invalid verification code provided, please try again.")]
    CodeMismatch,
    #[error("Invalid code provided, please request a code again.")]
    ExpiredCode,
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    ResourceExists(String),
    #[error("{0}")]
    GroupExists(String),
    #[error("{0}")]
    UnsupportedUserState(String),
    #[error("Password reset required for the user")]
    PasswordResetRequired,
    #[error("Software token MFA has not been set up for the user.")]
    SoftwareTokenMfaNotFound,
    #[error("{0}")]
    EnableSoftwareTokenMfa(String),
}

impl DomainError {
    /// The stable exception name (Cognito's where one exists).
    pub fn name(&self) -> &'static str {
        match self {
            DomainError::InvalidParameter(_) => "InvalidParameterException",
            DomainError::InvalidPassword(_) => "InvalidPasswordException",
            DomainError::UsernameExists => "UsernameExistsException",
            DomainError::UserNotFound => "UserNotFoundException",
            DomainError::NotAuthorized(_) => "NotAuthorizedException",
            DomainError::UserNotConfirmed => "UserNotConfirmedException",
            DomainError::CodeMismatch => "CodeMismatchException",
            DomainError::ExpiredCode => "ExpiredCodeException",
            DomainError::LimitExceeded(_) => "LimitExceededException",
            DomainError::ResourceNotFound(_) => "ResourceNotFoundException",
            DomainError::ResourceExists(_) => "ResourceExistsException",
            DomainError::GroupExists(_) => "GroupExistsException",
            DomainError::UnsupportedUserState(_) => "UnsupportedUserStateException",
            DomainError::PasswordResetRequired => "PasswordResetRequiredException",
            DomainError::SoftwareTokenMfaNotFound => "SoftwareTokenMFANotFoundException",
            DomainError::EnableSoftwareTokenMfa(_) => "EnableSoftwareTokenMFAException",
        }
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        DomainError::InvalidParameter(msg.into())
    }

    /// The answer to a failed sign-in, whatever its cause, when user existence must not leak.
    pub fn incorrect_credentials() -> Self {
        DomainError::NotAuthorized("Incorrect username or password.".into())
    }

    /// Applies PreventUserExistenceErrors to an authentication failure: unknown and disabled
    /// users look exactly like a wrong password.
    pub fn hide_existence(self, prevent: bool) -> Self {
        match self {
            DomainError::UserNotFound | DomainError::NotAuthorized(_) if prevent => DomainError::incorrect_credentials(),
            other => other,
        }
    }
}
