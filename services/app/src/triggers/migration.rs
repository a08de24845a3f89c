//! UserMigration: a username the pool does not know, at a password sign-in
//! (`UserMigration_Authentication`, with the password typed) or a ForgotPassword
//! (`UserMigration_ForgotPassword`), is looked up by the pool's trigger in a legacy store. If the
//! trigger answers, the user is created (`UserCommand::Migrate`: the answer is recorded in
//! `UserSignedUp`, replay never asks again) and the operation goes on with it. A trigger that
//! refuses means "not in the legacy store either": the operation sees an unknown user.

use idp_domain::pb::{ClientState, PoolState, UserState};
use idp_domain::user::{status, UserCommand};
use idp_domain::{AggregateState, DomainError};
use idp_triggers::{types as t, Kind};

use crate::{App, AppError};

impl App {
    /// Migrates `username` if the pool has a UserMigration trigger that knows it. `None`: no
    /// trigger, or the trigger does not know the user. Call only for a username the pool lacks.
    pub(crate) async fn migrate_user(
        &self,
        pool: &PoolState,
        client: &ClientState,
        username: &str,
        password: Option<&str>,
    ) -> Result<Option<UserState>, AppError> {
        let Some(spec) = App::trigger_spec(pool, Kind::UserMigration) else { return Ok(None) };
        let source = if password.is_some() { "UserMigration_Authentication" } else { "UserMigration_ForgotPassword" };
        let event = t::UserMigrationEvent {
            version: "1".into(),
            trigger_source: source.into(),
            region: self.config.region.clone(),
            user_pool_id: pool.pool_id.clone(),
            user_name: username.to_string(),
            caller_context: self.caller_context(&client.client_id),
            request: t::UserMigrationRequest {
                password: password.unwrap_or_default().to_string(),
                validation_data: vec![],
                client_metadata: crate::scope::client_metadata(),
            },
            response: t::UserMigrationResponse {
                user_attributes: vec![],
                final_user_status: t::FinalUserStatus::Confirmed,
                message_action: None,
                desired_delivery_mediums: vec![],
                force_alias_creation: false,
            },
        };
        let version = spec.version;
        let out = match self.call_trigger(Kind::UserMigration, move |rt| rt.user_migration(&spec, &event)).await {
            Ok(out) => out,
            Err(AppError::UserLambdaValidation(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let final_status = match out.final_user_status {
            t::FinalUserStatus::Confirmed => status::CONFIRMED,
            t::FinalUserStatus::ResetRequired => status::RESET_REQUIRED,
        };
        let (name, pw, cid) = (username.to_string(), password.map(str::to_string), client.client_id.clone());
        let attributes = out.user_attributes;
        let committed = self
            .user_command(pool, username, "", move || UserCommand::Migrate {
                username: name.clone(),
                password: pw.clone(),
                attributes: attributes.clone(),
                client_id: cid.clone(),
                final_status: final_status.to_string(),
                trigger_version: version,
            })
            .await;
        match committed {
            Ok(c) => match c.state {
                Some(AggregateState::User(u)) => Ok(Some(u)),
                _ => Err(AppError::Internal("user missing after migration".into())),
            },
            // Migrated concurrently by another request: use that user.
            Err(AppError::Domain(DomainError::UsernameExists)) => self.user(pool, username).await,
            Err(AppError::Domain(DomainError::InvalidParameter(m))) => {
                Err(AppError::InvalidLambdaResponse(format!("UserMigration trigger returned an invalid user: {m}")))
            }
            Err(e) => Err(e),
        }
    }

    /// ForgotPassword's migration: for a username the pool lacks, ask the trigger first.
    pub(crate) async fn migrate_if_unknown(&self, pool: &PoolState, client: &ClientState, username: &str) -> Result<(), AppError> {
        if App::trigger_spec(pool, Kind::UserMigration).is_none() || idp_domain::validate::username(username).is_err() {
            return Ok(());
        }
        self.catch_up(&App::user_key(pool, username)).await?;
        if self.user(pool, username).await?.is_none() {
            self.migrate_user(pool, client, username, None).await?;
        }
        Ok(())
    }
}
