//! idp-tokens: everything about the tokens the service hands out.
//!
//! What lives where:
//! - [`keys`]: [`KeyRing`], the RSA-2048 RS256 signing keys persisted in a directory shared by
//!   every process (PKCS#8 PEM files + `keys.json` manifest, mode 0600), rotation with a grace
//!   period, pruning, and the JWKS document.
//! - [`maintenance`]: [`KeyPolicy`], the periodic reload / automatic rotation / pruning every
//!   process runs on a shared key directory, and how long retired keys stay published.
//! - [`jwt`]: Cognito-shaped [`IdClaims`] / [`AccessClaims`] and [`TokenIssuer`], which signs
//!   them with the active key and verifies them (alg pinned to RS256, kid lookup, iss,
//!   token_use, exp with optional leeway).
//! - [`refresh`]: opaque refresh tokens, [`RefreshClaims`] sealed with XChaCha20-Poly1305 under
//!   a [`RefreshKey`] (`refresh.key`); revocation is checked by the caller.
//! - [`validity`]: Cognito's token lifetime defaults and bounds ([`Validity`]).
//! - [`error`]: [`TokenError`], the single error type.
//!
//! Clocks are always passed in (`now_unix`), so callers replaying events get deterministic
//! results. No key material is ever logged or printed by `Debug`.

pub mod error;
mod fsutil;
pub mod jwt;
pub mod keys;
pub mod maintenance;
pub mod refresh;
pub mod validity;

pub use error::TokenError;
pub use jwt::{new_jti, AccessClaims, IdClaims, TokenIssuer, ADMIN_SCOPE};
pub use keys::{KeyInfo, KeyRing};
pub use maintenance::{KeyPolicy, Tick};
pub use refresh::{RefreshClaims, RefreshKey};
pub use validity::{TokenKind, Validity, ValidityUnit};
