//! `KeyRing`: the RSA-2048 RS256 signing keys of the service, persisted in a directory.
//!
//! Layout of the key directory (shared by every process that signs or verifies):
//! - `<kid>.pem`: the private key, PKCS#8 PEM, mode 0600, written once and never modified;
//! - `keys.json`: the manifest (mode 0600, replaced atomically) listing every key with its
//!   `created_at`, `retired_at`, `not_after` and `active` flag; exactly one key is active;
//! - `.lock`: advisory lock serialising creation, rotation and pruning between processes.
//!
//! `kid` = base64url (unpadded) of the first 16 bytes of SHA-256 over the DER
//! SubjectPublicKeyInfo, so it is stable across restarts and identical in every process.
//! A PEM file is always written before the manifest that names it; readers never take the lock.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_lc_rs::signature::RsaKeyPair;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::DecodingKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::TokenError;
use crate::fsutil::{self, DirLock};

/// Modulus size of generated keys.
pub const KEY_BITS: usize = 2048;
const MANIFEST_FILE: &str = "keys.json";
const MANIFEST_VERSION: u32 = 1;

/// Public, non-secret description of one key of the ring (as recorded in the manifest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// Key id, as put in JWT headers and the JWKS.
    pub kid: String,
    /// Unix seconds at which the key was generated.
    pub created_at: i64,
    /// Unix seconds at which the key stopped signing (None while active).
    #[serde(default)]
    pub retired_at: Option<i64>,
    /// Unix seconds after which no token signed by this key can still be valid; the key may be
    /// pruned from then on (None while active).
    #[serde(default)]
    pub not_after: Option<i64>,
    /// Whether this key signs new tokens. Exactly one key of a ring is active.
    pub active: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    version: u32,
    keys: Vec<KeyInfo>,
}

#[derive(Clone)]
struct LoadedKey {
    info: KeyInfo,
    /// Parsed once (validated on load), signing with AWS-LC; `jsonwebtoken::encode` would parse
    /// the DER on every token.
    signer: Arc<RsaKeyPair>,
    decoding: DecodingKey,
    /// base64url modulus and exponent for the JWKS.
    n: String,
    e: String,
}

/// The signing keys: one active key plus retired keys kept for verification until every token
/// they signed has expired. Cheap to clone (no key generation, no I/O).
#[derive(Clone)]
pub struct KeyRing {
    dir: PathBuf,
    /// Sorted: active key first, then by `created_at` descending.
    keys: Vec<LoadedKey>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material: only the public descriptions.
        f.debug_struct("KeyRing").field("dir", &self.dir).field("keys", &self.keys.iter().map(|k| &k.info).collect::<Vec<_>>()).finish()
    }
}

/// `kid` for a public key: base64url(SHA-256(DER SubjectPublicKeyInfo)[..16]).
pub fn kid_for(public: &RsaPublicKey) -> Result<String, TokenError> {
    let der = public.to_public_key_der().map_err(|e| TokenError::Crypto(format!("encoding public key: {e}")))?;
    let digest = Sha256::digest(der.as_bytes());
    Ok(URL_SAFE_NO_PAD.encode(&digest[..16]))
}

fn pem_path(dir: &Path, kid: &str) -> PathBuf {
    dir.join(format!("{kid}.pem"))
}

fn valid_kid(kid: &str) -> bool {
    !kid.is_empty() && kid.len() <= 64 && kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Parses a PKCS#8 PEM private key into a usable key; returns it with its computed kid.
fn parse_pem(path: &Path, pem: &str, info: Option<KeyInfo>) -> Result<LoadedKey, TokenError> {
    let private = RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| TokenError::store(path, format!("not a PKCS#8 RSA private key: {e}")))?;
    loaded_from_private(path, &private, info)
}

