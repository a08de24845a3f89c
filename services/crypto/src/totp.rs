//! RFC 6238 TOTP for software-token MFA (totp-rs): SHA-1, 6 digits, 30-second steps, one step
//! of skew either way — what authenticator apps and Cognito use.
//!
//! The secret is 160 random bits, shown to the user once as base32 (AssociateSoftwareToken's
//! `SecretCode`); at rest it is sealed (see `codes::CodeKeys::seal`), never stored in clear.

use rand::{CryptoRng, RngCore};
use totp_rs::{Builder, Secret};
use zeroize::Zeroizing;

use crate::CryptoError;

/// Secret length: 160 bits, RFC 4226's recommendation.
pub const SECRET_BYTES: usize = 20;
/// Seconds per step.
pub const STEP_SECS: u64 = 30;

/// A new random secret, base32 without padding (32 characters).
pub fn new_secret<R: RngCore + CryptoRng>(rng: &mut R) -> Zeroizing<String> {
    let mut bytes = Zeroizing::new([0u8; SECRET_BYTES]);
    rng.fill_bytes(bytes.as_mut());
    Zeroizing::new(Secret::from(*bytes).to_base32())
}

fn totp(secret_base32: &str) -> Result<totp_rs::Totp, CryptoError> {
    let secret = Secret::try_from_base32(secret_base32.trim()).map_err(|_| CryptoError::Invalid("TOTP secret is not base32".into()))?;
    Builder::new().with_secret(secret).build().map_err(|e| CryptoError::Invalid(format!("TOTP: {e}")))
}

/// The step (`unix_secs / 30`) whose code `code` is, if it is valid at `unix_secs` (the current
/// step or one either side); `None` for a wrong, malformed or out-of-window code. Accepting a
/// step only once is the caller's job (it records the last step used).
pub fn matching_step(secret_base32: &str, code: &str, unix_secs: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    totp(secret_base32).ok()?.check(code, unix_secs)
}

/// The code of the step containing `unix_secs` (tests and tooling).
pub fn code_at(secret_base32: &str, unix_secs: u64) -> Result<String, CryptoError> {
    Ok(totp(secret_base32)?.generate(unix_secs).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::OsRng;

    /// RFC 6238 appendix B, SHA-1 (the 8-digit vectors' last 6 digits).
    #[test]
    fn rfc6238_vectors() {
        let secret = Secret::from(b"12345678901234567890".to_vec()).to_base32();
        for (t, code) in [(59u64, "287082"), (1_111_111_109, "081804"), (1_234_567_890, "005924"), (2_000_000_000, "279037")] {
            assert_eq!(code_at(&secret, t).unwrap(), code, "t={t}");
            assert_eq!(matching_step(&secret, code, t), Some(t / STEP_SECS));
        }
    }

    #[test]
    fn window_and_malformed() {
        let secret = new_secret(&mut OsRng);
        assert_eq!(secret.len(), 32);
        let t = 1_700_000_000;
        let code = code_at(&secret, t).unwrap();
        assert_eq!(matching_step(&secret, &code, t + STEP_SECS), Some(t / STEP_SECS), "one step late is accepted");
        assert_eq!(matching_step(&secret, &code, t + 3 * STEP_SECS), None, "three steps late is not");
        assert_eq!(matching_step(&secret, "12345", t), None);
        assert_eq!(matching_step(&secret, "abcdef", t), None);
        assert_eq!(matching_step("not base32!", &code, t), None);
    }
}
