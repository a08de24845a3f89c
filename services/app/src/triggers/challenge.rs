//! CUSTOM_AUTH: the DefineAuthChallenge / CreateAuthChallenge / VerifyAuthChallengeResponse
//! triggers drive a sign-in made of CUSTOM_CHALLENGE rounds.
//!
//! - InitiateAuth(CUSTOM_AUTH, USERNAME) → [`App::start_custom_auth`]: client, SECRET_HASH and
//!   `ALLOW_CUSTOM_AUTH`; the sign-in rules for a known user (enabled, confirmed) and its
//!   PreAuthentication trigger; then a round.
//! - A round ([`App::custom_round`]): DefineAuthChallenge sees the session history (one
//!   `challenge-result` per answered challenge) and answers `fail-authentication` (→
//!   `NotAuthorizedException`), `issue-tokens` (→ tokens, through the sign-in rules again), or a
//!   challenge name: only CUSTOM_CHALLENGE is offered here, and CreateAuthChallenge makes it. The
//!   caller gets `CUSTOM_CHALLENGE`, the public parameters (plus `USERNAME`) and a `Session`.
//! - RespondToAuthChallenge(CUSTOM_CHALLENGE, USERNAME, ANSWER, Session) →
//!   [`App::respond_custom_challenge`]: opens the session (expiry, client, challenge), checks it
//!   is still current for the user (its version), asks VerifyAuthChallengeResponse, and records
//!   the verdict as `CustomChallengeAnswered` with the session's user version as precondition:
//!   a session is answered once (a replay finds the user at a later version), and the verdict is
//!   in the log (replay never runs the trigger). Then the next round.
//!
//! The session is sealed ([`crate::session`]) and carries the history, the challenge metadata
//! and the *private* challenge parameters (e.g. the expected answer): they are never in the log
//! or the store, and never shown to the client. Define and Create decide nothing the service
//! stores; only Verify's verdict is state, and it is recorded.
//!
//! An unknown user: `UserNotFoundException`, or, with PreventUserExistenceErrors, rounds as for
//! a user (`user-not-found` set for the triggers) whose every answer is refused.

use std::collections::BTreeMap;

use idp_domain::client::{prevents_existence_errors, require_flow};
use idp_domain::pb::{ClientState, PoolState, UserState};
use idp_domain::user::UserCommand;
use idp_domain::{AggregateState, DomainError};
use idp_triggers::{types as t, Kind};
use serde::{Deserialize, Serialize};

use super::auth::user_attributes;
use crate::auth::InitiateOutcome;
use crate::session::{invalid_session, ChallengeSession};
use crate::{App, AppError};

pub const CUSTOM_CHALLENGE: &str = "CUSTOM_CHALLENGE";
/// Most challenges in one sign-in (Cognito allows a handful; a loop here is a trigger bug).
pub const MAX_ROUNDS: usize = 8;

/// What the sealed session carries from one round to the next.
#[derive(Serialize, Deserialize, Default)]
struct CustomState {
    /// The answered challenges, oldest first.
    history: Vec<Round>,
    /// CreateAuthChallenge's private parameters and metadata for the pending challenge.
    private: Vec<(String, String)>,
    metadata: String,
    /// The user is unknown (PreventUserExistenceErrors): no answer is ever right.
    unknown: bool,
}

#[derive(Serialize, Deserialize, Clone)]
struct Round {
    name: String,
    correct: bool,
    metadata: String,
}

fn incorrect() -> AppError {
    AppError::not_authorized("Incorrect username or password.")
}

fn param<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Result<&'a str, AppError> {
    params.get(name).map(String::as_str).filter(|s| !s.is_empty()).ok_or_else(|| AppError::invalid(format!("Missing required parameter {name}")))
}

impl App {
    /// InitiateAuth(CUSTOM_AUTH).
    pub async fn start_custom_auth(&self, client_id: &str, params: &BTreeMap<String, String>) -> Result<InitiateOutcome, AppError> {
        let username = param(params, "USERNAME")?;
        let caller = self.client_caller(client_id, username, params.get("SECRET_HASH").map(String::as_str)).await?;
        require_flow(&caller.client, "ALLOW_CUSTOM_AUTH")?;
        let (pool, client) = (&caller.pool, &caller.client);
        if App::trigger_spec(pool, Kind::DefineAuthChallenge).is_none() {
            return Err(AppError::invalid("Custom auth lambda trigger is not configured for the user pool."));
        }
        idp_domain::validate::username(username)?;
        let key = App::user_key(pool, username);
        self.catch_up(&key).await?;
        let user = match self.load(&key).await? {
            Some(AggregateState::User(u)) => Some(u),
            _ if prevents_existence_errors(pool, Some(client)) => None,
            _ => return Err(DomainError::UserNotFound.into()),
        };
        if let Some(u) = &user {
            self.custom_sign_in_rules(pool, u)?;
            self.run_pre_authentication(pool, client, u).await?;
        }
        let state = CustomState { unknown: user.is_none(), ..CustomState::default() };
        self.custom_round(pool, client, username, user.as_ref(), state).await
    }

