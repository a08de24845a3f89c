//! Tests of the one-time code module (kept apart to keep codes.rs short).

use super::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn keys() -> CodeKeys {
    CodeKeys::from_bytes([1; 32], [2; 32])
}

#[test]
fn issue_verify_open() {
    let mut rng = StdRng::seed_from_u64(1);
    let k = keys();
    let issued = k.issue(&mut rng).unwrap();
    assert_eq!(issued.code.len(), CODE_DIGITS);
    assert!(issued.code.bytes().all(|b| b.is_ascii_digit()));
    assert!(k.verify(&issued.salt, &issued.hash, &issued.code));
    assert_eq!(&*k.open(&issued.sealed).unwrap(), &*issued.code);
    // The stored material does not contain the code in clear.
    assert!(!issued.sealed.windows(6).any(|w| w == issued.code.as_bytes()));
}

#[test]
fn hash_is_peppered_hmac_of_salt_and_code() {
    let mut rng = StdRng::seed_from_u64(2);
    let k = keys();
    let issued = k.issue(&mut rng).unwrap();
    let mut msg = issued.salt.to_vec();
    msg.extend_from_slice(issued.code.as_bytes());
    assert_eq!(issued.hash, hmac_sha256(&[1; 32], &[&msg]));
}

#[test]
fn wrong_codes_and_keys_fail() {
    let mut rng = StdRng::seed_from_u64(3);
    let k = keys();
    let issued = k.issue(&mut rng).unwrap();
    let n: u32 = issued.code.parse().unwrap();
    let wrong = format!("{:06}", (n + 1) % 1_000_000);
    assert!(!k.verify(&issued.salt, &issued.hash, &wrong));
    assert!(!k.verify(&issued.salt, &issued.hash, ""));
    assert!(!k.verify(&issued.salt, &issued.hash, &format!("{}0", &*issued.code)));
    let mut other_salt = issued.salt;
    other_salt[0] ^= 1;
    assert!(!k.verify(&other_salt, &issued.hash, &issued.code));

    let other = CodeKeys::from_bytes([1; 32], [3; 32]);
    assert!(matches!(other.open(&issued.sealed), Err(CryptoError::Open)));
    let other_pepper = CodeKeys::from_bytes([9; 32], [2; 32]);
    assert!(!other_pepper.verify(&issued.salt, &issued.hash, &issued.code));

    let mut tampered = issued.sealed.clone();
    if let Some(last) = tampered.last_mut() {
        *last ^= 1;
    }
    assert!(k.open(&tampered).is_err());
    assert!(k.open(&issued.sealed[..10]).is_err());
    assert!(k.open(&[]).is_err());
}

#[test]
fn codes_are_uniform_and_zero_padded() {
    let mut rng = StdRng::seed_from_u64(4);
    let k = keys();
    let mut first_digit = [0usize; 10];
    let mut seen_leading_zero = false;
    for _ in 0..10_000 {
        let c = k.issue(&mut rng).unwrap();
        let d = usize::from(c.code.as_bytes()[0] - b'0');
        first_digit[d] += 1;
        seen_leading_zero |= d == 0;
    }
    assert!(seen_leading_zero);
    for (d, count) in first_digit.iter().enumerate() {
        assert!((880..=1_120).contains(count), "digit {d}: {count}");
    }
}

#[test]
fn rejection_sampling_skips_biased_draws() {
    // An RNG whose first u32 falls in the rejected tail (>= 4_294_000_000) must be redrawn:
    // the code then comes from the second draw (7 -> "000007").
    struct Scripted(Vec<u32>, StdRng);
    impl RngCore for Scripted {
        fn next_u32(&mut self) -> u32 {
            if self.0.is_empty() {
                self.1.next_u32()
            } else {
                self.0.remove(0)
            }
        }
        fn next_u64(&mut self) -> u64 {
            self.1.next_u64()
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            self.1.fill_bytes(dest)
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
            self.1.try_fill_bytes(dest)
        }
    }
    impl CryptoRng for Scripted {}
    let mut rng = Scripted(vec![4_294_000_000, 7], StdRng::seed_from_u64(5));
    assert_eq!(&*keys().issue(&mut rng).unwrap().code, "000007");
    let mut rng = Scripted(vec![4_293_999_999], StdRng::seed_from_u64(5));
    assert_eq!(&*keys().issue(&mut rng).unwrap().code, "999999");
}

#[test]
fn json_round_trip_and_errors() {
    let mut rng = StdRng::seed_from_u64(6);
    let k = CodeKeys::generate(&mut rng);
    let json = k.to_json();
    let back = CodeKeys::from_json(&json).unwrap();
    let issued = k.issue(&mut rng).unwrap();
    assert!(back.verify(&issued.salt, &issued.hash, &issued.code));
    assert_eq!(&*back.open(&issued.sealed).unwrap(), &*issued.code);
    assert!(CodeKeys::from_json("{}").is_err());
    assert!(CodeKeys::from_json(r#"{"version":2,"pepper":"","seal_key":""}"#).is_err());
    assert!(CodeKeys::from_json(r#"{"version":1,"pepper":"AAAA","seal_key":"AAAA"}"#).is_err());
    assert!(!format!("{k:?}").contains(&STANDARD.encode([1u8; 32])));
    assert!(!format!("{issued:?}").contains(&*issued.code));
}

#[cfg(unix)]
#[test]
fn key_file_created_0600_and_reloaded() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("data");
    let mut rng = StdRng::seed_from_u64(7);
    let k1 = CodeKeys::load_or_generate(&sub, &mut rng).unwrap();
    let path = CodeKeys::file_path(&sub);
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // No temporary files left behind.
    assert_eq!(fs::read_dir(&sub).unwrap().count(), 1);
    // A second process (fresh RNG) gets the same keys.
    let mut rng2 = StdRng::seed_from_u64(8);
    let k2 = CodeKeys::load_or_generate(&sub, &mut rng2).unwrap();
    let issued = k1.issue(&mut rng).unwrap();
    assert!(k2.verify(&issued.salt, &issued.hash, &issued.code));
    assert_eq!(&*CodeKeys::load(&path).unwrap().open(&issued.sealed).unwrap(), &*issued.code);

    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    assert!(matches!(CodeKeys::load(&path), Err(CryptoError::KeyFilePermissions { .. })));
    assert!(CodeKeys::load_or_generate(&sub, &mut rng).is_err());

    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(&path, "not json").unwrap();
    assert!(matches!(CodeKeys::load(&path), Err(CryptoError::KeyFileFormat { .. })));
}

#[cfg(unix)]
#[test]
fn concurrent_creation_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let p = path.clone();
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(100 + i);
                CodeKeys::load_or_generate(&p, &mut rng).unwrap().to_json()
            })
        })
        .collect();
    let jsons: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(jsons.iter().all(|j| **j == *jsons[0]));
    assert_eq!(fs::read_dir(&path).unwrap().count(), 1);
}
