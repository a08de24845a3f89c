//! Sign-in after the first factor: NEW_PASSWORD_REQUIRED, the MFA challenges (SOFTWARE_TOKEN_MFA,
//! SMS_MFA, EMAIL_OTP, SELECT_MFA_TYPE, MFA_SETUP), lockout bookkeeping and token issuance.
//!
//! - [`App::next_step`]: what follows a proven first factor (password, SRP, a new password):
//!   another challenge with a sealed [`ChallengeSession`], or tokens.
//! - [`App::respond_with_session`]: the RespondToAuthChallenge answers of those challenges.
//! - Software tokens: [`App::associate_software_token`] / [`App::verify_software_token`] by
//!   access token or by MFA_SETUP session; MFA preferences; the pool's MFA configuration.
//!
//! The rules are the domain's ([`idp_domain::signin`]); this module sequences them.

use std::collections::BTreeMap;

use idp_domain::keys::normalize_username;
use idp_domain::pb::{ClientState, PoolSettings, PoolState, UserState};
use idp_domain::pool::PoolCommand;
use idp_domain::signin::{self, method, mode, MethodPreference, SignInCommand};
use idp_domain::user::{mask_destination, status, UserCommand};
use idp_domain::{AggregateState, DomainError};

use crate::auth::InitiateOutcome;
use crate::session::{invalid_session, ChallengeSession};
use crate::{App, AppError};

pub const NEW_PASSWORD_REQUIRED: &str = "NEW_PASSWORD_REQUIRED";
pub const MFA_SETUP: &str = "MFA_SETUP";
pub const SELECT_MFA_TYPE: &str = "SELECT_MFA_TYPE";

/// What the pool's MFA configuration asks of a user who passed the first factor.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MfaStep {
    None,
    Challenge(&'static str),
    Select(Vec<&'static str>),
    Setup(Vec<&'static str>),
}

/// A pool's MFA configuration, as GetUserPoolMfaConfig shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaConfig {
    pub mfa_configuration: String,
    pub software_token_enabled: bool,
    pub sms_enabled: bool,
    pub sms_message: String,
    pub email_enabled: bool,
    pub email_message: String,
    pub email_subject: String,
}

impl From<&PoolSettings> for MfaConfig {
    fn from(s: &PoolSettings) -> Self {
        MfaConfig {
            mfa_configuration: if s.mfa_configuration.is_empty() { mode::OFF.into() } else { s.mfa_configuration.clone() },
            software_token_enabled: s.software_token_mfa_enabled,
            sms_enabled: s.sms_mfa_enabled,
            sms_message: s.sms_mfa_message.clone(),
            email_enabled: s.email_mfa_enabled,
            email_message: s.email_mfa_message.clone(),
            email_subject: s.email_mfa_subject.clone(),
        }
    }
}

/// A user's MFA settings (GetUser / AdminGetUser).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserMfa {
    pub preferred: Option<String>,
    pub enabled: Vec<String>,
}

pub fn user_mfa(u: &UserState) -> UserMfa {
    let mut enabled = Vec::new();
    if u.mfa_sms_enabled {
        enabled.push(method::SMS.to_string());
    }
    if u.mfa_totp_enabled && u.totp_verified {
        enabled.push(method::SOFTWARE_TOKEN.to_string());
    }
    if u.mfa_email_enabled {
        enabled.push(method::EMAIL.to_string());
    }
    UserMfa { preferred: Some(u.mfa_preferred.clone()).filter(|p| !p.is_empty()), enabled }
}

