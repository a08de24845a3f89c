//! Issue/verify of ID and access tokens, and every rejection path.

mod common;

use common::*;
use hmac::{Hmac, Mac};
use idp_tokens::{TokenError, TokenIssuer};
use rsa::pkcs8::EncodePublicKey;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest, Sha256};

#[test]
fn id_and_access_round_trip_with_cognito_shape() {
    let (_dir, issuer) = issuer();
    let id = id_claims(&issuer);
    let access = access_claims(&issuer);
    let id_token = issuer.issue_id(&id).unwrap();
    let access_token = issuer.issue_access(&access).unwrap();

    assert_eq!(issuer.verify_id(&id_token, POOL, NOW).unwrap(), id);
    assert_eq!(issuer.verify_access(&access_token, POOL, NOW + 3599).unwrap(), access);

    let header = part_json(&id_token, 0);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], issuer.keyring().active_kid());

    let p = part_json(&id_token, 1);
    assert_eq!(p["iss"], format!("{BASE}/{POOL}"));
    assert_eq!(p["aud"], CLIENT);
    assert_eq!(p["token_use"], "id");
    assert_eq!(p["cognito:username"], "ada");
    assert_eq!(p["cognito:groups"], serde_json::json!(["admins"]));
    assert_eq!(p["email_verified"], true);
    assert_eq!(p["custom:tenant"], "acme");
    assert_eq!(p["given_name"], "Ada");
    assert!(p.get("phone_number").is_none());
    assert!(p.get("attributes").is_none());

    let p = part_json(&access_token, 1);
    assert_eq!(p["token_use"], "access");
    assert_eq!(p["scope"], "aws.cognito.signin.user.admin");
    assert_eq!(p["client_id"], CLIENT);
    assert_eq!(p["username"], "ada");
    assert!(p.get("aud").is_none());
    assert!(p.get("cognito:groups").is_none(), "empty groups are omitted");
    assert!(p.get("event_id").is_none());
}

#[test]
fn tampering_and_garbage_are_rejected() {
    let (_dir, issuer) = issuer();
    let token = issuer.issue_access(&access_claims(&issuer)).unwrap();
    let parts: Vec<&str> = token.split('.').collect();

    // Payload changed (username swapped), original signature kept.
    let mut payload = part_json(&token, 1);
    payload["username"] = "mallory".into();
    let forged = format!("{}.{}.{}", parts[0], b64e(payload.to_string().as_bytes()), parts[2]);
    assert!(matches!(issuer.verify_access(&forged, POOL, NOW), Err(TokenError::InvalidSignature)));

    // One signature bit flipped.
    let mut sig = b64d(parts[2]);
    sig[10] ^= 1;
    let forged = format!("{}.{}.{}", parts[0], parts[1], b64e(&sig));
    assert!(matches!(issuer.verify_access(&forged, POOL, NOW), Err(TokenError::InvalidSignature)));

    // Truncated signature.
    let forged = format!("{}.{}.{}", parts[0], parts[1], b64e(&sig[..100]));
    assert!(matches!(issuer.verify_access(&forged, POOL, NOW), Err(TokenError::InvalidSignature)));

    for garbage in ["", "abc", "a.b", "a.b.c.d", "!!!.e30.sig", &format!("{}.{}", parts[0], parts[1])] {
        assert!(matches!(issuer.verify_access(garbage, POOL, NOW), Err(TokenError::Malformed(_))), "{garbage:?}");
    }
    let huge = "a".repeat(20_000);
    assert!(matches!(issuer.verify_access(&huge, POOL, NOW), Err(TokenError::Malformed(_))));
}

