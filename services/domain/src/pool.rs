//! User-pool aggregate: settings defaults, validation and decisions.

use crate::ctx::Ctx;
use crate::decide::{ev, Rejected, DEFAULT_CODE_MAX_ATTEMPTS};
use crate::pb::{
    event::Kind, Event, PasswordPolicy, PoolCreated, PoolDeleted, PoolSettings, PoolState, PoolUpdated, SchemaAttribute, TokenValidity, TriggerDeployed,
    TriggerRemoved,
};
use crate::validate::STANDARD_ATTRIBUTES;
use crate::DomainError;

pub const MIN_TOKEN_SECS: u64 = 5 * 60;
pub const MAX_TOKEN_SECS: u64 = 24 * 3600;
pub const MIN_REFRESH_SECS: u64 = 3600;
pub const MAX_REFRESH_SECS: u64 = 10 * 365 * 24 * 3600;
pub const DEFAULT_TOKEN_SECS: u64 = 3600;
pub const DEFAULT_REFRESH_SECS: u64 = 30 * 24 * 3600;

pub enum PoolCommand {
    Create {
        pool_id: String,
        settings: PoolSettings,
    },
    /// Replaces the updatable settings. Username case sensitivity and the schema are fixed at
    /// creation (as in Cognito) and are carried over from the current settings.
    Update {
        settings: PoolSettings,
    },
    Delete,
    /// Deploys a trigger component (already stored by its hash) for one trigger kind; the
    /// version and time are filled in here.
    DeployTrigger {
        trigger: TriggerDeployed,
    },
    RemoveTrigger {
        kind: String,
    },
}

/// Trigger kinds (Cognito's `LambdaConfig` names). `idp-triggers` checks it runs each of them.
pub const TRIGGER_KINDS: &[&str] = &[
    "PreSignUp",
    "PostConfirmation",
    "PreAuthentication",
    "PostAuthentication",
    "PreTokenGeneration",
    "CustomMessage",
    "UserMigration",
    "DefineAuthChallenge",
    "CreateAuthChallenge",
    "VerifyAuthChallengeResponse",
];
pub const DEFAULT_TRIGGER_TIMEOUT_MS: u64 = 5_000;
pub const MAX_TRIGGER_TIMEOUT_MS: u64 = 30_000;
pub const DEFAULT_TRIGGER_MEMORY_BYTES: u64 = 64 << 20;
pub const MIN_TRIGGER_MEMORY_BYTES: u64 = 1 << 20;
pub const MAX_TRIGGER_MEMORY_BYTES: u64 = 256 << 20;
pub const MAX_TRIGGER_CONFIG_BYTES: usize = 64 << 10;

/// The deployed trigger of `kind`, if any.
pub fn trigger<'a>(pool: &'a PoolState, kind: &str) -> Option<&'a TriggerDeployed> {
    pool.triggers.iter().find(|t| t.kind == kind)
}

fn validate_trigger(t: &mut TriggerDeployed) -> Result<(), DomainError> {
    if !TRIGGER_KINDS.contains(&t.kind.as_str()) {
        return Err(DomainError::invalid(format!("Unknown trigger kind {:?}; expected one of {}.", t.kind, TRIGGER_KINDS.join(", "))));
    }
    if t.sha256.len() != 64 || !t.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(DomainError::invalid("The component hash must be a lower-case hex SHA-256."));
    }
    if t.config.len() > MAX_TRIGGER_CONFIG_BYTES {
        return Err(DomainError::invalid(format!("The trigger configuration must be at most {MAX_TRIGGER_CONFIG_BYTES} bytes.")));
    }
    if t.timeout_ms == 0 {
        t.timeout_ms = DEFAULT_TRIGGER_TIMEOUT_MS;
    }
    if t.timeout_ms > MAX_TRIGGER_TIMEOUT_MS {
        return Err(DomainError::invalid(format!("The trigger timeout must be at most {MAX_TRIGGER_TIMEOUT_MS} ms.")));
    }
    if t.memory_limit_bytes == 0 {
        t.memory_limit_bytes = DEFAULT_TRIGGER_MEMORY_BYTES;
    }
    if !(MIN_TRIGGER_MEMORY_BYTES..=MAX_TRIGGER_MEMORY_BYTES).contains(&t.memory_limit_bytes) {
        return Err(DomainError::invalid(format!("The trigger memory limit must be between {MIN_TRIGGER_MEMORY_BYTES} and {MAX_TRIGGER_MEMORY_BYTES} bytes.")));
    }
    Ok(())
}

