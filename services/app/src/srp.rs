//! USER_SRP_AUTH and its PASSWORD_VERIFIER challenge (Cognito's SRP-6a variant).
//!
//! - InitiateAuth(USER_SRP_AUTH) → [`App::start_srp`]: resolves the client (SECRET_HASH, allowed
//!   flow), loads the user's stored SRP salt and verifier, draws b and computes
//!   B = k·v + g^b on a blocking thread, and answers the challenge with `SALT`, `SRP_B`,
//!   `USERNAME`, `USER_ID_FOR_SRP` and `SECRET_BLOCK`.
//! - RespondToAuthChallenge(PASSWORD_VERIFIER) → `App::respond_password_verifier`: opens the
//!   block (3-minute lifetime), checks `TIMESTAMP` (±5 min), recomputes the session key from
//!   (A, B, b, v) on a blocking thread, checks `PASSWORD_CLAIM_SIGNATURE` in constant time, then
//!   applies the sign-in rules (`UserCommand::AuthenticateSrp`, the same rules as a password
//!   sign-in), runs the PreAuthentication trigger and issues tokens.
//!
//! `SECRET_BLOCK` *is* the server's state of the exchange: b, A, B, pool, client, user, the
//! password version and the issue time, sealed with XChaCha20-Poly1305 under the deployment's
//! code keys. Any front of the deployment can finish the exchange from it, and `Session` is
//! optional (pycognito sends none). It carries b, not the session key, so that even someone able
//! to forge blocks (a leaked sealing key) cannot sign in without the user's verifier.
//! Replays inside the lifetime are not refused here (they need the session key anyway).
//!
//! PreventUserExistenceErrors: an unknown user gets a plausible challenge (a salt stable for the
//! username within this process, a real B) and fails at the answer like a wrong password.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use idp_crypto::srp;
use idp_domain::client::{prevents_existence_errors, require_flow};
use idp_domain::keys::AggregateKey;
use idp_domain::pb::{PasswordRecord, PoolState, UserState};
use idp_domain::user::UserCommand;
use idp_domain::{AggregateState, DomainError};
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::auth::InitiateOutcome;
use crate::ctx::now_ms;
use crate::{App, AppError};

/// How long a SECRET_BLOCK may be answered (Cognito's session lifetime).
pub const SECRET_BLOCK_TTL_MS: i64 = 3 * 60 * 1000;
/// Allowed distance between the client's TIMESTAMP and the server clock.
pub const TIMESTAMP_SKEW_SECS: i64 = 5 * 60;
/// Longest accepted SRP_A: a group element is at most 384 bytes (768 hex digits).
const MAX_SRP_A_HEX: usize = 768;
/// Plaintext prefix: keeps sealed SRP state apart from other values sealed with the same key.
const BLOCK_TAG: &str = "srp1:";

/// The sealed server state of one PASSWORD_VERIFIER exchange.
#[derive(Serialize, Deserialize)]
struct SecretBlock {
    pool: String,
    client: String,
    /// USER_ID_FOR_SRP (the stored username).
    user: String,
    /// USERNAME as the client sent it to InitiateAuth (SECRET_HASH may be computed over it).
    login: String,
    iat_ms: i64,
    /// `set_at_ms` of the password the challenge was built for (0: no such user).
    pw_at_ms: i64,
    /// The secret exponent b, base64.
    b: String,
    /// SRP_A, normalised hex.
    a: String,
    /// SRP_B, hex.
    bb: String,
}

impl Drop for SecretBlock {
    fn drop(&mut self) {
        wipe(&mut self.b);
    }
}

/// Best-effort wipe of a secret string before its memory is freed.
fn wipe(s: &mut String) {
    let mut bytes = std::mem::take(s).into_bytes();
    bytes.iter_mut().for_each(|b| *b = 0);
    std::hint::black_box(&bytes);
}

fn missing(name: &str) -> AppError {
    AppError::invalid(format!("Missing required parameter {name}"))
}

fn param<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    params.get(name).map(String::as_str).filter(|s| !s.is_empty())
}

