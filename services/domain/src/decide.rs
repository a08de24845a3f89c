//! What every `decide` returns, and the rules shared by several aggregates (one-time codes).

use crate::ctx::Ctx;
use crate::pb::{event::Kind, CodeAttemptFailed, Event, PendingCode, UserState};
use crate::DomainError;

/// A refused command. `record` holds events that must be appended even though the command
/// failed (today: a wrong code's failed-attempt counter, so attempt limits hold across
/// processes and replays). Most rejections record nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub error: DomainError,
    pub record: Vec<Event>,
}

impl From<DomainError> for Rejected {
    fn from(error: DomainError) -> Self {
        Rejected { error, record: Vec::new() }
    }
}

/// Wraps an event kind.
pub fn ev(kind: Kind) -> Event {
    Event { kind: Some(kind) }
}

/// Code purposes.
pub mod purpose {
    pub const SIGN_UP: &str = "SIGN_UP";
    pub const FORGOT_PASSWORD: &str = "FORGOT_PASSWORD";
    pub const VERIFY_ATTRIBUTE: &str = "VERIFY_ATTRIBUTE";
    /// The invitation of AdminCreateUser: its sealed secret is the temporary password.
    pub const ADMIN_CREATE_USER: &str = "ADMIN_CREATE_USER";
    /// SMS_MFA / EMAIL_OTP second-factor codes.
    pub const MFA: &str = "MFA";
}

/// The CustomMessage trigger sources a code message can have (recorded in `CodeIssued`).
pub mod message_source {
    pub const SIGN_UP: &str = "CustomMessage_SignUp";
    pub const RESEND_CODE: &str = "CustomMessage_ResendCode";
    pub const FORGOT_PASSWORD: &str = "CustomMessage_ForgotPassword";
    pub const UPDATE_USER_ATTRIBUTE: &str = "CustomMessage_UpdateUserAttribute";
    pub const VERIFY_USER_ATTRIBUTE: &str = "CustomMessage_VerifyUserAttribute";
    pub const ADMIN_CREATE_USER: &str = "CustomMessage_AdminCreateUser";
    pub const AUTHENTICATION: &str = "CustomMessage_Authentication";
}

/// Code lifetimes (Cognito's).
pub const SIGN_UP_CODE_TTL_MS: i64 = 24 * 3600 * 1000;
pub const FORGOT_PASSWORD_CODE_TTL_MS: i64 = 3600 * 1000;
pub const VERIFY_ATTRIBUTE_CODE_TTL_MS: i64 = 24 * 3600 * 1000;
/// An MFA code lives as long as the challenge session that asks for it.
pub const MFA_CODE_TTL_MS: i64 = 3 * 60 * 1000;
pub const DEFAULT_CODE_MAX_ATTEMPTS: u32 = 5;

/// Checks a presented code against the user's pending code for `(purpose, attribute)`.
/// A wrong code is refused *and* recorded; a code past its attempt limit or lifetime is refused.
pub fn check_code(user: &UserState, purpose: &str, attribute: &str, presented: &str, max_attempts: u32, ctx: &dyn Ctx) -> Result<(), Rejected> {
    if presented.is_empty() || presented.len() > 16 || !presented.chars().all(|c| c.is_ascii_digit()) {
        return Err(DomainError::CodeMismatch.into());
    }
    let pending: Option<&PendingCode> = user.codes.iter().find(|c| c.purpose == purpose && c.attribute == attribute);
    let Some(code) = pending else {
        return Err(DomainError::ExpiredCode.into());
    };
    let max = if max_attempts == 0 { DEFAULT_CODE_MAX_ATTEMPTS } else { max_attempts };
    if code.failed_attempts >= max {
        return Err(DomainError::LimitExceeded("Attempt limit exceeded, please try after some time.".into()).into());
    }
    if ctx.now_ms() > code.expires_at_ms {
        return Err(DomainError::ExpiredCode.into());
    }
    if !ctx.code_matches(&code.salt, &code.hash, presented) {
        return Err(Rejected {
            error: DomainError::CodeMismatch,
            record: vec![ev(Kind::CodeAttemptFailed(CodeAttemptFailed { purpose: purpose.to_string(), attribute: attribute.to_string() }))],
        });
    }
    Ok(())
}