    /// RespondToAuthChallenge(CUSTOM_CHALLENGE).
    pub async fn respond_custom_challenge(
        &self,
        client_id: &str,
        responses: &BTreeMap<String, String>,
        session: Option<&str>,
    ) -> Result<InitiateOutcome, AppError> {
        let username = param(responses, "USERNAME")?;
        let answer = param(responses, "ANSWER")?;
        let sealed = self.open_session(session, client_id, CUSTOM_CHALLENGE)?;
        let caller = self.client_caller(client_id, username, responses.get("SECRET_HASH").map(String::as_str)).await?;
        require_flow(&caller.client, "ALLOW_CUSTOM_AUTH")?;
        let (pool, client) = (&caller.pool, &caller.client);
        idp_domain::validate::username(username)?;
        if App::user_key(pool, username) != App::user_key(pool, &sealed.username) {
            return Err(invalid_session());
        }
        let mut state: CustomState = serde_json::from_value(sealed.data.clone()).map_err(|_| invalid_session())?;
        if state.unknown {
            return Err(incorrect());
        }
        let key = App::user_key(pool, username);
        self.catch_up(&key).await?;
        let Some(AggregateState::User(user)) = self.load(&key).await? else { return Err(incorrect()) };
        if !sealed.current_for(&user) {
            return Err(invalid_session());
        }
        let spec = App::trigger_spec(pool, Kind::VerifyAuthChallengeResponse)
            .ok_or_else(|| AppError::UnexpectedLambda("VerifyAuthChallengeResponse trigger is not deployed.".into()))?;
        let event = t::VerifyAuthChallengeEvent {
            version: "1".into(),
            trigger_source: "VerifyAuthChallengeResponse_Authentication".into(),
            region: self.config.region.clone(),
            user_pool_id: pool.pool_id.clone(),
            user_name: user.username.clone(),
            caller_context: self.caller_context(&client.client_id),
            request: t::VerifyAuthChallengeRequest {
                user_attributes: user_attributes(&user),
                private_challenge_parameters: std::mem::take(&mut state.private),
                challenge_answer: answer.to_string(),
                client_metadata: crate::scope::client_metadata(),
                user_not_found: false,
            },
            response: t::VerifyAuthChallengeResponse { answer_correct: false },
        };
        let verify_version = spec.version;
        let verdict = self.call_trigger(Kind::VerifyAuthChallengeResponse, move |rt| rt.verify_auth_challenge_response(&spec, &event)).await?;
        let correct = verdict.answer_correct;
        // The verdict is state: recorded, on the version the session was issued for (once).
        let (cid, session_version) = (client.client_id.clone(), sealed.user_version);
        let committed = self
            .user_command(pool, &user.username, "", move || UserCommand::AnswerCustomChallenge {
                client_id: cid.clone(),
                challenge_name: CUSTOM_CHALLENGE.into(),
                correct,
                verify_trigger_version: verify_version,
                session_version,
            })
            .await?;
        let Some(AggregateState::User(user)) = committed.state else { return Err(incorrect()) };
        state.history.push(Round { name: CUSTOM_CHALLENGE.into(), correct, metadata: std::mem::take(&mut state.metadata) });
        self.custom_round(pool, client, username, Some(&user), state).await
    }

