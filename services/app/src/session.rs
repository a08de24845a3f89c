//! Challenge sessions: the `Session` string of InitiateAuth / RespondToAuthChallenge for every
//! challenge after the first factor (NEW_PASSWORD_REQUIRED, the MFA challenges, CUSTOM_CHALLENGE).
//!
//! A session is the server's state of one sign-in in progress, sealed (XChaCha20-Poly1305 under
//! the deployment's code keys, so it is opaque and tamper-proof) and handed to the client; any
//! front of the deployment can continue the sign-in from it. Properties:
//!
//! - **Expiring**: [`SESSION_TTL_MS`] (3 minutes, Cognito's default) from issue.
//! - **Bound**: to its pool, app client, user and challenge name; answering another challenge or
//!   through another client fails.
//! - **Single-use**: it records the user aggregate's version when it was issued, and stays good
//!   while nothing but failed attempts happened to the user since
//!   ([`idp_domain::signin::session_current`]). A wrong MFA code appends a failed attempt (it
//!   counts towards lockout) and leaves the session usable, as Cognito lets a client retry; an
//!   accepted answer (the new password, a used TOTP step, a custom-challenge verdict…) or any
//!   other change of the user (password reset, sign-out) spends it. Every answer is appended with
//!   the current version as precondition, so concurrent answers to one session are arbitrated in
//!   log order and at most one is accepted, on any front.
//!
//! The sealed payload never reaches the log or the store.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use idp_crypto::codes::CodeKeys;
use idp_domain::pb::UserState;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};

use crate::auth::InitiateOutcome;
use crate::ctx::now_ms;
use crate::{App, AppError};

/// How long a challenge session may be answered.
pub const SESSION_TTL_MS: i64 = 3 * 60 * 1000;
/// Plaintext prefix: keeps sessions apart from other values sealed with the same key.
const SESSION_TAG: &str = "ses1:";
/// Longest accepted session string (sealed JSON, base64).
const MAX_SESSION_LEN: usize = 8 * 1024;

/// The state of one sign-in in progress, as sealed into `Session`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChallengeSession {
    pub pool_id: String,
    pub client_id: String,
    /// The user's stored username (as in its aggregate key).
    pub username: String,
    /// The challenge this session answers (e.g. `SOFTWARE_TOKEN_MFA`, `CUSTOM_CHALLENGE`).
    pub challenge: String,
    /// The user aggregate's version when the session was issued (see the module doc).
    pub user_version: u64,
    pub issued_at_ms: i64,
    pub expires_at_ms: i64,
    /// Challenge-specific state (e.g. CUSTOM_AUTH's challenge history); opaque here.
    #[serde(default)]
    pub data: serde_json::Value,
}

impl ChallengeSession {
    /// A session for `challenge`, issued now, for the user at its current version.
    pub fn new(pool_id: &str, client_id: &str, user: &UserState, challenge: &str, data: serde_json::Value) -> Self {
        let now = now_ms();
        ChallengeSession {
            pool_id: pool_id.to_string(),
            client_id: client_id.to_string(),
            username: user.username.clone(),
            challenge: challenge.to_string(),
            user_version: user.version,
            issued_at_ms: now,
            expires_at_ms: now + SESSION_TTL_MS,
            data,
        }
    }

    /// True while nothing but failed attempts happened to the user since the session was issued
    /// ([`idp_domain::signin::session_current`]).
    pub fn current_for(&self, user: &UserState) -> bool {
        idp_domain::signin::session_current(user, self.user_version) && user.username == self.username
    }
}

/// Cognito's answer to an expired, forged, replayed or misdirected session.
pub fn invalid_session() -> AppError {
    AppError::not_authorized("Invalid session for the user, session is expired.")
}

