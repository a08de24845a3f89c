//! Sign-in rules past "which user is this": lockout after failed attempts, the first factor's
//! verdict, the NEW_PASSWORD_REQUIRED answer, and the MFA rules (pool MFA configuration, TOTP
//! association and verification, MFA preferences, second-factor answers).
//!
//! Lockout follows Cognito: after [`FREE_FAILURES`] consecutive failures each further failure
//! locks the user for 1 s, doubling per failure up to [`MAX_LOCKOUT_MS`] (15 min); attempts
//! while locked are refused without being checked (and without being counted); the counter
//! restarts after [`FAILURE_MEMORY_MS`] without failures (counted from the end of a lockout), and a successful sign-in clears it.
//! The counter, the lockout instant and the TOTP steps used are recorded in events, so every
//! front and every replay sees the same lockouts.
//!
//! Challenge sessions (issued by the front) are bound to the user's version: every answer
//! carries the version its session was issued at, and is refused if the user has changed since.

use crate::ctx::Ctx;
use crate::decide::{check_code, ev, purpose, Rejected, MFA_CODE_TTL_MS};
use crate::keys::pool_name;
use crate::pb::{
    event::Kind, Attribute, CodeIssued, Event, MfaCodeAccepted, MfaPreferenceSet, NewPasswordRequiredAnswered, PoolSettings, PoolState, SignInFailed,
    SignInSucceeded, SoftwareTokenAssociated, SoftwareTokenVerified, UserState,
};
use crate::user::status;
use crate::validate::{self, Writer};
use crate::DomainError;

/// Failures allowed before lockouts start.
pub const FREE_FAILURES: u32 = 5;
/// The first lockout; it doubles with every further failure.
pub const FIRST_LOCKOUT_MS: i64 = 1_000;
/// The longest lockout.
pub const MAX_LOCKOUT_MS: i64 = 15 * 60 * 1000;
/// Failures older than this (with none since) are forgotten.
pub const FAILURE_MEMORY_MS: i64 = 15 * 60 * 1000;

/// MFA methods (Cognito's challenge names).
pub mod method {
    pub const SOFTWARE_TOKEN: &str = "SOFTWARE_TOKEN_MFA";
    pub const SMS: &str = "SMS_MFA";
    pub const EMAIL: &str = "EMAIL_OTP";
}

/// Pool MFA modes.
pub mod mode {
    pub const OFF: &str = "OFF";
    pub const ON: &str = "ON";
    pub const OPTIONAL: &str = "OPTIONAL";
}

/// One method's part of SetUserMFAPreference (`None` fields leave the setting alone).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MethodPreference {
    pub enabled: Option<bool>,
    pub preferred: Option<bool>,
}

pub enum SignInCommand {
    /// The first factor (password or SRP proof) was checked by the front: `ok` is its verdict.
    FirstFactor { ok: bool },
    /// The sign-in passed every factor. Clears a failure streak; through a session (MFA_SETUP
    /// completed) it always records, which spends the session.
    Succeeded { session_version: Option<u64> },
    /// NEW_PASSWORD_REQUIRED answered through a session issued at `session_version`.
    AnswerNewPassword { password: String, attributes: Vec<(String, String)>, session_version: u64 },
    /// Sends an SMS_MFA or EMAIL_OTP code (recorded like every code: hashed and sealed).
    IssueMfaCode { method: String, client_id: String },
    /// A second-factor answer through a session issued at `session_version`.
    AnswerMfa { method: String, code: String, session_version: u64 },
    /// AssociateSoftwareToken: a fresh TOTP secret (pending until verified).
    AssociateSoftwareToken,
    /// VerifySoftwareToken: proves the pending secret with a code.
    VerifySoftwareToken { code: String, friendly_device_name: String },
    /// SetUserMFAPreference / AdminSetUserMFAPreference.
    SetMfaPreference { sms: MethodPreference, software_token: MethodPreference, email: MethodPreference },
}

fn existing(user: Option<&UserState>) -> Result<&UserState, DomainError> {
    user.ok_or(DomainError::UserNotFound)
}

fn settings(pool: &PoolState) -> PoolSettings {
    pool.settings.clone().unwrap_or_default()
}

/// Refuses a locked user without looking at what it presented.
pub fn check_not_locked(u: &UserState, now_ms: i64) -> Result<(), DomainError> {
    if now_ms < u.locked_until_ms {
        return Err(DomainError::NotAuthorized("Password attempts exceeded".into()));
    }
    Ok(())
}