#[test]
fn expiry_and_leeway() {
    let (_dir, issuer) = issuer();
    let claims = access_claims(&issuer);
    let token = issuer.issue_access(&claims).unwrap();
    assert!(issuer.verify_access(&token, POOL, claims.exp - 1).is_ok());
    assert!(matches!(issuer.verify_access(&token, POOL, claims.exp), Err(TokenError::Expired)));
    assert!(matches!(issuer.verify_access(&token, POOL, claims.exp + 10_000), Err(TokenError::Expired)));

    let lenient = TokenIssuer::new((*issuer.keyring()).clone(), BASE).with_leeway(5);
    assert!(lenient.verify_access(&token, POOL, claims.exp + 4).is_ok());
    assert!(matches!(lenient.verify_access(&token, POOL, claims.exp + 5), Err(TokenError::Expired)));
}

#[test]
fn wrong_issuer_is_rejected() {
    let (_dir, issuer) = issuer();
    let token = issuer.issue_id(&id_claims(&issuer)).unwrap();
    assert!(matches!(issuer.verify_id(&token, "us-east-1_Other1234", NOW), Err(TokenError::WrongIssuer)));

    // Same keys, other issuer base (e.g. a different deployment URL).
    let other = TokenIssuer::new((*issuer.keyring()).clone(), "https://cognito-idp.us-east-1.amazonaws.com/");
    assert!(matches!(other.verify_id(&token, POOL, NOW), Err(TokenError::WrongIssuer)));
    assert_eq!(other.issuer_for(POOL), format!("https://cognito-idp.us-east-1.amazonaws.com/{POOL}"));
}

#[test]
fn token_use_confusion_is_rejected() {
    let (_dir, issuer) = issuer();
    let id_token = issuer.issue_id(&id_claims(&issuer)).unwrap();
    let access_token = issuer.issue_access(&access_claims(&issuer)).unwrap();
    assert!(matches!(issuer.verify_access(&id_token, POOL, NOW), Err(TokenError::WrongTokenUse { expected: "access" })));
    assert!(matches!(issuer.verify_id(&access_token, POOL, NOW), Err(TokenError::WrongTokenUse { expected: "id" })));
}

#[test]
fn algorithm_confusion_is_rejected() {
    let (_dir, issuer) = issuer();
    let ring = issuer.keyring();
    let kid = ring.active_kid().to_owned();
    let payload = serde_json::to_vec(&access_claims(&issuer)).unwrap();

    // alg "none" with an empty signature (and with the kid of a real key).
    for alg in ["none", "None", "NONE"] {
        let header = serde_json::json!({"alg": alg, "typ": "JWT", "kid": kid});
        let t = format!("{}.{}.", b64e(header.to_string().as_bytes()), b64e(&payload));
        assert!(matches!(issuer.verify_access(&t, POOL, NOW), Err(TokenError::UnsupportedAlgorithm)), "{alg}");
    }

    // HS256 "signed" with the public key (PEM and raw modulus) as the HMAC secret.
    let jwk = &ring.jwks()["keys"][0];
    let public =
        RsaPublicKey::new(BigUint::from_bytes_be(&b64d(jwk["n"].as_str().unwrap())), BigUint::from_bytes_be(&b64d(jwk["e"].as_str().unwrap()))).unwrap();
    let pem = public.to_public_key_pem(rsa::pkcs8::LineEnding::LF).unwrap();
    for secret in [pem.as_bytes().to_vec(), public.n().to_bytes_be()] {
        for alg in ["HS256", "RS384", "PS256", "rs256"] {
            let header = serde_json::json!({"alg": alg, "typ": "JWT", "kid": kid});
            let signing_input = format!("{}.{}", b64e(header.to_string().as_bytes()), b64e(&payload));
            let mut mac = Hmac::<Sha256>::new_from_slice(&secret).unwrap();
            mac.update(signing_input.as_bytes());
            let t = format!("{signing_input}.{}", b64e(&mac.finalize().into_bytes()));
            assert!(matches!(issuer.verify_access(&t, POOL, NOW), Err(TokenError::UnsupportedAlgorithm)), "{alg}");
        }
    }

    // Header without alg at all.
    let header = serde_json::json!({"typ": "JWT", "kid": kid});
    let t = format!("{}.{}.xx", b64e(header.to_string().as_bytes()), b64e(&payload));
    assert!(matches!(issuer.verify_access(&t, POOL, NOW), Err(TokenError::UnsupportedAlgorithm)));
}

