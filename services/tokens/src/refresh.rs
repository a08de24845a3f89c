//! Opaque refresh tokens: [`RefreshClaims`] as JSON, sealed with XChaCha20-Poly1305 under a
//! 32-byte [`RefreshKey`]. Wire form: `"v1." + base64url(nonce[24] || ciphertext || tag)`.
//! Clients treat the string as opaque (Cognito's are JWEs). Revocation is the caller's job:
//! compare `origin_jti` with revoked sessions and `epoch` with the user's current token epoch
//! (GlobalSignOut bumps it) in the read model.

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::TokenError;
use crate::fsutil;

/// Prefix of the current token format.
pub const REFRESH_PREFIX: &str = "v1.";
/// File name of the key inside the key directory.
pub const REFRESH_KEY_FILE: &str = "refresh.key";
/// Key length in bytes.
pub const REFRESH_KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Associated data binding ciphertexts to this format version.
const AAD: &[u8] = b"idp-tokens/refresh/v1";
/// Refresh tokens longer than this are rejected before decoding.
const MAX_REFRESH_LEN: usize = 8 * 1024;

/// What a refresh token carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshClaims {
    /// User pool id.
    pub pool_id: String,
    /// App client the token was issued to (GetTokensFromRefreshToken must present the same).
    pub client_id: String,
    /// Username at issue time.
    pub username: String,
    /// The user's sub.
    pub sub: String,
    /// Session id shared with the ID/access tokens; RevokeToken revokes by it.
    pub origin_jti: String,
    /// The user's token epoch at issue time; GlobalSignOut increments the user's epoch, so a
    /// token whose `epoch` is below the current one is revoked.
    #[serde(default)]
    pub epoch: u64,
    /// Unix seconds of the original authentication.
    pub auth_time: i64,
    /// Issued-at, unix seconds.
    pub iat: i64,
    /// Expiry, unix seconds.
    pub exp: i64,
}

/// The symmetric key sealing refresh tokens. Every process of a deployment must use the same.
pub struct RefreshKey {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for RefreshKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshKey(<redacted>)")
    }
}

impl RefreshKey {
    /// A key from 32 bytes (e.g. decoded from shared configuration).
    pub fn from_bytes(bytes: &[u8; REFRESH_KEY_LEN]) -> RefreshKey {
        RefreshKey { cipher: XChaCha20Poly1305::new(bytes.into()) }
    }

    /// A key from a slice, which must be exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<RefreshKey, TokenError> {
        let arr: &[u8; REFRESH_KEY_LEN] = bytes.try_into().map_err(|_| TokenError::Crypto("refresh key must be 32 bytes".into()))?;
        Ok(RefreshKey::from_bytes(arr))
    }

    /// Loads `<dir>/refresh.key` (32 raw bytes), creating it (mode 0600) with random bytes if
    /// absent. Concurrent first starts agree on one key (create-once publication).
    pub fn load_or_create(dir: &Path) -> Result<RefreshKey, TokenError> {
        let path = dir.join(REFRESH_KEY_FILE);
        if let Some(key) = Self::read(&path)? {
            return Ok(key);
        }
        fsutil::ensure_private_dir(dir)?;
        let mut fresh = Zeroizing::new([0u8; REFRESH_KEY_LEN]);
        rand::rngs::OsRng.fill_bytes(fresh.as_mut());
        if fsutil::publish_private_new(&path, fresh.as_ref())? {
            return Ok(RefreshKey::from_bytes(&fresh));
        }
        // Another process won the race: use its key.
        Self::read(&path)?.ok_or_else(|| TokenError::store(&path, "refresh key vanished"))
    }

    /// Loads `<dir>/refresh.key`; never creates it.
    pub fn load(dir: &Path) -> Result<RefreshKey, TokenError> {
        let path = dir.join(REFRESH_KEY_FILE);
        Self::read(&path)?.ok_or_else(|| TokenError::store(&path, "no refresh key"))
    }

    fn read(path: &Path) -> Result<Option<RefreshKey>, TokenError> {
        let Some(bytes) = fsutil::read_optional(path)? else {
            return Ok(None);
        };
        let bytes = Zeroizing::new(bytes);
        RefreshKey::from_slice(&bytes).map(Some).map_err(|_| TokenError::store(path, "refresh key file must hold exactly 32 bytes"))
    }

    /// Seals `claims` into an opaque token with a fresh random 192-bit nonce from `rng`.
    pub fn seal<R: RngCore + CryptoRng>(&self, claims: &RefreshClaims, rng: &mut R) -> Result<String, TokenError> {
        let plaintext = Zeroizing::new(serde_json::to_vec(claims).map_err(|e| TokenError::InvalidClaims(format!("refresh claims: {e}")))?);
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: &plaintext, aad: AAD })
            .map_err(|_| TokenError::Crypto("sealing refresh token".into()))?;
        let mut raw = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&ciphertext);
        Ok(format!("{REFRESH_PREFIX}{}", URL_SAFE_NO_PAD.encode(raw)))
    }

    /// Opens a token: [`TokenError::Malformed`] if it is not one of ours structurally,
    /// [`TokenError::InvalidSignature`] if it fails authentication (tampered, or sealed under
    /// another key), [`TokenError::Expired`] once `now_unix >= exp`.
    pub fn open(&self, token: &str, now_unix: i64) -> Result<RefreshClaims, TokenError> {
        if token.len() > MAX_REFRESH_LEN {
            return Err(TokenError::Malformed("refresh token too long".into()));
        }
        let body = token.strip_prefix(REFRESH_PREFIX).ok_or_else(|| TokenError::Malformed("unknown refresh token format".into()))?;
        let raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| TokenError::Malformed("refresh token is not base64url".into()))?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(TokenError::Malformed("refresh token too short".into()));
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let plaintext =
            Zeroizing::new(self.cipher.decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: AAD }).map_err(|_| TokenError::InvalidSignature)?);
        let claims: RefreshClaims = serde_json::from_slice(&plaintext).map_err(|_| TokenError::Malformed("refresh claims".into()))?;
        if now_unix >= claims.exp {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}