/// SRP_A as lowercase hex without leading zeros; refuses non-hex, too long, and zero.
fn normalise_srp_a(a: &str) -> Result<String, AppError> {
    let t = a.trim();
    if t.is_empty() || !t.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(AppError::invalid("SRP_A must be a hexadecimal number."));
    }
    let stripped = t.trim_start_matches('0').to_ascii_lowercase();
    if stripped.is_empty() {
        return Err(AppError::invalid("SRP_A must not be zero."));
    }
    if stripped.len() > MAX_SRP_A_HEX {
        return Err(AppError::invalid("SRP_A is larger than the group modulus."));
    }
    Ok(stripped)
}

/// A password record's SRP salt and verifier as the hex the exchange uses: from the bytes
/// fields (records written now), else the hex fields (records written before them).
fn srp_hex(rec: &PasswordRecord) -> (String, String) {
    if rec.srp_verifier.is_empty() {
        (rec.srp_salt_hex.clone(), rec.srp_verifier_hex.clone())
    } else {
        (hex::encode(&rec.srp_salt), srp::verifier_hex_from_be(&rec.srp_verifier))
    }
}

fn invalid_block() -> AppError {
    AppError::not_authorized("Invalid PASSWORD_CLAIM_SECRET_BLOCK.")
}

impl App {
    /// InitiateAuth(USER_SRP_AUTH): the PASSWORD_VERIFIER challenge.
    pub async fn start_srp(&self, client_id: &str, username: &str, srp_a: &str, secret_hash: Option<&str>) -> Result<InitiateOutcome, AppError> {
        if username.is_empty() {
            return Err(missing("USERNAME"));
        }
        if srp_a.is_empty() {
            return Err(missing("SRP_A"));
        }
        let a = normalise_srp_a(srp_a)?;
        let caller = self.client_caller(client_id, username, secret_hash).await?;
        require_flow(&caller.client, "ALLOW_USER_SRP_AUTH")?;
        let prevent = prevents_existence_errors(&caller.pool, Some(&caller.client));
        let user = self.srp_user(&caller.pool, username).await?;
        let (user_id, salt_hex, verifier_hex, pw_at_ms) = match &user {
            Some(u) => {
                let rec = u.password.clone().unwrap_or_default();
                let (salt_hex, verifier_hex) = srp_hex(&rec);
                (u.username.clone(), salt_hex, verifier_hex, rec.set_at_ms)
            }
            None if prevent => {
                let (salt_hex, verifier_hex) = self.decoy_verifier(&caller.pool, username).await?;
                (username.to_string(), salt_hex, verifier_hex, 0)
            }
            None => return Err(DomainError::UserNotFound.into()),
        };
        if verifier_hex.is_empty() {
            // A user without a password (none can exist today): refuse like a wrong password.
            return Err(DomainError::incorrect_credentials().into());
        }
        let challenge = self
            .blocking(move || srp::server_challenge_random(&verifier_hex, &mut OsRng))
            .await?
            .map_err(|e| AppError::Internal(format!("SRP challenge: {e}")))?;
        let block = SecretBlock {
            pool: caller.pool.pool_id.clone(),
            client: caller.client.client_id.clone(),
            user: user_id.clone(),
            login: username.to_string(),
            iat_ms: now_ms(),
            pw_at_ms,
            b: STANDARD.encode(&challenge.b_secret[..]),
            a,
            bb: challenge.srp_b_hex.clone(),
        };
        let secret_block = self.seal_block(&block)?;
        let parameters = BTreeMap::from([
            ("SALT".to_string(), salt_hex),
            ("SRP_B".to_string(), challenge.srp_b_hex.clone()),
            ("SECRET_BLOCK".to_string(), secret_block),
            ("USERNAME".to_string(), user_id.clone()),
            ("USER_ID_FOR_SRP".to_string(), user_id),
        ]);
        Ok(InitiateOutcome::Challenge { name: "PASSWORD_VERIFIER".into(), parameters, session: None })
    }

