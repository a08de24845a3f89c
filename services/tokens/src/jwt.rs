//! Cognito-shaped ID and access tokens: claim types, issuing (RS256 with the key ring's active
//! key, `kid` in the header) and verification (signature with the kid's key, `alg` pinned to
//! RS256, `iss`, `token_use`, `exp` against a caller-supplied clock with a configurable leeway).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::TokenError;
use crate::keys::KeyRing;

/// `token_use` of ID tokens.
pub const TOKEN_USE_ID: &str = "id";
/// `token_use` of access tokens.
pub const TOKEN_USE_ACCESS: &str = "access";
/// The `scope` Cognito puts in access tokens from user-pool APIs.
pub const ADMIN_SCOPE: &str = "aws.cognito.signin.user.admin";
/// Tokens longer than this are rejected before any parsing.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Claim names of the ID token that the extra `attributes` map may not override.
const RESERVED_ID_CLAIMS: &[&str] = &[
    "sub",
    "aud",
    "iss",
    "token_use",
    "cognito:username",
    "cognito:groups",
    "auth_time",
    "iat",
    "exp",
    "nbf",
    "jti",
    "origin_jti",
    "event_id",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
];

/// Claims of a Cognito ID token. Build with `IdClaims { .., ..Default::default() }` (the
/// default sets `token_use` to "id"); set `iss` with [`TokenIssuer::issuer_for`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdClaims {
    /// The user's sub (UUID).
    pub sub: String,
    /// The app client id.
    pub aud: String,
    /// `<issuer base>/<poolId>`.
    pub iss: String,
    /// Always "id".
    pub token_use: String,
    /// The username.
    #[serde(rename = "cognito:username")]
    pub username: String,
    /// Group names; omitted from the token when empty.
    #[serde(rename = "cognito:groups", default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Unix seconds of the authentication that started this session.
    pub auth_time: i64,
    /// Issued-at, unix seconds.
    pub iat: i64,
    /// Expiry, unix seconds.
    pub exp: i64,
    /// Unique id of this token.
    pub jti: String,
    /// Id shared by every token of the session (what RevokeToken revokes).
    pub origin_jti: String,
    /// Id of the authentication event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// `email` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `email_verified`, a JSON boolean as in Cognito.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// `phone_number` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// `phone_number_verified`, a JSON boolean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_verified: Option<bool>,
    /// Every other standard or custom attribute as a string claim (`name`, `custom:foo`, ...).
    #[serde(flatten)]
    pub attributes: BTreeMap<String, String>,
}

impl Default for IdClaims {
    fn default() -> Self {
        IdClaims {
            sub: String::new(),
            aud: String::new(),
            iss: String::new(),
            token_use: TOKEN_USE_ID.to_owned(),
            username: String::new(),
            groups: Vec::new(),
            auth_time: 0,
            iat: 0,
            exp: 0,
            jti: String::new(),
            origin_jti: String::new(),
            event_id: None,
            email: None,
            email_verified: None,
            phone_number: None,
            phone_number_verified: None,
            attributes: BTreeMap::new(),
        }
    }
}

/// Claims of a Cognito access token. The default sets `token_use` "access" and the admin scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user's sub (UUID).
    pub sub: String,
    /// `<issuer base>/<poolId>`.
    pub iss: String,
    /// The app client id (access tokens carry no `aud`).
    pub client_id: String,
    /// Always "access".
    pub token_use: String,
    /// Space-separated scopes, normally [`ADMIN_SCOPE`].
    pub scope: String,
    /// The username.
    pub username: String,
    /// Group names; omitted from the token when empty.
    #[serde(rename = "cognito:groups", default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Unix seconds of the authentication that started this session.
    pub auth_time: i64,
    /// Issued-at, unix seconds.
    pub iat: i64,
    /// Expiry, unix seconds.
    pub exp: i64,
    /// Unique id of this token.
    pub jti: String,
    /// Id shared by every token of the session.
    pub origin_jti: String,
    /// Id of the authentication event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

impl Default for AccessClaims {
    fn default() -> Self {
        AccessClaims {
            sub: String::new(),
            iss: String::new(),
            client_id: String::new(),
            token_use: TOKEN_USE_ACCESS.to_owned(),
            scope: ADMIN_SCOPE.to_owned(),
            username: String::new(),
            groups: Vec::new(),
            auth_time: 0,
            iat: 0,
            exp: 0,
            jti: String::new(),
            origin_jti: String::new(),
            event_id: None,
        }
    }
}

