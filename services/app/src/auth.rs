//! Sign-in, token issuance, access-token checks, refresh and revocation.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use idp_domain::client::{prevents_existence_errors, require_flow};
use idp_domain::pb::{ClientState, PoolState, UserState};
use idp_domain::pool::effective_validity;
use idp_domain::user::UserCommand;
use idp_domain::{AggregateState, DomainError};
use idp_tokens::{AccessClaims, IdClaims, RefreshClaims, TokenError};
use rand::rngs::OsRng;

use crate::ctx::now_ms;
use crate::{App, AppError};

/// Tokens handed out by a successful authentication.
#[derive(Debug, Clone)]
pub struct AuthResult {
    pub access_token: String,
    pub id_token: String,
    /// Only on a password sign-in (a refresh does not rotate the refresh token).
    pub refresh_token: Option<String>,
    pub expires_in: u64,
    pub token_type: String,
}

/// What InitiateAuth and RespondToAuthChallenge answer: tokens, or the next challenge.
#[derive(Debug, Clone)]
pub enum InitiateOutcome {
    Authenticated(AuthResult),
    Challenge { name: String, parameters: BTreeMap<String, String>, session: Option<String> },
}

/// How a refresh proves the app client when it has a secret.
enum ClientProof<'a> {
    /// REFRESH_TOKEN_AUTH: SECRET_HASH over the username (or sub).
    SecretHash(Option<&'a str>),
    /// GetTokensFromRefreshToken: the client secret itself.
    Secret(Option<&'a str>),
}

/// The caller of an access-token-authenticated operation.
pub struct AccessCaller {
    pub pool: PoolState,
    pub user: UserState,
    pub claims: AccessClaims,
}

/// Extracts the pool id from a JWT's `iss` *without* trusting it: it only selects which pool's
/// issuer the token is then fully verified against.
fn claimed_pool_id(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let iss = value.get("iss")?.as_str()?;
    iss.rsplit('/').next().map(str::to_string)
}

/// Milliseconds encoded in a UUID v7 (the session id's creation instant).
fn uuid7_ms(id: &str) -> Option<i64> {
    let u = uuid::Uuid::parse_str(id).ok()?;
    if u.get_version_num() != 7 {
        return None;
    }
    let (secs, nanos) = u.get_timestamp()?.to_unix();
    Some(secs as i64 * 1000 + (nanos / 1_000_000) as i64)
}

fn token_error(e: TokenError) -> AppError {
    match e {
        TokenError::Expired => AppError::not_authorized("Access Token has expired"),
        _ => AppError::not_authorized("Invalid Access Token"),
    }
}

/// A missing pool or client becomes `other`; an unavailable log or store stays what it is.
fn not_found_as(e: AppError, other: impl FnOnce() -> AppError) -> AppError {
    match e {
        AppError::Domain(DomainError::ResourceNotFound(_)) => other(),
        e => e,
    }
}

/// True when a session (by its origin id) was revoked by a global sign-out.
fn signed_out(user: &UserState, origin_jti: &str) -> bool {
    match uuid7_ms(origin_jti) {
        Some(ms) => ms <= user.tokens_revoked_before_ms,
        None => user.tokens_revoked_before_ms > 0,
    }
}

impl App {
    /// Verifies an access token and loads its user; revoked or signed-out sessions fail.
    pub async fn access(&self, token: &str) -> Result<AccessCaller, AppError> {
        if token.is_empty() || token.len() > 16 * 1024 {
            return Err(AppError::not_authorized("Invalid Access Token"));
        }
        let pool_id = claimed_pool_id(token).ok_or_else(|| AppError::not_authorized("Invalid Access Token"))?;
        let issuer = &self.secrets.issuer;
        let claims = match issuer.verify_access(token, &pool_id, now_ms() / 1000) {
            // Signed by a process that already rotated to a key this one has not reloaded yet.
            Err(TokenError::UnknownKey) if issuer.reload_for_unknown_kid(Duration::from_secs(1)) => issuer.verify_access(token, &pool_id, now_ms() / 1000),
            r => r,
        }
        .map_err(token_error)?;
        let pool = self.pool(&pool_id).await.map_err(|e| not_found_as(e, || AppError::not_authorized("Invalid Access Token")))?;
        let user = self.user_by_sub(&pool, &claims.username, &claims.sub).await?.ok_or(DomainError::UserNotFound)?;
        if !user.enabled {
            return Err(AppError::not_authorized("User is disabled."));
        }
        if signed_out(&user, &claims.origin_jti) || self.is_revoked(&claims.origin_jti).await? {
            return Err(AppError::not_authorized("Access Token has been revoked"));
        }
        Ok(AccessCaller { pool, user, claims })
    }

    /// The user a token names (by its username claim), if it still is the user with `sub` (a
    /// deleted and re-created username has another sub). The user's partition is caught up
    /// first, so a user created on another front a moment ago is found.
    async fn user_by_sub(&self, pool: &PoolState, username: &str, sub: &str) -> Result<Option<UserState>, AppError> {
        if idp_domain::validate::username(username).is_err() {
            return Ok(None);
        }
        let key = App::user_key(pool, username);
        self.catch_up(&key).await?;
        match self.load(&key).await? {
            Some(AggregateState::User(u)) if u.sub == sub => Ok(Some(u)),
            _ => Ok(None),
        }
    }

    /// InitiateAuth: password, SRP (answers the PASSWORD_VERIFIER challenge), custom
    /// (CUSTOM_CHALLENGE rounds, `triggers::challenge`) and refresh flows.
    pub async fn initiate_auth(&self, client_id: &str, flow: &str, params: &BTreeMap<String, String>) -> Result<InitiateOutcome, AppError> {
        match flow {
            "USER_PASSWORD_AUTH" => {
                let username = params.get("USERNAME").map(String::as_str).unwrap_or("");
                let password = params.get("PASSWORD").map(String::as_str).unwrap_or("");
                if username.is_empty() || password.is_empty() {
                    return Err(AppError::invalid("Missing required parameter USERNAME or PASSWORD"));
                }
                let caller = self.client_caller(client_id, username, params.get("SECRET_HASH").map(String::as_str)).await?;
                require_flow(&caller.client, "ALLOW_USER_PASSWORD_AUTH")?;
                let user = self.password_sign_in(&caller.pool, &caller.client, username, password).await?;
                self.next_step(&caller.pool, &caller.client, user, flow).await
            }
            "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN" => {
                let token = params.get("REFRESH_TOKEN").map(String::as_str).unwrap_or("");
                let proof = ClientProof::SecretHash(params.get("SECRET_HASH").map(String::as_str));
                self.refresh(client_id, token, proof).await.map(InitiateOutcome::Authenticated)
            }
            "USER_SRP_AUTH" => {
                let get = |k: &str| params.get(k).map(String::as_str).unwrap_or("");
                self.start_srp(client_id, get("USERNAME"), get("SRP_A"), params.get("SECRET_HASH").map(String::as_str)).await
            }
            "CUSTOM_AUTH" => self.start_custom_auth(client_id, params).await,
            "ADMIN_NO_SRP_AUTH" | "ADMIN_USER_PASSWORD_AUTH" => Err(AppError::invalid(format!("Auth flow {flow} is only for AdminInitiateAuth."))),
            other => Err(AppError::invalid(format!("Invalid AuthFlow {other}."))),
        }
    }

    /// AdminInitiateAuth: ADMIN_USER_PASSWORD_AUTH (and its old name ADMIN_NO_SRP_AUTH) for a
    /// trusted backend (the adapter checked the admin credential), REFRESH_TOKEN_AUTH as in
    /// InitiateAuth. The client must belong to `pool_id`.
    pub async fn admin_initiate_auth(
        &self,
        pool_id: &str,
        client_id: &str,
        flow: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<InitiateOutcome, AppError> {
        match flow {
            "ADMIN_USER_PASSWORD_AUTH" | "ADMIN_NO_SRP_AUTH" => {
                let username = params.get("USERNAME").map(String::as_str).unwrap_or("");
                let password = params.get("PASSWORD").map(String::as_str).unwrap_or("");
                if username.is_empty() || password.is_empty() {
                    return Err(AppError::invalid("Missing required parameter USERNAME or PASSWORD"));
                }
                let caller = self.client_caller(client_id, username, params.get("SECRET_HASH").map(String::as_str)).await?;
                if caller.pool.pool_id != pool_id {
                    return Err(AppError::not_found(format!("Client {client_id} does not belong to user pool {pool_id}.")));
                }
                require_flow(&caller.client, "ALLOW_ADMIN_USER_PASSWORD_AUTH")?;
                let user = self.password_sign_in(&caller.pool, &caller.client, username, password).await?;
                self.next_step(&caller.pool, &caller.client, user, "ADMIN_USER_PASSWORD_AUTH").await
            }
            "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN" => self.initiate_auth(client_id, flow, params).await,
            other => Err(AppError::invalid(format!("Invalid AuthFlow {other} for AdminInitiateAuth."))),
        }
    }

    /// Checks a password (Argon2id on a blocking thread, inside the write loop so a failure is
    /// recorded for lockout) with every sign-in rule; errors are masked per
    /// PreventUserExistenceErrors.
    async fn password_sign_in(&self, pool: &PoolState, client: &ClientState, username: &str, password: &str) -> Result<UserState, AppError> {
        let key = App::user_key(pool, username);
        self.catch_up(&key).await?;
        let stored = match self.load(&key).await? {
            Some(AggregateState::User(u)) => Some(u.username),
            _ => self.migrate_user(pool, client, username, Some(password)).await?.map(|u| u.username),
        };
        let pw = password.to_string();
        let name = stored.unwrap_or_else(|| username.to_string());
        self.first_factor(pool, client, &name, move || UserCommand::Authenticate { password: pw.clone() }).await
    }

    /// Runs a first-factor command (its failure is recorded for lockout), masks errors per
    /// PreventUserExistenceErrors, then runs the PreAuthentication trigger.
    pub(crate) async fn first_factor(
        &self,
        pool: &PoolState,
        client: &ClientState,
        username: &str,
        make: impl Fn() -> UserCommand + Send + Sync + 'static,
    ) -> Result<UserState, AppError> {
        let prevent = prevents_existence_errors(pool, Some(client));
        let committed = self.user_command(pool, username, "", make).await.map_err(|e| match e {
            AppError::Domain(d) => AppError::Domain(d.hide_existence(prevent)),
            other => other,
        })?;
        let user = match committed.state {
            Some(AggregateState::User(u)) => u,
            _ => return Err(AppError::Domain(DomainError::UserNotFound.hide_existence(prevent))),
        };
        self.run_pre_authentication(pool, client, &user).await?;
        Ok(user)
    }

    /// The tokens of a successful sign-in (a new session), and its `UserAuthenticated` event
    /// when the pool has a PostAuthentication trigger (the trigger then runs from the log; the
    /// domain decides the same from the pool state). The event is appended after the tokens are
    /// made, so no sign-in is recorded that handed out no tokens.
    pub(crate) async fn sign_in_tokens(&self, pool: &PoolState, client: &ClientState, user: &UserState, flow: &str) -> Result<AuthResult, AppError> {
        let origin_jti = uuid::Uuid::now_v7().to_string();
        let tokens = self.issue_tokens_for(pool, client, user, None, &origin_jti).await?;
        if App::trigger_spec(pool, idp_triggers::Kind::PostAuthentication).is_some() {
            let (cid, flow, metadata) = (client.client_id.clone(), flow.to_string(), crate::scope::client_metadata());
            self.user_command(pool, &user.username, "", move || UserCommand::RecordSignIn {
                client_id: cid.clone(),
                auth_flow: flow.clone(),
                origin_jti: origin_jti.clone(),
                client_metadata: metadata.clone(),
            })
            .await?;
        }
        Ok(tokens)
    }

    /// Issues ID + access tokens (and a refresh token for a new session).
    pub(crate) async fn issue_tokens(
        &self,
        pool: &PoolState,
        client: &ClientState,
        user: &UserState,
        session: Option<&RefreshClaims>,
    ) -> Result<AuthResult, AppError> {
        self.issue_tokens_for(pool, client, user, session, &uuid::Uuid::now_v7().to_string()).await
    }

    /// [`App::issue_tokens`]; a new session gets the origin id `new_origin`.
    async fn issue_tokens_for(
        &self,
        pool: &PoolState,
        client: &ClientState,
        user: &UserState,
        session: Option<&RefreshClaims>,
        new_origin: &str,
    ) -> Result<AuthResult, AppError> {
        let settings = pool.settings.clone().unwrap_or_default();
        let validity = effective_validity(&settings, client.settings.as_ref().and_then(|s| s.token_validity.as_ref()));
        let now = now_ms() / 1000;
        let (origin_jti, auth_time) = match session {
            Some(s) => (s.origin_jti.clone(), s.auth_time),
            None => (new_origin.to_string(), now),
        };
        let issuer = &self.secrets.issuer;
        let iss = issuer.issuer_for(&pool.pool_id);
        let event_id = uuid::Uuid::new_v4().to_string();
        let mut attributes: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in &user.attributes {
            if !matches!(k.as_str(), "email" | "email_verified" | "phone_number" | "phone_number_verified" | "sub") {
                attributes.insert(k.clone(), v.clone());
            }
        }
        let flag = |k: &str| user.attributes.get(k).map(|v| v == "true");
        let mut id = IdClaims {
            sub: user.sub.clone(),
            aud: client.client_id.clone(),
            iss: iss.clone(),
            username: user.username.clone(),
            auth_time,
            iat: now,
            exp: now + validity.id_token_secs as i64,
            jti: uuid::Uuid::new_v4().to_string(),
            origin_jti: origin_jti.clone(),
            event_id: Some(event_id.clone()),
            email: user.attributes.get("email").cloned(),
            email_verified: user.attributes.get("email").and(flag("email_verified").or(Some(false))),
            phone_number: user.attributes.get("phone_number").cloned(),
            phone_number_verified: user.attributes.get("phone_number").and(flag("phone_number_verified").or(Some(false))),
            attributes,
            ..Default::default()
        };
        let mut access = AccessClaims {
            sub: user.sub.clone(),
            iss,
            client_id: client.client_id.clone(),
            username: user.username.clone(),
            auth_time,
            iat: now,
            exp: now + validity.access_token_secs as i64,
            jti: uuid::Uuid::new_v4().to_string(),
            origin_jti: origin_jti.clone(),
            event_id: Some(event_id),
            ..Default::default()
        };
        // cognito:groups, by precedence (the PreTokenGeneration trigger may override them).
        id.groups = self.token_groups(user).await?;
        access.groups = id.groups.clone();
        self.run_pre_token_generation(pool, client, user, session.is_some(), &mut id, &mut access).await?;
        let id_token = issuer.issue_id(&id).map_err(|e| AppError::Internal(format!("issuing id token: {e}")))?;
        let access_token = issuer.issue_access(&access).map_err(|e| AppError::Internal(format!("issuing access token: {e}")))?;
        let refresh_token = match session {
            Some(_) => None,
            None => {
                let claims = RefreshClaims {
                    pool_id: pool.pool_id.clone(),
                    client_id: client.client_id.clone(),
                    username: user.username.clone(),
                    sub: user.sub.clone(),
                    origin_jti,
                    epoch: 0,
                    auth_time,
                    iat: now,
                    exp: now + validity.refresh_token_secs as i64,
                };
                Some(self.secrets.refresh.seal(&claims, &mut OsRng).map_err(|e| AppError::Internal(format!("sealing refresh token: {e}")))?)
            }
        };
        Ok(AuthResult { access_token, id_token, refresh_token, expires_in: validity.access_token_secs, token_type: "Bearer".into() })
    }

    /// Opens a refresh token and checks client, user and revocation.
    async fn open_refresh(&self, client_id: &str, token: &str) -> Result<(RefreshClaims, ClientState, PoolState, UserState), AppError> {
        let invalid = || AppError::not_authorized("Invalid Refresh Token");
        if token.is_empty() {
            return Err(AppError::invalid("Missing required parameter REFRESH_TOKEN"));
        }
        let claims = self.secrets.refresh.open(token, now_ms() / 1000).map_err(|e| match e {
            TokenError::Expired => AppError::not_authorized("Refresh Token has expired"),
            _ => invalid(),
        })?;
        if claims.client_id != client_id {
            return Err(invalid());
        }
        self.catch_up(&idp_domain::keys::AggregateKey::client(client_id)).await?;
        let client = self.client(client_id).await.map_err(|e| not_found_as(e, invalid))?;
        let pool = self.pool(&claims.pool_id).await.map_err(|e| not_found_as(e, invalid))?;
        let user = self.user_by_sub(&pool, &claims.username, &claims.sub).await?.ok_or_else(invalid)?;
        Ok((claims, client, pool, user))
    }

    /// GetTokensFromRefreshToken: a refresh whose client proves itself with its secret.
    pub async fn get_tokens_from_refresh_token(&self, client_id: &str, client_secret: Option<&str>, token: &str) -> Result<AuthResult, AppError> {
        self.refresh(client_id, token, ClientProof::Secret(client_secret)).await
    }

    async fn refresh(&self, client_id: &str, token: &str, proof: ClientProof<'_>) -> Result<AuthResult, AppError> {
        let (claims, client, pool, user) = self.open_refresh(client_id, token).await?;
        require_flow(&client, "ALLOW_REFRESH_TOKEN_AUTH")?;
        match proof {
            ClientProof::SecretHash(h) => self.check_secret_hash(&client, &[&claims.username, &claims.sub], h)?,
            ClientProof::Secret(s) => self.check_client_secret(&client, s)?,
        }
        if !user.enabled {
            return Err(AppError::not_authorized("User is disabled."));
        }
        if signed_out(&user, &claims.origin_jti) || self.is_revoked(&claims.origin_jti).await? {
            return Err(AppError::not_authorized("Refresh Token has been revoked"));
        }
        self.issue_tokens(&pool, &client, &user, Some(&claims)).await
    }

    /// RevokeToken: revokes a refresh token and every token of its session.
    pub async fn revoke_token(&self, client_id: &str, client_secret: Option<&str>, token: &str, request_id: &str) -> Result<(), AppError> {
        let (claims, client, pool, user) = self.open_refresh(client_id, token).await.map_err(|e| match e {
            AppError::Domain(DomainError::NotAuthorized(_)) => AppError::Domain(DomainError::NotAuthorized("Invalid token".into())),
            other => other,
        })?;
        self.check_client_secret(&client, client_secret)?;
        let (jti, exp) = (claims.origin_jti.clone(), claims.exp * 1000);
        self.user_command(&pool, &user.username, request_id, move || UserCommand::RevokeRefreshToken { origin_jti: jti.clone(), expires_at_ms: exp }).await?;
        Ok(())
    }

    /// A client with a secret must present it (RevokeToken, GetTokensFromRefreshToken).
    fn check_client_secret(&self, client: &ClientState, presented: Option<&str>) -> Result<(), AppError> {
        if let Some(secret) = self.client_secret(client)? {
            let ok = presented.map(|s| idp_crypto::ct::ct_eq(s.as_bytes(), secret.as_bytes())).unwrap_or(false);
            if !ok {
                return Err(AppError::not_authorized(format!("Unable to verify secret for client {}", client.client_id)));
            }
        }
        Ok(())
    }
}
