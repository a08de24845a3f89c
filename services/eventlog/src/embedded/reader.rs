//! Reading: segment cursors (buffered, sequential) and the embedded [`Subscription`].
//!
//! A subscription keeps, per partition, the next offset to deliver (the truth) and a cursor (an
//! open segment file behind a large `BufReader`, a cache). File reads run on tokio's blocking
//! pool; if a `poll` is cancelled mid-read, the cursors are rebuilt from the offsets, so nothing
//! is skipped or repeated. Waiting is a `watch` channel per partition that the writer bumps after
//! every group commit: no busy polling.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::select_all;
use tokio::sync::watch;

use crate::embedded::{Location, PartitionShared, Progress};
use crate::format::{self, FrameReader, IndexEntry, ReadError};
use crate::{LogError, Offset, StoredRecord, Subscription};

/// Read buffer per open segment: large enough that a replay costs one syscall per 1 MiB.
const READ_BUFFER: usize = 1024 * 1024;
/// A poll stops adding records once it has read this many bytes (but always returns >= 1).
const MAX_POLL_BYTES: usize = 32 * 1024 * 1024;

/// An open segment, positioned at the frame of `next`.
pub(crate) struct Cursor {
    base: Offset,
    path: PathBuf,
    /// `Some(next segment's base)` once the segment is known to be sealed.
    sealed_end: Option<Offset>,
    /// Bytes that may be read: the committed length (active) or the file length (sealed).
    limit: u64,
    next: Offset,
    reader: FrameReader<BufReader<File>>,
}

fn frame_error(path: &std::path::Path, position: u64, err: ReadError) -> LogError {
    match err {
        ReadError::Io(e) => LogError::file(path, e),
        ReadError::Frame(fe) => LogError::Corrupt { path: path.to_path_buf(), position, reason: fe.to_string() },
    }
}

/// Best index entry at or before `offset` in a sealed segment's index file; `None` (scan from
/// the segment start) if the file is missing or implausible.
fn sealed_floor(shared: &PartitionShared, base: Offset, seg_len: u64, offset: Offset) -> Option<IndexEntry> {
    let path = shared.dir.join(format::index_file_name(base));
    let entries = match std::fs::read(&path) {
        Ok(bytes) => format::decode_index(&bytes, base, seg_len),
        Err(_) => None,
    };
    if entries.is_none() {
        tracing::warn!(path = %path.display(), "sparse index unusable; scanning the segment from its start");
    }
    entries.and_then(|e| format::index_floor(&e, offset))
}

/// Opens the segment holding `offset` and positions a cursor on it.
fn open_cursor(shared: &PartitionShared, offset: Offset) -> Result<Cursor, LogError> {
    let loc = shared.read_state().locate(offset);
    let path = shared.dir.join(format::segment_file_name(loc.base));
    let limit = match loc.committed_len {
        Some(len) => len,
        None => std::fs::metadata(&path).map_err(|e| LogError::file(&path, e))?.len(),
    };
    let floor = match loc.sealed_end {
        None => loc.floor,
        // Strictly before `offset`, so that the entry is verified by reading its frame.
        Some(_) => sealed_floor(shared, loc.base, limit, offset.saturating_sub(1)),
    };
    let start_of_segment = IndexEntry { offset: loc.base, position: 0 };
    let start = floor.filter(|f| f.offset < offset && f.position < limit).unwrap_or(start_of_segment);
    match seek_cursor(&path, &loc, limit, start, offset) {
        Err(err) if start != start_of_segment => {
            tracing::warn!(path = %path.display(), error = %err, "sparse index entry is stale; scanning the segment from its start");
            seek_cursor(&path, &loc, limit, start_of_segment, offset)
        }
        other => other,
    }
}

fn seek_cursor(path: &std::path::Path, loc: &Location, limit: u64, start: IndexEntry, offset: Offset) -> Result<Cursor, LogError> {
    let mut file = File::open(path).map_err(|e| LogError::file(path, e))?;
    file.seek(SeekFrom::Start(start.position)).map_err(|e| LogError::file(path, e))?;
    let mut reader = FrameReader::new(BufReader::with_capacity(READ_BUFFER, file), start.position);
    for o in start.offset..offset {
        let position = reader.position();
        match reader.next(limit, o) {
            Ok(Some(_)) => {}
            Ok(None) => return Err(LogError::Corrupt { path: path.to_path_buf(), position, reason: format!("segment ends before offset {offset}") }),
            Err(e) => return Err(frame_error(path, position, e)),
        }
    }
    Ok(Cursor { base: loc.base, path: path.to_path_buf(), sealed_end: loc.sealed_end, limit, next: offset, reader })
}

/// One partition of a read job, moved to the blocking pool and back.
struct JobPart {
    shared: Arc<PartitionShared>,
    cursor: Option<Cursor>,
    next: Offset,
    end: Offset,
}

