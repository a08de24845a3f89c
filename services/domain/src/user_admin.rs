//! Admin user operations on the user aggregate: AdminCreateUser (temporary password and
//! invitation), confirm, set / reset password, attributes, enable / disable, sign-out, delete,
//! and group membership (the group's incarnation id is recorded, so a re-created group does not
//! inherit old members).

use crate::ctx::Ctx;
use crate::decide::{ev, message_source, purpose, Rejected, FORGOT_PASSWORD_CODE_TTL_MS, VERIFY_ATTRIBUTE_CODE_TTL_MS};
use crate::keys::pool_name;
use crate::pb::{
    event::Kind, Attribute, AttributesUpdated, CodeIssued, Event, GroupState, PasswordResetRequired, PasswordSetByAdmin, PoolSettings, PoolState,
    SignedOutEverywhere, UserAddedToGroup, UserConfirmed, UserCreatedByAdmin, UserDeleted, UserDisabled, UserEnabled, UserRemovedFromGroup, UserState,
};
use crate::user::{code_event, status, CodeMessage};
use crate::validate::{self, Writer};
use crate::DomainError;

/// Cognito's default TemporaryPasswordValidityDays.
pub const DEFAULT_TEMPORARY_PASSWORD_DAYS: u32 = 7;
/// Groups a user may belong to (Cognito's quota).
pub const MAX_GROUPS_PER_USER: usize = 100;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// AdminCreateUser's MessageAction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MessageAction {
    /// Create the user and send the invitation.
    #[default]
    Send,
    /// Send the invitation again to an existing FORCE_CHANGE_PASSWORD user, with a new
    /// temporary password (resets its validity).
    Resend,
    /// Create the user, send nothing.
    Suppress,
}

pub enum AdminUserCommand {
    Create {
        username: String,
        /// `None`: one is generated to the pool's policy.
        temporary_password: Option<String>,
        attributes: Vec<(String, String)>,
        action: MessageAction,
        /// "EMAIL" / "SMS"; empty = Cognito's default (SMS).
        delivery_mediums: Vec<String>,
        /// The request's ClientMetadata, recorded with the invitation for the CustomMessage
        /// trigger when the pool has one (so is ResetPassword's and UpdateAttributes').
        client_metadata: Vec<(String, String)>,
    },
    /// AdminConfirmSignUp, with the request's ClientMetadata for the PostConfirmation trigger.
    Confirm {
        client_metadata: Vec<(String, String)>,
    },
    SetPassword {
        password: String,
        permanent: bool,
    },
    ResetPassword {
        client_id: String,
        client_metadata: Vec<(String, String)>,
    },
    UpdateAttributes {
        attributes: Vec<(String, String)>,
        client_id: String,
        client_metadata: Vec<(String, String)>,
    },
    DeleteAttributes {
        names: Vec<String>,
    },
    Disable,
    Enable,
    GlobalSignOut,
    Delete,
    /// `group` is the group as the front read it (`None`: no such group).
    AddToGroup {
        group_name: String,
        group: Option<GroupState>,
    },
    RemoveFromGroup {
        group_name: String,
        group: Option<GroupState>,
    },
}

/// True when the user's temporary password is past its validity.
pub fn temporary_password_expired(u: &UserState, now_ms: i64) -> bool {
    u.status == status::FORCE_CHANGE_PASSWORD && u.temporary_password_expires_at_ms > 0 && now_ms > u.temporary_password_expires_at_ms
}

fn existing(user: Option<&UserState>) -> Result<&UserState, DomainError> {
    user.ok_or(DomainError::UserNotFound)
}

fn temporary_expiry(s: &PoolSettings, now: i64) -> i64 {
    let days = s.password_policy.as_ref().map(|p| p.temporary_password_validity_days).filter(|d| *d > 0);
    now + i64::from(days.unwrap_or(DEFAULT_TEMPORARY_PASSWORD_DAYS)) * DAY_MS
}

fn group_not_found() -> DomainError {
    DomainError::ResourceNotFound("Group not found.".into())
}

