//! Cognito's variant of SRP-6a (`USER_SRP_AUTH`), server side, plus the client in [`client`].
//!
//! Group: RFC 5054 3072-bit prime, g = 2, H = SHA-256. Cognito-specific details
//! (see the wire notes): `padHex` is Java `BigInteger.toByteArray` style, k = H(padHex(N) ||
//! padHex(g)), x = H(padHex(salt) || SHA-256(poolName || userIdForSrp || ":" || password)),
//! u = H(padHex(A) || padHex(B)), S = (A·v^u)^b mod N, and the session key is an HKDF-like
//! derivation keyed by padHex(u). The client proves the key with
//! HMAC(K, poolName || userIdForSrp || secretBlock || timestamp).
//!
//! Server flow: at password set, [`make_verifier`] (store salt and v); at `InitiateAuth`,
//! [`server_challenge_random`] (keep `b_secret` in the session state, send `SRP_B`); at
//! `RespondToAuthChallenge`, [`server_session_key`], [`claim_signature`], [`verify_claim`] and
//! [`timestamp_within`].
//!
//! All values handed to the server by a client are public; secrets (`b`, `v`, `x`, `S`, `K`)
//! go through constant-time arithmetic and are zeroized after use where the types allow it.

pub mod client;
pub(crate) mod group;
mod timestamp;

use crypto_bigint::Zero;
use num_bigint::BigUint;
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::ct::ct_eq;
use crate::mac::hmac_sha256;
use crate::CryptoError;
use group::{Fe, BYTES};

pub use timestamp::{civil_from_days, days_from_civil, format_timestamp, parse_timestamp, timestamp_within};

/// The info string of Cognito's key derivation.
pub(crate) const DERIVED_KEY_INFO: &[u8] = b"Caldera Derived Key\x01";

/// Length in bytes of fresh secret exponents and salts produced by this module.
pub const SECRET_EXPONENT_BYTES: usize = 32;
/// Length in bytes of fresh salts produced by [`make_verifier_random`].
pub const SALT_BYTES: usize = 16;

/// Cognito's `padHex`: lowercase hex; a `0` is prefixed when the length is odd, `00` when the
/// first nibble is 8 or more (the sign byte of Java's `BigInteger.toByteArray`). Zero is "00".
pub fn pad_hex(n: &BigUint) -> String {
    let s = n.to_str_radix(16);
    if s.len() % 2 == 1 {
        format!("0{s}")
    } else if s.as_bytes().first().is_some_and(|c| matches!(c, b'8'..=b'9' | b'a'..=b'f')) {
        format!("00{s}")
    } else {
        s
    }
}

/// The pool name used in SRP: the part of the pool id after the `_` (as the Cognito clients
/// compute it: `"us-east-1_AbC"` gives `"AbC"`). An id without `_` is returned unchanged.
pub fn pool_name(pool_id: &str) -> &str {
    pool_id.split('_').nth(1).unwrap_or(pool_id)
}

/// What the server stores for a user's password: the salt and the verifier v = g^x mod N.
/// v is password-equivalent for offline guessing: keep it as confidential as a password hash
/// (no `PartialEq`: compare verifiers, if ever, with [`crate::ct::ct_eq`]).
#[derive(Clone)]
pub struct SrpVerifier {
    /// Salt as lowercase hex (sent to the client as `SALT`).
    pub salt_hex: String,
    /// v as minimal lowercase hex.
    pub verifier_hex: String,
    /// The salt's bytes (what `salt_hex` spells).
    pub salt: Vec<u8>,
    /// v, big-endian, the group's size ([`verifier_hex_from_be`] gives `verifier_hex` back).
    pub verifier: Vec<u8>,
}

impl std::fmt::Debug for SrpVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrpVerifier").field("salt_hex", &self.salt_hex).field("verifier_hex", &"<redacted>").field("verifier", &"<redacted>").finish()
    }
}

/// x = H(padHex(salt) || SHA-256(poolName || userIdForSrp || ":" || password)).
fn compute_x(pool_name: &str, user_id_for_srp: &str, password: &str, salt: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut inner = Sha256::new();
    inner.update(pool_name.as_bytes());
    inner.update(user_id_for_srp.as_bytes());
    inner.update(b":");
    inner.update(password.as_bytes());
    let inner = Zeroizing::new(<[u8; 32]>::from(inner.finalize()));
    let mut outer = Sha256::new();
    outer.update(group::java_bytes(salt));
    outer.update(&inner[..]);
    Zeroizing::new(outer.finalize().into())
}

