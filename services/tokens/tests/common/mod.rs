//! Shared fixtures for the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;

use idp_tokens::{AccessClaims, IdClaims, KeyRing, TokenIssuer};

pub const NOW: i64 = 1_700_000_000;
pub const POOL: &str = "us-east-1_AbCdEfGhI";
pub const CLIENT: &str = "abcdefghijklmnopqrstuvwxyz";
pub const BASE: &str = "http://localhost:9229";

/// A key ring generated in a fresh temporary directory (one RSA keygen).
pub fn ring() -> (tempfile::TempDir, KeyRing) {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::load_or_create(dir.path(), NOW).unwrap();
    (dir, ring)
}

pub fn issuer() -> (tempfile::TempDir, TokenIssuer) {
    let (dir, ring) = ring();
    (dir, TokenIssuer::new(ring, BASE))
}

pub fn id_claims(issuer: &TokenIssuer) -> IdClaims {
    let mut attributes = BTreeMap::new();
    attributes.insert("custom:tenant".to_owned(), "acme".to_owned());
    attributes.insert("given_name".to_owned(), "Ada".to_owned());
    IdClaims {
        sub: "7d8ca528-4931-4254-9273-ea5ee853f271".into(),
        aud: CLIENT.into(),
        iss: issuer.issuer_for(POOL),
        username: "ada".into(),
        groups: vec!["admins".into()],
        auth_time: NOW,
        iat: NOW,
        exp: NOW + 3600,
        jti: idp_tokens::new_jti(),
        origin_jti: "0b5d0c1a-7ad7-4a39-a5a3-0fb6d2a4b0c1".into(),
        event_id: Some(idp_tokens::new_jti()),
        email: Some("ada@example.com".into()),
        email_verified: Some(true),
        phone_number: None,
        phone_number_verified: None,
        attributes,
        ..Default::default()
    }
}

pub fn access_claims(issuer: &TokenIssuer) -> AccessClaims {
    AccessClaims {
        sub: "7d8ca528-4931-4254-9273-ea5ee853f271".into(),
        iss: issuer.issuer_for(POOL),
        client_id: CLIENT.into(),
        username: "ada".into(),
        auth_time: NOW,
        iat: NOW,
        exp: NOW + 3600,
        jti: idp_tokens::new_jti(),
        origin_jti: "0b5d0c1a-7ad7-4a39-a5a3-0fb6d2a4b0c1".into(),
        event_id: None,
        ..Default::default()
    }
}

pub fn b64d(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).unwrap()
}

pub fn b64e(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Decodes one part (0 = header, 1 = payload) of a JWT as JSON without verifying it.
pub fn part_json(token: &str, idx: usize) -> serde_json::Value {
    let part = token.split('.').nth(idx).unwrap();
    serde_json::from_slice(&b64d(part)).unwrap()
}