/// Decides an admin command on the user `user` of `pool`.
pub fn decide(pool: &PoolState, user: Option<&UserState>, cmd: AdminUserCommand, ctx: &mut dyn Ctx) -> Result<Vec<Event>, Rejected> {
    let s = pool.settings.clone().unwrap_or_default();
    let policy = s.password_policy.unwrap_or_default();
    match cmd {
        AdminUserCommand::Create { username, temporary_password, attributes, action, delivery_mediums, client_metadata } => {
            validate::username(&username)?;
            for m in &delivery_mediums {
                if m != "EMAIL" && m != "SMS" {
                    return Err(DomainError::invalid(format!("DesiredDeliveryMediums: {m} is not EMAIL or SMS.")).into());
                }
            }
            if let Some(p) = &temporary_password {
                validate::password_policy(&policy, p)?;
            }
            if action == MessageAction::Resend {
                let u = existing(user)?;
                if u.status != status::FORCE_CHANGE_PASSWORD {
                    return Err(DomainError::UnsupportedUserState(format!("Resend not possible. {} status is not FORCE_CHANGE_PASSWORD", u.username)).into());
                }
                let lookup = |n: &str| u.attributes.get(n).cloned();
                let password = temporary_password.unwrap_or_else(|| ctx.temporary_password(policy.minimum_length));
                let now = ctx.now_ms();
                let expires = temporary_expiry(&s, now);
                let record = ctx.hash_password(pool_name(&pool.pool_id), &u.username, &password);
                let mut events = vec![ev(Kind::PasswordSetByAdmin(PasswordSetByAdmin {
                    password: Some(record),
                    permanent: false,
                    temporary_password_expires_at_ms: expires,
                }))];
                events.extend(invitations(pool, &delivery_mediums, lookup, &password, expires, &client_metadata, ctx)?);
                return Ok(events);
            }
            validate::attributes(&s, &attributes, Writer::AdminCreate)?;
            let missing = validate::missing_required(&s, &attributes);
            if !missing.is_empty() {
                return Err(DomainError::invalid(format!("Attributes did not conform to the schema: {}: The attribute is required", missing.join(", "))).into());
            }
            if user.is_some() {
                return Err(DomainError::UsernameExists.into());
            }
            let password = temporary_password.unwrap_or_else(|| ctx.temporary_password(policy.minimum_length));
            let now = ctx.now_ms();
            let expires = temporary_expiry(&s, now);
            let record = ctx.hash_password(pool_name(&pool.pool_id), &username, &password);
            let mut events = vec![ev(Kind::UserCreatedByAdmin(UserCreatedByAdmin {
                sub: ctx.new_uuid(),
                username,
                attributes: attributes.iter().map(|(name, value)| Attribute { name: name.clone(), value: value.clone() }).collect(),
                password: Some(record),
                pool_id: pool.pool_id.clone(),
                created_at_ms: now,
                temporary_password_expires_at_ms: expires,
            }))];
            if action == MessageAction::Send {
                let lookup = |n: &str| attributes.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
                events.extend(invitations(pool, &delivery_mediums, lookup, &password, expires, &client_metadata, ctx)?);
            }
            Ok(events)
        }
        AdminUserCommand::Confirm { client_metadata } => {
            let u = existing(user)?;
            if u.status != status::UNCONFIRMED {
                return Err(DomainError::NotAuthorized(format!("User cannot be confirmed. Current status is {}", u.status)).into());
            }
            // AdminConfirmSignUp fires PostConfirmation like ConfirmSignUp (no app client).
            let version = crate::user::trigger_version(pool, "PostConfirmation");
            Ok(vec![ev(Kind::UserConfirmed(UserConfirmed {
                verified_attributes: vec![],
                client_id: String::new(),
                post_confirmation_trigger_version: version,
                client_metadata: crate::user::metadata_for(version, client_metadata),
            }))])
        }
        AdminUserCommand::SetPassword { password, permanent } => {
            let u = existing(user)?;
            validate::password_policy(&policy, &password)?;
            let record = ctx.hash_password(pool_name(&pool.pool_id), &u.username, &password);
            let expires = if permanent { 0 } else { temporary_expiry(&s, ctx.now_ms()) };
            Ok(vec![ev(Kind::PasswordSetByAdmin(PasswordSetByAdmin { password: Some(record), permanent, temporary_password_expires_at_ms: expires }))])
        }
        AdminUserCommand::ResetPassword { client_id, client_metadata } => {
            let u = existing(user)?;
            if u.status == status::UNCONFIRMED || u.status == status::FORCE_CHANGE_PASSWORD {
                return Err(DomainError::NotAuthorized("User password cannot be reset in the current state.".into()).into());
            }
            let verified = |a: &str| u.attributes.get(&format!("{a}_verified")).is_some_and(|v| v == "true") && u.attributes.contains_key(a);
            let Some(attr) = ["email", "phone_number"].into_iter().find(|a| verified(a)) else {
                return Err(DomainError::invalid("Cannot reset password for the user as there is no registered/verified email or phone_number").into());
            };
            let destination = u.attributes.get(attr).cloned().unwrap_or_default();
            let code = ctx.issue_code();
            let message = CodeMessage::new(pool, message_source::FORGOT_PASSWORD, client_metadata);
            Ok(vec![
                ev(Kind::PasswordResetRequired(PasswordResetRequired {})),
                ev(Kind::CodeIssued(CodeIssued {
                    purpose: purpose::FORGOT_PASSWORD.into(),
                    attribute: attr.into(),
                    channel: if attr == "phone_number" { "SMS" } else { "EMAIL" }.into(),
                    destination,
                    salt: code.salt.into(),
                    hash: code.hash.into(),
                    sealed: code.sealed.into(),
                    expires_at_ms: ctx.now_ms() + FORGOT_PASSWORD_CODE_TTL_MS,
                    client_id,
                    trigger_source: message.source,
                    client_metadata: message.client_metadata,
                })),
            ])
        }
        AdminUserCommand::UpdateAttributes { attributes, client_id, client_metadata } => {
            let u = existing(user)?;
            validate::attributes(&s, &attributes, Writer::AdminUpdate)?;
            let flagged = |name: &str| attributes.iter().any(|(n, _)| *n == format!("{name}_verified"));
            let mut set = Vec::new();
            let mut unverified = Vec::new();
            let mut codes = Vec::new();
            for (name, value) in &attributes {
                if u.attributes.get(name) == Some(value) {
                    continue;
                }
                set.push(Attribute { name: name.clone(), value: value.clone() });
                // A changed address is unverified (unless this call marks it verified); the pool
                // auto-verifies it with a code, as after UpdateUserAttributes.
                if (name == "email" || name == "phone_number") && !flagged(name) {
                    unverified.push(name.clone());
                    if s.auto_verified_attributes.contains(name) {
                        let message = CodeMessage::new(pool, message_source::UPDATE_USER_ATTRIBUTE, client_metadata.clone());
                        codes.push(code_event(purpose::VERIFY_ATTRIBUTE, name, value, &client_id, VERIFY_ATTRIBUTE_CODE_TTL_MS, message, ctx));
                    }
                }
            }
            if set.is_empty() {
                return Ok(vec![]);
            }
            let mut events = vec![ev(Kind::AttributesUpdated(AttributesUpdated { set, deleted: vec![], unverified }))];
            events.extend(codes);
            Ok(events)
        }
        AdminUserCommand::DeleteAttributes { names } => {
            let u = existing(user)?;
            if names.is_empty() || names.len() > validate::MAX_ATTRIBUTES {
                return Err(DomainError::invalid(format!("UserAttributeNames must hold 1 to {} names.", validate::MAX_ATTRIBUTES)).into());
            }
            let mut deleted = Vec::new();
            for name in &names {
                if name == "sub" {
                    return Err(DomainError::invalid("Cannot modify the non-mutable attribute sub").into());
                }
                let entry = validate::schema_entry(&s, name);
                let known = entry.is_some() || validate::STANDARD_ATTRIBUTES.contains(&name.as_str()) || validate::VERIFIED_FLAGS.contains(&name.as_str());
                if !known {
                    return Err(DomainError::invalid(format!("Attribute does not exist in the schema: {name}")).into());
                }
                if let Some(e) = entry {
                    if e.required {
                        return Err(DomainError::invalid(format!("Cannot delete the required attribute {name}")).into());
                    }
                    if !e.mutable {
                        return Err(DomainError::invalid(format!("Cannot modify the non-mutable attribute {name}")).into());
                    }
                }
                for n in [name.clone(), format!("{name}_verified")] {
                    if u.attributes.contains_key(&n) && !deleted.contains(&n) {
                        deleted.push(n);
                    }
                }
            }
            if deleted.is_empty() {
                return Ok(vec![]);
            }
            Ok(vec![ev(Kind::AttributesUpdated(AttributesUpdated { set: vec![], deleted, unverified: vec![] }))])
        }
        AdminUserCommand::Disable => {
            let u = existing(user)?;
            Ok(if u.enabled { vec![ev(Kind::UserDisabled(UserDisabled {}))] } else { vec![] })
        }
        AdminUserCommand::Enable => {
            let u = existing(user)?;
            Ok(if u.enabled { vec![] } else { vec![ev(Kind::UserEnabled(UserEnabled {}))] })
        }
        AdminUserCommand::GlobalSignOut => {
            existing(user)?;
            Ok(vec![ev(Kind::SignedOutEverywhere(SignedOutEverywhere { revoked_before_ms: ctx.now_ms() }))])
        }
        AdminUserCommand::Delete => {
            existing(user)?;
            Ok(vec![ev(Kind::UserDeleted(UserDeleted {}))])
        }
        AdminUserCommand::AddToGroup { group_name, group } => {
            let g = group.filter(|g| g.group_name == group_name && g.pool_id == pool.pool_id).ok_or_else(group_not_found)?;
            let u = existing(user)?;
            if u.groups.iter().any(|m| m.group_name == g.group_name && m.group_id == g.group_id) {
                return Ok(vec![]);
            }
            if u.groups.iter().filter(|m| m.group_name != g.group_name).count() >= MAX_GROUPS_PER_USER {
                return Err(DomainError::LimitExceeded(format!("A user can belong to at most {MAX_GROUPS_PER_USER} groups.")).into());
            }
            Ok(vec![ev(Kind::UserAddedToGroup(UserAddedToGroup { group_name: g.group_name, group_id: g.group_id }))])
        }
        AdminUserCommand::RemoveFromGroup { group_name, group } => {
            group.filter(|g| g.group_name == group_name && g.pool_id == pool.pool_id).ok_or_else(group_not_found)?;
            let u = existing(user)?;
            match u.groups.iter().find(|m| m.group_name == group_name) {
                Some(m) => Ok(vec![ev(Kind::UserRemovedFromGroup(UserRemovedFromGroup { group_name, group_id: m.group_id.clone() }))]),
                None => Ok(vec![]),
            }
        }
    }
}