/// The event recording one more failure, with the lockout it earns.
pub fn failure(u: &UserState, factor: &str, now_ms: i64) -> Event {
    // Quiet time counts from the last failure or the end of its lockout, whichever is later.
    let quiet_since = u.last_failed_sign_in_ms.max(u.locked_until_ms);
    let streak = if now_ms - quiet_since > FAILURE_MEMORY_MS { 0 } else { u.failed_sign_ins };
    let failures = streak.saturating_add(1);
    let locked_until_ms = if failures > FREE_FAILURES {
        let doublings = (failures - FREE_FAILURES - 1).min(20);
        now_ms + (FIRST_LOCKOUT_MS << doublings).min(MAX_LOCKOUT_MS)
    } else {
        0
    };
    ev(Kind::SignInFailed(SignInFailed { failures, at_ms: now_ms, locked_until_ms, factor: factor.to_string() }))
}

/// Whether a challenge session issued at `session_version` is still good: nothing but failed
/// attempts (wrong codes, wrong passwords) happened to the user since it was issued. A wrong MFA
/// answer leaves it usable (Cognito lets the client retry with the same session); an accepted
/// answer, or any other change of the user, spends it.
pub fn session_current(u: &UserState, session_version: u64) -> bool {
    session_version <= u.version && session_version >= u.sessions_valid_from_version
}

/// A session answer is only good while [`session_current`] holds.
fn check_session(u: &UserState, session_version: u64) -> Result<(), DomainError> {
    if !session_current(u, session_version) {
        return Err(DomainError::NotAuthorized("Invalid session for the user, session is expired.".into()));
    }
    Ok(())
}

/// The MFA methods a user can be challenged with in this pool, in Cognito's preference order
/// when the user has no preferred one.
pub fn enabled_methods(pool: &PoolState, u: &UserState) -> Vec<&'static str> {
    let s = settings(pool);
    let has = |attr: &str| u.attributes.get(attr).is_some_and(|v| !v.is_empty());
    let mut out = Vec::new();
    if s.software_token_mfa_enabled && u.totp_verified && u.mfa_totp_enabled {
        out.push(method::SOFTWARE_TOKEN);
    }
    if s.sms_mfa_enabled && u.mfa_sms_enabled && has("phone_number") {
        out.push(method::SMS);
    }
    if s.email_mfa_enabled && u.mfa_email_enabled && has("email") {
        out.push(method::EMAIL);
    }
    out
}

/// The first factor's rules: the user exists, is enabled, is not locked, the factor proved out,
/// and the status allows a sign-in. A failure is recorded (lockout counter).
fn first_factor(pool: &PoolState, user: Option<&UserState>, ok: bool, ctx: &mut dyn Ctx) -> Result<Vec<Event>, Rejected> {
    let u = existing(user)?;
    if !u.enabled {
        return Err(DomainError::NotAuthorized("User is disabled.".into()).into());
    }
    let now = ctx.now_ms();
    check_not_locked(u, now)?;
    if !ok {
        return Err(Rejected { error: DomainError::incorrect_credentials(), record: vec![failure(u, "PASSWORD", now)] });
    }
    if u.status == status::UNCONFIRMED {
        return Err(DomainError::UserNotConfirmed.into());
    }
    if u.status == status::RESET_REQUIRED {
        return Err(DomainError::PasswordResetRequired.into());
    }
    if u.status == status::FORCE_CHANGE_PASSWORD {
        let days = settings(pool).password_policy.map(|p| p.temporary_password_validity_days).unwrap_or(0);
        let days = if days == 0 { 7 } else { days };
        let set_at = u.password.as_ref().map(|p| p.set_at_ms).unwrap_or(0);
        // The expiry recorded when an admin set the temporary password wins; otherwise the
        // pool's current validity from when the password was set.
        let expired = if u.temporary_password_expires_at_ms > 0 {
            crate::user_admin::temporary_password_expired(u, now)
        } else {
            now > set_at + i64::from(days) * 24 * 3600 * 1000
        };
        if expired {
            return Err(DomainError::NotAuthorized("Temporary password has expired and must be reset by an administrator.".into()).into());
        }
    }
    Ok(vec![])
}

