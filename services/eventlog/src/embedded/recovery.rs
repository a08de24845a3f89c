//! What `EmbeddedLog::open` does to each partition before accepting appends.
//!
//! 1. List the segments; the first must start at offset 0.
//! 2. Sealed segments are trusted as a whole (they were fsynced before the next one was created);
//!    only their index file is checked for plausibility and rebuilt by a full scan if needed (a
//!    scan that meets a bad frame fails with [`LogError::Corrupt`]). Reads verify every frame
//!    anyway, so damage inside a sealed segment surfaces as an error, never as a skip.
//! 3. The last (active) segment is scanned frame by frame. The first bad frame (short, bad
//!    length, bad CRC, wrong offset) is a torn tail and is truncated away — unless the checkpoint
//!    says its offset was already acknowledged as durable, in which case it is corruption and the
//!    open fails. A log that ends before the checkpoint is missing acknowledged records: error.
//! 4. The active segment's sparse index is rebuilt from that scan.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::embedded::dir::sync_dir;
use crate::embedded::EmbeddedOptions;
use crate::format::{self, FrameReader, IndexEntry, ReadError, CHECKPOINT_FILE_NAME, INDEX_ENTRY_LEN};
use crate::{LogError, Offset, Partition};

const SCAN_BUFFER: usize = 1024 * 1024;

/// A partition as found on disk, ready for its writer.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub dir: PathBuf,
    pub sealed: Vec<Offset>,
    pub active_base: Offset,
    pub active_len: u64,
    pub active_index: Vec<IndexEntry>,
    pub end: Offset,
    /// Active segment, opened for writing, positioned at its end.
    pub segment: File,
    /// Active segment's index, opened for writing, positioned at its end.
    pub index: File,
    pub checkpoint: File,
}

pub(crate) fn recover_partition(root: &Path, partition: Partition, opts: &EmbeddedOptions) -> Result<Recovered, LogError> {
    let dir = root.join(format::partition_dir_name(partition));
    match fs::create_dir(&dir) {
        Ok(()) => sync_dir(root)?,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(LogError::file(&dir, e)),
    }

    let mut bases = list_segments(&dir)?;
    let checkpoint_path = dir.join(CHECKPOINT_FILE_NAME);
    let checkpoint =
        OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&checkpoint_path).map_err(|e| LogError::file(&checkpoint_path, e))?;
    let durable_end = read_checkpoint(&checkpoint, &checkpoint_path, partition)?;

    if bases.is_empty() {
        if durable_end.is_some_and(|d| d > 0) {
            return Err(LogError::Corrupt {
                path: dir.clone(),
                position: 0,
                reason: format!("no segment files, but the checkpoint says offsets below {} were acknowledged", durable_end.unwrap_or(0)),
            });
        }
        create_segment(&dir, 0)?;
        sync_dir(&dir)?;
        bases.push(0);
    }
    if let Some(&first) = bases.first().filter(|b| **b != 0) {
        return Err(LogError::Corrupt {
            path: dir.join(format::segment_file_name(first)),
            position: 0,
            reason: format!("the first segment starts at offset {first}, records below are missing"),
        });
    }

    let active_base = bases.pop().unwrap_or(0);
    let sealed = bases;
    for (i, &base) in sealed.iter().enumerate() {
        let next_base = sealed.get(i + 1).copied().unwrap_or(active_base);
        check_sealed_index(&dir, base, next_base, opts.index_interval_bytes)?;
    }

    let scan = scan_active(&dir, partition, active_base, durable_end, opts.index_interval_bytes)?;

    let index_path = dir.join(format::index_file_name(active_base));
    let mut index = OpenOptions::new().write(true).create(true).truncate(true).open(&index_path).map_err(|e| LogError::file(&index_path, e))?;
    index.write_all(&encode_index(&scan.index)).map_err(|e| LogError::file(&index_path, e))?;

    Ok(Recovered { dir, sealed, active_base, active_len: scan.len, active_index: scan.index, end: scan.end, segment: scan.file, index, checkpoint })
}

