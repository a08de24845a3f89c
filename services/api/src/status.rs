//! The one place error names become gRPC statuses.

use idp_app::AppError;
use tonic::{Code, Status};

/// The gRPC code for a stable error name.
pub fn code_for(name: &str) -> Code {
    match name {
        "InvalidParameterException" | "InvalidPasswordException" | "CodeMismatchException" | "ExpiredCodeException" => Code::InvalidArgument,
        "UsernameExistsException" | "ResourceExistsException" | "AliasExistsException" | "GroupExistsException" => Code::AlreadyExists,
        "UserNotFoundException" | "ResourceNotFoundException" => Code::NotFound,
        "NotAuthorizedException" | "UnrecognizedClientException" | "InvalidSignatureException" => Code::Unauthenticated,
        "UserNotConfirmedException" | "PasswordResetRequiredException" | "SoftwareTokenMFANotFoundException" | "UnsupportedUserStateException" => {
            Code::FailedPrecondition
        }
        "EnableSoftwareTokenMFAException" => Code::InvalidArgument,
        "LimitExceededException" | "TooManyRequestsException" | "TooManyFailedAttemptsException" => Code::ResourceExhausted,
        "ServiceUnavailableException" => Code::Unavailable,
        // Triggers: a rejection is the caller's problem; a broken trigger is the deployment's.
        "UserLambdaValidationException" => Code::InvalidArgument,
        "UnexpectedLambdaException" | "InvalidLambdaResponseException" => Code::FailedPrecondition,
        _ => Code::Internal,
    }
}

/// Converts an error to a status carrying its name in `x-idp-error`.
pub fn to_status(err: AppError) -> Status {
    if let AppError::Internal(detail) = &err {
        tracing::error!(error = %detail, "internal error");
    }
    let name = err.name();
    let mut status = Status::new(code_for(name), err.public_message());
    if let Ok(v) = name.parse() {
        status.metadata_mut().insert(crate::meta::ERROR, v);
    }
    status
}

/// A named error built in the adapter (credential checks).
pub fn named(name: &'static str, message: &str) -> Status {
    let mut status = Status::new(code_for(name), message.to_string());
    if let Ok(v) = name.parse() {
        status.metadata_mut().insert(crate::meta::ERROR, v);
    }
    status
}