/// Computes the salt and verifier stored for a password. `user_id_for_srp` is the value the
/// server will send as `USER_ID_FOR_SRP` (the username, or the sub when sign-in is by alias).
pub fn make_verifier(pool_name: &str, user_id_for_srp: &str, password: &str, salt: &[u8]) -> SrpVerifier {
    let x = compute_x(pool_name, user_id_for_srp, password, salt);
    let v = group::pow_g_32(&x);
    let verifier = group::fe_to_be(&v).to_vec();
    SrpVerifier { salt_hex: hex::encode(salt), verifier_hex: group::minimal_hex(&verifier), salt: salt.to_vec(), verifier }
}

/// A verifier stored as bytes ([`SrpVerifier::verifier`]) as the hex the exchange works with
/// ([`SrpVerifier::verifier_hex`]).
pub fn verifier_hex_from_be(verifier: &[u8]) -> String {
    group::minimal_hex(verifier)
}

/// [`make_verifier`] with a fresh random 16-byte salt.
pub fn make_verifier_random<R: RngCore + CryptoRng>(pool_name: &str, user_id_for_srp: &str, password: &str, rng: &mut R) -> SrpVerifier {
    let mut salt = [0u8; SALT_BYTES];
    rng.fill_bytes(&mut salt);
    make_verifier(pool_name, user_id_for_srp, password, &salt)
}

/// The server's half of the exchange, to keep in the session state until the client answers.
pub struct ServerChallenge {
    /// The secret exponent b (big-endian). Zeroized on drop; never send or log it.
    pub b_secret: Zeroizing<Vec<u8>>,
    /// B = (k·v + g^b) mod N as minimal lowercase hex (sent as `SRP_B`).
    pub srp_b_hex: String,
}

impl std::fmt::Debug for ServerChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerChallenge").field("b_secret", &"<redacted>").field("srp_b_hex", &self.srp_b_hex).finish()
    }
}

fn parse_verifier(verifier_hex: &str) -> Result<Fe, CryptoError> {
    let v = Zeroizing::new(group::uint_from_hex(verifier_hex, "verifier")?);
    let fe = Fe::new(&v);
    if bool::from(fe.retrieve().is_zero()) {
        return Err(CryptoError::InvalidSecret("verifier is zero mod N"));
    }
    Ok(fe)
}

fn check_secret_exponent(b_secret: &[u8]) -> Result<(), CryptoError> {
    if b_secret.is_empty() || b_secret.len() > BYTES {
        return Err(CryptoError::InvalidSecret("secret exponent must be 1..=384 bytes"));
    }
    if b_secret.iter().fold(0u8, |acc, &x| acc | x) == 0 {
        return Err(CryptoError::InvalidSecret("secret exponent is zero"));
    }
    Ok(())
}

/// Computes B = (k·v + g^b) mod N for a caller-supplied secret b (big-endian bytes; use
/// [`server_challenge_random`] in production, which draws 32 random bytes).
pub fn server_challenge(verifier_hex: &str, b_secret: &[u8]) -> Result<ServerChallenge, CryptoError> {
    check_secret_exponent(b_secret)?;
    let v = parse_verifier(verifier_hex)?;
    let gb = group::pow_g_secret(b_secret, "b")?;
    let big_b = group::k() * v + gb;
    let b_bytes = group::fe_to_be(&big_b);
    if b_bytes.iter().all(|&x| x == 0) {
        return Err(CryptoError::IllegalPublicValue("SRP_B"));
    }
    Ok(ServerChallenge { b_secret: Zeroizing::new(b_secret.to_vec()), srp_b_hex: group::minimal_hex(&b_bytes[..]) })
}

/// [`server_challenge`] with a fresh random 256-bit b.
pub fn server_challenge_random<R: RngCore + CryptoRng>(verifier_hex: &str, rng: &mut R) -> Result<ServerChallenge, CryptoError> {
    let mut b = Zeroizing::new([0u8; SECRET_EXPONENT_BYTES]);
    loop {
        rng.fill_bytes(&mut b[..]);
        if b.iter().any(|&x| x != 0) {
            break;
        }
    }
    server_challenge(verifier_hex, &b[..])
}

/// u = H(padHex(A) || padHex(B)) on big-endian byte strings.
pub(crate) fn compute_u(a_be: &[u8], b_be: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(group::java_bytes(a_be));
    h.update(group::java_bytes(b_be));
    h.finalize().into()
}

/// K = first 16 bytes of HMAC(HMAC(padHex(u), padHex(S)), "Caldera Derived Key" || 0x01).
/// `u_be` and `s_be` are big-endian (any leading zeros are stripped as padHex does).
pub(crate) fn derive_key(u_be: &[u8], s_be: &[u8]) -> Zeroizing<[u8; 16]> {
    let s_java = Zeroizing::new(group::java_bytes(s_be));
    let prk = Zeroizing::new(hmac_sha256(&group::java_bytes(u_be), &[&s_java[..]]));
    let okm = Zeroizing::new(hmac_sha256(&prk[..], &[DERIVED_KEY_INFO]));
    let mut key = Zeroizing::new([0u8; 16]);
    key.copy_from_slice(&okm[..16]);
    key
}