    /// RespondToAuthChallenge(PASSWORD_VERIFIER): checks the client's claim and signs in.
    /// `responses` are the ChallengeResponses (USERNAME, PASSWORD_CLAIM_SECRET_BLOCK, TIMESTAMP,
    /// PASSWORD_CLAIM_SIGNATURE, SECRET_HASH when the client has a secret).
    pub async fn respond_password_verifier(&self, client_id: &str, responses: &BTreeMap<String, String>) -> Result<InitiateOutcome, AppError> {
        let username = param(responses, "USERNAME").ok_or_else(|| missing("USERNAME"))?;
        let block_b64 = param(responses, "PASSWORD_CLAIM_SECRET_BLOCK").ok_or_else(|| missing("PASSWORD_CLAIM_SECRET_BLOCK"))?;
        let timestamp = param(responses, "TIMESTAMP").ok_or_else(|| missing("TIMESTAMP"))?;
        let signature = param(responses, "PASSWORD_CLAIM_SIGNATURE").ok_or_else(|| missing("PASSWORD_CLAIM_SIGNATURE"))?;
        let now = now_ms();
        let (block_bytes, block) = self.open_block(block_b64)?;
        if block.client != client_id {
            return Err(invalid_block());
        }
        if now > block.iat_ms + SECRET_BLOCK_TTL_MS || block.iat_ms > now + TIMESTAMP_SKEW_SECS * 1000 {
            return Err(AppError::not_authorized("Invalid session for the user, session is expired."));
        }
        let Some(ts) = srp::parse_timestamp(timestamp) else {
            return Err(AppError::invalid("TIMESTAMP must look like 'Thu Nov 26 10:56:39 UTC 2026'."));
        };
        if (ts - now / 1000).abs() > TIMESTAMP_SKEW_SECS {
            return Err(AppError::not_authorized("TIMESTAMP is more than 5 minutes off the server clock."));
        }

        self.catch_up(&AggregateKey::client(client_id)).await?;
        let client = self.client(client_id).await.map_err(|_| invalid_block())?;
        self.check_secret_hash(&client, &[username, &block.login], param(responses, "SECRET_HASH"))?;
        require_flow(&client, "ALLOW_USER_SRP_AUTH")?;
        let pool = self.pool(&client.pool_id).await?;
        if block.pool != pool.pool_id {
            return Err(invalid_block());
        }
        let prevent = prevents_existence_errors(&pool, Some(&client));
        let user = self.srp_user(&pool, &block.user).await?;

        // The claim is checked whatever else is wrong, so every failure costs the same time.
        let current = user.as_ref().filter(|u| u.username == block.user).and_then(|u| u.password.clone());
        let same_password = current.as_ref().is_some_and(|r| r.set_at_ms == block.pw_at_ms && (!r.srp_verifier.is_empty() || !r.srp_verifier_hex.is_empty()));
        let verifier = match (&current, same_password) {
            (Some(r), true) => srp_hex(r).1,
            // Any group element: a decoy computation for an unknown user or a stale block.
            _ => block.bb.clone(),
        };
        let (a, bb, b) = (block.a.clone(), block.bb.clone(), block.b.clone());
        let (pool_name, user_id, ts_text, sig) = (srp::pool_name(&pool.pool_id).to_string(), block.user.clone(), timestamp.to_string(), signature.to_string());
        let b = Secret(b);
        let claim_ok = self
            .blocking(move || -> Result<bool, idp_crypto::CryptoError> {
                let b_bytes = match STANDARD.decode(&b.0) {
                    Ok(v) => Wiped(v),
                    Err(_) => return Ok(false),
                };
                let key = srp::server_session_key(&a, &bb, &b_bytes, &verifier)?;
                let expected = srp::claim_signature(&key, &pool_name, &user_id, &block_bytes, &ts_text);
                Ok(srp::verify_claim(&expected, &sig))
            })
            .await?
            .map_err(|e| match e {
                idp_crypto::CryptoError::IllegalPublicValue(what) => AppError::invalid(format!("{what} is not a valid SRP value.")),
                other => AppError::Internal(format!("SRP session key: {other}")),
            })?;
        let proof_ok = claim_ok && same_password && username == block.user;
        if user.is_none() {
            return Err(DomainError::UserNotFound.hide_existence(prevent).into());
        }
        // The same rules (and lockout) and trigger as a password sign-in.
        let user = self.first_factor(&pool, &client, &block.user, move || UserCommand::AuthenticateSrp { proof_ok }).await?;
        self.next_step(&pool, &client, user, "USER_SRP_AUTH").await
    }

    async fn srp_user(&self, pool: &PoolState, username: &str) -> Result<Option<UserState>, AppError> {
        idp_domain::validate::username(username)?;
        let key = App::user_key(pool, username);
        self.catch_up(&key).await?;
        Ok(match self.load(&key).await? {
            Some(AggregateState::User(u)) => Some(u),
            _ => None,
        })
    }