fn loaded_from_private(path: &Path, private: &RsaPrivateKey, info: Option<KeyInfo>) -> Result<LoadedKey, TokenError> {
    if private.size() * 8 < KEY_BITS {
        return Err(TokenError::store(path, "RSA key shorter than 2048 bits"));
    }
    let public = private.to_public_key();
    let kid = kid_for(&public)?;
    let info = match info {
        Some(info) if info.kid != kid => return Err(TokenError::store(path, "key does not match the kid recorded for it")),
        Some(info) => info,
        None => KeyInfo { kid, created_at: 0, retired_at: None, not_after: None, active: true },
    };
    let pkcs1 = private.to_pkcs1_der().map_err(|e| TokenError::Crypto(format!("encoding private key: {e}")))?;
    let signer = RsaKeyPair::from_der(pkcs1.as_bytes()).map_err(|e| TokenError::store(path, format!("RSA key rejected by the signer: {e}")))?;
    let n_bytes = public.n().to_bytes_be();
    let e_bytes = public.e().to_bytes_be();
    Ok(LoadedKey {
        info,
        signer: Arc::new(signer),
        decoding: DecodingKey::from_rsa_raw_components(&n_bytes, &e_bytes),
        n: URL_SAFE_NO_PAD.encode(&n_bytes),
        e: URL_SAFE_NO_PAD.encode(&e_bytes),
    })
}

fn read_pem(path: &Path) -> Result<Zeroizing<String>, TokenError> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| TokenError::io(path, e))?);
    let text = std::str::from_utf8(&bytes).map_err(|_| TokenError::store(path, "not UTF-8 PEM"))?;
    Ok(Zeroizing::new(text.to_owned()))
}

fn sort_keys(keys: &mut [LoadedKey]) {
    keys.sort_by(|a, b| b.info.active.cmp(&a.info.active).then(b.info.created_at.cmp(&a.info.created_at)));
}

/// Reads the key directory. `Ok(None)` when it holds no key at all.
/// `reuse` lets a reload skip re-reading private keys it already holds.
fn load_dir(dir: &Path, reuse: &[LoadedKey]) -> Result<Option<Vec<LoadedKey>>, TokenError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let Some(raw) = fsutil::read_optional(&manifest_path)? else {
        return adopt_lone_pem(dir);
    };
    let manifest: Manifest = serde_json::from_slice(&raw).map_err(|e| TokenError::store(&manifest_path, format!("unreadable manifest: {e}")))?;
    if manifest.version != MANIFEST_VERSION {
        return Err(TokenError::store(&manifest_path, format!("unsupported manifest version {}", manifest.version)));
    }
    if manifest.keys.iter().filter(|k| k.active).count() != 1 {
        return Err(TokenError::store(&manifest_path, "manifest must have exactly one active key"));
    }
    let mut keys: Vec<LoadedKey> = Vec::with_capacity(manifest.keys.len());
    for info in manifest.keys {
        if !valid_kid(&info.kid) {
            return Err(TokenError::store(&manifest_path, "manifest holds an invalid kid"));
        }
        if keys.iter().any(|k| k.info.kid == info.kid) {
            return Err(TokenError::store(&manifest_path, "manifest lists a kid twice"));
        }
        if let Some(known) = reuse.iter().find(|k| k.info.kid == info.kid) {
            let mut key = known.clone();
            key.info = info;
            keys.push(key);
            continue;
        }
        let path = pem_path(dir, &info.kid);
        let pem = read_pem(&path)?;
        keys.push(parse_pem(&path, &pem, Some(info))?);
    }
    sort_keys(&mut keys);
    Ok(Some(keys))
}

/// A directory with no manifest but exactly one PEM file (e.g. a key distributed through
/// configuration) is used as a one-key ring; several PEM files without a manifest are ambiguous.
fn adopt_lone_pem(dir: &Path) -> Result<Option<Vec<LoadedKey>>, TokenError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(TokenError::io(dir, e)),
    };
    let mut pems = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| TokenError::io(dir, e))?;
        let path = entry.path();
        let is_pem = path.extension().is_some_and(|x| x == "pem");
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if is_pem && !hidden {
            pems.push(path);
        }
    }
    match pems.as_slice() {
        [] => Ok(None),
        [path] => {
            let pem = read_pem(path)?;
            let mut key = parse_pem(path, &pem, None)?;
            key.info.created_at = std::fs::metadata(path)
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            Ok(Some(vec![key]))
        }
        _ => Err(TokenError::store(dir, "several PEM files but no keys.json manifest")),
    }
}

