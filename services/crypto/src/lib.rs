//! Cryptography for the identity service: everything secret-handling lives here, behind small
//! typed APIs, so the rest of the service never touches raw primitives.
//!
//! | module | what lives there |
//! | --- | --- |
//! | [`password`] | Argon2id password hashing (PHC strings), the primary password verifier |
//! | [`srp`] | Cognito's SRP-6a variant for `USER_SRP_AUTH`: verifiers, server challenge, session key, claim signature, timestamps; [`srp::client`] is the client side for tests, benches and the load tool |
//! | [`secret_hash`] | the app-client `SECRET_HASH` (HMAC-SHA256, base64) |
//! | [`codes`] | 6-digit one-time codes stored only as peppered hash + sealed copy, and their key file |
//! | [`totp`] | RFC 6238 TOTP (software-token MFA): secrets and code checks |
//! | [`ids`] | random identifiers in Cognito's formats (sub, pool id, client id/secret, tokens) |
//! | [`ct`] | constant-time byte comparison |
//! | [`CryptoError`] | the one error type |
//!
//! Conventions: every random value comes from a caller-supplied `RngCore + CryptoRng`; every
//! comparison of secret-derived values is constant time; secret buffers are wrapped in
//! `zeroize::Zeroizing` (or zeroized on drop) where the types allow it; `Debug` output of types
//! holding secrets is redacted.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod codes;
pub mod ct;
mod error;
pub mod ids;
mod mac;
pub mod password;
pub mod secret_hash;
pub mod srp;
pub mod totp;

pub use error::CryptoError;
