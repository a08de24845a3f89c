//! The log directory itself: single-opener lock, metadata file, directory fsync.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{ErrorKind, Write};
use std::path::Path;

use crate::format::{self, LOCK_FILE_NAME, META_FILE_NAME};
use crate::LogError;

const META_MAGIC: &str = "idp-eventlog";
const META_FORMAT_VERSION: u32 = 1;

/// fsync a directory so that entries created or renamed in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| LogError::file(dir, e))
}

/// Takes the exclusive `flock` on `<dir>/LOCK`. The lock lives as long as the returned file and
/// is dropped by the kernel if the process dies, so a crash never leaves a stale lock.
pub(crate) fn acquire_lock(dir: &Path) -> Result<File, LogError> {
    let path = dir.join(LOCK_FILE_NAME);
    let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(|e| LogError::file(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(LogError::Locked(dir.to_path_buf())),
        Err(TryLockError::Error(e)) => Err(LogError::file(&path, e)),
    }
}

/// Checks that the directory holds a log with `partitions` partitions, or makes it one.
pub(crate) fn check_or_write_meta(dir: &Path, partitions: u32) -> Result<(), LogError> {
    let path = dir.join(META_FILE_NAME);
    match fs::read_to_string(&path) {
        Ok(text) => {
            let on_disk = parse_meta(&text).map_err(|reason| LogError::Corrupt { path: path.clone(), position: 0, reason })?;
            if on_disk != partitions {
                return Err(LogError::PartitionCountMismatch { dir: dir.to_path_buf(), on_disk, requested: partitions });
            }
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            refuse_orphan_partitions(dir)?;
            write_meta(dir, partitions)
        }
        Err(e) => Err(LogError::file(&path, e)),
    }
}

fn parse_meta(text: &str) -> Result<u32, String> {
    let mut lines = text.lines();
    if lines.next() != Some(META_MAGIC) {
        return Err(format!("not an event log metadata file (first line is not {META_MAGIC:?})"));
    }
    let mut version = None;
    let mut partitions = None;
    for line in lines {
        match line.split_once('=') {
            Some(("format_version", v)) => version = v.trim().parse::<u32>().ok(),
            Some(("partitions", v)) => partitions = v.trim().parse::<u32>().ok(),
            _ => {}
        }
    }
    match version {
        Some(META_FORMAT_VERSION) => {}
        Some(other) => return Err(format!("unsupported log format version {other}")),
        None => return Err("missing or invalid format_version".to_owned()),
    }
    partitions.ok_or_else(|| "missing or invalid partitions".to_owned())
}

/// Partition directories without a metadata file: we cannot know the partition count they were
/// written with, so we refuse rather than guess.
fn refuse_orphan_partitions(dir: &Path) -> Result<(), LogError> {
    let entries = fs::read_dir(dir).map_err(|e| LogError::file(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| LogError::file(dir, e))?;
        if let Some(name) = entry.file_name().to_str() {
            if format::parse_partition_dir_name(name).is_some() {
                return Err(LogError::InvalidConfig(format!(
                    "{} contains partition directories but no {META_FILE_NAME}; \
                     refusing to guess its partition count",
                    dir.display()
                )));
            }
        }
    }
    Ok(())
}

fn write_meta(dir: &Path, partitions: u32) -> Result<(), LogError> {
    let path = dir.join(META_FILE_NAME);
    let tmp = dir.join(format!("{META_FILE_NAME}.tmp"));
    let text = format!("{META_MAGIC}\nformat_version={META_FORMAT_VERSION}\npartitions={partitions}\n");
    let write = || -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    };
    write().map_err(|e| LogError::file(&tmp, e))?;
    fs::rename(&tmp, &path).map_err(|e| LogError::file(&path, e))?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_parsing() {
        assert_eq!(parse_meta("idp-eventlog\nformat_version=1\npartitions=8\n"), Ok(8));
        assert!(parse_meta("idp-eventlog\nformat_version=2\npartitions=8\n").is_err());
        assert!(parse_meta("something else\npartitions=8\n").is_err());
        assert!(parse_meta("idp-eventlog\nformat_version=1\n").is_err());
    }
}
