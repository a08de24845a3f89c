//! [`EmbeddedLog`]: the zero-config, file-based [`EventLog`].
//!
//! - `mod.rs` (this file): options, open/close, the [`EventLog`] impl, per-partition shared state.
//! - `dir.rs`: lock file, metadata file, directory fsync.
//! - `recovery.rs`: what `open` does to each partition (torn-tail truncation, index rebuild).
//! - `writer.rs`: one writer thread per partition doing group commit (one fsync per batch).
//! - `reader.rs`: segment cursors and [`Subscription`] (buffered reads, woken by a watch channel).
//!
//! The on-disk layout is described in [`crate::format`].

mod dir;
mod reader;
mod recovery;
mod writer;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot, watch};

use crate::format::{self, IndexEntry};
use crate::{EventLog, LogError, Offset, Partition, Record, Subscription};

use reader::EmbeddedSubscription;
use writer::{PartitionWriter, WriterMsg};

/// Most partitions one embedded log accepts (each has its own writer thread).
pub const MAX_PARTITIONS: u32 = 1024;

/// Tuning of an [`EmbeddedLog`]. `EmbeddedOptions::default()` is the production setting; build
/// variants with `EmbeddedOptions { fsync: false, ..Default::default() }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbeddedOptions {
    /// A new segment is started once the active one reaches this size (soft limit: checked
    /// between group-commit batches).
    pub segment_bytes: u64,
    /// Most records written by one group commit (one write + one fsync).
    pub max_batch: usize,
    /// Most bytes written by one group commit (a single larger record still goes alone).
    pub max_batch_bytes: usize,
    /// fdatasync every batch before acknowledging it. `false` survives a process crash but not
    /// an OS crash or power loss; only for tests and throw-away data.
    pub fsync: bool,
    /// Distance in bytes between two sparse-index entries.
    pub index_interval_bytes: u64,
    /// Largest accepted encoded record (frame body) in bytes.
    pub max_record_bytes: usize,
    /// Appends that may wait for a partition's writer before `append` itself waits (backpressure).
    pub queue_capacity: usize,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            segment_bytes: 64 * 1024 * 1024,
            max_batch: 1024,
            max_batch_bytes: 16 * 1024 * 1024,
            fsync: true,
            index_interval_bytes: 16 * 1024,
            max_record_bytes: 8 * 1024 * 1024,
            queue_capacity: 4096,
        }
    }
}

impl EmbeddedOptions {
    fn validate(&self) -> Result<(), LogError> {
        let bad = |what: &str| Err(LogError::InvalidConfig(what.to_owned()));
        if self.segment_bytes == 0 {
            return bad("segment_bytes must be > 0");
        }
        if self.max_batch == 0 || self.max_batch_bytes == 0 {
            return bad("max_batch and max_batch_bytes must be > 0");
        }
        if self.index_interval_bytes == 0 {
            return bad("index_interval_bytes must be > 0");
        }
        if self.max_record_bytes < format::MIN_BODY_LEN || self.max_record_bytes > format::MAX_BODY_LEN {
            return Err(LogError::InvalidConfig(format!("max_record_bytes must be within {}..={}", format::MIN_BODY_LEN, format::MAX_BODY_LEN)));
        }
        if self.queue_capacity == 0 {
            return bad("queue_capacity must be > 0");
        }
        Ok(())
    }
}

/// What a partition's writer has made visible: readers wait on changes of this value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Progress {
    /// High watermark: every offset below is durable and readable.
    pub end: Offset,
    /// The writer has stopped; `end` will not move any more.
    pub closed: bool,
}

/// Committed layout of a partition, shared by its writer (sole mutator) and its readers.
#[derive(Debug)]
pub(crate) struct PartState {
    /// Base offsets of the sealed (full, immutable) segments, ascending.
    pub sealed: Vec<Offset>,
    /// Base offset of the segment being appended to.
    pub active_base: Offset,
    /// Committed bytes of the active segment; bytes past it are not acknowledged yet.
    pub active_len: u64,
    /// Sparse index of the active segment (sealed segments have theirs on disk only).
    pub active_index: Vec<IndexEntry>,
}

/// Where the record at some offset lives.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Location {
    pub base: Offset,
    /// `Some(next segment's base)` if the segment is sealed.
    pub sealed_end: Option<Offset>,
    /// Committed length if the segment is the active one.
    pub committed_len: Option<u64>,
    /// Best in-memory index entry strictly before the offset (active segment only): starting
    /// there means at least one frame is read, which verifies that the entry is not stale.
    pub floor: Option<IndexEntry>,
}

