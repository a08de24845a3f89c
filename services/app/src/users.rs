//! User operations authenticated by app client (+ SECRET_HASH) or by access token.

use std::collections::BTreeMap;

use idp_domain::decide::purpose;
use idp_domain::keys::AggregateKey;
use idp_domain::pb::{event::Kind, ClientState, Event, PoolState, UserState};
use idp_domain::user::{self, mask_destination, UserCommand};
use idp_domain::{AggregateState, DomainError};

use crate::exec::{decider, Committed};
use crate::{App, AppError};

/// Where a code went (Cognito's CodeDeliveryDetails), destination masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeDelivery {
    pub destination: String,
    pub delivery_medium: String,
    pub attribute_name: String,
}

#[derive(Debug, Clone)]
pub struct SignUpOutput {
    pub user_sub: String,
    pub user_confirmed: bool,
    pub delivery: Option<CodeDelivery>,
}

/// A user as GetUser shows it.
#[derive(Debug, Clone)]
pub struct UserView {
    pub username: String,
    pub attributes: BTreeMap<String, String>,
    pub status: String,
    pub enabled: bool,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// PreferredMfaSetting (None when the user has no preference).
    pub preferred_mfa: Option<String>,
    /// UserMFASettingList: the MFA methods enabled for the user.
    pub mfa_enabled: Vec<String>,
}

impl From<&UserState> for UserView {
    fn from(u: &UserState) -> Self {
        let mut attributes = u.attributes.clone();
        attributes.insert("sub".into(), u.sub.clone());
        let mfa = crate::signin::user_mfa(u);
        UserView {
            preferred_mfa: mfa.preferred,
            mfa_enabled: mfa.enabled,
            username: u.username.clone(),
            attributes,
            status: u.status.clone(),
            enabled: u.enabled,
            created_at_ms: u.created_at_ms,
            updated_at_ms: u.updated_at_ms,
        }
    }
}

/// The caller of a client-authenticated operation.
pub struct ClientCaller {
    pub client: ClientState,
    pub pool: PoolState,
}

