//! The decision context: the only way clock, randomness and hashing reach `decide`.
//!
//! The front implements it with the real clock, OS randomness, Argon2id/SRP and the deployment's
//! code keys; tests implement it deterministically. Everything `decide` draws from it ends up
//! recorded in the events it returns, so replay never calls it.

use crate::pb::PasswordRecord;

/// A freshly issued one-time code, as the domain sees it: never the plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCode {
    pub salt: Vec<u8>,
    pub hash: Vec<u8>,
    /// The code encrypted for the message sender.
    pub sealed: Vec<u8>,
}

pub trait Ctx {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
    /// A random UUID (v4), as text.
    fn new_uuid(&mut self) -> String;
    /// Draws a new 6-digit code; returns its salted hash and its sealed form.
    fn issue_code(&mut self) -> NewCode;
    /// Constant-time check of a presented code against a stored salt and hash.
    fn code_matches(&self, salt: &[u8], hash: &[u8], presented: &str) -> bool;
    /// Hashes a password (Argon2id) and derives its SRP salt and verifier.
    fn hash_password(&mut self, pool_name: &str, user_id_for_srp: &str, password: &str) -> PasswordRecord;
    /// Checks a password. `None` means "no such user": implementations still spend the time of
    /// a real verification, so timing does not reveal whether a user exists.
    fn password_matches(&self, record: Option<&PasswordRecord>, password: &str) -> bool;
    /// Draws a new TOTP secret and returns it sealed (the domain never sees it in clear).
    fn new_totp_secret(&mut self) -> Vec<u8>;
    /// The RFC 6238 time step (30 s) of `code` under the sealed secret, if the code is valid
    /// now (the current step or one step either side); `None` if not.
    fn totp_step(&self, sealed_secret: &[u8], code: &str) -> Option<u64>;
}
