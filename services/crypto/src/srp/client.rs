//! The client side of Cognito's SRP, for tests, benchmarks and the load tool.
//!
//! Written after pycognito / amazon-cognito-identity-js rather than after the server code:
//! num-bigint numbers, hex *strings* concatenated with [`pad_hex`] and then
//! decoded (the server hashes Java-style byte strings), and the client's formula
//! S = (B − k·g^x)^(a + u·x) mod N (the server computes (A·v^u)^b). Only the modular
//! exponentiation primitives (generic and fixed-base g^e) are shared with the server, for
//! speed, so that a load generator needs less CPU than the server it drives; unit tests in
//! `group` check both against num-bigint's own `modpow`.
//!
//! The client's secrets live in num-bigint numbers, which are not zeroized: this module is
//! not meant to hold real users' passwords for long.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use num_bigint::BigUint;
use num_traits::Zero;
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::group::{self, modpow_biguint, modpow_g_biguint};
use super::{pad_hex, DERIVED_KEY_INFO, SECRET_EXPONENT_BYTES};
use crate::mac::hmac_sha256;
use crate::CryptoError;

fn sha256_hex_of_hex(hex_str: &str, what: &'static str) -> Result<String, CryptoError> {
    let bytes = hex::decode(hex_str).map_err(|_| CryptoError::InvalidHex(what))?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

fn biguint_from_hex(hex_str: &str, what: &'static str) -> Result<BigUint, CryptoError> {
    BigUint::parse_bytes(hex_str.trim().as_bytes(), 16).ok_or(CryptoError::InvalidHex(what))
}

/// k = H(padHex(N) + padHex(g)) as the clients compute it.
fn client_k(n: &BigUint) -> Result<BigUint, CryptoError> {
    let h = sha256_hex_of_hex(&(pad_hex(n) + &pad_hex(&BigUint::from(group::G))), "k")?;
    biguint_from_hex(&h, "k")
}

/// x = H(padHex(salt) + hex(SHA-256(poolName + userIdForSrp + ":" + password))).
fn client_x(pool_name: &str, user_id_for_srp: &str, password: &str, salt: &BigUint) -> Result<BigUint, CryptoError> {
    let up = Zeroizing::new(format!("{pool_name}{user_id_for_srp}:{password}"));
    let up_hash = hex::encode(Sha256::digest(up.as_bytes()));
    let h = sha256_hex_of_hex(&(pad_hex(salt) + &up_hash), "x")?;
    biguint_from_hex(&h, "x")
}

/// The client's public value A = g^a mod N as minimal lowercase hex, for a secret `a`
/// (big-endian bytes). Fails when a is zero.
pub fn client_a(a_secret: &[u8]) -> Result<String, CryptoError> {
    let a = BigUint::from_bytes_be(a_secret);
    if a.is_zero() {
        return Err(CryptoError::InvalidSecret("client secret a is zero"));
    }
    let big_a = modpow_g_biguint(&a)?;
    Ok(big_a.to_str_radix(16))
}

/// The client's session key, from its secret `a` and the server's `SALT` and `SRP_B`.
/// Fails when B ≡ 0 (mod N) or u = 0.
pub fn client_session_key(
    pool_name: &str,
    user_id_for_srp: &str,
    password: &str,
    a_secret: &[u8],
    salt_hex: &str,
    srp_b_hex: &str,
) -> Result<Zeroizing<[u8; 16]>, CryptoError> {
    let a = BigUint::from_bytes_be(a_secret);
    if a.is_zero() {
        return Err(CryptoError::InvalidSecret("client secret a is zero"));
    }
    let big_a = modpow_g_biguint(&a)?;
    session_key_inner(pool_name, user_id_for_srp, password, &a, &big_a, salt_hex, srp_b_hex)
}

fn session_key_inner(
    pool_name: &str,
    user_id_for_srp: &str,
    password: &str,
    a: &BigUint,
    big_a: &BigUint,
    salt_hex: &str,
    srp_b_hex: &str,
) -> Result<Zeroizing<[u8; 16]>, CryptoError> {
    let n = group::n_biguint();
    let big_b = biguint_from_hex(srp_b_hex, "SRP_B")?;
    if (&big_b % &n).is_zero() {
        return Err(CryptoError::IllegalPublicValue("SRP_B"));
    }
    let u = biguint_from_hex(&sha256_hex_of_hex(&(pad_hex(big_a) + &pad_hex(&big_b)), "u")?, "u")?;
    if u.is_zero() {
        return Err(CryptoError::ZeroScrambler);
    }
    let salt = biguint_from_hex(salt_hex, "SALT")?;
    let x = client_x(pool_name, user_id_for_srp, password, &salt)?;
    let k = client_k(&n)?;
    let g_x = modpow_g_biguint(&x)?;
    let kgx = (k * g_x) % &n;
    let base = ((&big_b % &n) + &n - kgx) % &n;
    let exponent = a + &u * &x;
    let s = modpow_biguint(&base, &exponent)?;

    let u_bytes = hex::decode(pad_hex(&u)).map_err(|_| CryptoError::InvalidHex("u"))?;
    let s_bytes = Zeroizing::new(hex::decode(pad_hex(&s)).map_err(|_| CryptoError::InvalidHex("S"))?);
    let prk = Zeroizing::new(hmac_sha256(&u_bytes, &[&s_bytes[..]]));
    let okm = Zeroizing::new(hmac_sha256(&prk[..], &[DERIVED_KEY_INFO]));
    let mut key = Zeroizing::new([0u8; 16]);
    key.copy_from_slice(&okm[..16]);
    Ok(key)
}

/// The base64 `PASSWORD_CLAIM_SIGNATURE` for a `SECRET_BLOCK` (base64, as received).
pub fn client_claim(key: &[u8; 16], pool_name: &str, user_id_for_srp: &str, secret_block_b64: &str, timestamp: &str) -> Result<String, CryptoError> {
    let block = STANDARD.decode(secret_block_b64).map_err(|_| CryptoError::InvalidBase64("SECRET_BLOCK"))?;
    let sig = hmac_sha256(key, &[pool_name.as_bytes(), user_id_for_srp.as_bytes(), &block, timestamp.as_bytes()]);
    Ok(STANDARD.encode(sig))
}

/// The parameters of a `PASSWORD_VERIFIER` challenge as the server sent them.
#[derive(Debug, Clone)]
pub struct PasswordVerifierChallenge {
    /// `SALT` (hex).
    pub salt_hex: String,
    /// `SRP_B` (hex).
    pub srp_b_hex: String,
    /// `SECRET_BLOCK` (base64).
    pub secret_block_b64: String,
    /// `USER_ID_FOR_SRP`, the username the client uses from then on.
    pub user_id_for_srp: String,
}

/// The client's `RespondToAuthChallenge` parameters.
#[derive(Debug, Clone)]
pub struct ClaimResponse {
    /// `USERNAME` (= the challenge's `USER_ID_FOR_SRP`).
    pub username: String,
    /// `PASSWORD_CLAIM_SECRET_BLOCK` (echoed).
    pub secret_block_b64: String,
    /// `TIMESTAMP`.
    pub timestamp: String,
    /// `PASSWORD_CLAIM_SIGNATURE` (base64).
    pub signature_b64: String,
}

/// One client sign-in attempt: holds the secret a and the `SRP_A` to send with `InitiateAuth`.
pub struct SrpClient {
    pool_name: String,
    a: BigUint,
    big_a: BigUint,
    srp_a_hex: String,
}

impl std::fmt::Debug for SrpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrpClient").field("pool_name", &self.pool_name).field("srp_a_hex", &self.srp_a_hex).finish()
    }
}

