//! `KeyPolicy::tick`: several "processes" (issuers) on one keys directory follow a rotation,
//! rotate once between them on a schedule, and prune keys whose tokens have all expired.

mod common;

use std::time::Duration;

use common::*;
use idp_tokens::maintenance::{KeyPolicy, DEFAULT_RETIRE_AFTER_SECS};
use idp_tokens::{KeyRing, TokenError, TokenIssuer};

fn kids(issuer: &TokenIssuer) -> Vec<String> {
    issuer.jwks()["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
}

fn token_at(issuer: &TokenIssuer, now: i64) -> String {
    let mut c = access_claims(issuer);
    c.iat = now;
    c.exp = now + 3600;
    issuer.issue_access(&c).unwrap()
}

const MANUAL: KeyPolicy = KeyPolicy { rotate_every_secs: None, retire_after_secs: DEFAULT_RETIRE_AFTER_SECS };

#[test]
fn a_rotation_elsewhere_reaches_every_process_at_its_next_tick() {
    let dir = tempfile::tempdir().unwrap();
    let a = TokenIssuer::new(KeyRing::load_or_create(dir.path(), NOW).unwrap(), BASE);
    let b = TokenIssuer::new(KeyRing::load_or_create(dir.path(), NOW).unwrap(), BASE);
    let old_kid = a.keyring().active_kid().to_owned();
    assert_eq!(b.keyring().active_kid(), old_kid, "both processes start on the same key");
    let before = token_at(&b, NOW);

    // `idp keys rotate`: another ring on the same directory.
    let mut cli = KeyRing::load(dir.path()).unwrap();
    let new_kid = cli.rotate(NOW + 10, DEFAULT_RETIRE_AFTER_SECS).unwrap();

    // Until their tick, both still sign with the old key (and know nothing of the new one).
    assert_eq!(a.keyring().active_kid(), old_kid);
    for p in [&a, &b] {
        let t = MANUAL.tick(p, NOW + 20).unwrap();
        assert!(t.active_changed && t.rotated.is_none() && t.pruned.is_empty(), "{t:?}");
        assert_eq!(t.active_kid, new_kid);
        assert_eq!(kids(p), vec![new_kid.clone(), old_kid.clone()], "JWKS: newest first, old kept");
    }
    // Old token verifies on both; new tokens carry the new kid and verify on both.
    let after = token_at(&a, NOW + 20);
    assert_eq!(part_json(&after, 0)["kid"], new_kid.as_str());
    for p in [&a, &b] {
        assert!(p.verify_access(&before, POOL, NOW + 30).is_ok());
        assert!(p.verify_access(&after, POOL, NOW + 30).is_ok());
    }
    // A tick with nothing new changes nothing.
    let t = MANUAL.tick(&a, NOW + 40).unwrap();
    assert!(!t.active_changed && t.rotated.is_none() && t.pruned.is_empty(), "{t:?}");
}

#[test]
fn scheduled_rotation_happens_once_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let a = TokenIssuer::new(KeyRing::load_or_create(dir.path(), NOW).unwrap(), BASE);
    let b = TokenIssuer::new(KeyRing::load_or_create(dir.path(), NOW).unwrap(), BASE);
    let first = a.keyring().active_kid().to_owned();
    let policy = KeyPolicy { rotate_every_secs: Some(100), retire_after_secs: 1000 };

    // Not due yet.
    let t = policy.tick(&a, NOW + 99).unwrap();
    assert!(t.rotated.is_none() && !t.active_changed);
    // Due: the first process to tick rotates, the other adopts its key instead of rotating again.
    let t = policy.tick(&a, NOW + 100).unwrap();
    let second = t.rotated.clone().expect("rotated when due");
    let t = policy.tick(&b, NOW + 101).unwrap();
    assert_eq!(t.rotated, None, "b must not rotate a key a rotated a second ago");
    assert_eq!(t.active_kid, second);
    assert_eq!(kids(&b), vec![second.clone(), first.clone()]);
    let info = a.keyring().keys().into_iter().find(|k| k.kid == first).unwrap();
    assert_eq!(info.not_after, Some(NOW + 100 + 1000));
    assert_eq!(KeyRing::load(dir.path()).unwrap().keys().len(), 2, "exactly one new key on disk");
}

#[test]
fn retired_keys_are_pruned_once_every_token_they_signed_expired() {
    let dir = tempfile::tempdir().unwrap();
    let a = TokenIssuer::new(KeyRing::load_or_create(dir.path(), NOW).unwrap(), BASE);
    let b = TokenIssuer::new(KeyRing::load_or_create(dir.path(), NOW).unwrap(), BASE);
    let old_kid = a.keyring().active_kid().to_owned();
    let old_token = token_at(&a, NOW);
    let new_kid = a.update_keyring(|k| k.rotate(NOW + 10, 3600)).unwrap();
    MANUAL.tick(&b, NOW + 11).unwrap();

    // Still published one second before `not_after`.
    let t = MANUAL.tick(&b, NOW + 10 + 3599).unwrap();
    assert!(t.pruned.is_empty());
    assert!(b.verify_access(&old_token, POOL, NOW + 3599).is_ok());
    // At `not_after` the first process to tick prunes (files and manifest); the other follows.
    let t = MANUAL.tick(&b, NOW + 10 + 3600).unwrap();
    assert_eq!(t.pruned, vec![old_kid.clone()]);
    assert_eq!(kids(&b), vec![new_kid.clone()]);
    let t = MANUAL.tick(&a, NOW + 10 + 3601).unwrap();
    assert!(t.pruned.is_empty(), "already pruned by b: {t:?}");
    assert_eq!(kids(&a), vec![new_kid.clone()]);
    assert!(!dir.path().join(format!("{old_kid}.pem")).exists());
    assert!(matches!(a.verify_access(&old_token, POOL, NOW), Err(TokenError::UnknownKey)));
}

#[test]
fn the_default_grace_covers_the_longest_token_and_reload_interval() {
    use idp_tokens::maintenance::{CLOCK_SKEW_SECS, MAX_RELOAD_SECS};
    use idp_tokens::validity::MAX_ID_ACCESS_SECS;
    assert!(DEFAULT_RETIRE_AFTER_SECS >= MAX_ID_ACCESS_SECS as u64 + MAX_RELOAD_SECS);
    assert_eq!(KeyPolicy::retire_after_for(60), MAX_ID_ACCESS_SECS as u64 + 60 + CLOCK_SKEW_SECS);
    assert!(KeyPolicy::retire_after_for(MAX_RELOAD_SECS) <= DEFAULT_RETIRE_AFTER_SECS);
}

#[test]
fn unknown_kid_reloads_at_most_once_per_interval() {
    let dir = tempfile::tempdir().unwrap();
    let a = TokenIssuer::new(KeyRing::load_or_create(dir.path(), NOW).unwrap(), BASE);
    let b = TokenIssuer::new(KeyRing::load_or_create(dir.path(), NOW).unwrap(), BASE);
    b.update_keyring(|k| k.rotate(NOW + 1, 3600)).unwrap();
    let from_b = token_at(&b, NOW + 2);
    assert!(matches!(a.verify_access(&from_b, POOL, NOW + 3), Err(TokenError::UnknownKey)));
    assert!(a.reload_for_unknown_kid(Duration::from_secs(60)), "first miss reloads");
    assert!(a.verify_access(&from_b, POOL, NOW + 3).is_ok());
    assert!(!a.reload_for_unknown_kid(Duration::from_secs(60)), "a second miss within the interval does not");
}