pub fn decide(pool: &PoolState, user: Option<&UserState>, cmd: SignInCommand, ctx: &mut dyn Ctx) -> Result<Vec<Event>, Rejected> {
    let s = settings(pool);
    match cmd {
        SignInCommand::FirstFactor { ok } => first_factor(pool, user, ok, ctx),
        SignInCommand::Succeeded { session_version } => {
            let u = existing(user)?;
            if let Some(v) = session_version {
                check_session(u, v)?;
            }
            let record = u.failed_sign_ins > 0 || session_version.is_some();
            Ok(if record { vec![ev(Kind::SignInSucceeded(SignInSucceeded {}))] } else { vec![] })
        }
        SignInCommand::AnswerNewPassword { password, attributes, session_version } => {
            let u = existing(user)?;
            check_session(u, session_version)?;
            if u.status != status::FORCE_CHANGE_PASSWORD {
                return Err(DomainError::NotAuthorized("Invalid session for the user, session is expired.".into()).into());
            }
            validate::attributes(&s, &attributes, Writer::UserUpdate)?;
            let mut merged: Vec<(String, String)> = u.attributes.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            merged.extend(attributes.iter().cloned());
            let missing = validate::missing_required(&s, &merged);
            if !missing.is_empty() {
                return Err(DomainError::invalid(format!("Invalid attributes given, {} is missing", missing.join(", "))).into());
            }
            validate::password_policy(&s.password_policy.unwrap_or_default(), &password)?;
            let record = ctx.hash_password(pool_name(&pool.pool_id), &u.username, &password);
            Ok(vec![ev(Kind::NewPasswordRequiredAnswered(NewPasswordRequiredAnswered {
                password: Some(record),
                attributes: attributes.into_iter().map(|(name, value)| Attribute { name, value }).collect(),
            }))])
        }
        SignInCommand::IssueMfaCode { method: m, client_id } => {
            let u = existing(user)?;
            let attribute = match m.as_str() {
                method::SMS => "phone_number",
                method::EMAIL => "email",
                other => return Err(DomainError::invalid(format!("{other} has no code to send.")).into()),
            };
            let destination = u.attributes.get(attribute).cloned().unwrap_or_default();
            if destination.is_empty() {
                return Err(DomainError::invalid(format!("The user has no {attribute} to send the code to.")).into());
            }
            let code = ctx.issue_code();
            let message = crate::user::CodeMessage::new(pool, crate::decide::message_source::AUTHENTICATION, Vec::new());
            Ok(vec![ev(Kind::CodeIssued(CodeIssued {
                purpose: purpose::MFA.into(),
                attribute: attribute.into(),
                channel: if attribute == "phone_number" { "SMS".into() } else { "EMAIL".into() },
                destination,
                salt: code.salt.into(),
                hash: code.hash.into(),
                sealed: code.sealed.into(),
                expires_at_ms: ctx.now_ms() + MFA_CODE_TTL_MS,
                client_id,
                trigger_source: message.source,
                client_metadata: message.client_metadata,
            }))])
        }
        SignInCommand::AnswerMfa { method: m, code, session_version } => {
            let u = existing(user)?;
            check_session(u, session_version)?;
            let now = ctx.now_ms();
            check_not_locked(u, now)?;
            let failed = |u: &UserState| Rejected { error: DomainError::CodeMismatch, record: vec![failure(u, &m, now)] };
            match m.as_str() {
                method::SOFTWARE_TOKEN => {
                    if !u.totp_verified {
                        return Err(DomainError::SoftwareTokenMfaNotFound.into());
                    }
                    match ctx.totp_step(&u.totp_secret_sealed, &code) {
                        Some(step) if step > u.totp_last_step => Ok(vec![ev(Kind::MfaCodeAccepted(MfaCodeAccepted { method: m, totp_step: step }))]),
                        // A code already used (or older than one used) is refused like a wrong one.
                        _ => Err(failed(u)),
                    }
                }
                method::SMS | method::EMAIL => {
                    let attribute = if m == method::SMS { "phone_number" } else { "email" };
                    match check_code(u, purpose::MFA, attribute, &code, s.code_max_attempts, ctx) {
                        Ok(()) => Ok(vec![ev(Kind::MfaCodeAccepted(MfaCodeAccepted { method: m, totp_step: 0 }))]),
                        Err(mut rejected) => {
                            if rejected.error == DomainError::CodeMismatch {
                                rejected.record.push(failure(u, &m, now));
                            }
                            Err(rejected)
                        }
                    }
                }
                other => Err(DomainError::invalid(format!("{other} is not an MFA challenge.")).into()),
            }
        }
        SignInCommand::AssociateSoftwareToken => {
            existing(user)?;
            if !s.software_token_mfa_enabled {
                return Err(DomainError::invalid("Software token MFA is not enabled for this user pool.").into());
            }
            Ok(vec![ev(Kind::SoftwareTokenAssociated(SoftwareTokenAssociated { secret_sealed: ctx.new_totp_secret().into() }))])
        }
        SignInCommand::VerifySoftwareToken { code, friendly_device_name } => {
            let u = existing(user)?;
            if u.totp_secret_sealed.is_empty() {
                return Err(DomainError::SoftwareTokenMfaNotFound.into());
            }
            if friendly_device_name.chars().count() > 131 {
                return Err(DomainError::invalid("FriendlyDeviceName is longer than 131 characters.").into());
            }
            match ctx.totp_step(&u.totp_secret_sealed, &code) {
                Some(step) if step > u.totp_last_step => Ok(vec![ev(Kind::SoftwareTokenVerified(SoftwareTokenVerified { step, friendly_device_name }))]),
                _ => Err(DomainError::EnableSoftwareTokenMfa("Code mismatch".into()).into()),
            }
        }
        SignInCommand::SetMfaPreference { sms, software_token, email } => {
            let u = existing(user)?;
            let mut next = (u.mfa_sms_enabled, u.mfa_totp_enabled, u.mfa_email_enabled, u.mfa_preferred.clone());
            if let Some(on) = sms.enabled {
                next.0 = on;
            }
            if let Some(on) = software_token.enabled {
                if on && !u.totp_verified {
                    return Err(DomainError::invalid("User has not verified software token mfa").into());
                }
                next.1 = on;
            }
            if let Some(on) = email.enabled {
                next.2 = on;
            }
            if next.0 && u.attributes.get("phone_number").is_none_or(|v| v.is_empty()) {
                return Err(DomainError::invalid("User does not have a phone_number for SMS MFA.").into());
            }
            if next.2 && u.attributes.get("email").is_none_or(|v| v.is_empty()) {
                return Err(DomainError::invalid("User does not have an email for EMAIL_OTP MFA.").into());
            }
            let preferred: Vec<&str> = [(sms, method::SMS), (software_token, method::SOFTWARE_TOKEN), (email, method::EMAIL)]
                .into_iter()
                .filter(|(p, _)| p.preferred == Some(true))
                .map(|(_, m)| m)
                .collect();
            if preferred.len() > 1 {
                return Err(DomainError::invalid("Only one MFA method can be preferred.").into());
            }
            if let Some(m) = preferred.first() {
                next.3 = m.to_string();
            }
            // PreferredMfa false on the preferred method withdraws the preference.
            let withdrawn = [(sms, method::SMS), (software_token, method::SOFTWARE_TOKEN), (email, method::EMAIL)]
                .into_iter()
                .any(|(p, m)| p.preferred == Some(false) && next.3 == m);
            if withdrawn {
                next.3.clear();
            }
            // A preferred method that is (now) disabled is no longer preferred.
            let enabled = |m: &str| match m {
                method::SMS => next.0,
                method::SOFTWARE_TOKEN => next.1,
                method::EMAIL => next.2,
                _ => false,
            };
            if !enabled(&next.3.clone()) {
                if !preferred.is_empty() {
                    return Err(DomainError::invalid("A preferred MFA method must be enabled.").into());
                }
                next.3.clear();
            }
            Ok(vec![ev(Kind::MfaPreferenceSet(MfaPreferenceSet {
                sms_enabled: next.0,
                software_token_enabled: next.1,
                email_enabled: next.2,
                preferred: next.3,
            }))])
        }
    }
}