/// Seals a session with the deployment's code keys.
fn seal(keys: &CodeKeys, session: &ChallengeSession) -> Result<String, AppError> {
    let json = serde_json::to_string(session).map_err(|e| AppError::Internal(format!("session: {e}")))?;
    let sealed = keys.seal(&format!("{SESSION_TAG}{json}"), &mut OsRng).map_err(|e| AppError::Internal(format!("sealing a session: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(sealed))
}

/// Opens a session and checks it against the client, the challenge and the clock.
fn open(keys: &CodeKeys, session: Option<&str>, client_id: Option<&str>, challenge: &str, now_ms: i64) -> Result<ChallengeSession, AppError> {
    let text = session.map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| AppError::invalid("Missing required parameter Session"))?;
    if text.len() > MAX_SESSION_LEN {
        return Err(invalid_session());
    }
    let bytes = URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).map_err(|_| invalid_session())?;
    let plain = keys.open(&bytes).map_err(|_| invalid_session())?;
    let json = plain.strip_prefix(SESSION_TAG).ok_or_else(invalid_session)?;
    let s: ChallengeSession = serde_json::from_str(json).map_err(|_| invalid_session())?;
    if client_id.is_some_and(|c| c != s.client_id) || s.challenge != challenge || now_ms >= s.expires_at_ms {
        return Err(invalid_session());
    }
    Ok(s)
}

impl App {
    /// RespondToAuthChallenge: dispatches on the challenge name. `session` is the opaque
    /// string the previous step returned (PASSWORD_VERIFIER carries its state in SECRET_BLOCK
    /// instead).
    pub async fn respond_to_auth_challenge(
        &self,
        client_id: &str,
        challenge_name: &str,
        responses: &BTreeMap<String, String>,
        session: Option<&str>,
    ) -> Result<InitiateOutcome, AppError> {
        match challenge_name {
            "PASSWORD_VERIFIER" => self.respond_password_verifier(client_id, responses).await,
            "NEW_PASSWORD_REQUIRED" | "SOFTWARE_TOKEN_MFA" | "SMS_MFA" | "EMAIL_OTP" | "SELECT_MFA_TYPE" | "MFA_SETUP" => {
                self.respond_with_session(client_id, challenge_name, responses, session, None).await
            }
            crate::triggers::challenge::CUSTOM_CHALLENGE => self.respond_custom_challenge(client_id, responses, session).await,
            "" => Err(AppError::invalid("Missing required parameter ChallengeName")),
            other => Err(AppError::invalid(format!("Challenge {other} is not supported."))),
        }
    }

    /// AdminRespondToAuthChallenge: the same answers, for a client of `pool_id`.
    pub async fn admin_respond_to_auth_challenge(
        &self,
        pool_id: &str,
        client_id: &str,
        challenge_name: &str,
        responses: &BTreeMap<String, String>,
        session: Option<&str>,
    ) -> Result<InitiateOutcome, AppError> {
        match challenge_name {
            "NEW_PASSWORD_REQUIRED" | "SOFTWARE_TOKEN_MFA" | "SMS_MFA" | "EMAIL_OTP" | "SELECT_MFA_TYPE" | "MFA_SETUP" => {
                self.respond_with_session(client_id, challenge_name, responses, session, Some(pool_id)).await
            }
            "" => Err(AppError::invalid("Missing required parameter ChallengeName")),
            other => Err(AppError::invalid(format!("Challenge {other} is not supported by AdminRespondToAuthChallenge."))),
        }
    }

    /// Seals a session into the opaque `Session` string.
    pub fn seal_session(&self, session: &ChallengeSession) -> Result<String, AppError> {
        seal(&self.secrets.codes, session)
    }

    /// Opens a `Session` string and checks that it is unexpired and was issued for `client_id`
    /// and `challenge`. (Whether it is still current for the user is
    /// [`ChallengeSession::current_for`], checked by the answering command against the user it
    /// re-reads inside the write loop.)
    pub fn open_session(&self, session: Option<&str>, client_id: &str, challenge: &str) -> Result<ChallengeSession, AppError> {
        open(&self.secrets.codes, session, Some(client_id), challenge, now_ms())
    }

    /// Opens a session for an operation that names no client (AssociateSoftwareToken and
    /// VerifySoftwareToken during MFA_SETUP): the session itself says which client it is for.
    pub fn open_session_any_client(&self, session: Option<&str>, challenge: &str) -> Result<ChallengeSession, AppError> {
        open(&self.secrets.codes, session, None, challenge, now_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(keys_user_version: u64) -> ChallengeSession {
        let user = UserState { username: "alice".into(), version: keys_user_version, ..Default::default() };
        ChallengeSession::new("eu-west-1_abc", "client1", &user, "SOFTWARE_TOKEN_MFA", serde_json::json!({"k": 1}))
    }

    #[test]
    fn round_trip_and_binding() {
        let keys = CodeKeys::generate(&mut OsRng);
        let s = sample(7);
        let sealed = seal(&keys, &s).unwrap();
        assert!(!sealed.contains("alice"), "the session is opaque");
        let now = s.issued_at_ms + 1000;
        assert_eq!(open(&keys, Some(&sealed), Some("client1"), "SOFTWARE_TOKEN_MFA", now).unwrap(), s);
        let wrong_client = open(&keys, Some(&sealed), Some("client2"), "SOFTWARE_TOKEN_MFA", now).unwrap_err();
        assert_eq!(wrong_client.name(), "NotAuthorizedException");
        assert!(open(&keys, Some(&sealed), Some("client1"), "SMS_MFA", now).is_err());
        assert!(open(&keys, Some(&sealed), Some("client1"), "SOFTWARE_TOKEN_MFA", s.expires_at_ms).is_err(), "expired");
        assert_eq!(open(&keys, None, Some("client1"), "SOFTWARE_TOKEN_MFA", now).unwrap_err().name(), "InvalidParameterException");
    }

    #[test]
    fn forged_or_foreign_sessions_fail() {
        let keys = CodeKeys::generate(&mut OsRng);
        let other = CodeKeys::generate(&mut OsRng);
        let s = sample(1);
        let sealed = seal(&keys, &s).unwrap();
        let now = s.issued_at_ms;
        assert!(open(&other, Some(&sealed), Some("client1"), "SOFTWARE_TOKEN_MFA", now).is_err(), "another deployment's key");
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = URL_SAFE_NO_PAD.encode(bytes);
        assert!(open(&keys, Some(&tampered), Some("client1"), "SOFTWARE_TOKEN_MFA", now).is_err());
        assert!(open(&keys, Some("not base64!"), Some("client1"), "SOFTWARE_TOKEN_MFA", now).is_err());
        let srp_like = URL_SAFE_NO_PAD.encode(keys.seal("srp1:{}", &mut OsRng).unwrap());
        assert!(open(&keys, Some(&srp_like), Some("client1"), "SOFTWARE_TOKEN_MFA", now).is_err(), "other sealed values");
    }

    #[test]
    fn single_use_by_version() {
        let s = sample(3);
        let mut user = UserState { username: "alice".into(), version: 3, sessions_valid_from_version: 3, ..Default::default() };
        assert!(s.current_for(&user));
        // Only a failed attempt since: still good.
        user.version = 4;
        assert!(s.current_for(&user));
        // An accepted answer or any other change since: spent.
        user.version = 5;
        user.sessions_valid_from_version = 5;
        assert!(!s.current_for(&user));
    }
}