pub(crate) fn deliveries(events: &[Event]) -> Vec<CodeDelivery> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            Some(Kind::CodeIssued(c)) => Some(CodeDelivery {
                destination: mask_destination(&c.channel, &c.destination),
                delivery_medium: c.channel.clone(),
                attribute_name: c.attribute.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// The codes a command issued. For a repeated request (same request id, nothing appended) they
/// are read from the state instead: the pending codes of `purpose` (for `attributes`, when
/// given), which are the ones the original request issued or newer.
fn committed_deliveries(committed: &Committed, purpose: &str, attributes: Option<&[String]>) -> Vec<CodeDelivery> {
    if !committed.duplicate {
        return deliveries(&committed.events);
    }
    let Some(user) = user_of(&committed.state) else { return Vec::new() };
    user.codes
        .iter()
        .filter(|c| c.purpose == purpose && attributes.is_none_or(|names| names.contains(&c.attribute)))
        .map(|c| CodeDelivery {
            destination: mask_destination(&c.channel, &c.destination),
            delivery_medium: c.channel.clone(),
            attribute_name: c.attribute.clone(),
        })
        .collect()
}

fn user_of(state: &Option<AggregateState>) -> Option<&UserState> {
    match state {
        Some(AggregateState::User(u)) => Some(u),
        _ => None,
    }
}

impl App {
    /// Resolves the app client and its pool, and checks SECRET_HASH when the client has a secret.
    pub async fn client_caller(&self, client_id: &str, username: &str, secret_hash: Option<&str>) -> Result<ClientCaller, AppError> {
        self.catch_up(&AggregateKey::client(client_id)).await?;
        let client = self.client(client_id).await.map_err(|e| match e {
            AppError::Domain(DomainError::ResourceNotFound(_)) => AppError::not_authorized(format!("Client {client_id} does not exist.")),
            other => other,
        })?;
        self.check_secret_hash(&client, &[username], secret_hash)?;
        let pool = self.pool(&client.pool_id).await?;
        Ok(ClientCaller { client, pool })
    }

    /// SECRET_HASH must match one of `usernames` (the username, or the sub for refreshes).
    pub(crate) fn check_secret_hash(&self, client: &ClientState, usernames: &[&str], presented: Option<&str>) -> Result<(), AppError> {
        let Some(secret) = self.client_secret(client)? else { return Ok(()) };
        let id = &client.client_id;
        let Some(presented) = presented.filter(|p| !p.is_empty()) else {
            return Err(AppError::not_authorized(format!("Client {id} is configured with secret but SECRET_HASH was not received")));
        };
        if usernames.iter().any(|u| idp_crypto::secret_hash::verify_secret_hash(&secret, u, id, presented)) {
            Ok(())
        } else {
            Err(AppError::not_authorized(format!("Unable to verify secret hash for client {id}")))
        }
    }

    /// Runs a user command on `username` in `pool`.
    pub(crate) async fn user_command(
        &self,
        pool: &PoolState,
        username: &str,
        request_id: &str,
        make: impl Fn() -> UserCommand + Send + Sync + 'static,
    ) -> Result<Committed, AppError> {
        idp_domain::validate::username(username)?;
        let key = App::user_key(pool, username);
        let p = pool.clone();
        self.execute(&key, request_id, decider(move |state, ctx| user::decide(&p, user_of_ref(state), make(), ctx))).await
    }

    pub async fn sign_up(
        &self,
        client_id: &str,
        secret_hash: Option<&str>,
        username: &str,
        password: &str,
        attributes: Vec<(String, String)>,
        request_id: &str,
    ) -> Result<SignUpOutput, AppError> {
        self.sign_up_with_data(client_id, secret_hash, username, password, attributes, Vec::new(), Vec::new(), request_id).await
    }

    /// SignUp with ValidationData and ClientMetadata (passed to the PreSignUp trigger).
    #[allow(clippy::too_many_arguments)]
    pub async fn sign_up_with_data(
        &self,
        client_id: &str,
        secret_hash: Option<&str>,
        username: &str,
        password: &str,
        attributes: Vec<(String, String)>,
        validation_data: Vec<(String, String)>,
        client_metadata: Vec<(String, String)>,
        request_id: &str,
    ) -> Result<SignUpOutput, AppError> {
        let caller = self.client_caller(client_id, username, secret_hash).await?;
        // The trigger decides before the write loop; its outcome is recorded in the event.
        let pre_sign_up = self.run_pre_sign_up(&caller, username, &attributes, &validation_data, &client_metadata).await?;
        let metadata = client_metadata.clone();
        let (u, pw, cid) = (username.to_string(), password.to_string(), client_id.to_string());
        let committed = self
            .user_command(&caller.pool, username, request_id, move || UserCommand::SignUp {
                username: u.clone(),
                password: pw.clone(),
                attributes: attributes.clone(),
                client_id: cid.clone(),
                pre_sign_up: pre_sign_up.clone(),
                client_metadata: metadata.clone(),
            })
            .await?;
        let user = user_of(&committed.state).ok_or_else(|| AppError::Internal("user missing after sign-up".into()))?;
        let delivery = if committed.duplicate {
            user.codes.iter().find(|c| c.purpose == "SIGN_UP").map(|c| CodeDelivery {
                destination: mask_destination(&c.channel, &c.destination),
                delivery_medium: c.channel.clone(),
                attribute_name: c.attribute.clone(),
            })
        } else {
            deliveries(&committed.events).into_iter().next()
        };
        Ok(SignUpOutput { user_sub: user.sub.clone(), user_confirmed: user.status == user::status::CONFIRMED, delivery })
    }

    pub async fn confirm_sign_up(&self, client_id: &str, secret_hash: Option<&str>, username: &str, code: &str, request_id: &str) -> Result<(), AppError> {
        let caller = self.client_caller(client_id, username, secret_hash).await?;
        let (code, cid, metadata) = (code.to_string(), client_id.to_string(), crate::scope::client_metadata());
        self.user_command(&caller.pool, username, request_id, move || UserCommand::ConfirmSignUp {
            code: code.clone(),
            client_id: cid.clone(),
            client_metadata: metadata.clone(),
        })
        .await?;
        Ok(())
    }

    pub async fn resend_confirmation_code(
        &self,
        client_id: &str,
        secret_hash: Option<&str>,
        username: &str,
        request_id: &str,
    ) -> Result<CodeDelivery, AppError> {
        let caller = self.client_caller(client_id, username, secret_hash).await?;
        let prevent = idp_domain::client::prevents_existence_errors(&caller.pool, Some(&caller.client));
        let (cid, metadata) = (client_id.to_string(), crate::scope::client_metadata());
        let result = self
            .user_command(&caller.pool, username, request_id, move || UserCommand::ResendConfirmationCode {
                client_id: cid.clone(),
                client_metadata: metadata.clone(),
            })
            .await;
        self.delivery_or_pretend(result, prevent, username, purpose::SIGN_UP)
    }

    pub async fn forgot_password(&self, client_id: &str, secret_hash: Option<&str>, username: &str, request_id: &str) -> Result<CodeDelivery, AppError> {
        let caller = self.client_caller(client_id, username, secret_hash).await?;
        let prevent = idp_domain::client::prevents_existence_errors(&caller.pool, Some(&caller.client));
        self.migrate_if_unknown(&caller.pool, &caller.client, username).await?;
        let (cid, metadata) = (client_id.to_string(), crate::scope::client_metadata());
        let result = self
            .user_command(&caller.pool, username, request_id, move || UserCommand::ForgotPassword { client_id: cid.clone(), client_metadata: metadata.clone() })
            .await;
        self.delivery_or_pretend(result, prevent, username, purpose::FORGOT_PASSWORD)
    }

    /// With PreventUserExistenceErrors, an unknown user gets a plausible delivery answer.
    fn delivery_or_pretend(&self, result: Result<Committed, AppError>, prevent: bool, username: &str, purpose: &str) -> Result<CodeDelivery, AppError> {
        match result {
            Ok(c) => committed_deliveries(&c, purpose, None).into_iter().next().ok_or_else(|| AppError::Internal("no code issued".into())),
            Err(AppError::Domain(DomainError::UserNotFound)) if prevent => {
                let first = username.chars().next().unwrap_or('x');
                Ok(CodeDelivery { destination: format!("{first}***@e***"), delivery_medium: "EMAIL".into(), attribute_name: "email".into() })
            }
            Err(e) => Err(e),
        }
    }

    pub async fn confirm_forgot_password(
        &self,
        client_id: &str,
        secret_hash: Option<&str>,
        username: &str,
        code: &str,
        password: &str,
        request_id: &str,
    ) -> Result<(), AppError> {
        let caller = self.client_caller(client_id, username, secret_hash).await?;
        let prevent = idp_domain::client::prevents_existence_errors(&caller.pool, Some(&caller.client));
        let (code, pw, cid, metadata) = (code.to_string(), password.to_string(), client_id.to_string(), crate::scope::client_metadata());
        let result = self
            .user_command(&caller.pool, username, request_id, move || UserCommand::ConfirmForgotPassword {
                code: code.clone(),
                password: pw.clone(),
                client_id: cid.clone(),
                client_metadata: metadata.clone(),
            })
            .await;
        match result {
            Err(AppError::Domain(DomainError::UserNotFound)) if prevent => Err(DomainError::CodeMismatch.into()),
            other => other.map(|_| ()),
        }
    }

    pub async fn get_user(&self, access_token: &str) -> Result<UserView, AppError> {
        let caller = self.access(access_token).await?;
        Ok(UserView::from(&caller.user))
    }

    pub async fn update_user_attributes(&self, access_token: &str, attributes: Vec<(String, String)>, request_id: &str) -> Result<Vec<CodeDelivery>, AppError> {
        let caller = self.access(access_token).await?;
        let cid = caller.claims.client_id.clone();
        let names: Vec<String> = attributes.iter().map(|(n, _)| n.clone()).collect();
        let metadata = crate::scope::client_metadata();
        let committed = self
            .user_command(&caller.pool, &caller.user.username, request_id, move || UserCommand::UpdateAttributes {
                attributes: attributes.clone(),
                client_id: cid.clone(),
                client_metadata: metadata.clone(),
            })
            .await?;
        Ok(committed_deliveries(&committed, purpose::VERIFY_ATTRIBUTE, Some(&names)))
    }

    pub async fn get_user_attribute_verification_code(&self, access_token: &str, attribute: &str, request_id: &str) -> Result<CodeDelivery, AppError> {
        let caller = self.access(access_token).await?;
        let (attr, cid, metadata) = (attribute.to_string(), caller.claims.client_id.clone(), crate::scope::client_metadata());
        let committed = self
            .user_command(&caller.pool, &caller.user.username, request_id, move || UserCommand::GetVerificationCode {
                attribute: attr.clone(),
                client_id: cid.clone(),
                client_metadata: metadata.clone(),
            })
            .await?;
        committed_deliveries(&committed, purpose::VERIFY_ATTRIBUTE, Some(&[attribute.to_string()]))
            .into_iter()
            .next()
            .ok_or_else(|| AppError::Internal("no code issued".into()))
    }

    pub async fn verify_user_attribute(&self, access_token: &str, attribute: &str, code: &str, request_id: &str) -> Result<(), AppError> {
        let caller = self.access(access_token).await?;
        let (attr, code) = (attribute.to_string(), code.to_string());
        self.user_command(&caller.pool, &caller.user.username, request_id, move || UserCommand::VerifyAttribute {
            attribute: attr.clone(),
            code: code.clone(),
        })
        .await?;
        Ok(())
    }

    pub async fn change_password(&self, access_token: &str, previous: &str, proposed: &str, request_id: &str) -> Result<(), AppError> {
        let caller = self.access(access_token).await?;
        let (prev, prop) = (previous.to_string(), proposed.to_string());
        self.user_command(&caller.pool, &caller.user.username, request_id, move || UserCommand::ChangePassword {
            previous: prev.clone(),
            proposed: prop.clone(),
        })
        .await?;
        Ok(())
    }

    pub async fn global_sign_out(&self, access_token: &str, request_id: &str) -> Result<(), AppError> {
        let caller = self.access(access_token).await?;
        self.user_command(&caller.pool, &caller.user.username, request_id, || UserCommand::GlobalSignOut).await?;
        Ok(())
    }

    pub async fn delete_user(&self, access_token: &str, request_id: &str) -> Result<(), AppError> {
        let caller = self.access(access_token).await?;
        self.user_command(&caller.pool, &caller.user.username, request_id, || UserCommand::Delete).await?;
        Ok(())
    }
}

fn user_of_ref(state: Option<&AggregateState>) -> Option<&UserState> {
    match state {
        Some(AggregateState::User(u)) => Some(u),
        _ => None,
    }
}