impl PartState {
    pub fn locate(&self, offset: Offset) -> Location {
        if offset >= self.active_base {
            return Location {
                base: self.active_base,
                sealed_end: None,
                committed_len: Some(self.active_len),
                floor: format::index_floor(&self.active_index, offset.saturating_sub(1)),
            };
        }
        // Recovery guarantees the first segment starts at 0, so some sealed base is <= offset.
        let i = self.sealed.partition_point(|b| *b <= offset).saturating_sub(1);
        let base = self.sealed.get(i).copied().unwrap_or(0);
        let sealed_end = self.sealed.get(i + 1).copied().unwrap_or(self.active_base);
        Location { base, sealed_end: Some(sealed_end), committed_len: None, floor: None }
    }
}

/// Per-partition state shared between the log, its writer thread and subscriptions.
#[derive(Debug)]
pub(crate) struct PartitionShared {
    pub partition: Partition,
    pub dir: PathBuf,
    pub state: RwLock<PartState>,
    pub progress: watch::Sender<Progress>,
    /// Records acknowledged since open.
    pub appended: AtomicU64,
    /// Group commits (one write + one fsync each) since open.
    pub batches: AtomicU64,
}

/// Counters since [`EmbeddedLog::open`], summed over partitions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EmbeddedStats {
    /// Records acknowledged.
    pub appended: u64,
    /// Group commits: each is one `write` and (with `fsync`) one `fdatasync`.
    pub batches: u64,
}

impl PartitionShared {
    pub fn read_state(&self) -> RwLockReadGuard<'_, PartState> {
        // The writer never panics while holding the lock; if it ever did, the state it left is
        // still a consistent committed layout (it only assigns whole fields).
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }
}

struct PartitionHandle {
    tx: Option<mpsc::Sender<WriterMsg>>,
    shared: Arc<PartitionShared>,
    thread: Option<JoinHandle<()>>,
}

/// The embedded, file-based event log. See the crate docs and [`crate::format`].
///
/// Dropping the last `Arc` stops the writer threads (after they finish queued appends) and
/// releases the directory lock; [`EmbeddedLog::close`] does the same without blocking.
pub struct EmbeddedLog {
    dir: PathBuf,
    opts: EmbeddedOptions,
    parts: Vec<PartitionHandle>,
    lock: Mutex<Option<File>>,
}

impl std::fmt::Debug for EmbeddedLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedLog").field("dir", &self.dir).field("partitions", &self.parts.len()).field("opts", &self.opts).finish()
    }
}

impl EmbeddedLog {
    /// Opens (creating if needed) the log in `dir` with `partitions` partitions, recovering
    /// every partition (see `docs/adr/0001-embedded-log-format.md`).
    ///
    /// Blocking (it scans each partition's active segment): from async code with large logs,
    /// call it via `tokio::task::spawn_blocking`.
    ///
    /// Fails with [`LogError::Locked`] if another process or handle has it open, with
    /// [`LogError::PartitionCountMismatch`] if it was created with another partition count and
    /// with [`LogError::Corrupt`] if acknowledged data is damaged.
    pub fn open(dir: &Path, partitions: u32, opts: EmbeddedOptions) -> Result<Arc<EmbeddedLog>, LogError> {
        opts.validate()?;
        if partitions == 0 || partitions > MAX_PARTITIONS {
            return Err(LogError::InvalidConfig(format!("partition count must be within 1..={MAX_PARTITIONS}, got {partitions}")));
        }
        std::fs::create_dir_all(dir).map_err(|e| LogError::file(dir, e))?;
        let lock = dir::acquire_lock(dir)?;
        dir::check_or_write_meta(dir, partitions)?;

        let mut recovered = Vec::with_capacity(partitions as usize);
        for partition in 0..partitions {
            recovered.push(recovery::recover_partition(dir, partition, &opts)?);
        }

        // From here on the log owns the lock; if spawning a writer fails, dropping the
        // half-built log stops the writers already started.
        let mut log = EmbeddedLog { dir: dir.to_path_buf(), opts: opts.clone(), parts: Vec::with_capacity(partitions as usize), lock: Mutex::new(Some(lock)) };
        for (partition, rec) in (0..partitions).zip(recovered) {
            let (progress, _) = watch::channel(Progress { end: rec.end, closed: false });
            let shared = Arc::new(PartitionShared {
                partition,
                dir: rec.dir.clone(),
                state: RwLock::new(PartState {
                    sealed: rec.sealed.clone(),
                    active_base: rec.active_base,
                    active_len: rec.active_len,
                    active_index: rec.active_index.clone(),
                }),
                progress,
                appended: AtomicU64::new(0),
                batches: AtomicU64::new(0),
            });
            let (tx, rx) = mpsc::channel(opts.queue_capacity);
            let thread = PartitionWriter::new(Arc::clone(&shared), rec, opts.clone()).spawn(rx)?;
            log.parts.push(PartitionHandle { tx: Some(tx), shared, thread: Some(thread) });
        }
        Ok(Arc::new(log))
    }

