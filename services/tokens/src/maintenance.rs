//! Upkeep of a key ring shared by several processes: what each `idp serve` does on a timer, and
//! what `idp keys rotate` does once.
//!
//! Every process runs [`KeyPolicy::tick`] every `reload` interval on the same key directory:
//! 1. reload the directory (a rotation by another process or by `idp keys rotate` shows up:
//!    new tokens are then signed with the newest key and verified with every published key);
//! 2. with automatic rotation on, rotate if the active key is older than `rotate_every`
//!    (decided under the directory lock, so processes on the same schedule rotate once);
//! 3. prune retired keys whose `not_after` has passed.
//!
//! How long a retired key stays published ([`KeyPolicy::retire_after_secs`]): a process keeps
//! signing with the old key until its next reload, and a token it signs lives at most
//! [`MAX_ID_ACCESS_SECS`]. So the key must verify for `reload interval + MAX_ID_ACCESS_SECS`
//! after the rotation; [`KeyPolicy::retire_after_for`] adds that up (plus clock skew), and
//! [`DEFAULT_RETIRE_AFTER_SECS`] covers any reload interval up to [`MAX_RELOAD_SECS`].

use crate::error::TokenError;
use crate::jwt::TokenIssuer;
use crate::validity::MAX_ID_ACCESS_SECS;

/// Longest reload interval a process may use; [`DEFAULT_RETIRE_AFTER_SECS`] relies on it.
pub const MAX_RELOAD_SECS: u64 = 3600;
/// Allowance for clocks of processes sharing a key directory disagreeing.
pub const CLOCK_SKEW_SECS: u64 = 300;
/// How long a key rotated by `idp keys rotate` stays published: the longest token lifetime plus
/// the longest reload interval plus clock skew (25 h 5 min).
pub const DEFAULT_RETIRE_AFTER_SECS: u64 = MAX_ID_ACCESS_SECS as u64 + MAX_RELOAD_SECS + CLOCK_SKEW_SECS;

/// What one process does to its ring on every tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPolicy {
    /// Rotate when the active key is at least this old (`None`: never rotate on a timer).
    pub rotate_every_secs: Option<u64>,
    /// How long a key this process retires stays published (see the module docs).
    pub retire_after_secs: u64,
}

/// What a tick changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tick {
    /// The kid signing new tokens after the tick.
    pub active_kid: String,
    /// The active kid changed (a rotation here or elsewhere).
    pub active_changed: bool,
    /// The kid this process generated (automatic rotation).
    pub rotated: Option<String>,
    /// Kids removed because every token they signed has expired.
    pub pruned: Vec<String>,
}

impl KeyPolicy {
    /// The grace period for a deployment whose processes reload every `reload_secs`.
    pub fn retire_after_for(reload_secs: u64) -> u64 {
        (MAX_ID_ACCESS_SECS as u64).saturating_add(reload_secs).saturating_add(CLOCK_SKEW_SECS)
    }

    /// Reloads, rotates if due, prunes what has expired; installs the result in `issuer` only
    /// if every step succeeded (issuing and verifying go on with the old ring meanwhile).
    /// Blocking: reads files, and a rotation generates an RSA key.
    pub fn tick(&self, issuer: &TokenIssuer, now_unix: i64) -> Result<Tick, TokenError> {
        let before = issuer.keyring().active_kid().to_owned();
        issuer.update_keyring(|ring| {
            ring.reload()?;
            let rotated = match self.rotate_every_secs {
                Some(age) => ring.rotate_if_older(now_unix, age, self.retire_after_secs)?,
                None => None,
            };
            let pruned = if ring.has_expired(now_unix) { ring.prune(now_unix)? } else { Vec::new() };
            let active_kid = ring.active_kid().to_owned();
            Ok(Tick { active_changed: active_kid != before, active_kid, rotated, pruned })
        })
    }
}