fn mfa_step(pool: &PoolState, u: &UserState) -> MfaStep {
    let s = pool.settings.clone().unwrap_or_default();
    let methods = signin::enabled_methods(pool, u);
    match s.mfa_configuration.as_str() {
        mode::ON | mode::OPTIONAL if !methods.is_empty() => {
            if let Some(m) = methods.iter().find(|m| **m == u.mfa_preferred) {
                MfaStep::Challenge(m)
            } else if methods.len() == 1 {
                MfaStep::Challenge(methods[0])
            } else {
                MfaStep::Select(methods)
            }
        }
        mode::ON => {
            // Required but nothing set up: a method the user already has, else TOTP set-up.
            let has = |a: &str| u.attributes.get(a).is_some_and(|v| !v.is_empty());
            if s.sms_mfa_enabled && has("phone_number") {
                MfaStep::Challenge(method::SMS)
            } else if s.email_mfa_enabled && has("email") {
                MfaStep::Challenge(method::EMAIL)
            } else if s.software_token_mfa_enabled {
                MfaStep::Setup(vec![method::SOFTWARE_TOKEN])
            } else {
                MfaStep::Setup(vec![])
            }
        }
        _ => MfaStep::None,
    }
}

fn json_list(items: &[&str]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

fn user_of(state: Option<AggregateState>) -> Result<UserState, AppError> {
    match state {
        Some(AggregateState::User(u)) => Ok(u),
        _ => Err(AppError::Domain(DomainError::UserNotFound)),
    }
}

/// The response key carrying the code of each MFA challenge.
fn code_key(challenge: &str) -> &'static str {
    match challenge {
        method::SMS => "SMS_MFA_CODE",
        method::EMAIL => "EMAIL_OTP_CODE",
        _ => "SOFTWARE_TOKEN_MFA_CODE",
    }
}

impl App {
    /// What follows a proven first factor: NEW_PASSWORD_REQUIRED, an MFA challenge, or tokens.
    /// `flow` is the sign-in's AuthFlow (carried by its sessions; recorded for PostAuthentication).
    pub(crate) async fn next_step(&self, pool: &PoolState, client: &ClientState, user: UserState, flow: &str) -> Result<InitiateOutcome, AppError> {
        if user.status == status::FORCE_CHANGE_PASSWORD {
            return self.new_password_challenge(pool, client, &user, flow);
        }
        match mfa_step(pool, &user) {
            MfaStep::None => self.finish_sign_in(pool, client, user, None, flow).await,
            MfaStep::Challenge(m) => self.mfa_challenge(pool, client, user, m, flow).await,
            MfaStep::Select(methods) => {
                let params = BTreeMap::from([("MFAS_CAN_CHOOSE".to_string(), json_list(&methods))]);
                self.challenge(pool, client, &user, SELECT_MFA_TYPE, params, flow)
            }
            MfaStep::Setup(methods) if methods.is_empty() => {
                Err(AppError::Domain(DomainError::NotAuthorized("MFA is required for this user pool but no MFA method can be set up.".into())))
            }
            MfaStep::Setup(methods) => {
                let params = BTreeMap::from([("MFAS_CAN_SETUP".to_string(), json_list(&methods))]);
                self.challenge(pool, client, &user, MFA_SETUP, params, flow)
            }
        }
    }

    /// A challenge answered through a new session for `user` at its current version.
    fn challenge(
        &self,
        pool: &PoolState,
        client: &ClientState,
        user: &UserState,
        name: &str,
        mut parameters: BTreeMap<String, String>,
        flow: &str,
    ) -> Result<InitiateOutcome, AppError> {
        parameters.insert("USER_ID_FOR_SRP".into(), user.username.clone());
        let session = ChallengeSession::new(&pool.pool_id, &client.client_id, user, name, serde_json::json!({ "flow": flow }));
        Ok(InitiateOutcome::Challenge { name: name.to_string(), parameters, session: Some(self.seal_session(&session)?) })
    }

    fn new_password_challenge(&self, pool: &PoolState, client: &ClientState, user: &UserState, flow: &str) -> Result<InitiateOutcome, AppError> {
        let settings = pool.settings.clone().unwrap_or_default();
        let missing: Vec<String> =
            settings.schema.iter().filter(|a| a.required && !user.attributes.contains_key(&a.name)).map(|a| format!("userAttributes.{}", a.name)).collect();
        let shown: BTreeMap<&String, &String> = user.attributes.iter().filter(|(k, _)| k.as_str() != "sub").collect();
        let params = BTreeMap::from([
            ("requiredAttributes".to_string(), serde_json::to_string(&missing).unwrap_or_else(|_| "[]".into())),
            ("userAttributes".to_string(), serde_json::to_string(&shown).unwrap_or_else(|_| "{}".into())),
        ]);
        self.challenge(pool, client, user, NEW_PASSWORD_REQUIRED, params, flow)
    }

