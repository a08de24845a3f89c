//! Key ring persistence, sharing between processes, rotation and pruning.

mod common;

use std::path::Path;

use common::*;
use idp_tokens::{KeyRing, TokenError, TokenIssuer};

fn pem_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| n.ends_with(".pem")).collect();
    v.sort();
    v
}

fn kids(jwks: &serde_json::Value) -> Vec<String> {
    jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn keys_survive_reload_without_new_key_and_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let keydir = dir.path().join("keys");
    let ring = KeyRing::load_or_create(&keydir, NOW).unwrap();
    let kid = ring.active_kid().to_owned();
    assert_eq!(kid.len(), 22, "16 bytes base64url unpadded");
    assert_eq!(pem_files(&keydir), vec![format!("{kid}.pem")]);

    // A restart (or a second process) loads the very same key; nothing new is generated.
    let again = KeyRing::load_or_create(&keydir, NOW + 100).unwrap();
    assert_eq!(again.active_kid(), kid);
    assert_eq!(again.keys(), ring.keys());
    assert_eq!(again.jwks(), ring.jwks());
    assert_eq!(pem_files(&keydir), vec![format!("{kid}.pem")]);
    let loaded = KeyRing::load(&keydir).unwrap();
    assert_eq!(loaded.active_kid(), kid);

    // A token issued before the restart verifies after it.
    let before = TokenIssuer::new(ring, BASE);
    let token = before.issue_access(&access_claims(&before)).unwrap();
    let after = TokenIssuer::new(again, BASE);
    assert!(after.verify_access(&token, POOL, NOW).is_ok());

    #[cfg(unix)]
    {
        assert_eq!(mode(&keydir.join(format!("{kid}.pem"))), 0o600);
        assert_eq!(mode(&keydir.join("keys.json")), 0o600);
        assert_eq!(mode(&keydir), 0o700);
    }
    let pem = std::fs::read_to_string(keydir.join(format!("{kid}.pem"))).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8 PEM");
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(keydir.join("keys.json")).unwrap()).unwrap();
    assert_eq!(manifest["keys"][0]["kid"], kid.as_str());
    assert_eq!(manifest["keys"][0]["active"], true);
    assert_eq!(manifest["keys"][0]["created_at"], NOW);

    // Debug output carries no key material.
    let dbg = format!("{:?} {:?}", KeyRing::load(&keydir).unwrap(), after);
    assert!(!dbg.contains("PRIVATE") && !dbg.contains(&pem[40..80]));
}

#[test]
fn load_never_generates() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(KeyRing::load(dir.path()), Err(TokenError::KeyStore { .. })));
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "nothing written");
}

#[test]
fn concurrent_first_start_agrees_on_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let p = path.clone();
            std::thread::spawn(move || KeyRing::load_or_create(&p, NOW).unwrap().active_kid().to_owned())
        })
        .collect();
    let kids: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(kids.windows(2).all(|w| w[0] == w[1]), "{kids:?}");
    assert_eq!(pem_files(&path).len(), 1);
}

#[test]
fn rotation_keeps_old_key_until_its_tokens_expired() {
    const MAX: u64 = 3600;
    let (dir, ring) = ring();
    let issuer = TokenIssuer::new(ring, BASE);
    let old_kid = issuer.keyring().active_kid().to_owned();
    let old_token = issuer.issue_access(&access_claims(&issuer)).unwrap();

    let rotated_at = NOW + 60;
    let new_kid = issuer.update_keyring(|k| k.rotate(rotated_at, MAX)).unwrap();
    assert_ne!(new_kid, old_kid);
    assert_eq!(issuer.keyring().active_kid(), new_kid);

    // Old tokens still verify; new tokens carry the new kid; JWKS has both (active first).
    assert!(issuer.verify_access(&old_token, POOL, rotated_at).is_ok());
    let mut c = access_claims(&issuer);
    c.iat = rotated_at;
    c.exp = rotated_at + 3600;
    let new_token = issuer.issue_access(&c).unwrap();
    assert_eq!(part_json(&new_token, 0)["kid"], new_kid.as_str());
    assert!(issuer.verify_access(&new_token, POOL, rotated_at).is_ok());
    assert_eq!(kids(&issuer.jwks()), vec![new_kid.clone(), old_kid.clone()]);

    let old_info = issuer.keyring().keys().into_iter().find(|k| k.kid == old_kid).unwrap();
    assert!(!old_info.active);
    assert_eq!(old_info.retired_at, Some(rotated_at));
    assert_eq!(old_info.not_after, Some(rotated_at + MAX as i64));

    // Another process picks the rotation up from the directory.
    let mut other = KeyRing::load(dir.path()).unwrap();
    assert_eq!(other.active_kid(), new_kid);
    assert_eq!(kids(&other.jwks()), vec![new_kid.clone(), old_kid.clone()]);

    // Pruning before the grace period ends removes nothing.
    let removed = issuer.update_keyring(|k| k.prune(rotated_at + MAX as i64 - 1)).unwrap();
    assert!(removed.is_empty());
    assert_eq!(kids(&issuer.jwks()).len(), 2);

    // After it: only the new key is left, on disk too.
    let removed = issuer.update_keyring(|k| k.prune(rotated_at + MAX as i64)).unwrap();
    assert_eq!(removed, vec![old_kid.clone()]);
    assert_eq!(kids(&issuer.jwks()), vec![new_kid.clone()]);
    assert_eq!(pem_files(dir.path()), vec![format!("{new_kid}.pem")]);
    assert!(matches!(issuer.verify_access(&old_token, POOL, NOW), Err(TokenError::UnknownKey)));
    assert!(issuer.verify_access(&new_token, POOL, rotated_at + 10).is_ok());

    other.reload().unwrap();
    assert_eq!(kids(&other.jwks()), vec![new_kid.clone()]);
    let reloaded = KeyRing::load_or_create(dir.path(), NOW + 99_999).unwrap();
    assert_eq!(reloaded.active_kid(), new_kid);
    assert_eq!(pem_files(dir.path()).len(), 1, "no key generated on reload");
}

#[test]
fn lone_pem_is_adopted_and_inconsistent_manifest_rejected() {
    let (dir, ring) = ring();
    let kid = ring.active_kid().to_owned();
    let pem_name = format!("{kid}.pem");

    // A directory distributed through config holding only the PEM.
    let shared = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join(&pem_name), shared.path().join("signing.pem")).unwrap();
    let adopted = KeyRing::load_or_create(shared.path(), NOW).unwrap();
    assert_eq!(adopted.active_kid(), kid, "kid derives from the key, not the file");
    assert_eq!(pem_files(shared.path()), vec!["signing.pem".to_owned()]);

    // Manifest naming a kid whose PEM holds another key.
    let manifest_path = dir.path().join("keys.json");
    let manifest = std::fs::read_to_string(&manifest_path).unwrap();
    let bogus = "BBBBBBBBBBBBBBBBBBBBBB";
    std::fs::copy(dir.path().join(&pem_name), dir.path().join(format!("{bogus}.pem"))).unwrap();
    std::fs::write(&manifest_path, manifest.replace(&kid, bogus)).unwrap();
    assert!(matches!(KeyRing::load(dir.path()), Err(TokenError::KeyStore { .. })));
    assert!(matches!(KeyRing::load_or_create(dir.path(), NOW), Err(TokenError::KeyStore { .. })));

    // Garbage manifest: error, never a silently generated key.
    std::fs::write(&manifest_path, b"{not json").unwrap();
    assert!(matches!(KeyRing::load_or_create(dir.path(), NOW), Err(TokenError::KeyStore { .. })));
}