impl SrpClient {
    /// A client with a fresh random 256-bit a. `pool_name` is the part of the pool id after `_`.
    pub fn new<R: RngCore + CryptoRng>(pool_name: &str, rng: &mut R) -> Result<Self, CryptoError> {
        let mut a = Zeroizing::new(vec![0u8; SECRET_EXPONENT_BYTES]);
        loop {
            rng.fill_bytes(&mut a);
            if a.iter().any(|&b| b != 0) {
                break;
            }
        }
        Self::with_secret(pool_name, &a)
    }

    /// A client with a fixed secret a (big-endian bytes), for reproducible tests.
    pub fn with_secret(pool_name: &str, a_secret: &[u8]) -> Result<Self, CryptoError> {
        let a = BigUint::from_bytes_be(a_secret);
        if a.is_zero() {
            return Err(CryptoError::InvalidSecret("client secret a is zero"));
        }
        let big_a = modpow_g_biguint(&a)?;
        let srp_a_hex = big_a.to_str_radix(16);
        Ok(Self { pool_name: pool_name.to_owned(), a, big_a, srp_a_hex })
    }

    /// `SRP_A` to send in `AuthParameters`.
    pub fn srp_a_hex(&self) -> &str {
        &self.srp_a_hex
    }

    /// The session key this client derives for a challenge.
    pub fn session_key(&self, password: &str, challenge: &PasswordVerifierChallenge) -> Result<Zeroizing<[u8; 16]>, CryptoError> {
        session_key_inner(&self.pool_name, &challenge.user_id_for_srp, password, &self.a, &self.big_a, &challenge.salt_hex, &challenge.srp_b_hex)
    }