/// A fresh random token id (UUID v4), for `jti` / `origin_jti` / `event_id`.
pub fn new_jti() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Issues and verifies tokens with a [`KeyRing`]. Shareable between threads; the ring can be
/// swapped (after a rotation or a reload) without stopping issuance.
pub struct TokenIssuer {
    keys: RwLock<Arc<KeyRing>>,
    /// Serialises `update_keyring` so concurrent updates do not overwrite each other.
    update: Mutex<()>,
    /// When a verification last reloaded the ring for an unknown kid (rate limit).
    miss_reload: Mutex<Option<std::time::Instant>>,
    issuer_base: String,
    leeway_secs: i64,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("issuer_base", &self.issuer_base)
            .field("leeway_secs", &self.leeway_secs)
            .field("active_kid", &self.keyring().active_kid())
            .finish()
    }
}

impl TokenIssuer {
    /// `issuer_base_url` without the pool id (a trailing `/` is ignored): tokens get
    /// `iss = <issuer_base_url>/<poolId>`. Leeway on `exp` defaults to 0 s.
    pub fn new(keyring: KeyRing, issuer_base_url: impl Into<String>) -> TokenIssuer {
        let mut base: String = issuer_base_url.into();
        while base.ends_with('/') {
            base.pop();
        }
        TokenIssuer { keys: RwLock::new(Arc::new(keyring)), update: Mutex::new(()), miss_reload: Mutex::new(None), issuer_base: base, leeway_secs: 0 }
    }

    /// Accept tokens up to `secs` seconds after their `exp` (clock skew between processes).
    pub fn with_leeway(mut self, secs: u32) -> TokenIssuer {
        self.leeway_secs = i64::from(secs);
        self
    }

    /// `<issuer base>/<pool_id>`.
    pub fn issuer_for(&self, pool_id: &str) -> String {
        format!("{}/{}", self.issuer_base, pool_id)
    }

    /// The issuer base URL (without pool id).
    pub fn issuer_base(&self) -> &str {
        &self.issuer_base
    }