    /// One round: DefineAuthChallenge decides; tokens, a failure, or a new CUSTOM_CHALLENGE.
    async fn custom_round(
        &self,
        pool: &PoolState,
        client: &ClientState,
        username: &str,
        user: Option<&UserState>,
        mut state: CustomState,
    ) -> Result<InitiateOutcome, AppError> {
        let history: Vec<t::ChallengeResult> = state
            .history
            .iter()
            .map(|r| t::ChallengeResult { challenge_name: r.name.clone(), challenge_result: r.correct, challenge_metadata: r.metadata.clone() })
            .collect();
        let attributes = user.map(user_attributes).unwrap_or_default();
        let user_name = user.map(|u| u.username.clone()).unwrap_or_else(|| username.to_string());
        let spec = App::trigger_spec(pool, Kind::DefineAuthChallenge)
            .ok_or_else(|| AppError::invalid("Custom auth lambda trigger is not configured for the user pool."))?;
        let event = t::DefineAuthChallengeEvent {
            version: "1".into(),
            trigger_source: "DefineAuthChallenge_Authentication".into(),
            region: self.config.region.clone(),
            user_pool_id: pool.pool_id.clone(),
            user_name: user_name.clone(),
            caller_context: self.caller_context(&client.client_id),
            request: t::DefineAuthChallengeRequest {
                user_attributes: attributes.clone(),
                session: history.clone(),
                client_metadata: crate::scope::client_metadata(),
                user_not_found: user.is_none(),
            },
            response: t::DefineAuthChallengeResponse { challenge_name: String::new(), issue_tokens: false, fail_authentication: false },
        };
        let define = self.call_trigger(Kind::DefineAuthChallenge, move |rt| rt.define_auth_challenge(&spec, &event)).await?;
        if define.fail_authentication {
            return Err(incorrect());
        }
        if define.issue_tokens {
            // Tokens only for a real user who answered at least one challenge right.
            let Some(u) = user.filter(|_| !state.unknown && state.history.iter().any(|r| r.correct)) else { return Err(incorrect()) };
            self.custom_sign_in_rules(pool, u)?;
            return self.sign_in_tokens(pool, client, u, "CUSTOM_AUTH").await.map(InitiateOutcome::Authenticated);
        }
        if define.challenge_name != CUSTOM_CHALLENGE {
            return Err(AppError::InvalidLambdaResponse(format!(
                "DefineAuthChallenge asked for challenge {:?}; this server offers CUSTOM_CHALLENGE only.",
                define.challenge_name
            )));
        }
        if state.history.len() >= MAX_ROUNDS {
            return Err(incorrect());
        }
        let spec = App::trigger_spec(pool, Kind::CreateAuthChallenge)
            .ok_or_else(|| AppError::UnexpectedLambda("CreateAuthChallenge trigger is not deployed.".into()))?;
        let event = t::CreateAuthChallengeEvent {
            version: "1".into(),
            trigger_source: "CreateAuthChallenge_Authentication".into(),
            region: self.config.region.clone(),
            user_pool_id: pool.pool_id.clone(),
            user_name: user_name.clone(),
            caller_context: self.caller_context(&client.client_id),
            request: t::CreateAuthChallengeRequest {
                user_attributes: attributes,
                challenge_name: CUSTOM_CHALLENGE.into(),
                session: history,
                client_metadata: crate::scope::client_metadata(),
                user_not_found: user.is_none(),
            },
            response: t::CreateAuthChallengeResponse {
                public_challenge_parameters: vec![],
                private_challenge_parameters: vec![],
                challenge_metadata: String::new(),
            },
        };
        let created = self.call_trigger(Kind::CreateAuthChallenge, move |rt| rt.create_auth_challenge(&spec, &event)).await?;
        let mut parameters: BTreeMap<String, String> = created.public_challenge_parameters.into_iter().collect();
        parameters.insert("USERNAME".into(), user_name.clone());
        state.private = created.private_challenge_parameters;
        state.metadata = created.challenge_metadata;
        let bound = match user {
            Some(u) => u.clone(),
            None => UserState { username: user_name, pool_id: pool.pool_id.clone(), ..UserState::default() },
        };
        let data = serde_json::to_value(&state).map_err(|e| AppError::Internal(format!("custom auth session: {e}")))?;
        let session = ChallengeSession::new(&pool.pool_id, &client.client_id, &bound, CUSTOM_CHALLENGE, data);
        let sealed = self.seal_session(&session)?;
        Ok(InitiateOutcome::Challenge { name: CUSTOM_CHALLENGE.into(), parameters, session: Some(sealed) })
    }

    /// The sign-in rules without a password (enabled, confirmed, no reset pending).
    fn custom_sign_in_rules(&self, pool: &PoolState, user: &UserState) -> Result<(), AppError> {
        let mut ctx = self.new_ctx();
        idp_domain::user::decide(pool, Some(user), UserCommand::AuthenticateSrp { proof_ok: true }, &mut ctx)
            .map(|_| ())
            .map_err(|rejected| rejected.error.into())
    }
}