impl JobPart {
    /// Reads records `next..end` (at most `budget` of them, while `bytes_left` lasts).
    fn read(&mut self, budget: usize, bytes_left: &mut usize, out: &mut Vec<StoredRecord>) -> Result<(), LogError> {
        let mut taken = 0;
        while taken < budget && self.next < self.end && *bytes_left > 0 {
            if self.cursor.as_ref().is_none_or(|c| c.next != self.next) {
                self.cursor = Some(open_cursor(&self.shared, self.next)?);
            }
            let Some(c) = self.cursor.as_mut() else {
                continue;
            };
            let position = c.reader.position();
            if position >= c.limit {
                match c.sealed_end {
                    Some(end) if end == self.next => {
                        self.cursor = None; // move on to the next segment
                    }
                    Some(end) => {
                        return Err(LogError::Corrupt {
                            path: c.path.clone(),
                            position,
                            reason: format!("sealed segment ends at offset {} but the next segment starts at {end}", self.next),
                        })
                    }
                    None => {
                        let state = self.shared.read_state();
                        if state.active_base == c.base {
                            c.limit = state.active_len;
                            if position >= c.limit {
                                break; // everything committed has been read
                            }
                        } else {
                            c.sealed_end = Some(state.locate(c.base).sealed_end.unwrap_or(state.active_base));
                            drop(state);
                            c.limit = std::fs::metadata(&c.path).map_err(|e| LogError::file(&c.path, e))?.len();
                        }
                    }
                }
                continue;
            }
            if c.sealed_end == Some(self.next) {
                return Err(LogError::Corrupt {
                    path: c.path.clone(),
                    position,
                    reason: format!("unexpected bytes after the last record ({}) of a sealed segment", self.next),
                });
            }
            match c.reader.next(c.limit, self.next) {
                Ok(Some(record)) => {
                    *bytes_left = bytes_left.saturating_sub(format::frame_len(&record));
                    out.push(StoredRecord { partition: self.shared.partition, offset: self.next, record });
                    self.next += 1;
                    c.next += 1;
                    taken += 1;
                }
                Ok(None) => {}
                Err(e) => {
                    let err = frame_error(&c.path, position, e);
                    self.cursor = None;
                    return Err(err);
                }
            }
        }
        Ok(())
    }
}

/// Runs `f` on tokio's blocking pool when there is a runtime, inline otherwise.
async fn run_blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, LogError> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.spawn_blocking(f).await.map_err(|e| LogError::Unavailable(format!("event log read task failed: {e}"))),
        Err(_) => Ok(f()),
    }
}

struct SubPart {
    shared: Arc<PartitionShared>,
    progress: watch::Receiver<Progress>,
    next: Offset,
}

/// [`Subscription`] of the embedded log.
pub(crate) struct EmbeddedSubscription {
    parts: Vec<SubPart>,
    /// Open cursors, index-aligned with `parts`; `None` while a read is in flight (or after a
    /// cancelled one, in which case they are reopened from the offsets).
    cursors: Option<Vec<Option<Cursor>>>,
    /// Partition that is read first by the next poll (round robin, for fairness).
    first: usize,
}

impl EmbeddedSubscription {
    pub fn new(start: Vec<(Arc<PartitionShared>, Offset)>) -> Self {
        let parts: Vec<SubPart> = start.into_iter().map(|(shared, next)| SubPart { progress: shared.progress.subscribe(), shared, next }).collect();
        let cursors = Some(parts.iter().map(|_| None).collect());
        EmbeddedSubscription { parts, cursors, first: 0 }
    }

    /// Reads up to `max` available records from the partitions, round robin.
    async fn read_available(&mut self, max: usize) -> Result<Vec<StoredRecord>, LogError> {
        let n = self.parts.len();
        let mut cursors = self.cursors.take().unwrap_or_else(|| (0..n).map(|_| None).collect());
        let first = self.first % n.max(1);
        self.first = first + 1;
        // Rotate so that `first` is read first; rotated back below.
        cursors.rotate_left(first);
        let mut job: Vec<JobPart> = cursors
            .into_iter()
            .enumerate()
            .map(|(i, cursor)| {
                let p = &self.parts[(i + first) % n];
                JobPart { shared: Arc::clone(&p.shared), cursor, next: p.next, end: p.progress.borrow().end }
            })
            .collect();

        let (job, result) = run_blocking(move || {
            let mut out = Vec::new();
            let mut bytes_left = MAX_POLL_BYTES;
            let mut result = Ok(());
            for part in &mut job {
                let budget = max - out.len();
                if budget == 0 || bytes_left == 0 {
                    break;
                }
                if let Err(e) = part.read(budget, &mut bytes_left, &mut out) {
                    result = Err(e);
                    break;
                }
            }
            (job, result.map(|()| out))
        })
        .await?;

        // Only a successful read moves the offsets, so an error never skips records.
        let records = result?;
        let mut cursors = Vec::with_capacity(n);
        for (i, part) in job.into_iter().enumerate() {
            self.parts[(i + first) % n].next = part.next;
            cursors.push(part.cursor);
        }
        cursors.rotate_right(first);
        self.cursors = Some(cursors);
        Ok(records)
    }
}

#[async_trait::async_trait]
impl Subscription for EmbeddedSubscription {
    async fn poll(&mut self, max: usize, timeout: Duration) -> Result<Vec<StoredRecord>, LogError> {
        let deadline = tokio::time::Instant::now().checked_add(timeout);
        if max == 0 {
            return Ok(Vec::new());
        }
        loop {
            // Mark the current value as seen *before* looking at it: a commit after this point
            // makes `changed()` below return immediately, so no wake-up is lost.
            let mut available = false;
            let mut all_closed = true;
            for part in &mut self.parts {
                let progress = *part.progress.borrow_and_update();
                available |= part.next < progress.end;
                all_closed &= progress.closed;
            }
            if available {
                let records = self.read_available(max).await?;
                if !records.is_empty() {
                    return Ok(records);
                }
            } else if all_closed && !self.parts.is_empty() {
                return Err(LogError::Closed);
            }

            let wait = async {
                if self.parts.is_empty() {
                    std::future::pending::<()>().await;
                }
                let changes = self.parts.iter_mut().map(|p| Box::pin(p.progress.changed()));
                // The senders live in the shared partition state we hold: `changed` cannot fail.
                let _ = select_all(changes).await;
            };
            match deadline {
                Some(deadline) => {
                    if tokio::time::timeout_at(deadline, wait).await.is_err() {
                        return Ok(Vec::new());
                    }
                }
                None => wait.await,
            }
        }
    }
}
