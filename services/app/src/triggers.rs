//! Triggers in the command path.
//!
//! - Deployment: the component is checked against its kind's world and compiled
//!   ([`idp_triggers::Runtime::prepare`], which also stores it by hash), then a
//!   `TriggerDeployed` event is appended to the pool aggregate; removal is `TriggerRemoved`. The
//!   pool's trigger history is thus in the log.
//! - Calls: an operation reads the deployed trigger from the pool state it already holds and
//!   runs it on a blocking thread. Triggers that decide an outcome run *before* the write loop
//!   and their outcome goes into the command, so it is recorded in the event and replay never
//!   runs a trigger.
//! - Post-* triggers (PostConfirmation, PostAuthentication) run from the log, at least once,
//!   by the partition's owner ([`post`]).
//! - CUSTOM_AUTH: Define/Create/VerifyAuthChallenge drive CUSTOM_CHALLENGE rounds in sealed
//!   sessions; Verify's verdict is recorded ([`challenge`]).
//! - Errors: a trigger's rejection is `UserLambdaValidationException`, its failure
//!   `UnexpectedLambdaException`, an unusable answer `InvalidLambdaResponseException`.

use std::sync::Arc;
use std::time::Duration;

use idp_domain::keys::AggregateKey;
use idp_domain::pb::{PoolState, TriggerDeployed};
use idp_domain::pool::{self, PoolCommand};
use idp_domain::user::PreSignUpOutcome;
use idp_domain::AggregateState;
use idp_triggers::{types as t, Kind, Runtime, TriggerError, TriggerSpec};

mod auth;
pub mod challenge;
pub mod messages;
mod migration;
pub mod post;

use crate::exec::decider;
use crate::users::ClientCaller;
use crate::{App, AppError};

/// The Cognito name of a trigger failure, as an [`AppError`].
pub fn trigger_error(e: TriggerError) -> AppError {
    match e.name() {
        idp_triggers::error::names::USER_LAMBDA_VALIDATION => AppError::UserLambdaValidation(e.to_string()),
        idp_triggers::error::names::INVALID_LAMBDA_RESPONSE => AppError::InvalidLambdaResponse(e.to_string()),
        idp_triggers::error::names::UNEXPECTED_LAMBDA => AppError::UnexpectedLambda(e.to_string()),
        _ => match e {
            TriggerError::InvalidComponent(m) => AppError::invalid(m),
            other => AppError::Internal(other.to_string()),
        },
    }
}

impl App {
    /// Enables triggers (once, at startup). Without a runtime, a pool that has a trigger
    /// deployed fails the operations that would run it (`UnexpectedLambdaException`).
    pub fn set_triggers(&self, runtime: Arc<Runtime>) -> Result<(), AppError> {
        self.triggers.set(runtime).map_err(|_| AppError::Internal("the trigger runtime was already set".into()))
    }

    pub fn trigger_runtime(&self) -> Option<&Arc<Runtime>> {
        self.triggers.get()
    }

    /// The deployed trigger of `kind` in `pool`, as the runtime needs it.
    pub(crate) fn trigger_spec(pool: &PoolState, kind: Kind) -> Option<TriggerSpec> {
        pool::trigger(pool, kind.name()).map(|d| spec_of(&pool.pool_id, kind, d))
    }