/// Validates a SetUserPoolMfaConfig request against the pool and returns the new settings.
pub fn mfa_config(
    current: &PoolSettings,
    mode_value: &str,
    software_token: Option<bool>,
    sms: Option<(bool, String)>,
    email: Option<(bool, String, String)>,
) -> Result<PoolSettings, DomainError> {
    if ![mode::OFF, mode::ON, mode::OPTIONAL].contains(&mode_value) {
        return Err(DomainError::invalid(format!(
            "1 validation error detected: Value '{mode_value}' at 'mfaConfiguration' failed to satisfy constraint: Member must satisfy enum value set: [OFF, ON, OPTIONAL]"
        )));
    }
    let mut s = current.clone();
    s.mfa_configuration = mode_value.to_string();
    if let Some(on) = software_token {
        s.software_token_mfa_enabled = on;
    }
    if let Some((on, message)) = sms {
        if on && !message.is_empty() && !message.contains("{####}") {
            return Err(DomainError::invalid("SmsAuthenticationMessage must contain {####}."));
        }
        s.sms_mfa_enabled = on;
        s.sms_mfa_message = message;
    }
    if let Some((on, message, subject)) = email {
        if on && !message.is_empty() && !message.contains("{####}") {
            return Err(DomainError::invalid("EmailMfaConfiguration Message must contain {####}."));
        }
        s.email_mfa_enabled = on;
        s.email_mfa_message = message;
        s.email_mfa_subject = subject;
    }
    if s.mfa_configuration != mode::OFF && !(s.software_token_mfa_enabled || s.sms_mfa_enabled || s.email_mfa_enabled) {
        return Err(DomainError::invalid("At least one MFA method must be enabled when MfaConfiguration is ON or OPTIONAL."));
    }
    Ok(s)
}
