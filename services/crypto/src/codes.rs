//! One-time verification codes (6 digits) that are never stored in clear text.
//!
//! For each code the service stores a salt, a peppered hash HMAC-SHA256(pepper, salt || code)
//! to check what the user types, and the code sealed with XChaCha20-Poly1305 under a separate
//! key so that the message sender can decrypt it for delivery. Both keys live in
//! [`CodeKeys`], loaded from `<dir>/code-keys.json` (mode 0600) or from configuration, so that
//! several processes can share them. Without the pepper, a leaked hash cannot be brute-forced
//! over the 10^6 possible codes.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::ct::ct_eq;
use crate::mac::hmac_sha256;
use crate::CryptoError;

/// File name of the key file inside the data directory.
pub const KEY_FILE_NAME: &str = "code-keys.json";
/// Number of digits of a code.
pub const CODE_DIGITS: usize = 6;
const CODE_SPACE: u32 = 1_000_000;
const NONCE_LEN: usize = 24;
/// Associated data binding sealed codes to this purpose and format version.
const SEAL_AAD: &[u8] = b"idp-crypto/code/v1";

/// The pepper and sealing key for one-time codes. Zeroized on drop; `Debug` shows nothing.
#[derive(Clone)]
pub struct CodeKeys {
    pepper: [u8; 32],
    seal_key: [u8; 32],
}

impl Drop for CodeKeys {
    fn drop(&mut self) {
        self.pepper.zeroize();
        self.seal_key.zeroize();
    }
}

impl std::fmt::Debug for CodeKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeKeys(<redacted>)")
    }
}

/// A freshly issued code: deliver `code` (or `sealed`), store `salt`, `hash` and `sealed`.
pub struct IssuedCode {
    /// The 6-digit code, zero-padded (e.g. "004217"). Never store it.
    pub code: Zeroizing<String>,
    /// Random per-code salt.
    pub salt: [u8; 16],
    /// HMAC-SHA256(pepper, salt || code).
    pub hash: [u8; 32],
    /// nonce (24 bytes) || XChaCha20-Poly1305 ciphertext of the code.
    pub sealed: Vec<u8>,
}

impl std::fmt::Debug for IssuedCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCode")
            .field("code", &"<redacted>")
            .field("salt", &hex::encode(self.salt))
            .field("hash", &hex::encode(self.hash))
            .field("sealed_len", &self.sealed.len())
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct KeyFileV1 {
    version: u32,
    pepper: String,
    seal_key: String,
}

impl Drop for KeyFileV1 {
    fn drop(&mut self) {
        self.pepper.zeroize();
        self.seal_key.zeroize();
    }
}

fn decode_key(b64: &str, what: &str, path: &str) -> Result<[u8; 32], CryptoError> {
    let bytes =
        Zeroizing::new(STANDARD.decode(b64).map_err(|_| CryptoError::KeyFileFormat { path: path.to_owned(), reason: format!("{what} is not valid base64") })?);
    <[u8; 32]>::try_from(&bytes[..]).map_err(|_| CryptoError::KeyFileFormat { path: path.to_owned(), reason: format!("{what} must be 32 bytes") })
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CryptoError + '_ {
    move |source| CryptoError::KeyFileIo { path: path.display().to_string(), source }
}

impl CodeKeys {
    /// Keys from explicit bytes (e.g. from configuration shared by several processes).
    pub fn from_bytes(pepper: [u8; 32], seal_key: [u8; 32]) -> Self {
        Self { pepper, seal_key }
    }

