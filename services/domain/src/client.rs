//! App-client aggregate: auth-flow rules and decisions.

use crate::ctx::Ctx;
use crate::decide::{ev, Rejected};
use crate::pb::{event::Kind, ClientCreated, ClientDeleted, ClientSettings, ClientState, Event, PoolState};
use crate::pool::validate_validity;
use crate::DomainError;

pub const AUTH_FLOWS: &[&str] =
    &["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_CUSTOM_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_AUTH"];

/// Cognito's default when a client names no flows.
pub const DEFAULT_AUTH_FLOWS: &[&str] = &["ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"];

// A command lives for one decision; boxing the pool state would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum ClientCommand {
    /// `pool` is the pool as the front read it; the pool must exist.
    Create {
        client_id: String,
        pool: Option<PoolState>,
        settings: ClientSettings,
    },
    Delete,
}

pub fn decide(state: Option<&ClientState>, cmd: ClientCommand, ctx: &mut dyn Ctx) -> Result<Vec<Event>, Rejected> {
    match cmd {
        ClientCommand::Create { client_id, pool, mut settings } => {
            let pool = pool.ok_or_else(|| DomainError::ResourceNotFound("User pool does not exist.".into()))?;
            if state.is_some() {
                return Err(DomainError::ResourceExists("App client already exists.".into()).into());
            }
            let len = settings.name.chars().count();
            if len == 0 || len > 128 || settings.name.chars().any(|c| c.is_control()) {
                return Err(DomainError::invalid("ClientName must be 1 to 128 characters.").into());
            }
            if settings.explicit_auth_flows.is_empty() {
                settings.explicit_auth_flows = DEFAULT_AUTH_FLOWS.iter().map(|s| s.to_string()).collect();
            }
            for flow in &settings.explicit_auth_flows {
                if !AUTH_FLOWS.contains(&flow.as_str()) {
                    return Err(DomainError::invalid(format!("Invalid ExplicitAuthFlows value {flow}.")).into());
                }
            }
            if let Some(v) = &settings.token_validity {
                validate_validity(v)?;
            }
            Ok(vec![ev(Kind::ClientCreated(ClientCreated { client_id, pool_id: pool.pool_id, settings: Some(settings), created_at_ms: ctx.now_ms() }))])
        }
        ClientCommand::Delete => {
            state.ok_or_else(|| DomainError::ResourceNotFound("App client does not exist.".into()))?;
            Ok(vec![ev(Kind::ClientDeleted(ClientDeleted {}))])
        }
    }
}

/// Refuses an auth flow the client does not allow.
pub fn require_flow(client: &ClientState, flow: &str) -> Result<(), DomainError> {
    let allowed = client.settings.as_ref().map(|s| s.explicit_auth_flows.as_slice()).unwrap_or(&[]);
    if allowed.iter().any(|f| f == flow) {
        Ok(())
    } else {
        let plain = flow.strip_prefix("ALLOW_").unwrap_or(flow);
        Err(DomainError::invalid(format!("{plain} flow not enabled for this client")))
    }
}

/// PreventUserExistenceErrors for this client: its own setting, else the pool's.
pub fn prevents_existence_errors(pool: &PoolState, client: Option<&ClientState>) -> bool {
    client
        .and_then(|c| c.settings.as_ref())
        .and_then(|s| s.prevent_user_existence_errors)
        .unwrap_or_else(|| pool.settings.as_ref().map(|s| s.prevent_user_existence_errors).unwrap_or(false))
}