fn write_manifest(dir: &Path, keys: &[LoadedKey]) -> Result<(), TokenError> {
    let mut infos: Vec<KeyInfo> = keys.iter().map(|k| k.info.clone()).collect();
    infos.sort_by_key(|k| k.created_at);
    let manifest = Manifest { version: MANIFEST_VERSION, keys: infos };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| TokenError::Crypto(format!("serialising manifest: {e}")))?;
    fsutil::write_private_atomic(&dir.join(MANIFEST_FILE), &json)
}

/// Generates a fresh key and writes its PEM file (not yet the manifest).
fn generate_key(dir: &Path, now_unix: i64) -> Result<LoadedKey, TokenError> {
    let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS).map_err(|e| TokenError::Crypto(format!("RSA key generation: {e}")))?;
    let pem = private.to_pkcs8_pem(LineEnding::LF).map_err(|e| TokenError::Crypto(format!("encoding private key: {e}")))?;
    let info = KeyInfo { kid: kid_for(&private.to_public_key())?, created_at: now_unix, retired_at: None, not_after: None, active: true };
    let path = pem_path(dir, &info.kid);
    // A kid collision would mean the very same public key: keep the file that is there.
    fsutil::publish_private_new(&path, pem.as_bytes())?;
    loaded_from_private(&path, &private, Some(info))
}

impl KeyRing {
    /// Loads the ring from `dir`, generating and persisting a first key only if the directory
    /// holds none. Concurrent first starts of several processes agree on a single key.
    pub fn load_or_create(dir: &Path, now_unix: i64) -> Result<KeyRing, TokenError> {
        if let Some(keys) = load_dir(dir, &[])? {
            return Ok(KeyRing { dir: dir.to_path_buf(), keys });
        }
        fsutil::ensure_private_dir(dir)?;
        let _lock = DirLock::acquire(dir)?;
        // Someone may have created the key while we waited for the lock.
        if let Some(keys) = load_dir(dir, &[])? {
            return Ok(KeyRing { dir: dir.to_path_buf(), keys });
        }
        let keys = vec![generate_key(dir, now_unix)?];
        write_manifest(dir, &keys)?;
        Ok(KeyRing { dir: dir.to_path_buf(), keys })
    }

    /// Loads the ring from `dir`; never generates a key (for read-only / distributed key
    /// directories). Fails with [`TokenError::KeyStore`] when the directory holds no key.
    pub fn load(dir: &Path) -> Result<KeyRing, TokenError> {
        match load_dir(dir, &[])? {
            Some(keys) => Ok(KeyRing { dir: dir.to_path_buf(), keys }),
            None => Err(TokenError::store(dir, "no signing key in directory")),
        }
    }

    /// Re-reads the directory to pick up rotations and prunes done by other processes.
    /// Private keys already held are not re-read.
    pub fn reload(&mut self) -> Result<(), TokenError> {
        match load_dir(&self.dir, &self.keys)? {
            Some(keys) => {
                self.keys = keys;
                Ok(())
            }
            None => Err(TokenError::store(&self.dir, "no signing key in directory")),
        }
    }

    /// Generates a new active key. The previously active key is retired at `now_unix` and stays
    /// published (and usable for verification) until `now_unix + max_token_lifetime_secs`,
    /// after which [`KeyRing::prune`] removes it. Works on the directory's current state (under
    /// the lock), so rotations by other processes are not lost. Returns the new kid.
    pub fn rotate(&mut self, now_unix: i64, max_token_lifetime_secs: u64) -> Result<String, TokenError> {
        let _lock = DirLock::acquire(&self.dir)?;
        let keys = load_dir(&self.dir, &self.keys)?.unwrap_or_default();
        self.rotate_locked(keys, now_unix, max_token_lifetime_secs)
    }

