//! Small shared helpers: HMAC-SHA256 and tolerant base64 decoding.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of the concatenation of `parts` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of every length, so `new_from_slice` never fails; the fallback only
    // keeps this function free of a panic path.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return [0u8; 32];
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Standard-alphabet base64 that accepts input with or without `=` padding.
const STANDARD_LENIENT: GeneralPurpose =
    GeneralPurpose::new(&base64::alphabet::STANDARD, GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent));

/// Decodes standard base64 (padding optional); `None` when invalid.
pub(crate) fn b64_decode_lenient(s: &str) -> Option<Vec<u8>> {
    STANDARD_LENIENT.decode(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_rfc4231_case_2() {
        // RFC 4231 test case 2.
        let out = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(hex::encode(out), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn lenient_base64() {
        assert_eq!(b64_decode_lenient("AAE=").as_deref(), Some(&[0u8, 1][..]));
        assert_eq!(b64_decode_lenient("AAE").as_deref(), Some(&[0u8, 1][..]));
        assert!(b64_decode_lenient("A!E=").is_none());
    }
}