    /// The current key ring.
    pub fn keyring(&self) -> Arc<KeyRing> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the key ring.
    pub fn replace_keyring(&self, keyring: KeyRing) {
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keyring);
    }

    /// Applies `f` (e.g. `|k| k.rotate(now, max)`, `|k| k.prune(now)`, `KeyRing::reload`) to a
    /// copy of the ring and installs the copy if `f` succeeds. Issuing and verifying go on
    /// with the old ring meanwhile; concurrent updates run one after the other.
    ///
    /// Another process's rotation shows up here only after a reload: call
    /// `update_keyring(KeyRing::reload)` periodically, or when verification reports
    /// [`TokenError::UnknownKey`].
    pub fn update_keyring<T>(&self, f: impl FnOnce(&mut KeyRing) -> Result<T, TokenError>) -> Result<T, TokenError> {
        let _serial = self.update.lock().unwrap_or_else(|p| p.into_inner());
        let mut ring = (*self.keyring()).clone();
        let out = f(&mut ring)?;
        self.replace_keyring(ring);
        Ok(out)
    }

    /// Reloads the ring from its directory, at most once per `min_interval`: for a token whose
    /// `kid` is unknown here, signed by another process that already uses a newer key. Returns
    /// whether a reload happened (and succeeded), i.e. whether verifying again can help.
    pub fn reload_for_unknown_kid(&self, min_interval: std::time::Duration) -> bool {
        {
            let mut last = self.miss_reload.lock().unwrap_or_else(|p| p.into_inner());
            let now = std::time::Instant::now();
            if last.is_some_and(|t| now.duration_since(t) < min_interval) {
                return false;
            }
            *last = Some(now);
        }
        self.update_keyring(KeyRing::reload).is_ok()
    }

    /// The JWKS of the current ring.
    pub fn jwks(&self) -> serde_json::Value {
        self.keyring().jwks()
    }

    /// Signs an ID token. Checks `token_use` is "id", `iss` is `<base>/<pool>`, `exp > iat`,
    /// and that `attributes` does not shadow a named claim.
    pub fn issue_id(&self, claims: &IdClaims) -> Result<String, TokenError> {
        self.check_common(&claims.iss, &claims.token_use, TOKEN_USE_ID, claims.iat, claims.exp)?;
        if let Some(name) = claims.attributes.keys().find(|k| RESERVED_ID_CLAIMS.contains(&k.as_str())) {
            return Err(TokenError::InvalidClaims(format!("attribute {name} shadows a reserved claim")));
        }
        self.sign(claims)
    }

    /// Signs an access token. Checks `token_use` is "access", `iss` and `exp > iat`.
    pub fn issue_access(&self, claims: &AccessClaims) -> Result<String, TokenError> {
        self.check_common(&claims.iss, &claims.token_use, TOKEN_USE_ACCESS, claims.iat, claims.exp)?;
        self.sign(claims)
    }

    /// Verifies an access token for `expected_pool_id` at `now_unix`.
    pub fn verify_access(&self, token: &str, expected_pool_id: &str, now_unix: i64) -> Result<AccessClaims, TokenError> {
        self.verify(token, expected_pool_id, TOKEN_USE_ACCESS, now_unix)
    }

    /// Verifies an ID token for `expected_pool_id` at `now_unix`. The audience is not checked
    /// here: compare `aud` with the app client id where it matters.
    pub fn verify_id(&self, token: &str, expected_pool_id: &str, now_unix: i64) -> Result<IdClaims, TokenError> {
        self.verify(token, expected_pool_id, TOKEN_USE_ID, now_unix)
    }

    fn check_common(&self, iss: &str, token_use: &str, expected_use: &'static str, iat: i64, exp: i64) -> Result<(), TokenError> {
        if token_use != expected_use {
            return Err(TokenError::InvalidClaims(format!("token_use must be {expected_use}")));
        }
        let pool = iss.strip_prefix(self.issuer_base.as_str()).and_then(|rest| rest.strip_prefix('/')).unwrap_or("");
        if pool.is_empty() || pool.contains('/') {
            return Err(TokenError::InvalidClaims("iss must be <issuer base>/<poolId>".into()));
        }
        if exp <= iat {
            return Err(TokenError::InvalidClaims("exp must be after iat".into()));
        }
        Ok(())
    }

    fn sign<T: Serialize>(&self, claims: &T) -> Result<String, TokenError> {
        let ring = self.keyring();
        let (kid, key) = ring.signing_key()?;
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        let header = serde_json::to_vec(&header).map_err(|e| TokenError::Crypto(format!("encoding header: {e}")))?;
        let claims = serde_json::to_vec(claims).map_err(|e| TokenError::Crypto(format!("encoding claims: {e}")))?;
        let mut token = String::with_capacity((header.len() + claims.len()) * 4 / 3 + key.public_modulus_len() * 4 / 3 + 8);
        URL_SAFE_NO_PAD.encode_string(&header, &mut token);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&claims, &mut token);
        let mut signature = vec![0u8; key.public_modulus_len()];
        // RSASSA-PKCS1-v1_5 is deterministic; the rng only feeds ring's blinding.
        key.sign(&aws_lc_rs::signature::RSA_PKCS1_SHA256, &aws_lc_rs::rand::SystemRandom::new(), token.as_bytes(), &mut signature)
            .map_err(|_| TokenError::Crypto("signing token failed".into()))?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(token)
    }

    fn verify<T: DeserializeOwned>(&self, token: &str, expected_pool_id: &str, expected_use: &'static str, now_unix: i64) -> Result<T, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed("token too long".into()));
        }
        let kid = check_header(token)?;
        let ring = self.keyring();
        let key = ring.decoding_key(&kid).ok_or(TokenError::UnknownKey)?;

        // Signature only (alg pinned to RS256); claim checks are ours, against `now_unix`.
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(token, key, &validation).map_err(map_jwt_error)?;
        let claims = data.claims;

        let iss = claims.get("iss").and_then(|v| v.as_str());
        if iss != Some(self.issuer_for(expected_pool_id).as_str()) {
            return Err(TokenError::WrongIssuer);
        }
        if claims.get("token_use").and_then(|v| v.as_str()) != Some(expected_use) {
            return Err(TokenError::WrongTokenUse { expected: expected_use });
        }
        let exp = claims.get("exp").and_then(|v| v.as_i64()).ok_or_else(|| TokenError::Malformed("missing or non-integer exp".into()))?;
        if now_unix >= exp.saturating_add(self.leeway_secs) {
            return Err(TokenError::Expired);
        }
        serde_json::from_value(serde_json::Value::Object(claims)).map_err(|e| TokenError::Malformed(format!("claims: {e}")))
    }
}

/// Checks the JOSE header ourselves before jsonwebtoken sees the token: exactly three parts,
/// `alg` exactly "RS256" (so "none", "HS256" and friends never reach a verifier), no `crit`,
/// and a string `kid`, which is returned.
fn check_header(token: &str) -> Result<String, TokenError> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(TokenError::Malformed("not a three-part JWS".into()));
    };
    let raw = URL_SAFE_NO_PAD.decode(header_b64).map_err(|_| TokenError::Malformed("header is not base64url".into()))?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&raw).map_err(|_| TokenError::Malformed("header is not a JSON object".into()))?;
    if header.get("alg").and_then(|v| v.as_str()) != Some("RS256") {
        return Err(TokenError::UnsupportedAlgorithm);
    }
    if header.contains_key("crit") {
        return Err(TokenError::Malformed("unsupported critical header".into()));
    }
    match header.get("kid").and_then(|v| v.as_str()) {
        Some(kid) => Ok(kid.to_owned()),
        None => Err(TokenError::UnknownKey),
    }
}

fn map_jwt_error(e: jsonwebtoken::errors::Error) -> TokenError {
    match e.kind() {
        ErrorKind::InvalidSignature => TokenError::InvalidSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => TokenError::UnsupportedAlgorithm,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => TokenError::Crypto("verification key rejected".into()),
        _ => TokenError::Malformed(e.to_string()),
    }
}