    /// Runs `call` against the runtime on a blocking thread (trigger calls block).
    pub(crate) async fn call_trigger<R: Send + 'static>(
        &self,
        kind: Kind,
        call: impl FnOnce(&Runtime) -> Result<R, TriggerError> + Send + 'static,
    ) -> Result<R, AppError> {
        let Some(runtime) = self.triggers.get().cloned() else {
            return Err(AppError::UnexpectedLambda(format!("{kind} trigger is deployed but triggers are not enabled on this server.")));
        };
        self.blocking(move || call(&runtime)).await?.map_err(trigger_error)
    }

    /// Runs the pool's PreSignUp trigger, if it has one: `None` without a trigger.
    pub(crate) async fn run_pre_sign_up(
        &self,
        caller: &ClientCaller,
        username: &str,
        attributes: &[(String, String)],
        validation_data: &[(String, String)],
        client_metadata: &[(String, String)],
    ) -> Result<Option<PreSignUpOutcome>, AppError> {
        let Some(spec) = App::trigger_spec(&caller.pool, Kind::PreSignUp) else { return Ok(None) };
        let event = t::PreSignUpEvent {
            version: "1".into(),
            trigger_source: "PreSignUp_SignUp".into(),
            region: self.config.region.clone(),
            user_pool_id: caller.pool.pool_id.clone(),
            user_name: username.to_string(),
            caller_context: self.caller_context(&caller.client.client_id),
            request: t::PreSignUpRequest {
                user_attributes: attributes.to_vec(),
                validation_data: validation_data.to_vec(),
                client_metadata: client_metadata.to_vec(),
            },
            response: t::PreSignUpResponse { auto_confirm_user: false, auto_verify_email: false, auto_verify_phone: false },
        };
        let version = spec.version;
        let out = self.call_trigger(Kind::PreSignUp, move |rt| rt.pre_sign_up(&spec, &event)).await?;
        Ok(Some(PreSignUpOutcome {
            auto_confirm: out.auto_confirm_user,
            auto_verify_email: out.auto_verify_email,
            auto_verify_phone: out.auto_verify_phone,
            trigger_version: version,
        }))
    }

    pub(crate) fn caller_context(&self, client_id: &str) -> t::CallerContext {
        t::CallerContext { aws_sdk_version: String::new(), client_id: client_id.to_string() }
    }

    /// Deploys (or replaces) the pool's trigger of `kind`. Returns the recorded deployment.
    #[allow(clippy::too_many_arguments)]
    pub async fn deploy_trigger(
        &self,
        pool_id: &str,
        kind: &str,
        component: Vec<u8>,
        config: String,
        timeout_ms: u64,
        memory_limit_bytes: u64,
        request_id: &str,
    ) -> Result<TriggerDeployed, AppError> {
        let kind = Kind::parse(kind)
            .ok_or_else(|| AppError::invalid(format!("Unknown trigger kind {kind:?}; expected one of {}.", pool::TRIGGER_KINDS.join(", "))))?;
        let Some(runtime) = self.triggers.get().cloned() else {
            return Err(AppError::invalid("Triggers are not enabled on this server."));
        };
        let size_bytes = component.len() as u64;
        let max = self.config.trigger_max_component_bytes;
        if size_bytes > max {
            return Err(AppError::invalid(format!("The component is {size_bytes} bytes; this server accepts at most {max} (--trigger-max-component-bytes).")));
        }
        self.describe_user_pool(pool_id).await?;
        let sha256 = self.blocking(move || runtime.prepare(kind, &component)).await?.map_err(trigger_error)?;
        let trigger = TriggerDeployed { kind: kind.name().into(), sha256, size_bytes, config, timeout_ms, memory_limit_bytes, ..Default::default() };
        let committed = self
            .execute(
                &AggregateKey::pool(pool_id),
                request_id,
                decider(move |state, ctx| pool::decide(pool_of(state), PoolCommand::DeployTrigger { trigger: trigger.clone() }, ctx)),
            )
            .await?;
        match committed.state {
            Some(AggregateState::Pool(p)) => pool::trigger(&p, kind.name()).cloned().ok_or_else(|| AppError::Internal("trigger missing after deploy".into())),
            _ => Err(AppError::Internal("pool state missing after an accepted write".into())),
        }
    }

    /// The pool's deployed triggers, by kind.
    pub async fn list_triggers(&self, pool_id: &str) -> Result<Vec<TriggerDeployed>, AppError> {
        Ok(self.describe_user_pool(pool_id).await?.triggers)
    }

    pub async fn remove_trigger(&self, pool_id: &str, kind: &str, request_id: &str) -> Result<(), AppError> {
        let kind = Kind::parse(kind).map(|k| k.name().to_string()).unwrap_or_else(|| kind.to_string());
        self.execute(
            &AggregateKey::pool(pool_id),
            request_id,
            decider(move |state, ctx| pool::decide(pool_of(state), PoolCommand::RemoveTrigger { kind: kind.clone() }, ctx)),
        )
        .await?;
        Ok(())
    }

    /// Loads and compiles every deployed trigger of every pool (startup), so first calls do not
    /// pay for compilation. Failures are logged, not fatal.
    pub async fn warm_triggers(&self) -> Result<usize, AppError> {
        let Some(runtime) = self.triggers.get().cloned() else { return Ok(0) };
        let mut specs = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.list_pools(after.as_deref(), 60).await?;
            for (pool_id, _) in &page {
                let pool = self.pool(pool_id).await?;
                specs.extend(pool.triggers.iter().filter_map(|d| Kind::parse(&d.kind).map(|k| spec_of(pool_id, k, d))));
            }
            match page.last() {
                Some((id, _)) if page.len() == 60 => after = Some(id.clone()),
                _ => break,
            }
        }
        let n = specs.len();
        self.blocking(move || {
            for spec in specs {
                if let Err(e) = runtime.warm(&spec) {
                    tracing::warn!(pool = %spec.pool_id, kind = %spec.kind, error = %e, "trigger not loadable");
                }
            }
        })
        .await?;
        Ok(n)
    }
}

fn pool_of(state: Option<&AggregateState>) -> Option<&PoolState> {
    match state {
        Some(AggregateState::Pool(p)) => Some(p),
        _ => None,
    }
}

fn spec_of(pool_id: &str, kind: Kind, d: &TriggerDeployed) -> TriggerSpec {
    TriggerSpec {
        pool_id: pool_id.to_string(),
        kind,
        sha256: d.sha256.clone(),
        version: d.version,
        config: d.config.as_str().into(),
        timeout: Duration::from_millis(d.timeout_ms),
        memory_limit_bytes: d.memory_limit_bytes,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_domain_and_the_runtime_know_the_same_kinds() {
        let runtime: Vec<&str> = idp_triggers::Kind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(runtime, idp_domain::pool::TRIGGER_KINDS);
    }
}
