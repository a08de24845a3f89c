//! Pool and app-client operations (admin credential checked by the adapters).

use idp_domain::client::{self, ClientCommand};
use idp_domain::keys::AggregateKey;
use idp_domain::pb::{ClientSettings, ClientState, PasswordPolicy, PoolSettings, PoolState, SchemaAttribute, TokenValidity};
use idp_domain::pool::{self, default_settings, PoolCommand};
use idp_domain::validate::STANDARD_ATTRIBUTES;
use idp_domain::AggregateState;
use rand::rngs::OsRng;

use crate::exec::decider;
use crate::{App, AppError};

/// What a caller specifies for a new pool; everything unset takes Cognito's default.
#[derive(Debug, Clone, Default)]
pub struct PoolSpec {
    pub name: String,
    pub password_policy: Option<PasswordPolicy>,
    /// Extra or overriding schema attributes; custom names may omit the `custom:` prefix.
    pub schema: Vec<SchemaAttribute>,
    pub auto_verified_attributes: Vec<String>,
    pub username_case_sensitive: Option<bool>,
    pub token_validity: Option<TokenValidity>,
    pub prevent_user_existence_errors: Option<bool>,
}

/// Updatable pool settings; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct PoolPatch {
    pub password_policy: Option<PasswordPolicy>,
    pub auto_verified_attributes: Option<Vec<String>>,
    pub token_validity: Option<TokenValidity>,
    pub prevent_user_existence_errors: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct ClientSpec {
    pub pool_id: String,
    pub name: String,
    pub generate_secret: bool,
    pub explicit_auth_flows: Vec<String>,
    pub token_validity: Option<TokenValidity>,
    pub prevent_user_existence_errors: Option<bool>,
}

/// An app client as shown to admins (the secret is opened for them, as Cognito does).
#[derive(Debug, Clone)]
pub struct ClientView {
    pub state: ClientState,
    pub secret: Option<String>,
}

fn merge_schema(base: &mut Vec<SchemaAttribute>, extra: Vec<SchemaAttribute>) {
    for mut a in extra {
        if !a.name.starts_with("custom:") && !STANDARD_ATTRIBUTES.contains(&a.name.as_str()) {
            a.name = format!("custom:{}", a.name);
        }
        if a.data_type.is_empty() {
            a.data_type = "String".into();
        }
        match base.iter_mut().find(|b| b.name == a.name) {
            Some(b) => *b = a,
            None => base.push(a),
        }
    }
}

impl PoolSpec {
    fn into_settings(self) -> PoolSettings {
        let mut s = default_settings(&self.name);
        if let Some(p) = self.password_policy {
            s.password_policy = Some(p);
        }
        merge_schema(&mut s.schema, self.schema);
        s.auto_verified_attributes = self.auto_verified_attributes;
        if let Some(c) = self.username_case_sensitive {
            s.username_case_sensitive = c;
        }
        if let Some(v) = self.token_validity {
            s.token_validity = Some(v);
        }
        if let Some(p) = self.prevent_user_existence_errors {
            s.prevent_user_existence_errors = p;
        }
        s
    }
}

/// An id derived from a caller's request id (`len` alphanumerics), so retries address the same
/// aggregate; `None` without a request id.
fn derived_id(request_id: &str, len: usize) -> Option<String> {
    use sha2::{Digest, Sha256};
    if request_id.is_empty() {
        return None;
    }
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(len);
    let mut counter = 0u32;
    while out.len() < len {
        let digest = Sha256::new().chain_update(b"idp/derived-id/v1").chain_update(counter.to_be_bytes()).chain_update(request_id.as_bytes()).finalize();
        for b in digest.iter().filter(|b| **b < 248) {
            if out.len() < len {
                out.push(ALPHABET[(*b as usize) % 62] as char);
            }
        }
        counter += 1;
    }
    Some(out)
}

fn pool_of(state: Option<AggregateState>) -> Result<PoolState, AppError> {
    match state {
        Some(AggregateState::Pool(p)) => Ok(p),
        _ => Err(AppError::Internal("pool state missing after an accepted write".into())),
    }
}

impl App {
    pub async fn create_user_pool(&self, spec: PoolSpec, request_id: &str) -> Result<PoolState, AppError> {
        // A retried create (same request id) names the same pool, so it is applied once.
        let pool_id = match derived_id(request_id, 9) {
            Some(id) => format!("{}_{id}", self.config.region),
            None => idp_crypto::ids::pool_id(&self.config.region, &mut OsRng),
        };
        let settings = spec.into_settings();
        let id = pool_id.clone();
        let committed = self
            .execute(
                &AggregateKey::pool(&pool_id),
                request_id,
                decider(move |_, ctx| pool::decide(None, PoolCommand::Create { pool_id: id.clone(), settings: settings.clone() }, ctx)),
            )
            .await?;
        pool_of(committed.state)
    }

