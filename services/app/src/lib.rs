//! The command path: the one place every operation is implemented, whatever the adapter
//! (gRPC in `idp-api`, Cognito JSON in the HTTP front). Adapters translate wire shapes to the
//! inputs here and errors to their wire; no rule lives in an adapter.
//!
//! - [`App`] (this file): wiring (log, store, verdicts, secrets, config).
//! - [`exec`]: the write loop: catch up → read state → `decide` → append with precondition →
//!   wait for the arbiter's verdict → retry on conflict. Read-your-writes comes from waiting.
//! - [`ctx`]: the real [`idp_domain::Ctx`] (clock, OS randomness, Argon2id + SRP, code keys).
//! - [`scope`]: request-scoped catch-up (one end-offset read per request, not per aggregate).
//! - [`read`]: read-model lookups (pools, clients, users by name or sub, revocations).
//! - [`admin`]: pool and app-client operations. [`users`]: the user operations.
//! - [`admin_users`]: the admin user operations (AdminCreateUser …, AddCustomAttributes).
//! - [`groups`]: groups, group membership and the `cognito:groups` of tokens.
//! - [`auth`]: sign-in, token issuance, token checks and revocation.
//! - [`srp`]: USER_SRP_AUTH and the PASSWORD_VERIFIER challenge (sealed, self-contained state).
//! - [`session`]: sealed, expiring, single-use challenge sessions, and the RespondToAuthChallenge
//!   dispatch over the challenge names.
//! - [`signin`]: what follows a first factor (NEW_PASSWORD_REQUIRED, MFA challenges, lockout
//!   bookkeeping), software tokens, MFA preferences and the pool's MFA configuration.
//! - [`throttle`]: per-source throttling of sign-in and code attempts (TooManyRequestsException).
//! - [`messages`]: the message senders (dev outbox file, SMTP, SMS webhook) and the dispatcher
//!   that drains the projector's outbox rows at least once, de-duplicated by event id.
//! - [`triggers`]: trigger deployment (pool events + content-addressed components) and the
//!   trigger calls of the operations (PreSignUp runs before the write loop; its outcome is
//!   recorded in the event, so replay never runs it); the post-* trigger runner (PostConfirmation,
//!   PostAuthentication from the log, at least once) and CUSTOM_AUTH (`triggers::challenge`).
//! - [`error`]: [`AppError`], with the stable exception name every adapter maps from.

pub mod admin;
pub mod admin_users;
pub mod auth;
pub mod credentials;
pub mod ctx;
pub mod error;
pub mod exec;
pub mod groups;
pub mod messages;
pub mod read;
pub mod scope;
pub mod session;
pub mod signin;
pub mod srp;
pub mod throttle;
pub mod triggers;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use idp_crypto::codes::CodeKeys;
use idp_crypto::password::PasswordHasher;
use idp_eventlog::EventLog;
use idp_projector::Verdicts;
use idp_store::ProjectionStore;
use idp_tokens::refresh::RefreshKey;
use idp_tokens::TokenIssuer;
use tokio::sync::Semaphore;

pub use error::AppError;

/// Deployment secrets. Every process of a deployment must share them (token keys, refresh
/// key, code/secret sealing keys), so a token or code issued by one front checks on another.
pub struct Secrets {
    pub issuer: TokenIssuer,
    pub refresh: RefreshKey,
    pub codes: CodeKeys,
}

#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Region prefix of generated pool ids (`<region>_<id>`).
    pub region: String,
    /// How long a front waits for its record's verdict before answering with an error.
    pub verdict_timeout: Duration,
    /// Conflict retries before giving up (each retry re-reads the state).
    pub max_attempts: u32,
    /// Concurrent password hashes (memory-hard: bound memory and keep latency flat).
    pub hash_concurrency: usize,
    /// Sign-in and code attempts allowed per source address.
    pub source_limit: throttle::SourceLimit,
    /// Largest trigger component a deploy accepts (bytes).
    pub trigger_max_component_bytes: u64,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            region: "us-east-1".into(),
            verdict_timeout: Duration::from_secs(10),
            max_attempts: 8,
            hash_concurrency: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2) * 2,
            source_limit: throttle::SourceLimit::default(),
            trigger_max_component_bytes: 4 << 20,
        }
    }
}

/// The service core. Cheap to clone behind an `Arc`; every adapter holds one.
pub struct App {
    pub(crate) log: Arc<dyn EventLog>,
    pub(crate) store: Arc<dyn ProjectionStore>,
    pub(crate) verdicts: Arc<Verdicts>,
    pub(crate) secrets: Arc<Secrets>,
    pub(crate) hasher: Arc<PasswordHasher>,
    pub(crate) dummy_phc: Arc<String>,
    pub(crate) hash_slots: Arc<Semaphore>,
    pub(crate) config: AppConfig,
    /// The trigger runtime, when the server enables triggers ([`App::set_triggers`]).
    pub(crate) triggers: std::sync::OnceLock<Arc<idp_triggers::Runtime>>,
    pub(crate) source_limiter: Option<throttle::SourceLimiter>,
}

impl App {
    pub fn new(
        log: Arc<dyn EventLog>,
        store: Arc<dyn ProjectionStore>,
        verdicts: Arc<Verdicts>,
        secrets: Secrets,
        hasher: PasswordHasher,
        config: AppConfig,
    ) -> Result<Arc<App>, AppError> {
        // A real hash to verify against for unknown users, so their timing matches.
        let dummy_phc = hasher.hash("dummy-password-for-timing", &mut rand::rngs::OsRng).map_err(|e| AppError::Internal(format!("password hasher: {e}")))?;
        Ok(Arc::new(App {
            log,
            store,
            verdicts,
            secrets: Arc::new(secrets),
            hasher: Arc::new(hasher),
            dummy_phc: Arc::new(dummy_phc),
            hash_slots: Arc::new(Semaphore::new(config.hash_concurrency.max(1))),
            source_limiter: throttle::SourceLimiter::new(config.source_limit),
            config,
            triggers: std::sync::OnceLock::new(),
        }))
    }

    /// Admits one sign-in or code-verification attempt from `source` (adapters call this
    /// before InitiateAuth, RespondToAuthChallenge, ConfirmSignUp, ForgotPassword and
    /// ConfirmForgotPassword).
    pub fn admit_attempt(&self, source: Option<std::net::IpAddr>) -> Result<(), AppError> {
        match &self.source_limiter {
            Some(l) => l.admit(source),
            None => Ok(()),
        }
    }

    pub fn issuer(&self) -> &TokenIssuer {
        &self.secrets.issuer
    }

    /// The deployment secrets (shared with the message dispatcher).
    pub fn secrets(&self) -> Arc<Secrets> {
        self.secrets.clone()
    }

    pub fn store(&self) -> &Arc<dyn ProjectionStore> {
        &self.store
    }

    pub fn log(&self) -> &Arc<dyn EventLog> {
        &self.log
    }

    pub fn verdicts(&self) -> &Arc<Verdicts> {
        &self.verdicts
    }

    pub fn config(&self) -> &AppConfig {
        &self.config
    }

    /// Ready = the projector runs and the log answers.
    pub fn ready(&self) -> bool {
        self.verdicts.healthy()
    }
}
