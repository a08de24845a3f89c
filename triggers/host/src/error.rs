//! [`TriggerError`]: every way a trigger call or deployment can fail, with the stable
//! (Cognito) exception name each maps to.

use std::time::Duration;

/// Exception names (stable; adapters map them to their wire).
pub mod names {
    /// The trigger rejected the operation (`Err(message)`).
    pub const USER_LAMBDA_VALIDATION: &str = "UserLambdaValidationException";
    /// The trigger failed: trap, timeout, memory or fuel exhausted, not loadable.
    pub const UNEXPECTED_LAMBDA: &str = "UnexpectedLambdaException";
    /// The trigger answered something the service cannot accept.
    pub const INVALID_LAMBDA_RESPONSE: &str = "InvalidLambdaResponseException";
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TriggerError {
    /// The trigger returned `Err(message)`: the operation is refused with that message.
    #[error("{kind} failed with error {message}.")]
    Rejected { kind: &'static str, message: String },
    /// The call ran past its deadline and was interrupted.
    #[error("{kind} trigger timed out after {elapsed:?} (deadline {deadline:?}).")]
    Timeout { kind: &'static str, deadline: Duration, elapsed: Duration },
    /// The trigger tried to grow its memory past its cap.
    #[error("{kind} trigger exceeded its memory limit of {limit_bytes} bytes.")]
    MemoryLimit { kind: &'static str, limit_bytes: u64 },
    /// The trigger used up its fuel (instruction budget).
    #[error("{kind} trigger exhausted its fuel.")]
    OutOfFuel { kind: &'static str },
    /// The trigger trapped (panic, unreachable, stack overflow, bad memory access...).
    #[error("{kind} trigger failed: {detail}")]
    Trap { kind: &'static str, detail: String },
    /// The trigger's answer could not be read (malformed) or breaks the response rules.
    #[error("{kind} trigger returned an invalid response: {detail}")]
    InvalidResponse { kind: &'static str, detail: String },
    /// The trigger could not be run at all (component missing, instance limit reached...).
    #[error("{kind} trigger is unavailable: {detail}")]
    Unavailable { kind: &'static str, detail: String },
    /// A component offered for deployment is not a valid trigger of its kind.
    #[error("invalid trigger component: {0}")]
    InvalidComponent(String),
    /// The runtime could not be set up, or the blob store failed.
    #[error("trigger runtime: {0}")]
    Runtime(String),
}

impl TriggerError {
    /// The stable exception name.
    pub fn name(&self) -> &'static str {
        match self {
            TriggerError::Rejected { .. } => names::USER_LAMBDA_VALIDATION,
            TriggerError::InvalidResponse { .. } => names::INVALID_LAMBDA_RESPONSE,
            TriggerError::InvalidComponent(_) => "InvalidParameterException",
            TriggerError::Runtime(_) => "InternalErrorException",
            TriggerError::Timeout { .. }
            | TriggerError::MemoryLimit { .. }
            | TriggerError::OutOfFuel { .. }
            | TriggerError::Trap { .. }
            | TriggerError::Unavailable { .. } => names::UNEXPECTED_LAMBDA,
        }
    }
}
