//! Admin user operations (admin credential checked by the adapters): AdminCreateUser …
//! AdminUserGlobalSignOut, and AddCustomAttributes. Every write goes through the one write
//! loop ([`App::execute`]) with the rules of `idp_domain::user_admin`.

use idp_domain::group::add_custom_attributes;
use idp_domain::keys::AggregateKey;
use idp_domain::pb::{PoolState, SchemaAttribute, UserState};
use idp_domain::user_admin::{self, AdminUserCommand, MessageAction};
use idp_domain::{AggregateState, DomainError};

use crate::exec::{decider, Committed};
use crate::users::{deliveries, CodeDelivery, UserView};
use crate::{App, AppError};

/// AdminCreateUser's members. `Debug` never shows the temporary password.
#[derive(Clone, Default)]
pub struct CreateUserSpec {
    pub username: String,
    /// `None`: generated to the pool's password policy.
    pub temporary_password: Option<String>,
    pub attributes: Vec<(String, String)>,
    pub action: MessageAction,
    /// "EMAIL" / "SMS"; empty: SMS (Cognito's default).
    pub delivery_mediums: Vec<String>,
}

impl std::fmt::Debug for CreateUserSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateUserSpec")
            .field("username", &self.username)
            .field("temporary_password", &self.temporary_password.as_ref().map(|_| "<redacted>"))
            .field("attributes", &self.attributes)
            .field("action", &self.action)
            .field("delivery_mediums", &self.delivery_mediums)
            .finish()
    }
}

fn user_of(state: Option<&AggregateState>) -> Option<&UserState> {
    match state {
        Some(AggregateState::User(u)) => Some(u),
        _ => None,
    }
}

impl App {
    /// Runs an admin command on `username` of `pool`.
    pub(crate) async fn admin_user_command(
        &self,
        pool: &PoolState,
        username: &str,
        request_id: &str,
        make: impl Fn() -> AdminUserCommand + Send + Sync + 'static,
    ) -> Result<Committed, AppError> {
        idp_domain::validate::username(username)?;
        let key = App::user_key(pool, username);
        let p = pool.clone();
        self.execute(&key, request_id, decider(move |state, ctx| user_admin::decide(&p, user_of(state), make(), ctx))).await
    }

    async fn admin_simple(&self, pool_id: &str, username: &str, request_id: &str, cmd: fn() -> AdminUserCommand) -> Result<Committed, AppError> {
        let pool = self.pool(pool_id).await?;
        self.admin_user_command(&pool, username, request_id, cmd).await
    }

    /// AdminCreateUser (and MessageAction RESEND): the user as it is after the write.
    pub async fn admin_create_user(&self, pool_id: &str, spec: CreateUserSpec, request_id: &str) -> Result<UserView, AppError> {
        let pool = self.pool(pool_id).await?;
        let username = spec.username.clone();
        let metadata = crate::scope::client_metadata();
        let committed = self
            .admin_user_command(&pool, &username, request_id, move || AdminUserCommand::Create {
                username: spec.username.clone(),
                temporary_password: spec.temporary_password.clone(),
                attributes: spec.attributes.clone(),
                action: spec.action,
                delivery_mediums: spec.delivery_mediums.clone(),
                client_metadata: metadata.clone(),
            })
            .await?;
        let user = committed.state.as_ref().and_then(|s| user_of(Some(s))).ok_or_else(|| AppError::Internal("user missing after AdminCreateUser".into()))?;
        Ok(UserView::from(user))
    }

    /// AdminGetUser (read after catching up the user's partition).
    pub async fn admin_get_user(&self, pool_id: &str, username: &str) -> Result<UserState, AppError> {
        let pool = self.pool(pool_id).await?;
        idp_domain::validate::username(username)?;
        let key = App::user_key(&pool, username);
        self.catch_up(&key).await?;
        match self.load(&key).await? {
            Some(AggregateState::User(u)) => Ok(u),
            _ => Err(DomainError::UserNotFound.into()),
        }
    }

    pub async fn admin_delete_user(&self, pool_id: &str, username: &str, request_id: &str) -> Result<(), AppError> {
        self.admin_simple(pool_id, username, request_id, || AdminUserCommand::Delete).await.map(|_| ())
    }

