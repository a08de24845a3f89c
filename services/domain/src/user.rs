//! User aggregate: sign-up, confirmation, sign-in checks, attributes, passwords, sign-out.

use crate::ctx::Ctx;
use crate::decide::{check_code, ev, message_source, purpose, Rejected, FORGOT_PASSWORD_CODE_TTL_MS, SIGN_UP_CODE_TTL_MS, VERIFY_ATTRIBUTE_CODE_TTL_MS};
use crate::keys::pool_name;
use crate::pb::{
    event::Kind, Attribute, AttributeVerified, AttributesUpdated, CodeIssued, CustomChallengeAnswered, Event, PasswordChanged, PoolSettings, PoolState,
    RefreshTokenRevoked, SignedOutEverywhere, UserAuthenticated, UserConfirmed, UserDeleted, UserSignedUp, UserState,
};
use crate::signin::{self, SignInCommand};
use crate::validate::{self, Writer};
use crate::DomainError;

pub mod status {
    pub const UNCONFIRMED: &str = "UNCONFIRMED";
    pub const CONFIRMED: &str = "CONFIRMED";
    pub const RESET_REQUIRED: &str = "RESET_REQUIRED";
    pub const FORCE_CHANGE_PASSWORD: &str = "FORCE_CHANGE_PASSWORD";
}

/// What the pool's PreSignUp trigger decided (run by the front before deciding; recorded in
/// UserSignedUp so replay never runs it again).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreSignUpOutcome {
    pub auto_confirm: bool,
    pub auto_verify_email: bool,
    pub auto_verify_phone: bool,
    /// The deployed trigger's version.
    pub trigger_version: u64,
}

pub enum UserCommand {
    SignUp {
        username: String,
        password: String,
        attributes: Vec<(String, String)>,
        client_id: String,
        /// `None` when the pool has no PreSignUp trigger.
        pre_sign_up: Option<PreSignUpOutcome>,
        /// The request's ClientMetadata, recorded with the code for the CustomMessage trigger
        /// when the pool has one (so is ResendConfirmationCode's and ForgotPassword's).
        client_metadata: Vec<(String, String)>,
    },
    /// Creates a user the pool's UserMigration trigger found in a legacy store (the trigger ran
    /// before; its answer is recorded in UserSignedUp).
    Migrate {
        username: String,
        /// The password the user signed in with (`None` for a ForgotPassword migration).
        password: Option<String>,
        /// Attributes; `email_verified` / `phone_number_verified` = "true" mark them verified.
        attributes: Vec<(String, String)>,
        client_id: String,
        /// CONFIRMED or RESET_REQUIRED.
        final_status: String,
        trigger_version: u64,
    },
    /// `client_metadata`: the request's ClientMetadata, recorded for the PostConfirmation
    /// trigger when the pool has one (as for the other commands that carry it).
    ConfirmSignUp {
        code: String,
        client_id: String,
        client_metadata: Vec<(String, String)>,
    },
    ResendConfirmationCode {
        client_id: String,
        client_metadata: Vec<(String, String)>,
    },
    /// Password sign-in check. Produces no events: a successful sign-in changes no state.
    Authenticate {
        password: String,
    },
    /// SRP sign-in check (USER_SRP_AUTH): the same rules as `Authenticate`, the password proof
    /// (the client's PASSWORD_CLAIM_SIGNATURE) having been checked by the front.
    AuthenticateSrp {
        proof_ok: bool,
    },
    UpdateAttributes {
        attributes: Vec<(String, String)>,
        client_id: String,
        client_metadata: Vec<(String, String)>,
    },
    GetVerificationCode {
        attribute: String,
        client_id: String,
        client_metadata: Vec<(String, String)>,
    },
    VerifyAttribute {
        attribute: String,
        code: String,
    },
    ChangePassword {
        previous: String,
        proposed: String,
    },
    ForgotPassword {
        client_id: String,
        client_metadata: Vec<(String, String)>,
    },
    ConfirmForgotPassword {
        code: String,
        password: String,
        client_id: String,
        client_metadata: Vec<(String, String)>,
    },
    /// Records a successful sign-in (tokens issued) as `UserAuthenticated`, only when the pool
    /// has a PostAuthentication trigger: the trigger then runs from the log. No-op otherwise.
    RecordSignIn {
        client_id: String,
        auth_flow: String,
        origin_jti: String,
        client_metadata: Vec<(String, String)>,
    },
    /// Records the VerifyAuthChallengeResponse verdict on a CUSTOM_CHALLENGE answer. The
    /// challenge session was issued for the user at `session_version`: any other version means
    /// the session was already answered (or the user changed), and it is refused.
    AnswerCustomChallenge {
        client_id: String,
        challenge_name: String,
        correct: bool,
        verify_trigger_version: u64,
        session_version: u64,
    },
    GlobalSignOut,
    RevokeRefreshToken {
        origin_jti: String,
        expires_at_ms: i64,
    },
    Delete,
    /// Lockout, challenges and MFA ([`crate::signin`]).
    SignIn(SignInCommand),
}

