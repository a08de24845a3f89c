//! Sealed refresh tokens: round trip, tampering, expiry, key persistence.

mod common;

use common::*;
use idp_tokens::{RefreshClaims, RefreshKey, TokenError};
use rand::SeedableRng;

fn claims() -> RefreshClaims {
    RefreshClaims {
        pool_id: POOL.into(),
        client_id: CLIENT.into(),
        username: "ada".into(),
        sub: "7d8ca528-4931-4254-9273-ea5ee853f271".into(),
        origin_jti: "0b5d0c1a-7ad7-4a39-a5a3-0fb6d2a4b0c1".into(),
        epoch: 3,
        auth_time: NOW,
        iat: NOW,
        exp: NOW + 30 * 86400,
    }
}

#[test]
fn round_trip_and_opacity() {
    let key = RefreshKey::from_bytes(&[7u8; 32]);
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let t1 = key.seal(&claims(), &mut rng).unwrap();
    let t2 = key.seal(&claims(), &mut rng).unwrap();
    assert!(t1.starts_with("v1."));
    assert_ne!(t1, t2, "fresh nonce per token");
    assert!(!t1.contains("ada") && !t1.contains(POOL));
    assert_eq!(key.open(&t1, NOW).unwrap(), claims());
    assert_eq!(key.open(&t2, NOW + 30 * 86400 - 1).unwrap(), claims());

    // Same bytes, same key: another process configured with the key opens it.
    let same = RefreshKey::from_slice(&[7u8; 32]).unwrap();
    assert_eq!(same.open(&t1, NOW).unwrap(), claims());
    assert!(RefreshKey::from_slice(&[7u8; 31]).is_err());
    assert_eq!(format!("{key:?}"), "RefreshKey(<redacted>)");
}

#[test]
fn tampering_is_rejected() {
    let key = RefreshKey::from_bytes(&[7u8; 32]);
    let token = key.seal(&claims(), &mut rand::rngs::OsRng).unwrap();
    let raw = b64d(&token[3..]);
    for idx in [0, 23, 24, raw.len() / 2, raw.len() - 1] {
        let mut bad = raw.clone();
        bad[idx] ^= 0x01;
        let forged = format!("v1.{}", b64e(&bad));
        assert!(matches!(key.open(&forged, NOW), Err(TokenError::InvalidSignature)), "byte {idx}");
    }
    // Truncated (tag cut off) and extended.
    let forged = format!("v1.{}", b64e(&raw[..raw.len() - 1]));
    assert!(matches!(key.open(&forged, NOW), Err(TokenError::InvalidSignature)));
    let mut longer = raw.clone();
    longer.push(0);
    assert!(matches!(key.open(&format!("v1.{}", b64e(&longer)), NOW), Err(TokenError::InvalidSignature)));

    // Another key.
    let other = RefreshKey::from_bytes(&[8u8; 32]);
    assert!(matches!(other.open(&token, NOW), Err(TokenError::InvalidSignature)));

    for garbage in ["", "v1.", "v2.AAAA", "v1.!!!!", "eyJhbGciOiJSUzI1NiJ9.e30.sig", &format!("v1.{}", b64e(&[0u8; 39]))] {
        assert!(matches!(key.open(garbage, NOW), Err(TokenError::Malformed(_))), "{garbage:?}");
    }
    assert!(matches!(key.open(&format!("v1.{}", "A".repeat(10_000)), NOW), Err(TokenError::Malformed(_))));
}

#[test]
fn expiry_is_enforced() {
    let key = RefreshKey::from_bytes(&[9u8; 32]);
    let c = claims();
    let token = key.seal(&c, &mut rand::rngs::OsRng).unwrap();
    assert!(key.open(&token, c.exp - 1).is_ok());
    assert!(matches!(key.open(&token, c.exp), Err(TokenError::Expired)));
    assert!(matches!(key.open(&token, c.exp + 1), Err(TokenError::Expired)));
}

#[test]
fn key_file_is_created_once_private_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let keydir = dir.path().join("k");
    assert!(matches!(RefreshKey::load(&keydir), Err(TokenError::KeyStore { .. })));
    let key = RefreshKey::load_or_create(&keydir).unwrap();
    let token = key.seal(&claims(), &mut rand::rngs::OsRng).unwrap();

    let bytes = std::fs::read(keydir.join("refresh.key")).unwrap();
    assert_eq!(bytes.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(keydir.join("refresh.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let again = RefreshKey::load_or_create(&keydir).unwrap();
    assert_eq!(again.open(&token, NOW).unwrap(), claims());
    assert_eq!(RefreshKey::load(&keydir).unwrap().open(&token, NOW).unwrap(), claims());
    assert_eq!(std::fs::read(keydir.join("refresh.key")).unwrap(), bytes, "not regenerated");

    // Racing first starts agree on a single key.
    let fresh = dir.path().join("race");
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let p = fresh.clone();
            std::thread::spawn(move || RefreshKey::load_or_create(&p).unwrap().seal(&claims(), &mut rand::rngs::OsRng).unwrap())
        })
        .collect();
    let tokens: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let final_key = RefreshKey::load(&fresh).unwrap();
    for t in tokens {
        assert_eq!(final_key.open(&t, NOW).unwrap(), claims());
    }

    // A corrupt key file is an error, not a silent replacement.
    std::fs::write(keydir.join("refresh.key"), b"short").unwrap();
    assert!(matches!(RefreshKey::load_or_create(&keydir), Err(TokenError::KeyStore { .. })));
}