    /// Fresh random keys.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut keys = Self { pepper: [0; 32], seal_key: [0; 32] };
        rng.fill_bytes(&mut keys.pepper);
        rng.fill_bytes(&mut keys.seal_key);
        keys
    }

    /// Parses the key file's JSON (`{"version":1,"pepper":"<b64>","seal_key":"<b64>"}`), as
    /// produced by [`to_json`](Self::to_json).
    pub fn from_json(text: &str) -> Result<Self, CryptoError> {
        Self::parse(text, "<inline>")
    }

    fn parse(text: &str, path: &str) -> Result<Self, CryptoError> {
        let file: KeyFileV1 = serde_json::from_str(text)
            .map_err(|e| CryptoError::KeyFileFormat { path: path.to_owned(), reason: format!("invalid JSON: line {} column {}", e.line(), e.column()) })?;
        if file.version != 1 {
            return Err(CryptoError::KeyFileFormat { path: path.to_owned(), reason: format!("unsupported version {}", file.version) });
        }
        Ok(Self { pepper: decode_key(&file.pepper, "pepper", path)?, seal_key: decode_key(&file.seal_key, "seal_key", path)? })
    }

    /// The keys as key-file JSON (secret: handle like the file).
    pub fn to_json(&self) -> Zeroizing<String> {
        let file = KeyFileV1 { version: 1, pepper: STANDARD.encode(self.pepper), seal_key: STANDARD.encode(self.seal_key) };
        // Serializing a struct of strings and an integer cannot fail; an empty string would
        // be rejected by `from_json`, never mistaken for keys.
        Zeroizing::new(serde_json::to_string_pretty(&file).unwrap_or_default())
    }

    /// Path of the key file in `dir`.
    pub fn file_path(dir: &Path) -> PathBuf {
        dir.join(KEY_FILE_NAME)
    }

    /// Loads a key file, refusing one that group or others may access.
    pub fn load(path: &Path) -> Result<Self, CryptoError> {
        let meta = fs::metadata(path).map_err(io_err(path))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(CryptoError::KeyFilePermissions { path: path.display().to_string(), mode });
            }
        }
        #[cfg(not(unix))]
        let _ = meta;
        let text = Zeroizing::new(fs::read_to_string(path).map_err(io_err(path))?);
        Self::parse(&text, &path.display().to_string())
    }

    /// Loads `<dir>/code-keys.json`, creating it (and `dir`) with fresh keys if it does not
    /// exist. Safe against concurrent callers: the file is written completely under a
    /// temporary name and then linked into place, so exactly one generated key set wins and
    /// every caller returns it.
    pub fn load_or_generate<R: RngCore + CryptoRng>(dir: &Path, rng: &mut R) -> Result<Self, CryptoError> {
        let path = Self::file_path(dir);
        match Self::load(&path) {
            Err(CryptoError::KeyFileIo { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
            other => return other,
        }
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let keys = Self::generate(rng);
        let mut suffix = [0u8; 8];
        rng.fill_bytes(&mut suffix);
        let tmp = dir.join(format!(".{KEY_FILE_NAME}.{}.tmp", hex::encode(suffix)));
        let written = Self::write_new(&tmp, &keys);
        let linked = written.and_then(|()| match fs::hard_link(&tmp, &path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(io_err(&path)(e)),
        });
        let _ = fs::remove_file(&tmp);
        if linked? {
            Ok(keys)
        } else {
            // Another process created the file first: use its keys.
            Self::load(&path)
        }
    }

    /// Writes the keys to a new file with mode 0600 (fails if the file exists).
    pub fn write_new(path: &Path, keys: &Self) -> Result<(), CryptoError> {
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(io_err(path))?;
        f.write_all(keys.to_json().as_bytes()).map_err(io_err(path))?;
        f.sync_all().map_err(io_err(path))?;
        Ok(())
    }

    fn code_hash(&self, salt: &[u8; 16], code: &str) -> [u8; 32] {
        hmac_sha256(&self.pepper, &[salt, code.as_bytes()])
    }

    /// Issues a uniformly random 6-digit code with its salt, hash and sealed copy.
    pub fn issue<R: RngCore + CryptoRng>(&self, rng: &mut R) -> Result<IssuedCode, CryptoError> {
        // Rejection sampling: accept only values below the largest multiple of 10^6 that fits
        // in a u32, so every code is equally likely.
        let limit = (u32::MAX / CODE_SPACE) * CODE_SPACE;
        let n = loop {
            let candidate = rng.next_u32();
            if candidate < limit {
                break candidate % CODE_SPACE;
            }
        };
        let code = Zeroizing::new(format!("{n:06}"));
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        let hash = self.code_hash(&salt, &code);
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let cipher = XChaCha20Poly1305::new((&self.seal_key).into());
        let ciphertext = cipher.encrypt(&XNonce::from(nonce), Payload { msg: code.as_bytes(), aad: SEAL_AAD }).map_err(|_| CryptoError::Seal)?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(IssuedCode { code, salt, hash, sealed })
    }

    /// Seals any short secret (an app client's secret) under the same key and format as codes,
    /// so it can be stored in events and read models without being plaintext; [`CodeKeys::open`]
    /// reverses it.
    pub fn seal<R: RngCore + CryptoRng>(&self, plaintext: &str, rng: &mut R) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let cipher = XChaCha20Poly1305::new((&self.seal_key).into());
        let ciphertext = cipher.encrypt(&XNonce::from(nonce), Payload { msg: plaintext.as_bytes(), aad: SEAL_AAD }).map_err(|_| CryptoError::Seal)?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// True when `presented` is the code behind (`salt`, `hash`); constant time.
    pub fn verify(&self, salt: &[u8; 16], hash: &[u8; 32], presented: &str) -> bool {
        ct_eq(&self.code_hash(salt, presented), hash)
    }

    /// Decrypts a sealed code (for delivery). Fails on a wrong key or tampered data.
    pub fn open(&self, sealed: &[u8]) -> Result<Zeroizing<String>, CryptoError> {
        if sealed.len() < NONCE_LEN {
            return Err(CryptoError::Open);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Open)?;
        let cipher = XChaCha20Poly1305::new((&self.seal_key).into());
        let plain = Zeroizing::new(cipher.decrypt(&XNonce::from(nonce), Payload { msg: ciphertext, aad: SEAL_AAD }).map_err(|_| CryptoError::Open)?);
        String::from_utf8(plain.to_vec()).map(Zeroizing::new).map_err(|_| CryptoError::Open)
    }
}

#[cfg(test)]
#[path = "codes_tests.rs"]
mod tests;