fn settings(pool: &PoolState) -> PoolSettings {
    pool.settings.clone().unwrap_or_default()
}

fn existing(user: Option<&UserState>) -> Result<&UserState, DomainError> {
    user.ok_or(DomainError::UserNotFound)
}

/// Decides a user command. `pool` is the user's pool as the front read it.
pub fn decide(pool: &PoolState, user: Option<&UserState>, cmd: UserCommand, ctx: &mut dyn Ctx) -> Result<Vec<Event>, Rejected> {
    let s = settings(pool);
    let max_attempts = s.code_max_attempts;
    match cmd {
        UserCommand::SignUp { username, password, attributes, client_id, pre_sign_up, client_metadata } => {
            validate::username(&username)?;
            validate::attributes(&s, &attributes, Writer::SignUp)?;
            let missing = validate::missing_required(&s, &attributes);
            if !missing.is_empty() {
                return Err(DomainError::invalid(format!("Attributes did not conform to the schema: {}: The attribute is required", missing.join(", "))).into());
            }
            validate::password_policy(&s.password_policy.unwrap_or_default(), &password)?;
            if user.is_some() {
                return Err(DomainError::UsernameExists.into());
            }
            let now = ctx.now_ms();
            let record = ctx.hash_password(pool_name(&pool.pool_id), &username, &password);
            let sub = ctx.new_uuid();
            let trigger = pre_sign_up.unwrap_or_default();
            let lookup = |name: &str| attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
            // Auto-verifying needs the attribute (the trigger host refuses such answers first).
            let auto_verified: Vec<String> = [("email", trigger.auto_verify_email), ("phone_number", trigger.auto_verify_phone)]
                .into_iter()
                .filter(|(attr, on)| *on && lookup(attr).is_some_and(|v| !v.is_empty()))
                .map(|(attr, _)| attr.to_string())
                .collect();
            let mut events = vec![ev(Kind::UserSignedUp(UserSignedUp {
                sub,
                username,
                attributes: attributes.iter().map(|(n, v)| Attribute { name: n.clone(), value: v.clone() }).collect(),
                password: Some(record),
                client_id: client_id.clone(),
                created_at_ms: now,
                pool_id: pool.pool_id.clone(),
                auto_confirmed: trigger.auto_confirm,
                auto_verified_attributes: auto_verified,
                pre_sign_up_trigger_version: trigger.trigger_version,
                ..Default::default()
            }))];
            // An auto-confirmed user needs no confirmation code.
            if !trigger.auto_confirm {
                if let Some(code) = signup_code(&s, lookup, &client_id, CodeMessage::new(pool, message_source::SIGN_UP, client_metadata), ctx) {
                    events.push(code);
                }
            }
            Ok(events)
        }
        UserCommand::Migrate { username, password, attributes, client_id, final_status, trigger_version } => {
            validate::username(&username)?;
            if user.is_some() {
                return Err(DomainError::UsernameExists.into());
            }
            if final_status != status::CONFIRMED && final_status != status::RESET_REQUIRED {
                return Err(DomainError::invalid(format!("A migrated user cannot have status {final_status}.")).into());
            }
            let flag = |name: &str| attributes.iter().any(|(n, v)| n == name && v == "true");
            let plain: Vec<(String, String)> = attributes.iter().filter(|(n, _)| n != "email_verified" && n != "phone_number_verified").cloned().collect();
            validate::attributes(&s, &plain, Writer::SignUp)?;
            let verified: Vec<String> = ["email", "phone_number"]
                .into_iter()
                .filter(|a| flag(&format!("{a}_verified")) && plain.iter().any(|(n, v)| n == a && !v.is_empty()))
                .map(str::to_string)
                .collect();
            let record = password.map(|p| ctx.hash_password(pool_name(&pool.pool_id), &username, &p));
            Ok(vec![ev(Kind::UserSignedUp(UserSignedUp {
                sub: ctx.new_uuid(),
                username,
                attributes: plain.into_iter().map(|(name, value)| Attribute { name, value }).collect(),
                password: record,
                client_id,
                created_at_ms: ctx.now_ms(),
                pool_id: pool.pool_id.clone(),
                auto_verified_attributes: verified,
                initial_status: final_status,
                user_migration_trigger_version: trigger_version,
                ..Default::default()
            }))])
        }
        UserCommand::ConfirmSignUp { code, client_id, client_metadata } => {
            let u = existing(user)?;
            if u.status != status::UNCONFIRMED {
                return Err(DomainError::NotAuthorized(format!("User cannot be confirmed. Current status is {}", u.status)).into());
            }
            let attribute = pending_attribute(u, purpose::SIGN_UP);
            check_code(u, purpose::SIGN_UP, &attribute, &code, max_attempts, ctx)?;
            let verified = if attribute.is_empty() { vec![] } else { vec![attribute] };
            let version = trigger_version(pool, "PostConfirmation");
            Ok(vec![ev(Kind::UserConfirmed(UserConfirmed {
                verified_attributes: verified,
                client_id,
                post_confirmation_trigger_version: version,
                client_metadata: metadata_for(version, client_metadata),
            }))])
        }
        UserCommand::ResendConfirmationCode { client_id, client_metadata } => {
            let u = existing(user)?;
            if u.status != status::UNCONFIRMED {
                return Err(DomainError::invalid("User is already confirmed.").into());
            }
            let lookup = |name: &str| u.attributes.get(name).cloned();
            match signup_code(&s, lookup, &client_id, CodeMessage::new(pool, message_source::RESEND_CODE, client_metadata), ctx) {
                Some(code) => Ok(vec![code]),
                None => {
                    Err(DomainError::invalid("No verified delivery medium: the pool auto-verifies neither email nor phone_number, or the user has neither.")
                        .into())
                }
            }
        }
        UserCommand::Authenticate { password } => {
            let ok = ctx.password_matches(user.and_then(|u| u.password.as_ref()), &password);
            signin::decide(pool, user, SignInCommand::FirstFactor { ok }, ctx)
        }
        UserCommand::AuthenticateSrp { proof_ok } => signin::decide(pool, user, SignInCommand::FirstFactor { ok: proof_ok }, ctx),
        UserCommand::SignIn(cmd) => signin::decide(pool, user, cmd, ctx),
        UserCommand::UpdateAttributes { attributes, client_id, client_metadata } => {
            let u = active(user)?;
            validate::attributes(&s, &attributes, Writer::UserUpdate)?;
            let mut set = Vec::new();
            let mut unverified = Vec::new();
            let mut events = Vec::new();
            for (name, value) in &attributes {
                let changed = u.attributes.get(name) != Some(value);
                if !changed {
                    continue;
                }
                set.push(Attribute { name: name.clone(), value: value.clone() });
                if name == "email" || name == "phone_number" {
                    unverified.push(name.clone());
                    if s.auto_verified_attributes.contains(name) {
                        let message = CodeMessage::new(pool, message_source::UPDATE_USER_ATTRIBUTE, client_metadata.clone());
                        events.push(code_event(purpose::VERIFY_ATTRIBUTE, name, value, &client_id, VERIFY_ATTRIBUTE_CODE_TTL_MS, message, ctx));
                    }
                }
            }
            if set.is_empty() {
                return Ok(vec![]);
            }
            events.insert(0, ev(Kind::AttributesUpdated(AttributesUpdated { set, deleted: vec![], unverified })));
            Ok(events)
        }
        UserCommand::GetVerificationCode { attribute, client_id, client_metadata } => {
            let u = active(user)?;
            if attribute != "email" && attribute != "phone_number" {
                return Err(DomainError::invalid(format!("Attribute {attribute} cannot be verified.")).into());
            }
            let Some(value) = u.attributes.get(&attribute) else {
                return Err(DomainError::invalid(format!("User has no attribute {attribute}.")).into());
            };
            let message = CodeMessage::new(pool, message_source::VERIFY_USER_ATTRIBUTE, client_metadata);
            Ok(vec![code_event(purpose::VERIFY_ATTRIBUTE, &attribute, value, &client_id, VERIFY_ATTRIBUTE_CODE_TTL_MS, message, ctx)])
        }
        UserCommand::VerifyAttribute { attribute, code } => {
            let u = active(user)?;
            check_code(u, purpose::VERIFY_ATTRIBUTE, &attribute, &code, max_attempts, ctx)?;
            Ok(vec![ev(Kind::AttributeVerified(AttributeVerified { name: attribute }))])
        }
        UserCommand::ChangePassword { previous, proposed } => {
            let u = active(user)?;
            if !ctx.password_matches(u.password.as_ref(), &previous) {
                return Err(DomainError::incorrect_credentials().into());
            }
            validate::password_policy(&s.password_policy.unwrap_or_default(), &proposed)?;
            let record = ctx.hash_password(pool_name(&pool.pool_id), &u.username, &proposed);
            Ok(vec![ev(Kind::PasswordChanged(PasswordChanged { password: Some(record), reason: "CHANGE".into(), ..Default::default() }))])
        }
        UserCommand::ForgotPassword { client_id, client_metadata } => {
            let u = existing(user)?;
            if !u.enabled {
                return Err(DomainError::NotAuthorized("User is disabled.".into()).into());
            }
            let verified = |attr: &str| u.attributes.get(&format!("{attr}_verified")).map(|v| v == "true").unwrap_or(false);
            let target = ["email", "phone_number"].into_iter().find(|a| verified(a) && u.attributes.contains_key(*a));
            let Some(attr) = target else {
                return Err(DomainError::invalid("Cannot reset password for the user as there is no registered/verified email or phone_number").into());
            };
            let value = u.attributes.get(attr).cloned().unwrap_or_default();
            let message = CodeMessage::new(pool, message_source::FORGOT_PASSWORD, client_metadata);
            Ok(vec![code_event(purpose::FORGOT_PASSWORD, attr, &value, &client_id, FORGOT_PASSWORD_CODE_TTL_MS, message, ctx)])
        }
        UserCommand::ConfirmForgotPassword { code, password, client_id, client_metadata } => {
            let u = existing(user)?;
            let attribute = pending_attribute(u, purpose::FORGOT_PASSWORD);
            check_code(u, purpose::FORGOT_PASSWORD, &attribute, &code, max_attempts, ctx)?;
            validate::password_policy(&s.password_policy.unwrap_or_default(), &password)?;
            let record = ctx.hash_password(pool_name(&pool.pool_id), &u.username, &password);
            let version = trigger_version(pool, "PostConfirmation");
            Ok(vec![ev(Kind::PasswordChanged(PasswordChanged {
                password: Some(record),
                reason: "RESET".into(),
                client_id,
                post_confirmation_trigger_version: version,
                client_metadata: metadata_for(version, client_metadata),
            }))])
        }
        UserCommand::RecordSignIn { client_id, auth_flow, origin_jti, client_metadata } => {
            existing(user)?;
            let version = trigger_version(pool, "PostAuthentication");
            if version == 0 {
                return Ok(vec![]);
            }
            Ok(vec![ev(Kind::UserAuthenticated(UserAuthenticated {
                client_id,
                auth_flow,
                authenticated_at_ms: ctx.now_ms(),
                origin_jti,
                post_authentication_trigger_version: version,
                client_metadata: metadata_for(version, client_metadata),
            }))])
        }
        UserCommand::AnswerCustomChallenge { client_id, challenge_name, correct, verify_trigger_version, session_version } => {
            let u = active(user)?;
            if u.version != session_version {
                return Err(DomainError::NotAuthorized("Invalid session for the user, session is expired.".into()).into());
            }
            Ok(vec![ev(Kind::CustomChallengeAnswered(CustomChallengeAnswered { client_id, challenge_name, correct, verify_trigger_version }))])
        }
        UserCommand::GlobalSignOut => {
            existing(user)?;
            Ok(vec![ev(Kind::SignedOutEverywhere(SignedOutEverywhere { revoked_before_ms: ctx.now_ms() }))])
        }
        UserCommand::RevokeRefreshToken { origin_jti, expires_at_ms } => {
            existing(user)?;
            if origin_jti.is_empty() {
                return Err(DomainError::invalid("Token has no origin id.").into());
            }
            Ok(vec![ev(Kind::RefreshTokenRevoked(RefreshTokenRevoked { origin_jti, expires_at_ms }))])
        }
        UserCommand::Delete => {
            existing(user)?;
            Ok(vec![ev(Kind::UserDeleted(UserDeleted {}))])
        }
    }
}

