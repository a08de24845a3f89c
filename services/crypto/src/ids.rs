//! Random identifiers in Cognito's formats.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::{CryptoRng, RngCore};

const ALNUM: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LOWER_ALNUM: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// `len` characters drawn uniformly from `alphabet` (rejection sampling, no modulo bias).
fn random_string<R: RngCore + CryptoRng>(rng: &mut R, alphabet: &[u8], len: usize) -> String {
    // The largest multiple of the alphabet size that fits in a byte; bytes at or above it are
    // redrawn. `alphabet.len()` is 36 or 62 here, so `limit` is 252 or 248.
    let n = alphabet.len();
    let limit = 256 - 256 % n;
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        rng.fill_bytes(&mut buf);
        for &b in &buf {
            if out.len() == len {
                break;
            }
            if usize::from(b) < limit {
                if let Some(&c) = alphabet.get(usize::from(b) % n) {
                    out.push(char::from(c));
                }
            }
        }
    }
    out
}

/// A user's `sub`: a random (version 4) UUID, lowercase hyphenated.
pub fn new_sub<R: RngCore + CryptoRng>(rng: &mut R) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// A user pool id: `<region>_<9 alphanumerics>`, e.g. `us-east-1_AbCdEfGh9`.
pub fn pool_id<R: RngCore + CryptoRng>(region: &str, rng: &mut R) -> String {
    format!("{region}_{}", random_string(rng, ALNUM, 9))
}

/// An app client id: 26 lowercase alphanumerics.
pub fn client_id<R: RngCore + CryptoRng>(rng: &mut R) -> String {
    random_string(rng, LOWER_ALNUM, 26)
}

/// An app client secret: 51 lowercase alphanumerics (about 263 bits), shaped like Cognito's.
pub fn client_secret<R: RngCore + CryptoRng>(rng: &mut R) -> String {
    random_string(rng, LOWER_ALNUM, 51)
}

/// `n_bytes` random bytes as unpadded base64url (for sessions, refresh tokens and the like).
pub fn random_token<R: RngCore + CryptoRng>(rng: &mut R, n_bytes: usize) -> String {
    let mut bytes = zeroize::Zeroizing::new(vec![0u8; n_bytes]);
    rng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(&bytes[..])
}

/// A temporary password of `len` characters (at least 8) holding an upper-case letter, a
/// lower-case letter, a digit and a symbol, so it satisfies any password policy of that length
/// or less. Wrapped so the plaintext is wiped when dropped.
pub fn temporary_password<R: RngCore + CryptoRng>(rng: &mut R, len: usize) -> zeroize::Zeroizing<String> {
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const DIGITS: &[u8] = b"23456789";
    const SYMBOLS: &[u8] = b"^$*.[]{}()?!@#%&/,><:;|_~=+-";
    let len = len.max(8);
    let all: Vec<u8> = [UPPER, LOWER, DIGITS, SYMBOLS].concat();
    let mut chars: Vec<u8> = [UPPER, LOWER, DIGITS, SYMBOLS].iter().flat_map(|set| random_string(rng, set, 1).into_bytes()).collect();
    chars.extend(random_string(rng, &all, len - 4).into_bytes());
    // Fisher-Yates with rejection-sampled indices, so the class positions are not fixed.
    for i in (1..chars.len()).rev() {
        let bound = i + 1;
        let limit = u32::MAX - u32::MAX % bound as u32;
        let j = loop {
            let r = rng.next_u32();
            if r < limit {
                break (r % bound as u32) as usize;
            }
        };
        chars.swap(i, j);
    }
    zeroize::Zeroizing::new(String::from_utf8_lossy(&chars).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use std::collections::HashSet;

    #[test]
    fn sub_is_uuid_v4() {
        let mut rng = StdRng::seed_from_u64(1);
        let s = new_sub(&mut rng);
        let u = uuid::Uuid::parse_str(&s).unwrap();
        assert_eq!(u.get_version_num(), 4);
        assert_eq!(s.len(), 36);
        assert_eq!(s, s.to_lowercase());
        assert_ne!(s, new_sub(&mut rng));
    }

    #[test]
    fn pool_id_format() {
        let mut rng = StdRng::seed_from_u64(2);
        for _ in 0..100 {
            let id = pool_id("eu-west-1", &mut rng);
            let (region, rest) = id.split_once('_').unwrap();
            assert_eq!(region, "eu-west-1");
            assert_eq!(rest.len(), 9);
            assert!(rest.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
        }
    }

    #[test]
    fn client_id_and_secret_format() {
        let mut rng = StdRng::seed_from_u64(3);
        let id = client_id(&mut rng);
        assert_eq!(id.len(), 26);
        assert!(id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{id}");
        let secret = client_secret(&mut rng);
        assert_eq!(secret.len(), 51);
        assert!(secret.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{secret}");
    }

    #[test]
    fn temporary_passwords_hold_every_class() {
        let mut rng = StdRng::seed_from_u64(6);
        for len in [0usize, 8, 12, 40] {
            let p = temporary_password(&mut rng, len);
            assert_eq!(p.len(), len.max(8));
            assert!(p.chars().any(|c| c.is_ascii_uppercase()) && p.chars().any(|c| c.is_ascii_lowercase()));
            assert!(p.chars().any(|c| c.is_ascii_digit()) && p.chars().any(|c| !c.is_ascii_alphanumeric()));
        }
        assert_ne!(*temporary_password(&mut rng, 12), *temporary_password(&mut rng, 12));
    }

    #[test]
    fn tokens() {
        let mut rng = StdRng::seed_from_u64(4);
        let t = random_token(&mut rng, 32);
        assert_eq!(t.len(), 43);
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(random_token(&mut rng, 0), "");
        let many: HashSet<String> = (0..1000).map(|_| random_token(&mut rng, 16)).collect();
        assert_eq!(many.len(), 1000);
    }

    #[test]
    fn alphabet_is_used_roughly_uniformly() {
        let mut rng = StdRng::seed_from_u64(5);
        let s = random_string(&mut rng, LOWER_ALNUM, 360_000);
        let mut counts = [0usize; 36];
        for b in s.bytes() {
            let i = LOWER_ALNUM.iter().position(|&c| c == b).unwrap();
            counts[i] += 1;
        }
        // Expected 10_000 each (sd ~100); a biased sampler (plain `% 36` on bytes) gives the
        // first 4 symbols ~11_250, which this bound catches.
        for (i, c) in counts.iter().enumerate() {
            assert!((9_500..=10_500).contains(c), "symbol {i}: {c}");
        }
    }
}