/// The server's session key for a client's `SRP_A`.
///
/// `a_hex` is the client's `SRP_A` (odd length tolerated), `b_hex` the `SRP_B` that was sent,
/// `b_secret` and `verifier_hex` as used for [`server_challenge`]. Fails with
/// [`CryptoError::IllegalPublicValue`] when A ≡ 0 (mod N) and [`CryptoError::ZeroScrambler`]
/// when u = 0, the SRP-6a abort conditions.
pub fn server_session_key(a_hex: &str, b_hex: &str, b_secret: &[u8], verifier_hex: &str) -> Result<Zeroizing<[u8; 16]>, CryptoError> {
    check_secret_exponent(b_secret)?;
    let a = group::uint_from_hex(a_hex, "SRP_A")?;
    let a_fe = Fe::new(&a);
    if bool::from(a_fe.retrieve().is_zero()) {
        return Err(CryptoError::IllegalPublicValue("SRP_A"));
    }
    let big_b = group::uint_from_hex(b_hex, "SRP_B")?;
    let u = compute_u(&crypto_bigint::Encoding::to_be_bytes(&a), &crypto_bigint::Encoding::to_be_bytes(&big_b));
    if u.iter().all(|&x| x == 0) {
        return Err(CryptoError::ZeroScrambler);
    }
    let v = parse_verifier(verifier_hex)?;
    let base = a_fe * group::pow_256(&v, &u);
    let s = group::pow_secret(&base, b_secret, "b")?;
    Ok(derive_key(&u, &group::fe_to_be(&s)[..]))
}

/// The expected `PASSWORD_CLAIM_SIGNATURE` (raw bytes):
/// HMAC-SHA256(K, poolName || userIdForSrp || secretBlock || timestamp).
/// `secret_block` is the decoded `SECRET_BLOCK`.
pub fn claim_signature(key: &[u8; 16], pool_name: &str, user_id_for_srp: &str, secret_block: &[u8], timestamp: &str) -> [u8; 32] {
    hmac_sha256(key, &[pool_name.as_bytes(), user_id_for_srp.as_bytes(), secret_block, timestamp.as_bytes()])
}

/// Checks a client's base64 `PASSWORD_CLAIM_SIGNATURE` against the expected one in constant
/// time. Invalid base64 is a mismatch.
pub fn verify_claim(expected: &[u8; 32], presented_b64: &str) -> bool {
    match crate::mac::b64_decode_lenient(presented_b64.trim()) {
        Some(presented) => ct_eq(expected, &presented),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_hex_java_style() {
        assert_eq!(pad_hex(&BigUint::from(0u32)), "00");
        assert_eq!(pad_hex(&BigUint::from(0xfu32)), "0f");
        assert_eq!(pad_hex(&BigUint::from(0x7fu32)), "7f");
        assert_eq!(pad_hex(&BigUint::from(0x80u32)), "0080");
        assert_eq!(pad_hex(&BigUint::from(0xabcu32)), "0abc");
        assert_eq!(pad_hex(&BigUint::from(0x9abcu32)), "009abc");
    }

    #[test]
    fn pool_name_from_id() {
        assert_eq!(pool_name("us-east-1_TestPool1"), "TestPool1");
        assert_eq!(pool_name("TestPool1"), "TestPool1");
    }

    #[test]
    fn secret_exponent_checks() {
        let v = make_verifier("P", "u", "pw", &[1; 16]);
        assert!(server_challenge(&v.verifier_hex, &[]).is_err());
        assert!(server_challenge(&v.verifier_hex, &[0; 32]).is_err());
        assert!(server_challenge(&v.verifier_hex, &[1; 385]).is_err());
        assert!(server_challenge("0", &[1; 32]).is_err());
        assert!(server_challenge("zz", &[1; 32]).is_err());
    }

    #[test]
    fn debug_redacts_secrets() {
        let v = make_verifier("P", "u", "pw", &[1; 16]);
        let c = server_challenge(&v.verifier_hex, &[7; 32]).ok();
        let shown = format!("{v:?} {c:?}");
        assert!(!shown.contains(&v.verifier_hex));
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn verify_claim_rejects_mismatch_and_garbage() {
        let sig = claim_signature(&[9; 16], "P", "u", b"blk", "Thu Nov 26 10:56:39 UTC 2026");
        let good = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, sig);
        assert!(verify_claim(&sig, &good));
        let mut other = sig;
        other[31] ^= 1;
        assert!(!verify_claim(&other, &good));
        assert!(!verify_claim(&sig, "not base64!"));
        assert!(!verify_claim(&sig, ""));
    }
}