    /// The directory this log lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The options the log was opened with.
    pub fn options(&self) -> &EmbeddedOptions {
        &self.opts
    }

    /// Stops accepting appends, lets the writers finish what is queued, and releases the
    /// directory lock. Later appends fail with [`LogError::Closed`]; subscriptions can still read
    /// what was written and then get [`LogError::Closed`]. Idempotent.
    pub async fn close(&self) -> Result<(), LogError> {
        let mut waiters = Vec::with_capacity(self.parts.len());
        for part in &self.parts {
            if let Some(tx) = &part.tx {
                let (done, wait) = oneshot::channel();
                // A send error means the writer is already gone, which is what we want.
                if tx.send(WriterMsg::Shutdown { done }).await.is_ok() {
                    waiters.push(wait);
                }
            }
        }
        for wait in waiters {
            // An error means the writer exited without answering: it is gone either way.
            let _ = wait.await;
        }
        let lock = self.lock.lock().unwrap_or_else(PoisonError::into_inner).take();
        drop(lock);
        Ok(())
    }

    /// Append counters since open; `appended / batches` is the average group-commit size.
    pub fn stats(&self) -> EmbeddedStats {
        self.parts.iter().fold(EmbeddedStats::default(), |acc, p| EmbeddedStats {
            appended: acc.appended + p.shared.appended.load(Ordering::Relaxed),
            batches: acc.batches + p.shared.batches.load(Ordering::Relaxed),
        })
    }

    fn part(&self, partition: Partition) -> Result<&PartitionHandle, LogError> {
        self.parts.get(partition as usize).ok_or(LogError::InvalidPartition(partition))
    }
}

impl Drop for EmbeddedLog {
    fn drop(&mut self) {
        // Closing the channels makes each writer drain its queue and exit; joining them before
        // the lock file is released keeps a second opener from racing a still-running writer.
        for part in &mut self.parts {
            part.tx.take();
        }
        for part in &mut self.parts {
            if let Some(thread) = part.thread.take() {
                if thread.join().is_err() {
                    tracing::error!(partition = part.shared.partition, "event log writer thread panicked");
                }
            }
        }
        let lock = self.lock.get_mut().unwrap_or_else(PoisonError::into_inner).take();
        drop(lock);
    }
}

#[async_trait::async_trait]
impl EventLog for EmbeddedLog {
    fn partition_count(&self) -> u32 {
        self.parts.len() as u32
    }

    async fn append(&self, partition: Partition, record: Record) -> Result<Offset, LogError> {
        let part = self.part(partition)?;
        let size = format::body_len(&record);
        if size > self.opts.max_record_bytes {
            return Err(LogError::RecordTooLarge { size, max: self.opts.max_record_bytes });
        }
        let tx = part.tx.as_ref().ok_or(LogError::Closed)?;
        let (ack, acked) = oneshot::channel();
        tx.send(WriterMsg::Append { record, ack }).await.map_err(|_| LogError::Closed)?;
        acked.await.map_err(|_| LogError::Closed)?
    }

    async fn end_offset(&self, partition: Partition) -> Result<Offset, LogError> {
        Ok(self.part(partition)?.shared.progress.borrow().end)
    }

    async fn subscribe(&self, start: &[(Partition, Offset)]) -> Result<Box<dyn Subscription>, LogError> {
        let mut parts = Vec::with_capacity(start.len());
        for (i, &(partition, offset)) in start.iter().enumerate() {
            let shared = Arc::clone(&self.part(partition)?.shared);
            if start[..i].iter().any(|(p, _)| *p == partition) {
                return Err(LogError::InvalidArgument(format!("partition {partition} appears twice in one subscription")));
            }
            let end = shared.progress.borrow().end;
            if offset > end {
                return Err(LogError::OffsetOutOfRange { partition, offset, end });
            }
            parts.push((shared, offset));
        }
        Ok(Box::new(EmbeddedSubscription::new(parts)))
    }
}