    /// A salt and verifier for an unknown user: the salt is stable per (pool, username) within
    /// this process, so repeated challenges do not reveal that the user does not exist.
    async fn decoy_verifier(&self, pool: &PoolState, username: &str) -> Result<(String, String), AppError> {
        let mac = idp_crypto::secret_hash::secret_hash(&self.dummy_phc, &App::user_key(pool, username).encode(), "srp-decoy-salt");
        let digest = STANDARD.decode(mac).map_err(|e| AppError::Internal(format!("decoy salt: {e}")))?;
        let salt: Vec<u8> = digest.into_iter().take(srp::SALT_BYTES).collect();
        let mut pw = [0u8; 16];
        OsRng.fill_bytes(&mut pw);
        let name = srp::pool_name(&pool.pool_id).to_string();
        let (user, password) = (username.to_string(), STANDARD.encode(pw));
        let v = self.blocking(move || srp::make_verifier(&name, &user, &password, &salt)).await?;
        Ok((v.salt_hex, v.verifier_hex))
    }

    fn seal_block(&self, block: &SecretBlock) -> Result<String, AppError> {
        let json = serde_json::to_string(block).map_err(|e| AppError::Internal(format!("SRP block: {e}")))?;
        let mut plain = format!("{BLOCK_TAG}{json}");
        let mut json = json;
        wipe(&mut json);
        let sealed = self.secrets.codes.seal(&plain, &mut OsRng).map_err(|e| AppError::Internal(format!("sealing the SRP block: {e}")));
        wipe(&mut plain);
        Ok(STANDARD.encode(sealed?))
    }

    /// Decodes and opens a SECRET_BLOCK; returns its raw bytes (signed by the client) too.
    fn open_block(&self, b64: &str) -> Result<(Vec<u8>, SecretBlock), AppError> {
        let bytes = STANDARD.decode(b64.trim()).map_err(|_| invalid_block())?;
        let plain = self.secrets.codes.open(&bytes).map_err(|_| invalid_block())?;
        let json = plain.strip_prefix(BLOCK_TAG).ok_or_else(invalid_block)?;
        let block: SecretBlock = serde_json::from_str(json).map_err(|_| invalid_block())?;
        Ok((bytes, block))
    }
}

/// A secret string wiped on drop.
struct Secret(String);

impl Drop for Secret {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// A byte vector wiped on drop.
struct Wiped(Vec<u8>);

impl std::ops::Deref for Wiped {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Wiped {
    fn drop(&mut self) {
        self.0.iter_mut().for_each(|b| *b = 0);
        std::hint::black_box(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srp_a_normalisation() {
        assert_eq!(normalise_srp_a("00aBc").ok().as_deref(), Some("abc"));
        assert_eq!(normalise_srp_a("abc").ok().as_deref(), Some("abc"));
        assert!(normalise_srp_a("000").is_err());
        assert!(normalise_srp_a("").is_err());
        assert!(normalise_srp_a("xyz").is_err());
        assert!(normalise_srp_a(&"f".repeat(769)).is_err());
        assert!(normalise_srp_a(&format!("00{}", "f".repeat(768))).is_ok());
    }

    #[test]
    fn records_in_bytes_and_in_hex_give_the_same_exchange() {
        let v = srp::make_verifier("AbC", "alice", "Passw0rd!", &[0, 7, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
        let now = PasswordRecord { srp_salt: v.salt.clone().into(), srp_verifier: v.verifier.clone().into(), set_at_ms: 1, ..Default::default() };
        let before = PasswordRecord { srp_salt_hex: v.salt_hex.clone(), srp_verifier_hex: v.verifier_hex.clone(), set_at_ms: 1, ..Default::default() };
        assert_eq!(srp_hex(&now), (v.salt_hex.clone(), v.verifier_hex.clone()));
        assert_eq!(srp_hex(&before), srp_hex(&now));
        assert_eq!(v.verifier.len(), 384);
        assert!(v.salt_hex.starts_with("0007fe"), "leading zero bytes of the salt are kept");
        assert_eq!(srp_hex(&PasswordRecord::default()), (String::new(), String::new()));
    }
}