/// The invitation messages: one per requested medium the user has an address for (SMS when
/// none is requested, as Cognito). Explicitly requested mediums with no address at all are an
/// error; the default medium without a phone number sends nothing.
fn invitations(
    pool: &PoolState,
    mediums: &[String],
    lookup: impl Fn(&str) -> Option<String>,
    password: &str,
    expires_at_ms: i64,
    client_metadata: &[(String, String)],
    ctx: &mut dyn Ctx,
) -> Result<Vec<Event>, DomainError> {
    let message = CodeMessage::new(pool, message_source::ADMIN_CREATE_USER, client_metadata.to_vec());
    let explicit = !mediums.is_empty();
    let wanted: Vec<&str> = if explicit { mediums.iter().map(String::as_str).collect() } else { vec!["SMS"] };
    let mut events = Vec::new();
    for (channel, attribute) in [("EMAIL", "email"), ("SMS", "phone_number")] {
        if !wanted.contains(&channel) {
            continue;
        }
        let Some(destination) = lookup(attribute).filter(|d| !d.is_empty()) else { continue };
        events.push(ev(Kind::CodeIssued(CodeIssued {
            purpose: purpose::ADMIN_CREATE_USER.into(),
            attribute: attribute.into(),
            channel: channel.into(),
            destination,
            salt: Default::default(),
            hash: Default::default(),
            sealed: ctx.seal(password).into(),
            expires_at_ms,
            client_id: String::new(),
            trigger_source: message.source.clone(),
            client_metadata: message.client_metadata.clone(),
        })));
    }
    if events.is_empty() && explicit {
        return Err(DomainError::invalid(format!(
            "The user has no attribute to deliver the invitation by {} (email for EMAIL, phone_number for SMS).",
            mediums.join(", ")
        )));
    }
    Ok(events)
}

#[cfg(test)]
#[path = "user_admin_tests.rs"]
mod tests;