/// The version of the pool's deployed trigger of `kind` (0: none).
pub(crate) fn trigger_version(pool: &PoolState, kind: &str) -> u64 {
    crate::pool::trigger(pool, kind).map(|t| t.version).unwrap_or(0)
}

/// A request's ClientMetadata as recorded for a trigger of `version`: nothing when
/// there is no trigger to read it (version 0), else every pair, sorted by key.
pub(crate) fn metadata_for(version: u64, metadata: Vec<(String, String)>) -> Vec<Attribute> {
    if version == 0 {
        return Vec::new();
    }
    let mut out: Vec<Attribute> = metadata.into_iter().map(|(name, value)| Attribute { name, value }).collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// A user that exists and is enabled (token-authenticated calls).
fn active(user: Option<&UserState>) -> Result<&UserState, DomainError> {
    let u = existing(user)?;
    if !u.enabled {
        return Err(DomainError::NotAuthorized("User is disabled.".into()));
    }
    Ok(u)
}

fn pending_attribute(u: &UserState, purpose: &str) -> String {
    u.codes.iter().find(|c| c.purpose == purpose).map(|c| c.attribute.clone()).unwrap_or_default()
}

/// The sign-up code, sent to the first auto-verified attribute the user has (SMS first, as
/// Cognito does), or none when the pool auto-verifies nothing the user has.
fn signup_code(s: &PoolSettings, lookup: impl Fn(&str) -> Option<String>, client_id: &str, message: CodeMessage, ctx: &mut dyn Ctx) -> Option<Event> {
    ["phone_number", "email"]
        .into_iter()
        .filter(|a| s.auto_verified_attributes.iter().any(|x| x == a))
        .find_map(|a| lookup(a).map(|v| (a, v)))
        .map(|(attr, value)| code_event(purpose::SIGN_UP, attr, &value, client_id, SIGN_UP_CODE_TTL_MS, message, ctx))
}

/// What a code's message is for, as the pool's CustomMessage trigger will be told: its trigger
/// source and the request's ClientMetadata. Both are recorded only when the pool has the
/// trigger (nothing else reads them).
pub(crate) struct CodeMessage {
    pub(crate) source: String,
    pub(crate) client_metadata: Vec<Attribute>,
}

impl CodeMessage {
    pub(crate) fn new(pool: &PoolState, source: &str, client_metadata: Vec<(String, String)>) -> Self {
        let version = trigger_version(pool, "CustomMessage");
        let source = if version == 0 { String::new() } else { source.to_string() };
        CodeMessage { source, client_metadata: metadata_for(version, client_metadata) }
    }
}

pub(crate) fn code_event(purpose: &str, attribute: &str, destination: &str, client_id: &str, ttl_ms: i64, message: CodeMessage, ctx: &mut dyn Ctx) -> Event {
    let code = ctx.issue_code();
    let channel = if attribute == "phone_number" { "SMS" } else { "EMAIL" };
    ev(Kind::CodeIssued(CodeIssued {
        purpose: purpose.to_string(),
        attribute: attribute.to_string(),
        channel: channel.to_string(),
        destination: destination.to_string(),
        salt: code.salt.into(),
        hash: code.hash.into(),
        sealed: code.sealed.into(),
        expires_at_ms: ctx.now_ms() + ttl_ms,
        client_id: client_id.to_string(),
        trigger_source: message.source,
        client_metadata: message.client_metadata,
    }))
}

/// Cognito-style masked destination for CodeDeliveryDetails (`a***@e***`, `+*******1234`).
pub fn mask_destination(channel: &str, destination: &str) -> String {
    if channel == "SMS" {
        let n = destination.chars().count();
        let keep: String = destination.chars().skip(n.saturating_sub(4)).collect();
        format!("+{}{}", "*".repeat(n.saturating_sub(5)), keep)
    } else {
        match destination.split_once('@') {
            Some((local, domain)) => {
                let first = |s: &str| s.chars().next().map(|c| c.to_string()).unwrap_or_default();
                format!("{}***@{}***", first(local), first(domain))
            }
            None => "***".into(),
        }
    }
}

#[cfg(test)]
#[path = "user_tests.rs"]
mod tests;