/// Cognito's default password policy.
pub fn default_password_policy() -> PasswordPolicy {
    PasswordPolicy {
        minimum_length: 8,
        require_uppercase: true,
        require_lowercase: true,
        require_numbers: true,
        require_symbols: true,
        temporary_password_validity_days: 7,
    }
}

/// Cognito's defaults for a new pool, used for every unset field.
pub fn default_settings(name: &str) -> PoolSettings {
    PoolSettings {
        name: name.to_string(),
        password_policy: Some(default_password_policy()),
        schema: standard_schema(),
        auto_verified_attributes: Vec::new(),
        username_case_sensitive: false,
        token_validity: Some(TokenValidity {
            id_token_secs: DEFAULT_TOKEN_SECS,
            access_token_secs: DEFAULT_TOKEN_SECS,
            refresh_token_secs: DEFAULT_REFRESH_SECS,
        }),
        prevent_user_existence_errors: false,
        mfa_configuration: "OFF".into(),
        code_max_attempts: DEFAULT_CODE_MAX_ATTEMPTS,
        ..Default::default()
    }
}

/// The standard attributes, optional and mutable.
pub fn standard_schema() -> Vec<SchemaAttribute> {
    STANDARD_ATTRIBUTES
        .iter()
        .map(|name| SchemaAttribute {
            name: name.to_string(),
            data_type: "String".into(),
            required: false,
            mutable: true,
            min_length: 0,
            max_length: 2048,
            developer_only: false,
            ..Default::default()
        })
        .collect()
}

/// Checks token validities against Cognito's bounds; 0 means "default".
pub fn validate_validity(v: &TokenValidity) -> Result<(), DomainError> {
    for (what, secs) in [("IdTokenValidity", v.id_token_secs), ("AccessTokenValidity", v.access_token_secs)] {
        if secs != 0 && !(MIN_TOKEN_SECS..=MAX_TOKEN_SECS).contains(&secs) {
            return Err(DomainError::invalid(format!("{what} must be between 5 minutes and 1 day.")));
        }
    }
    let r = v.refresh_token_secs;
    if r != 0 && !(MIN_REFRESH_SECS..=MAX_REFRESH_SECS).contains(&r) {
        return Err(DomainError::invalid("RefreshTokenValidity must be between 60 minutes and 10 years."));
    }
    Ok(())
}