    /// Rotates only when the directory's active key was created `max_age_secs` or more before
    /// `now_unix`. The check runs under the lock on the directory's current state, so several
    /// processes on the same schedule rotate once between them. Returns the new kid, or `None`
    /// (the ring is then reloaded) when the active key is younger.
    pub fn rotate_if_older(&mut self, now_unix: i64, max_age_secs: u64, max_token_lifetime_secs: u64) -> Result<Option<String>, TokenError> {
        let age = i64::try_from(max_age_secs).unwrap_or(i64::MAX);
        let _lock = DirLock::acquire(&self.dir)?;
        let keys = load_dir(&self.dir, &self.keys)?.unwrap_or_default();
        let due = keys.iter().find(|k| k.info.active).is_none_or(|k| k.info.created_at.saturating_add(age) <= now_unix);
        if !due {
            self.keys = keys;
            return Ok(None);
        }
        self.rotate_locked(keys, now_unix, max_token_lifetime_secs).map(Some)
    }

    /// Whether some retired key may be pruned at `now_unix` (see [`KeyRing::prune`]).
    pub fn has_expired(&self, now_unix: i64) -> bool {
        self.keys.iter().any(|k| !k.info.active && k.info.not_after.is_some_and(|t| t <= now_unix))
    }

    /// The rotation itself; the caller holds the directory lock and read `keys` under it.
    fn rotate_locked(&mut self, mut keys: Vec<LoadedKey>, now_unix: i64, max_token_lifetime_secs: u64) -> Result<String, TokenError> {
        let lifetime = i64::try_from(max_token_lifetime_secs).unwrap_or(i64::MAX);
        let new_key = generate_key(&self.dir, now_unix)?;
        let kid = new_key.info.kid.clone();
        for key in keys.iter_mut().filter(|k| k.info.active) {
            key.info.active = false;
            key.info.retired_at = Some(now_unix);
            key.info.not_after = Some(now_unix.saturating_add(lifetime));
        }
        keys.retain(|k| k.info.kid != kid);
        keys.push(new_key);
        sort_keys(&mut keys);
        write_manifest(&self.dir, &keys)?;
        self.keys = keys;
        Ok(kid)
    }

    /// Removes retired keys whose `not_after` is at or before `now_unix` (from the manifest,
    /// then their PEM files). Returns the kids removed.
    pub fn prune(&mut self, now_unix: i64) -> Result<Vec<String>, TokenError> {
        let _lock = DirLock::acquire(&self.dir)?;
        let Some(mut keys) = load_dir(&self.dir, &self.keys)? else {
            return Err(TokenError::store(&self.dir, "no signing key in directory"));
        };
        let expired = |k: &LoadedKey| !k.info.active && k.info.not_after.is_some_and(|t| t <= now_unix);
        let removed: Vec<String> = keys.iter().filter(|k| expired(k)).map(|k| k.info.kid.clone()).collect();
        if !removed.is_empty() {
            keys.retain(|k| !expired(k));
            write_manifest(&self.dir, &keys)?;
            for kid in &removed {
                let path = pem_path(&self.dir, kid);
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(TokenError::io(&path, e)),
                }
            }
        }
        self.keys = keys;
        Ok(removed)
    }

    /// The directory the ring lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Kid of the key that signs new tokens.
    pub fn active_kid(&self) -> &str {
        self.keys.first().map_or("", |k| k.info.kid.as_str())
    }

    /// Public descriptions of every key (active first, then newest first).
    pub fn keys(&self) -> Vec<KeyInfo> {
        self.keys.iter().map(|k| k.info.clone()).collect()
    }

    /// The JSON Web Key Set: `{"keys":[{kty,alg,use,kid,n,e}]}`, active key first.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .keys
            .iter()
            .map(|k| {
                serde_json::json!({
                    "kty": "RSA",
                    "alg": "RS256",
                    "use": "sig",
                    "kid": k.info.kid,
                    "n": k.n,
                    "e": k.e,
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// The active signing key and its kid.
    pub(crate) fn signing_key(&self) -> Result<(&str, &RsaKeyPair), TokenError> {
        match self.keys.first() {
            Some(k) if k.info.active => Ok((k.info.kid.as_str(), &k.signer)),
            _ => Err(TokenError::store(&self.dir, "no active signing key")),
        }
    }

    /// The verification key for `kid`, if the ring holds it.
    pub(crate) fn decoding_key(&self, kid: &str) -> Option<&DecodingKey> {
        self.keys.iter().find(|k| k.info.kid == kid).map(|k| &k.decoding)
    }
}