    pub async fn admin_disable_user(&self, pool_id: &str, username: &str, request_id: &str) -> Result<(), AppError> {
        self.admin_simple(pool_id, username, request_id, || AdminUserCommand::Disable).await.map(|_| ())
    }

    pub async fn admin_enable_user(&self, pool_id: &str, username: &str, request_id: &str) -> Result<(), AppError> {
        self.admin_simple(pool_id, username, request_id, || AdminUserCommand::Enable).await.map(|_| ())
    }

    pub async fn admin_confirm_sign_up(&self, pool_id: &str, username: &str, request_id: &str) -> Result<(), AppError> {
        let pool = self.pool(pool_id).await?;
        let metadata = crate::scope::client_metadata();
        self.admin_user_command(&pool, username, request_id, move || AdminUserCommand::Confirm { client_metadata: metadata.clone() }).await.map(|_| ())
    }

    pub async fn admin_user_global_sign_out(&self, pool_id: &str, username: &str, request_id: &str) -> Result<(), AppError> {
        self.admin_simple(pool_id, username, request_id, || AdminUserCommand::GlobalSignOut).await.map(|_| ())
    }

    /// AdminSetUserPassword: permanent → CONFIRMED; otherwise FORCE_CHANGE_PASSWORD.
    pub async fn admin_set_user_password(&self, pool_id: &str, username: &str, password: &str, permanent: bool, request_id: &str) -> Result<(), AppError> {
        let pool = self.pool(pool_id).await?;
        let pw = password.to_string();
        self.admin_user_command(&pool, username, request_id, move || AdminUserCommand::SetPassword { password: pw.clone(), permanent }).await?;
        Ok(())
    }

    /// AdminResetUserPassword: RESET_REQUIRED and a reset code to the verified email / phone.
    pub async fn admin_reset_user_password(&self, pool_id: &str, username: &str, request_id: &str) -> Result<Option<CodeDelivery>, AppError> {
        let pool = self.pool(pool_id).await?;
        let metadata = crate::scope::client_metadata();
        let committed = self
            .admin_user_command(&pool, username, request_id, move || AdminUserCommand::ResetPassword {
                client_id: String::new(),
                client_metadata: metadata.clone(),
            })
            .await?;
        Ok(deliveries(&committed.events).into_iter().next())
    }

    /// AdminUpdateUserAttributes: the verification codes sent for changed addresses.
    pub async fn admin_update_user_attributes(
        &self,
        pool_id: &str,
        username: &str,
        attributes: Vec<(String, String)>,
        request_id: &str,
    ) -> Result<Vec<CodeDelivery>, AppError> {
        let pool = self.pool(pool_id).await?;
        let metadata = crate::scope::client_metadata();
        let committed = self
            .admin_user_command(&pool, username, request_id, move || AdminUserCommand::UpdateAttributes {
                attributes: attributes.clone(),
                client_id: String::new(),
                client_metadata: metadata.clone(),
            })
            .await?;
        Ok(deliveries(&committed.events))
    }

    pub async fn admin_delete_user_attributes(&self, pool_id: &str, username: &str, names: Vec<String>, request_id: &str) -> Result<(), AppError> {
        let pool = self.pool(pool_id).await?;
        self.admin_user_command(&pool, username, request_id, move || AdminUserCommand::DeleteAttributes { names: names.clone() }).await?;
        Ok(())
    }

    /// AddCustomAttributes: the pool after the write.
    pub async fn add_custom_attributes(&self, pool_id: &str, attributes: Vec<SchemaAttribute>, request_id: &str) -> Result<PoolState, AppError> {
        let committed = self
            .execute(
                &AggregateKey::pool(pool_id),
                request_id,
                decider(move |state, _ctx| {
                    let pool = match state {
                        Some(AggregateState::Pool(p)) => Some(p),
                        _ => None,
                    };
                    add_custom_attributes(pool, attributes.clone())
                }),
            )
            .await?;
        match committed.state {
            Some(AggregateState::Pool(p)) => Ok(p),
            _ => Err(AppError::Internal("pool state missing after AddCustomAttributes".into())),
        }
    }
}