#[test]
fn unknown_or_missing_kid_is_rejected() {
    let (_dir, issuer) = issuer();
    let token = issuer.issue_access(&access_claims(&issuer)).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    for header in [
        serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "AAAAAAAAAAAAAAAAAAAAAA"}),
        serde_json::json!({"alg": "RS256", "typ": "JWT"}),
        serde_json::json!({"alg": "RS256", "kid": 7}),
    ] {
        let t = format!("{}.{}.{}", b64e(header.to_string().as_bytes()), parts[1], parts[2]);
        assert!(matches!(issuer.verify_access(&t, POOL, NOW), Err(TokenError::UnknownKey)));
    }
    // A `crit` header we do not understand.
    let header = serde_json::json!({"alg": "RS256", "kid": issuer.keyring().active_kid(), "crit": ["exp"]});
    let t = format!("{}.{}.{}", b64e(header.to_string().as_bytes()), parts[1], parts[2]);
    assert!(matches!(issuer.verify_access(&t, POOL, NOW), Err(TokenError::Malformed(_))));
}

#[test]
fn issuer_refuses_inconsistent_claims() {
    let (_dir, issuer) = issuer();
    let mut c = id_claims(&issuer);
    c.iss = "https://elsewhere.example/pool".into();
    assert!(matches!(issuer.issue_id(&c), Err(TokenError::InvalidClaims(_))));
    c.iss = format!("{BASE}/");
    assert!(matches!(issuer.issue_id(&c), Err(TokenError::InvalidClaims(_))));

    let mut c = id_claims(&issuer);
    c.attributes.insert("sub".into(), "someone-else".into());
    assert!(matches!(issuer.issue_id(&c), Err(TokenError::InvalidClaims(_))));

    let mut c = id_claims(&issuer);
    c.token_use = "access".into();
    assert!(matches!(issuer.issue_id(&c), Err(TokenError::InvalidClaims(_))));

    let mut a = access_claims(&issuer);
    a.exp = a.iat;
    assert!(matches!(issuer.issue_access(&a), Err(TokenError::InvalidClaims(_))));
}

/// Our tokens verify with an independent RS256 implementation: the `rsa` crate's PKCS#1 v1.5
/// verifier, using only the public JWKS (n, e), not jsonwebtoken.
#[test]
fn independent_rs256_verification_from_jwks() {
    let (_dir, issuer) = issuer();
    let jwks = issuer.jwks();
    for token in [issuer.issue_id(&id_claims(&issuer)).unwrap(), issuer.issue_access(&access_claims(&issuer)).unwrap()] {
        let kid = part_json(&token, 0)["kid"].as_str().unwrap().to_owned();
        let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid.as_str()).unwrap();
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["use"], "sig");
        let n = jwk["n"].as_str().unwrap();
        assert!(!n.contains('=') && !n.contains('+') && !n.contains('/'));
        let public = RsaPublicKey::new(BigUint::from_bytes_be(&b64d(n)), BigUint::from_bytes_be(&b64d(jwk["e"].as_str().unwrap()))).unwrap();
        assert_eq!(public.size(), 256, "RSA-2048");

        let (signing_input, sig) = token.rsplit_once('.').unwrap();
        let digest = Sha256::digest(signing_input.as_bytes());
        public.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &b64d(sig)).unwrap();

        let other = Sha256::digest(format!("{signing_input}x").as_bytes());
        assert!(public.verify(Pkcs1v15Sign::new::<Sha256>(), &other, &b64d(sig)).is_err());

        // kid = base64url(SHA-256(DER SPKI)[..16])
        let der = public.to_public_key_der().unwrap();
        assert_eq!(kid, b64e(&Sha256::digest(der.as_bytes())[..16]));
    }
}