    /// Answers a `PASSWORD_VERIFIER` challenge at `timestamp` (see
    /// [`format_timestamp`](super::format_timestamp)).
    pub fn respond(&self, password: &str, challenge: &PasswordVerifierChallenge, timestamp: &str) -> Result<ClaimResponse, CryptoError> {
        let key = self.session_key(password, challenge)?;
        let signature_b64 = client_claim(&key, &self.pool_name, &challenge.user_id_for_srp, &challenge.secret_block_b64, timestamp)?;
        Ok(ClaimResponse {
            username: challenge.user_id_for_srp.clone(),
            secret_block_b64: challenge.secret_block_b64.clone(),
            timestamp: timestamp.to_owned(),
            signature_b64,
        })
    }
}

/// Runs a whole USER_SRP_AUTH exchange in-process (client and server halves with fresh random
/// secrets) against a stored verifier and returns whether the server accepts the client's
/// claim. For tests and benchmarks; the server half is exactly what a server does per sign-in.
pub fn simulate_sign_in<R: RngCore + CryptoRng>(
    pool_name: &str,
    user_id_for_srp: &str,
    password: &str,
    stored: &super::SrpVerifier,
    unix_now: i64,
    rng: &mut R,
) -> Result<bool, CryptoError> {
    let client = SrpClient::new(pool_name, rng)?;
    // Server: InitiateAuth.
    let server = super::server_challenge_random(&stored.verifier_hex, rng)?;
    let mut block = [0u8; 32];
    rng.fill_bytes(&mut block);
    let challenge = PasswordVerifierChallenge {
        salt_hex: stored.salt_hex.clone(),
        srp_b_hex: server.srp_b_hex.clone(),
        secret_block_b64: STANDARD.encode(block),
        user_id_for_srp: user_id_for_srp.to_owned(),
    };
    // Client: RespondToAuthChallenge.
    let timestamp = super::format_timestamp(unix_now);
    let response = client.respond(password, &challenge, &timestamp)?;
    // Server: verify.
    if !super::timestamp_within(&response.timestamp, unix_now, 300) {
        return Ok(false);
    }
    let key = super::server_session_key(client.srp_a_hex(), &server.srp_b_hex, &server.b_secret, &stored.verifier_hex)?;
    let expected = super::claim_signature(&key, pool_name, &response.username, &block, &response.timestamp);
    Ok(super::verify_claim(&expected, &response.signature_b64))
}