pub(crate) fn validate_settings(s: &PoolSettings) -> Result<(), DomainError> {
    let len = s.name.chars().count();
    if len == 0 || len > 128 || s.name.chars().any(|c| c.is_control()) {
        return Err(DomainError::invalid("PoolName must be 1 to 128 characters."));
    }
    if let Some(p) = &s.password_policy {
        if !(6..=99).contains(&p.minimum_length) {
            return Err(DomainError::invalid("PasswordPolicy.MinimumLength must be between 6 and 99."));
        }
        if p.temporary_password_validity_days > 365 {
            return Err(DomainError::invalid("TemporaryPasswordValidityDays must be at most 365."));
        }
    }
    for a in &s.auto_verified_attributes {
        if a != "email" && a != "phone_number" {
            return Err(DomainError::invalid(format!("AutoVerifiedAttributes: {a} is not email or phone_number.")));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for a in &s.schema {
        if !seen.insert(a.name.as_str()) {
            return Err(DomainError::invalid(format!("Duplicate schema attribute {}.", a.name)));
        }
        let custom = a.name.strip_prefix("custom:");
        let ok_name = match custom {
            Some(n) => !n.is_empty() && n.len() <= 20 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            None => STANDARD_ATTRIBUTES.contains(&a.name.as_str()),
        };
        if !ok_name {
            return Err(DomainError::invalid(format!("Invalid schema attribute name {}.", a.name)));
        }
        if custom.is_some() && a.required {
            return Err(DomainError::invalid("Required custom attributes are not supported."));
        }
        if !matches!(a.data_type.as_str(), "String" | "Number" | "DateTime" | "Boolean") {
            return Err(DomainError::invalid(format!("Invalid AttributeDataType {}.", a.data_type)));
        }
        if a.max_length > 2048 || (a.max_length != 0 && a.min_length > a.max_length) {
            return Err(DomainError::invalid(format!("Invalid length constraints for {}.", a.name)));
        }
    }
    for required in s.auto_verified_attributes.iter() {
        if !s.schema.iter().any(|a| &a.name == required) {
            return Err(DomainError::invalid(format!("Auto-verified attribute {required} is not in the schema.")));
        }
    }
    if let Some(v) = &s.token_validity {
        validate_validity(v)?;
    }
    match s.mfa_configuration.as_str() {
        "" | "OFF" => {}
        "ON" | "OPTIONAL" if s.software_token_mfa_enabled || s.sms_mfa_enabled || s.email_mfa_enabled => {}
        "ON" | "OPTIONAL" => return Err(DomainError::invalid("MfaConfiguration ON or OPTIONAL needs an MFA method: configure one with SetUserPoolMfaConfig.")),
        other => return Err(DomainError::invalid(format!("MfaConfiguration must be OFF, ON or OPTIONAL, not {other}."))),
    }
    if s.code_max_attempts > 20 {
        return Err(DomainError::invalid("code_max_attempts must be at most 20."));
    }
    Ok(())
}

pub fn decide(state: Option<&PoolState>, cmd: PoolCommand, ctx: &mut dyn Ctx) -> Result<Vec<Event>, Rejected> {
    match cmd {
        PoolCommand::Create { pool_id, settings } => {
            if state.is_some() {
                return Err(DomainError::ResourceExists(format!("User pool {pool_id} already exists.")).into());
            }
            validate_settings(&settings)?;
            Ok(vec![ev(Kind::PoolCreated(PoolCreated { pool_id, settings: Some(settings), created_at_ms: ctx.now_ms() }))])
        }
        PoolCommand::Update { mut settings } => {
            let current = state.ok_or_else(not_found_any)?;
            let old = current.settings.clone().unwrap_or_default();
            settings.schema = old.schema;
            settings.username_case_sensitive = old.username_case_sensitive;
            if settings.name.is_empty() {
                settings.name = old.name;
            }
            validate_settings(&settings)?;
            Ok(vec![ev(Kind::PoolUpdated(PoolUpdated { settings: Some(settings) }))])
        }
        PoolCommand::Delete => {
            state.ok_or_else(not_found_any)?;
            Ok(vec![ev(Kind::PoolDeleted(PoolDeleted {}))])
        }
        PoolCommand::DeployTrigger { mut trigger } => {
            let current = state.ok_or_else(not_found_any)?;
            validate_trigger(&mut trigger)?;
            trigger.version = current.trigger_versions + 1;
            trigger.deployed_at_ms = ctx.now_ms();
            Ok(vec![ev(Kind::TriggerDeployed(trigger))])
        }
        PoolCommand::RemoveTrigger { kind } => {
            let current = state.ok_or_else(not_found_any)?;
            if trigger(current, &kind).is_none() {
                return Err(DomainError::ResourceNotFound(format!("The pool has no {kind} trigger.")).into());
            }
            Ok(vec![ev(Kind::TriggerRemoved(TriggerRemoved { kind }))])
        }
    }
}

fn not_found_any() -> DomainError {
    DomainError::ResourceNotFound("User pool does not exist.".into())
}

/// The effective token validity for a client: its overrides, else the pool's, else defaults.
pub fn effective_validity(pool: &PoolSettings, client: Option<&TokenValidity>) -> TokenValidity {
    let p = pool.token_validity.unwrap_or_default();
    let c = client.cloned().unwrap_or_default();
    let pick = |c: u64, p: u64, d: u64| {
        if c != 0 {
            c
        } else if p != 0 {
            p
        } else {
            d
        }
    };
    TokenValidity {
        id_token_secs: pick(c.id_token_secs, p.id_token_secs, DEFAULT_TOKEN_SECS),
        access_token_secs: pick(c.access_token_secs, p.access_token_secs, DEFAULT_TOKEN_SECS),
        refresh_token_secs: pick(c.refresh_token_secs, p.refresh_token_secs, DEFAULT_REFRESH_SECS),
    }
}
