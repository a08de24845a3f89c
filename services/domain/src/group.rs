//! Group aggregate (`group/<poolId>/<groupName>`): create, update, delete. Each creation draws a
//! new incarnation id (recorded in GroupCreated); memberships, kept on the user aggregate, name
//! it, so a deleted and re-created group starts empty. Also AddCustomAttributes (pool
//! aggregate), the other schema-level admin operation of this work.

use crate::ctx::Ctx;
use crate::decide::{ev, Rejected};
use crate::pb::{event::Kind, CustomAttributesAdded, Event, GroupCreated, GroupDeleted, GroupSettings, GroupState, GroupUpdated, PoolState, SchemaAttribute};
use crate::DomainError;

pub const MAX_GROUP_NAME: usize = 128;
pub const MAX_DESCRIPTION: usize = 2048;
pub const MAX_CUSTOM_ATTRIBUTES: usize = 50;

// Built once per command attempt; boxing the pool would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum GroupCommand {
    /// `pool` is the pool as the front read it (`None`: no such pool).
    Create {
        pool: Option<PoolState>,
        group_name: String,
        settings: GroupSettings,
    },
    /// `None` members keep their current value.
    Update {
        description: Option<String>,
        precedence: Option<u32>,
        role_arn: Option<String>,
    },
    Delete,
}

/// Cognito's group-name rule: 1 to 128 visible characters (letters, marks, symbols, numbers,
/// punctuation; no whitespace or controls).
pub fn validate_group_name(name: &str) -> Result<(), DomainError> {
    let len = name.chars().count();
    if len == 0 || len > MAX_GROUP_NAME || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(DomainError::invalid(format!(
            "1 validation error detected: Value at 'groupName' failed to satisfy constraint: Member must have length between 1 and {MAX_GROUP_NAME} and contain no whitespace"
        )));
    }
    Ok(())
}

fn validate_settings(s: &GroupSettings) -> Result<(), DomainError> {
    if s.description.chars().count() > MAX_DESCRIPTION {
        return Err(DomainError::invalid(format!("Description must be at most {MAX_DESCRIPTION} characters.")));
    }
    if s.precedence.is_some_and(|p| p > i32::MAX as u32) {
        return Err(DomainError::invalid("Precedence must be between 0 and 2147483647."));
    }
    let arn = &s.role_arn;
    if !arn.is_empty() && (arn.len() < 20 || arn.len() > 2048 || !arn.starts_with("arn:") || arn.split(':').count() < 6 || arn.chars().any(char::is_whitespace))
    {
        return Err(DomainError::invalid("RoleArn is not a valid ARN (arn:partition:service:region:account:resource)."));
    }
    Ok(())
}

fn not_found() -> DomainError {
    DomainError::ResourceNotFound("Group not found.".into())
}

pub fn decide(state: Option<&GroupState>, cmd: GroupCommand, ctx: &mut dyn Ctx) -> Result<Vec<Event>, Rejected> {
    match cmd {
        GroupCommand::Create { pool, group_name, settings } => {
            validate_group_name(&group_name)?;
            validate_settings(&settings)?;
            let pool = pool.ok_or_else(|| DomainError::ResourceNotFound("User pool does not exist.".into()))?;
            if state.is_some() {
                return Err(DomainError::GroupExists(format!("A group with the name {group_name} already exists.")).into());
            }
            Ok(vec![ev(Kind::GroupCreated(GroupCreated {
                pool_id: pool.pool_id,
                group_name,
                group_id: ctx.new_uuid(),
                settings: Some(settings),
                created_at_ms: ctx.now_ms(),
            }))])
        }
        GroupCommand::Update { description, precedence, role_arn } => {
            let g = state.ok_or_else(not_found)?;
            let mut settings = g.settings.clone().unwrap_or_default();
            if let Some(d) = description {
                settings.description = d;
            }
            if let Some(p) = precedence {
                settings.precedence = Some(p);
            }
            if let Some(r) = role_arn {
                settings.role_arn = r;
            }
            validate_settings(&settings)?;
            if Some(&settings) == g.settings.as_ref() {
                return Ok(vec![]);
            }
            Ok(vec![ev(Kind::GroupUpdated(GroupUpdated { settings: Some(settings) }))])
        }
        GroupCommand::Delete => {
            state.ok_or_else(not_found)?;
            Ok(vec![ev(Kind::GroupDeleted(GroupDeleted {}))])
        }
    }
}

/// The order of `cognito:groups`: by precedence (lowest first; groups without one last), then
/// by name.
pub fn token_order(groups: &mut [GroupState]) {
    groups.sort_by(|a, b| {
        let p = |g: &GroupState| g.settings.as_ref().and_then(|s| s.precedence).map(u64::from).unwrap_or(u64::MAX);
        p(a).cmp(&p(b)).then_with(|| a.group_name.cmp(&b.group_name))
    });
}

/// AddCustomAttributes on the pool: names get the `custom:` prefix, must be new, and the
/// resulting schema must satisfy every schema rule (types, lengths, at most 50 custom
/// attributes). Every later attribute write is checked against the extended schema.
pub fn add_custom_attributes(pool: Option<&PoolState>, attributes: Vec<SchemaAttribute>) -> Result<Vec<Event>, Rejected> {
    let pool = pool.ok_or_else(|| DomainError::ResourceNotFound("User pool does not exist.".into()))?;
    if attributes.is_empty() || attributes.len() > 25 {
        return Err(DomainError::invalid("CustomAttributes must hold 1 to 25 attributes.").into());
    }
    let mut settings = pool.settings.clone().unwrap_or_default();
    let mut added = Vec::with_capacity(attributes.len());
    for mut a in attributes {
        if !a.name.starts_with("custom:") {
            a.name = format!("custom:{}", a.name);
        }
        if a.data_type.is_empty() {
            a.data_type = "String".into();
        }
        if settings.schema.iter().any(|e| e.name == a.name) {
            return Err(DomainError::invalid(format!("Existing attribute already has name {}.", a.name)).into());
        }
        if a.data_type != "Number" && (a.min_value.is_some() || a.max_value.is_some()) {
            return Err(DomainError::invalid(format!("NumberAttributeConstraints apply to Number attributes only ({}).", a.name)).into());
        }
        if a.data_type != "String" && (a.min_length != 0 || a.max_length != 0) {
            return Err(DomainError::invalid(format!("StringAttributeConstraints apply to String attributes only ({}).", a.name)).into());
        }
        if let (Some(min), Some(max)) = (a.min_value, a.max_value) {
            if min > max {
                return Err(DomainError::invalid(format!("Invalid number constraints for {}: MinValue > MaxValue.", a.name)).into());
            }
        }
        settings.schema.push(a.clone());
        added.push(a);
    }
    if settings.schema.iter().filter(|a| a.name.starts_with("custom:")).count() > MAX_CUSTOM_ATTRIBUTES {
        return Err(DomainError::invalid(format!("A pool can have at most {MAX_CUSTOM_ATTRIBUTES} custom attributes.")).into());
    }
    crate::pool::validate_settings(&settings)?;
    Ok(vec![ev(Kind::CustomAttributesAdded(CustomAttributesAdded { attributes: added }))])
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
