//! Small file-system helpers for secret files: owner-only permissions, atomic replacement,
//! create-once publication and an advisory lock shared by every process using a key directory.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use rand::RngCore;

use crate::error::TokenError;

/// Creates `dir` (and parents) if missing; a directory we create is owner-only (0700).
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<(), TokenError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| TokenError::io(dir, e))
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let suffix = rand::rngs::OsRng.next_u64();
    path.with_file_name(format!(".{name}.tmp.{}.{suffix:016x}", std::process::id()))
}

/// Writes `bytes` to a fresh owner-only (0600) temporary file beside `path`, synced to disk.
fn write_temp(path: &Path, bytes: &[u8]) -> Result<PathBuf, TokenError> {
    let tmp = temp_path(path);
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let result = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    match result {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(TokenError::io(&tmp, e))
        }
    }
}

fn sync_parent(path: &Path) {
    // Best effort: make the rename durable. Not every platform lets a directory be opened.
    if let Some(parent) = path.parent() {
        if let Ok(d) = File::open(parent) {
            let _ = d.sync_all();
        }
    }
}

/// Atomically replaces `path` with `bytes` (0600): readers see the old or the new content.
pub(crate) fn write_private_atomic(path: &Path, bytes: &[u8]) -> Result<(), TokenError> {
    let tmp = write_temp(path, bytes)?;
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(TokenError::io(path, e));
    }
    sync_parent(path);
    Ok(())
}

/// Publishes `bytes` at `path` (0600) only if nothing is there yet, atomically.
/// Returns `false` (and leaves the existing file alone) when `path` already exists.
pub(crate) fn publish_private_new(path: &Path, bytes: &[u8]) -> Result<bool, TokenError> {
    let tmp = write_temp(path, bytes)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_parent(path);
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(TokenError::io(path, e)),
    }
}

/// Reads a file, mapping "not found" to `None`.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, TokenError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(TokenError::io(path, e)),
    }
}

/// An exclusive advisory lock on `<dir>/.lock`, held until dropped. Serialises key creation,
/// rotation and pruning between processes sharing a directory; plain loads never take it.
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    pub(crate) fn acquire(dir: &Path) -> Result<DirLock, TokenError> {
        let path = dir.join(".lock");
        let mut opts = OpenOptions::new();
        opts.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts.open(&path).map_err(|e| TokenError::io(&path, e))?;
        file.lock().map_err(|e| TokenError::io(&path, e))?;
        Ok(DirLock { _file: file })
    }
}
