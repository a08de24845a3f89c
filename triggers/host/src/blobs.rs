//! Content-addressed component store: `<dir>/<sha256>.wasm`, written once (temp file, fsync,
//! rename), verified against its name on every read.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::TriggerError;

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// True for a lower-case hex SHA-256.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
}

fn io(path: &Path, e: std::io::Error) -> TriggerError {
    TriggerError::Runtime(format!("{}: {e}", path.display()))
}

impl BlobStore {
    pub fn open(dir: PathBuf) -> Result<BlobStore, TriggerError> {
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        Ok(BlobStore { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, sha: &str) -> PathBuf {
        self.dir.join(format!("{sha}.wasm"))
    }

    /// Stores `bytes` (idempotent) and returns their hash.
    pub fn put(&self, bytes: &[u8]) -> Result<String, TriggerError> {
        let sha = sha256_hex(bytes);
        let path = self.path(&sha);
        if self.get(&sha).is_ok() {
            return Ok(sha);
        }
        let tmp = self.dir.join(format!("{sha}.{}.tmp", std::process::id()));
        let mut f = std::fs::File::create(&tmp).map_err(|e| io(&tmp, e))?;
        f.write_all(bytes).and_then(|_| f.sync_all()).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
        if let Ok(d) = std::fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(sha)
    }

    /// The bytes stored under `sha`, checked against it.
    pub fn get(&self, sha: &str) -> Result<Vec<u8>, TriggerError> {
        if !is_sha256_hex(sha) {
            return Err(TriggerError::Runtime(format!("not a SHA-256: {sha:?}")));
        }
        let path = self.path(sha);
        let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
        if sha256_hex(&bytes) != sha {
            return Err(TriggerError::Runtime(format!("{}: content does not match its hash", path.display())));
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_and_tamper() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::open(dir.path().join("triggers")).expect("open");
        let sha = store.put(b"component bytes").expect("put");
        assert_eq!(sha, sha256_hex(b"component bytes"));
        assert_eq!(store.put(b"component bytes").expect("put again"), sha);
        assert_eq!(store.get(&sha).expect("get"), b"component bytes");
        std::fs::write(store.dir().join(format!("{sha}.wasm")), b"tampered").expect("write");
        assert!(store.get(&sha).is_err());
        assert!(store.get("../../etc/passwd").is_err());
    }
}