    /// Issues the challenge of one MFA method (sending its code first for SMS and email).
    async fn mfa_challenge(&self, pool: &PoolState, client: &ClientState, user: UserState, m: &'static str, flow: &str) -> Result<InitiateOutcome, AppError> {
        if m == method::SOFTWARE_TOKEN {
            return self.challenge(pool, client, &user, m, BTreeMap::new(), flow);
        }
        let client_id = client.client_id.clone();
        let committed = self
            .user_command(pool, &user.username, "", move || {
                UserCommand::SignIn(SignInCommand::IssueMfaCode { method: m.to_string(), client_id: client_id.clone() })
            })
            .await?;
        let user = user_of(committed.state)?;
        let code = user.codes.iter().find(|c| c.purpose == idp_domain::decide::purpose::MFA);
        let mut params = BTreeMap::new();
        if let Some(c) = code {
            params.insert("CODE_DELIVERY_DELIVERY_MEDIUM".into(), c.channel.clone());
            params.insert("CODE_DELIVERY_DESTINATION".into(), mask_destination(&c.channel, &c.destination));
        }
        self.challenge(pool, client, &user, m, params, flow)
    }

    /// Records a completed sign-in when there is something to record (a failure streak to
    /// clear, a session to spend), then issues tokens.
    async fn finish_sign_in(
        &self,
        pool: &PoolState,
        client: &ClientState,
        user: UserState,
        session_version: Option<u64>,
        flow: &str,
    ) -> Result<InitiateOutcome, AppError> {
        let user = if user.failed_sign_ins > 0 || session_version.is_some() {
            let committed = self.user_command(pool, &user.username, "", move || UserCommand::SignIn(SignInCommand::Succeeded { session_version })).await?;
            user_of(committed.state)?
        } else {
            user
        };
        self.sign_in_tokens(pool, client, &user, flow).await.map(InitiateOutcome::Authenticated)
    }