/// Base offsets of the segment files in `dir`, ascending. Removes leftover temporary files.
fn list_segments(dir: &Path) -> Result<Vec<Offset>, LogError> {
    let mut bases = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| LogError::file(dir, e))? {
        let entry = entry.map_err(|e| LogError::file(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(base) = format::parse_segment_file_name(name) {
            bases.push(base);
        } else if name.ends_with(".tmp") {
            let path = entry.path();
            fs::remove_file(&path).map_err(|e| LogError::file(&path, e))?;
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

fn read_checkpoint(file: &File, path: &Path, partition: Partition) -> Result<Option<Offset>, LogError> {
    let mut bytes = Vec::with_capacity(format::CHECKPOINT_LEN);
    let mut reader = file;
    reader.read_to_end(&mut bytes).map_err(|e| LogError::file(path, e))?;
    if bytes.is_empty() {
        return Ok(None);
    }
    let decoded = format::decode_checkpoint(&bytes);
    if decoded.is_none() {
        tracing::warn!(
            partition,
            path = %path.display(),
            "durability checkpoint is unreadable; recovery cannot tell acknowledged records \
             from a torn tail and will truncate at the first bad frame of the active segment"
        );
    }
    Ok(decoded)
}

pub(crate) fn create_segment(dir: &Path, base: Offset) -> Result<(File, File), LogError> {
    let seg_path = dir.join(format::segment_file_name(base));
    let segment = OpenOptions::new().read(true).write(true).create_new(true).open(&seg_path).map_err(|e| LogError::file(&seg_path, e))?;
    let idx_path = dir.join(format::index_file_name(base));
    let index = OpenOptions::new().write(true).create(true).truncate(true).open(&idx_path).map_err(|e| LogError::file(&idx_path, e))?;
    Ok((segment, index))
}

fn encode_index(entries: &[IndexEntry]) -> Vec<u8> {
    entries.iter().flat_map(|e| format::encode_index_entry(*e)).collect()
}

/// Result of reading a segment from its start.
struct Scan {
    file: File,
    len: u64,
    end: Offset,
    index: Vec<IndexEntry>,
}

/// Reads frames from `file` (from byte 0) until `limit`, building the sparse index. Returns the
/// scan so far plus the first frame error and its position, if any.
fn scan_frames(file: File, path: &Path, base: Offset, limit: u64, interval: u64) -> Result<(Scan, Option<(u64, String)>), LogError> {
    let mut reader = FrameReader::new(BufReader::with_capacity(SCAN_BUFFER, &file), 0);
    let mut next = base;
    let mut index: Vec<IndexEntry> = Vec::new();
    let failure = loop {
        let pos = reader.position();
        match reader.next(limit, next) {
            Ok(Some(_)) => {
                if index.last().is_none_or(|e| pos - e.position >= interval) {
                    index.push(IndexEntry { offset: next, position: pos });
                }
                next += 1;
            }
            Ok(None) => break None,
            Err(ReadError::Io(e)) => return Err(LogError::file(path, e)),
            Err(ReadError::Frame(fe)) => break Some((pos, fe.to_string())),
        }
    };
    let len = reader.position();
    drop(reader);
    Ok((Scan { file, len, end: next, index }, failure))
}

fn scan_active(dir: &Path, partition: Partition, base: Offset, durable_end: Option<Offset>, interval: u64) -> Result<Scan, LogError> {
    let path = dir.join(format::segment_file_name(base));
    let file = OpenOptions::new().read(true).write(true).open(&path).map_err(|e| LogError::file(&path, e))?;
    let file_len = file.metadata().map_err(|e| LogError::file(&path, e))?.len();
    let (mut scan, failure) = scan_frames(file, &path, base, file_len, interval)?;

    if let Some((position, reason)) = failure {
        if let Some(durable) = durable_end.filter(|d| scan.end < *d) {
            return Err(LogError::Corrupt {
                path,
                position,
                reason: format!(
                    "record at offset {} is unreadable ({reason}) but offsets below {durable} \
                     were acknowledged as durable",
                    scan.end
                ),
            });
        }
        tracing::warn!(
            partition,
            path = %path.display(),
            position,
            dropped_bytes = file_len - position,
            next_offset = scan.end,
            "truncating torn tail of the event log: {reason}"
        );
        scan.file.set_len(position).and_then(|()| scan.file.sync_all()).map_err(|e| LogError::file(&path, e))?;
    }
    if let Some(durable) = durable_end.filter(|d| scan.end < *d) {
        return Err(LogError::Corrupt {
            path,
            position: scan.len,
            reason: format!(
                "the partition ends at offset {} but offsets below {durable} were acknowledged \
                 as durable: acknowledged records are missing",
                scan.end
            ),
        });
    }
    scan.file.seek(SeekFrom::End(0)).map_err(|e| LogError::file(&path, e))?;
    Ok(scan)
}

/// Cheap plausibility check of a sealed segment's index file; rebuilds it if it is missing or
/// has an impossible size. Content is validated lazily by readers (they fall back to a scan).
fn check_sealed_index(dir: &Path, base: Offset, next_base: Offset, interval: u64) -> Result<(), LogError> {
    let seg_path = dir.join(format::segment_file_name(base));
    let idx_path = dir.join(format::index_file_name(base));
    let seg_len = fs::metadata(&seg_path).map_err(|e| LogError::file(&seg_path, e))?.len();
    let plausible = match fs::metadata(&idx_path) {
        Ok(m) => {
            let len = m.len();
            len.is_multiple_of(INDEX_ENTRY_LEN as u64) && (len > 0) == (seg_len > 0)
        }
        Err(e) if e.kind() == ErrorKind::NotFound => false,
        Err(e) => return Err(LogError::file(&idx_path, e)),
    };
    if plausible {
        return Ok(());
    }
    tracing::info!(path = %idx_path.display(), "rebuilding sparse index of sealed segment");
    rebuild_index(dir, base, next_base, interval)
}

/// Scans a sealed segment completely and rewrites its index. Any bad frame is corruption.
pub(crate) fn rebuild_index(dir: &Path, base: Offset, next_base: Offset, interval: u64) -> Result<(), LogError> {
    let seg_path = dir.join(format::segment_file_name(base));
    let file = File::open(&seg_path).map_err(|e| LogError::file(&seg_path, e))?;
    let len = file.metadata().map_err(|e| LogError::file(&seg_path, e))?.len();
    let (scan, failure) = scan_frames(file, &seg_path, base, len, interval)?;
    if let Some((position, reason)) = failure {
        return Err(LogError::Corrupt { path: seg_path, position, reason: format!("sealed segment has a bad frame at offset {}: {reason}", scan.end) });
    }
    if scan.end != next_base {
        return Err(LogError::Corrupt {
            path: seg_path,
            position: scan.len,
            reason: format!("sealed segment ends at offset {} but the next segment starts at {next_base}", scan.end),
        });
    }
    let idx_path = dir.join(format::index_file_name(base));
    let tmp = dir.join(format!("{}.tmp", format::index_file_name(base)));
    let write = || -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(&encode_index(&scan.index))?;
        f.sync_all()?;
        fs::rename(&tmp, &idx_path)
    };
    write().map_err(|e| LogError::file(&idx_path, e))?;
    sync_dir(dir)
}
