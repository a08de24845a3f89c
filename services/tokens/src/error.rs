//! The crate's single error type. Variants are stable: callers map them onto Cognito exceptions
//! (e.g. `NotAuthorizedException` for every verification failure). Messages never contain key
//! material.

use std::path::PathBuf;

/// Everything that can go wrong while managing keys, issuing or verifying tokens.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token's `exp` (plus the configured leeway) has passed.
    #[error("token expired")]
    Expired,
    /// The signature (JWT) or the authentication tag (refresh token) does not check out.
    #[error("invalid token signature")]
    InvalidSignature,
    /// The token is not structurally what we issue (bad encoding, missing or mistyped claims).
    #[error("malformed token: {0}")]
    Malformed(String),
    /// `iss` is not `<issuer base>/<expected pool id>`.
    #[error("token issuer does not match the user pool")]
    WrongIssuer,
    /// `token_use` is not the expected one (an ID token presented as an access token, ...).
    #[error("wrong token_use: expected {expected}")]
    WrongTokenUse {
        /// The `token_use` the caller asked for ("id" or "access").
        expected: &'static str,
    },
    /// The header's `kid` is missing or names no key in the key ring.
    #[error("unknown signing key")]
    UnknownKey,
    /// The header's `alg` is anything but `RS256` (`none`, `HS256`, ...).
    #[error("unsupported token algorithm")]
    UnsupportedAlgorithm,
    /// Claims handed to the issuer are inconsistent (wrong `iss`/`token_use`, reserved names
    /// among the extra attributes, `exp` not after `iat`, ...).
    #[error("invalid claims: {0}")]
    InvalidClaims(String),
    /// A token validity is outside Cognito's allowed range.
    #[error("{kind} validity of {value_secs}s is out of range: allowed {min_secs}s to {max_secs}s")]
    InvalidValidity {
        /// Which token: "IdToken", "AccessToken" or "RefreshToken".
        kind: &'static str,
        /// The rejected value, in seconds.
        value_secs: i64,
        /// Smallest allowed value, in seconds.
        min_secs: i64,
        /// Largest allowed value, in seconds.
        max_secs: i64,
    },
    /// The key directory's contents are inconsistent (manifest vs. PEM files, kid mismatch,
    /// unreadable key, no key where one must exist).
    #[error("key store {path}: {reason}")]
    KeyStore {
        /// The file or directory concerned.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An I/O error on a key file or directory.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A cryptographic primitive failed (key generation, signing, encryption).
    #[error("crypto failure: {0}")]
    Crypto(String),
}

impl TokenError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TokenError::Io { path: path.into(), source }
    }

    pub(crate) fn store(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        TokenError::KeyStore { path: path.into(), reason: reason.into() }
    }
}