    /// RespondToAuthChallenge for the challenges that travel with a [`ChallengeSession`].
    pub(crate) async fn respond_with_session(
        &self,
        client_id: &str,
        challenge: &str,
        responses: &BTreeMap<String, String>,
        session: Option<&str>,
        admin_pool: Option<&str>,
    ) -> Result<InitiateOutcome, AppError> {
        let s = self.open_session(session, client_id, challenge)?;
        let get = |k: &str| responses.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let username = get("USERNAME").ok_or_else(|| AppError::invalid("Missing required parameter USERNAME"))?;
        let caller = self.client_caller(client_id, username, get("SECRET_HASH")).await?;
        let (pool, client) = (caller.pool, caller.client);
        let case_sensitive = pool.settings.as_ref().is_some_and(|x| x.username_case_sensitive);
        let same_user = normalize_username(username, case_sensitive) == normalize_username(&s.username, case_sensitive);
        if pool.pool_id != s.pool_id || !same_user || admin_pool.is_some_and(|p| p != pool.pool_id) {
            return Err(invalid_session());
        }
        let version = s.user_version;
        let stored = s.username.clone();
        let flow = s.data.get("flow").and_then(|f| f.as_str()).unwrap_or("USER_PASSWORD_AUTH").to_string();
        match challenge {
            NEW_PASSWORD_REQUIRED => {
                let password = get("NEW_PASSWORD").ok_or_else(|| AppError::invalid("Missing required parameter NEW_PASSWORD"))?.to_string();
                let attributes: Vec<(String, String)> =
                    responses.iter().filter_map(|(k, v)| k.strip_prefix("userAttributes.").map(|name| (name.to_string(), v.clone()))).collect();
                let committed = self
                    .user_command(&pool, &stored, "", move || {
                        UserCommand::SignIn(SignInCommand::AnswerNewPassword {
                            password: password.clone(),
                            attributes: attributes.clone(),
                            session_version: version,
                        })
                    })
                    .await?;
                self.next_step(&pool, &client, user_of(committed.state)?, &flow).await
            }
            method::SOFTWARE_TOKEN | method::SMS | method::EMAIL => {
                let key = code_key(challenge);
                let code = get(key).ok_or_else(|| AppError::invalid(format!("Missing required parameter {key}")))?.to_string();
                let m = challenge.to_string();
                let committed = self
                    .user_command(&pool, &stored, "", move || {
                        UserCommand::SignIn(SignInCommand::AnswerMfa { method: m.clone(), code: code.clone(), session_version: version })
                    })
                    .await?;
                let user = user_of(committed.state)?;
                self.sign_in_tokens(&pool, &client, &user, &flow).await.map(InitiateOutcome::Authenticated)
            }
            SELECT_MFA_TYPE => {
                let user = self.session_user(&pool, &s).await?;
                let answer = get("ANSWER").ok_or_else(|| AppError::invalid("Missing required parameter ANSWER"))?;
                let methods = signin::enabled_methods(&pool, &user);
                let Some(m) = methods.into_iter().find(|m| *m == answer) else {
                    return Err(AppError::invalid(format!("ANSWER must be one of the MFA methods offered, not {answer}.")));
                };
                self.mfa_challenge(&pool, &client, user, m, &flow).await
            }
            MFA_SETUP => {
                let user = self.session_user(&pool, &s).await?;
                if !user.totp_verified {
                    return Err(AppError::invalid("Set up and verify a software token (AssociateSoftwareToken, VerifySoftwareToken) first."));
                }
                self.finish_sign_in(&pool, &client, user, Some(version), &flow).await
            }
            other => Err(AppError::invalid(format!("Challenge {other} is not supported."))),
        }
    }

    /// The session's user, if it is still exactly as the session saw it.
    async fn session_user(&self, pool: &PoolState, s: &ChallengeSession) -> Result<UserState, AppError> {
        match self.user(pool, &s.username).await? {
            Some(u) if s.current_for(&u) => Ok(u),
            _ => Err(invalid_session()),
        }
    }

    /// AssociateSoftwareToken: by access token (signed-in user) or by MFA_SETUP session.
    /// Returns the base32 secret and, for a session, the session to continue with.
    pub async fn associate_software_token(&self, access_token: Option<&str>, session: Option<&str>) -> Result<(String, Option<String>), AppError> {
        let (pool, username, setup) = self.token_or_setup_session(access_token, session).await?;
        let committed = self.user_command(&pool, &username, "", || UserCommand::SignIn(SignInCommand::AssociateSoftwareToken)).await?;
        let user = user_of(committed.state)?;
        let secret = self.secrets.codes.open(&user.totp_secret_sealed).map_err(|e| AppError::Internal(format!("opening the TOTP secret: {e}")))?;
        let next = match setup {
            Some(s) => Some(self.seal_session(&ChallengeSession::new(&s.pool_id, &s.client_id, &user, MFA_SETUP, serde_json::Value::Null))?),
            None => None,
        };
        Ok((secret.to_string(), next))
    }

    /// VerifySoftwareToken: by access token or MFA_SETUP session. Returns the next session.
    pub async fn verify_software_token(
        &self,
        access_token: Option<&str>,
        session: Option<&str>,
        code: &str,
        friendly_device_name: &str,
    ) -> Result<Option<String>, AppError> {
        let (pool, username, setup) = self.token_or_setup_session(access_token, session).await?;
        let (code, name) = (code.to_string(), friendly_device_name.to_string());
        let committed = self
            .user_command(&pool, &username, "", move || {
                UserCommand::SignIn(SignInCommand::VerifySoftwareToken { code: code.clone(), friendly_device_name: name.clone() })
            })
            .await?;
        let user = user_of(committed.state)?;
        match setup {
            Some(s) => Ok(Some(self.seal_session(&ChallengeSession::new(&s.pool_id, &s.client_id, &user, MFA_SETUP, serde_json::Value::Null))?)),
            None => Ok(None),
        }
    }