    pub async fn describe_user_pool(&self, pool_id: &str) -> Result<PoolState, AppError> {
        self.catch_up(&AggregateKey::pool(pool_id)).await?;
        self.pool(pool_id).await
    }

    pub async fn update_user_pool(&self, pool_id: &str, patch: PoolPatch, request_id: &str) -> Result<PoolState, AppError> {
        let committed = self
            .execute(
                &AggregateKey::pool(pool_id),
                request_id,
                decider(move |state, ctx| {
                    let current = match state {
                        Some(AggregateState::Pool(p)) => Some(p),
                        _ => None,
                    };
                    let mut settings = current.and_then(|p| p.settings.clone()).unwrap_or_default();
                    if let Some(p) = &patch.password_policy {
                        settings.password_policy = Some(*p);
                    }
                    if let Some(a) = &patch.auto_verified_attributes {
                        settings.auto_verified_attributes = a.clone();
                    }
                    if let Some(v) = &patch.token_validity {
                        settings.token_validity = Some(*v);
                    }
                    if let Some(p) = patch.prevent_user_existence_errors {
                        settings.prevent_user_existence_errors = p;
                    }
                    pool::decide(current, PoolCommand::Update { settings }, ctx)
                }),
            )
            .await?;
        pool_of(committed.state)
    }

    pub async fn delete_user_pool(&self, pool_id: &str, request_id: &str) -> Result<(), AppError> {
        self.execute(
            &AggregateKey::pool(pool_id),
            request_id,
            decider(|state, ctx| {
                let current = match state {
                    Some(AggregateState::Pool(p)) => Some(p),
                    _ => None,
                };
                pool::decide(current, PoolCommand::Delete, ctx)
            }),
        )
        .await?;
        Ok(())
    }

    pub async fn create_user_pool_client(&self, spec: ClientSpec, request_id: &str) -> Result<ClientView, AppError> {
        self.catch_up(&AggregateKey::pool(&spec.pool_id)).await?;
        let pool = self.pool(&spec.pool_id).await?;
        let client_id = derived_id(request_id, 26).map(|id| id.to_lowercase()).unwrap_or_else(|| idp_crypto::ids::client_id(&mut OsRng));
        let secret = spec.generate_secret.then(|| idp_crypto::ids::client_secret(&mut OsRng));
        let secret_sealed = match &secret {
            Some(s) => self.secrets.codes.seal(s, &mut OsRng).map_err(|e| AppError::Internal(format!("sealing: {e}")))?,
            None => vec![],
        };
        let settings = ClientSettings {
            name: spec.name,
            explicit_auth_flows: spec.explicit_auth_flows,
            token_validity: spec.token_validity,
            secret_sealed: secret_sealed.into(),
            prevent_user_existence_errors: spec.prevent_user_existence_errors,
        };
        let id = client_id.clone();
        let committed = self
            .execute(
                &AggregateKey::client(&client_id),
                request_id,
                decider(move |_, ctx| {
                    client::decide(None, ClientCommand::Create { client_id: id.clone(), pool: Some(pool.clone()), settings: settings.clone() }, ctx)
                }),
            )
            .await?;
        match committed.state {
            // The secret shown is the stored one (a retried request gets the original's).
            Some(AggregateState::Client(state)) => {
                let secret = if committed.duplicate { self.client_secret(&state)? } else { secret };
                Ok(ClientView { state, secret })
            }
            _ => Err(AppError::Internal("client state missing after an accepted write".into())),
        }
    }

    /// The client, checked to belong to `pool_id`.
    pub async fn describe_user_pool_client(&self, pool_id: &str, client_id: &str) -> Result<ClientView, AppError> {
        self.catch_up(&AggregateKey::client(client_id)).await?;
        let state = self.client(client_id).await?;
        if state.pool_id != pool_id {
            return Err(AppError::not_found(format!("User pool client {client_id} does not exist.")));
        }
        let secret = self.client_secret(&state)?;
        Ok(ClientView { state, secret })
    }

    /// Opens a client's sealed secret.
    pub(crate) fn client_secret(&self, client: &ClientState) -> Result<Option<String>, AppError> {
        let sealed = client.settings.as_ref().map(|s| &s.secret_sealed[..]).unwrap_or(&[]);
        if sealed.is_empty() {
            return Ok(None);
        }
        self.secrets.codes.open(sealed).map(|s| Some(s.to_string())).map_err(|e| AppError::Internal(format!("opening a client secret: {e}")))
    }

    pub async fn delete_user_pool_client(&self, pool_id: &str, client_id: &str, request_id: &str) -> Result<(), AppError> {
        self.describe_user_pool_client(pool_id, client_id).await?;
        self.execute(
            &AggregateKey::client(client_id),
            request_id,
            decider(|state, ctx| {
                let current = match state {
                    Some(AggregateState::Client(c)) => Some(c),
                    _ => None,
                };
                client::decide(current, ClientCommand::Delete, ctx)
            }),
        )
        .await?;
        Ok(())
    }
}