    async fn token_or_setup_session(
        &self,
        access_token: Option<&str>,
        session: Option<&str>,
    ) -> Result<(PoolState, String, Option<ChallengeSession>), AppError> {
        match (access_token.filter(|t| !t.is_empty()), session.filter(|s| !s.is_empty())) {
            (Some(token), _) => {
                let caller = self.access(token).await?;
                Ok((caller.pool, caller.user.username, None))
            }
            (None, Some(_)) => {
                let s = self.open_session_any_client(session, MFA_SETUP)?;
                let pool = self.pool(&s.pool_id).await?;
                let user = self.session_user(&pool, &s).await?;
                Ok((pool, user.username, Some(s)))
            }
            (None, None) => Err(AppError::invalid("Either AccessToken or Session is required.")),
        }
    }

    /// SetUserMFAPreference (by access token).
    pub async fn set_user_mfa_preference(
        &self,
        access_token: &str,
        sms: MethodPreference,
        software_token: MethodPreference,
        email: MethodPreference,
    ) -> Result<(), AppError> {
        let caller = self.access(access_token).await?;
        self.mfa_preference(&caller.pool, &caller.user.username, sms, software_token, email).await
    }

    /// AdminSetUserMFAPreference.
    pub async fn admin_set_user_mfa_preference(
        &self,
        pool_id: &str,
        username: &str,
        sms: MethodPreference,
        software_token: MethodPreference,
        email: MethodPreference,
    ) -> Result<(), AppError> {
        let pool = self.pool(pool_id).await?;
        self.mfa_preference(&pool, username, sms, software_token, email).await
    }

    async fn mfa_preference(
        &self,
        pool: &PoolState,
        username: &str,
        sms: MethodPreference,
        software_token: MethodPreference,
        email: MethodPreference,
    ) -> Result<(), AppError> {
        self.user_command(pool, username, "", move || UserCommand::SignIn(SignInCommand::SetMfaPreference { sms, software_token, email })).await?;
        Ok(())
    }

    /// GetUserPoolMfaConfig.
    pub async fn get_user_pool_mfa_config(&self, pool_id: &str) -> Result<MfaConfig, AppError> {
        let pool = self.pool(pool_id).await?;
        Ok(MfaConfig::from(&pool.settings.unwrap_or_default()))
    }

    /// SetUserPoolMfaConfig: `None` leaves a method's configuration as it is.
    pub async fn set_user_pool_mfa_config(
        &self,
        pool_id: &str,
        mfa_configuration: &str,
        software_token: Option<bool>,
        sms: Option<(bool, String)>,
        email: Option<(bool, String, String)>,
        request_id: &str,
    ) -> Result<MfaConfig, AppError> {
        let key = idp_domain::keys::AggregateKey::pool(pool_id);
        let mode_value = mfa_configuration.to_string();
        let committed = self
            .execute(
                &key,
                request_id,
                crate::exec::decider(move |state, ctx| {
                    let Some(AggregateState::Pool(p)) = state else {
                        return Err(DomainError::ResourceNotFound("User pool does not exist.".into()).into());
                    };
                    let settings = signin::mfa_config(&p.settings.clone().unwrap_or_default(), &mode_value, software_token, sms.clone(), email.clone())?;
                    idp_domain::pool::decide(Some(p), PoolCommand::Update { settings }, ctx)
                }),
            )
            .await?;
        match committed.state {
            Some(AggregateState::Pool(p)) => Ok(MfaConfig::from(&p.settings.unwrap_or_default())),
            _ => Err(AppError::not_found("User pool does not exist.")),
        }
    }
}
