//! [`FjallStore`]: the embedded [`ProjectionStore`] on one fjall (LSM-tree) database directory.
//!
//! One fjall keyspace per [`Table`] (named `Table::name()`), keys encoded as in [`keys`] so
//! that key order is the canonical (pk, ck) order; plus `_log_offsets` (u32 BE log partition →
//! u64 BE next offset) and `_store_state` (the rebuild marker, see [`load`]).
//!
//! - Writes (`commit`): one fjall write batch per call (rows and offset atomically, also
//!   across a crash: the journal replays whole batches only), flushed to the OS before it
//!   returns, so a killed process loses nothing. Durable mode then fsyncs with group sync
//!   (concurrent commits share one fsync); lazy mode fsyncs at most every interval.
//! - Reads run on the blocking pool, from memtables and the block cache.
//! - Rebuild's bulk `load` writes sorted runs straight into table files (fjall ingestion)
//!   instead of inserting row by row ([`load`]).
//!
//! Why fjall (and not redb, which is kept as [`RedbStore`](crate::RedbStore)): ADR 0008.

pub(crate) mod keys;
mod load;

use std::fmt;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use fjall::config::FilterPolicy;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode, Readable};

use crate::embedded::{fingerprint_blocking, scan_start};
use crate::{CommitStats, Entry, KeyEncoding, LoadRows, ProjectionStore, Row, StoreError, Table, Visitor, Write};
use keys::{partition_prefix, row_key, split_key};

/// Name of the keyspace holding the log offsets; starts with `_` so no `Table::name()` can
/// collide with it.
pub const FJALL_OFFSETS_KEYSPACE: &str = "_log_offsets";
/// Keyspace of store-level flags (only the rebuild marker).
const STATE_KEYSPACE: &str = "_store_state";
/// Present while a bulk load is incomplete: a store opened with it set is emptied.
const REBUILDING: &[u8] = b"rebuilding";
/// Key of the recorded row layout (u32 big-endian) in the state keyspace.
const LAYOUT: &[u8] = b"layout";
/// Block cache of the database (bytes).
const CACHE_BYTES: u64 = 64 << 20;
/// Journal kept before memtables are flushed to table files: bounds what an open replays
/// (fjall's default, 512 MiB, took seconds to recover after a rebuild; 64 MiB is its minimum).
const JOURNAL_BYTES: u64 = 64 << 20;

/// Maps a fjall error to a [`StoreError`] (keeps fjall's types out of the public API).
pub(crate) fn ferr(err: fjall::Error) -> StoreError {
    match err {
        fjall::Error::Io(e) => StoreError::Io(e),
        fjall::Error::Locked => StoreError::Unavailable("the projection store is open in another process or handle".into()),
        fjall::Error::Poisoned => StoreError::Unavailable("the projection store stopped after a failed write to disk; restart the process".into()),
        e @ (fjall::Error::JournalRecovery(_)
        | fjall::Error::InvalidVersion(_)
        | fjall::Error::InvalidTrailer
        | fjall::Error::InvalidTag(_)
        | fjall::Error::Decompress(_)
        | fjall::Error::Unrecoverable) => StoreError::Corrupt(e.to_string()),
        e => StoreError::Backend(e.to_string()),
    }
}

fn join_err(err: tokio::task::JoinError) -> StoreError {
    StoreError::Backend(format!("blocking store task failed: {err}"))
}

/// A poisoned lock only means another caller panicked; the counters it guards stay valid.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The fjall-backed projection store. Cheap to share: hand out the `Arc`.
pub struct FjallStore {
    inner: Arc<Inner>,
}

/// The keyspaces [`clear`](Inner::clear) replaces.
struct Keyspaces {
    /// One keyspace per table, in [`Table::ALL`] order.
    rows: Vec<Keyspace>,
    offsets: Keyspace,
}

impl Keyspaces {
    fn open(db: &Database) -> Result<Keyspaces, StoreError> {
        let keyspace = |name: &str| db.keyspace(name, KeyspaceCreateOptions::default).map_err(ferr);
        // Bloom filters only speed up point reads: a table that is only scanned skips building
        // them (a hash per row at every flush, load and compaction). Fjall keeps the options a
        // keyspace was created with, so this applies to keyspaces created from now on (a
        // rebuild recreates them all).
        let scanned = || KeyspaceCreateOptions::default().filter_policy(FilterPolicy::disabled());
        let rows = Table::ALL
            .iter()
            .map(|t| if t.is_point_read() { keyspace(t.name()) } else { db.keyspace(t.name(), scanned).map_err(ferr) })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Keyspaces { rows, offsets: keyspace(FJALL_OFFSETS_KEYSPACE)? })
    }

    fn table(&self, table: Table) -> Result<&Keyspace, StoreError> {
        self.rows.get(table.index()).ok_or_else(|| StoreError::Backend(format!("{table:?} is missing from Table::ALL")))
    }
}

/// Fjall's background workers (flushes and compactions). Its default is one per core up to
/// four, and with more than one, worker 0 hands every compaction request back to the queue
/// (fjall 3.1 `worker_pool.rs`, to stay free for flushes) and takes it again at once: while
/// the other worker is busy compacting, worker 0 spins. On 2 cores that spin took ≈ 15% of a
/// 1M-user rebuild's CPU (docs/benchmarks.md). With four, three workers take compactions, so
/// a request rarely waits. One worker would not spin, but it can deadlock under a write storm:
/// it blocks sending a flush request to its own full queue.
const WORKERS: usize = 4;

pub(crate) struct Inner {
    db: Database,
    keyspaces: RwLock<Arc<Keyspaces>>,
    state: Keyspace,
    /// Lazy durability: fsync at most this often (None: every commit is durable on return).
    lazy: Option<Duration>,
    last_sync: Mutex<Option<Instant>>,
    /// Group sync: commits written to the journal so far, and how many of them an fsync covers.
    written: AtomicU64,
    synced: Mutex<u64>,
    syncs: AtomicU64,
    /// Whether the rebuild marker is set (mirrors `_store_state`).
    rebuilding: AtomicBool,
    /// No row written since the last clear: a bulk load then has no older rows to delete and
    /// drops its deletes instead of ingesting tombstones. A load holds the lock throughout; a
    /// commit takes it to clear the flag before writing (`fresh_hint` spares it the lock
    /// after that).
    fresh: Mutex<bool>,
    fresh_hint: AtomicBool,
    path: PathBuf,
}

impl fmt::Debug for FjallStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FjallStore").field("path", &self.inner.path).finish_non_exhaustive()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.lazy.is_some() {
            if let Err(e) = self.db.persist(PersistMode::SyncAll) {
                tracing::warn!(error = %e, "flushing the projection store on close failed");
            }
        }
    }
}

impl FjallStore {
    /// Opens the store directory at `path`, creating it if missing. Every commit is durable
    /// (fsynced) when it returns.
    ///
    /// Blocking: recovery replays fjall's journal. A store left mid-rebuild (see [`load`]) is
    /// emptied here. Fails with [`StoreError::Unavailable`] if another handle or process has
    /// it open.
    pub fn open(path: &Path) -> Result<Arc<FjallStore>, StoreError> {
        Self::open_with(path, None)
    }

    /// Like [`FjallStore::open`], but commits become durable lazily: at most every `interval`
    /// one commit is fsynced, and the others return once their batch is in the OS (they
    /// survive the process being killed, not the machine losing power). For projections of
    /// a durable log only: their offsets commit atomically with their rows, so after a crash
    /// the store is consistent, merely behind, and the projector replays the rest. The store
    /// is fsynced when dropped.
    pub fn open_lazy(path: &Path, interval: Duration) -> Result<Arc<FjallStore>, StoreError> {
        Self::open_with(path, Some(interval))
    }

    fn open_with(path: &Path, lazy: Option<Duration>) -> Result<Arc<FjallStore>, StoreError> {
        if path.is_file() {
            return Err(StoreError::Unavailable(format!("{} is a file; the projection store is a directory", path.display())));
        }
        let db = Database::builder(path).cache_size(CACHE_BYTES).max_journaling_size(JOURNAL_BYTES).worker_threads(WORKERS).open().map_err(ferr)?;
        let keyspaces = Keyspaces::open(&db)?;
        let state = db.keyspace(STATE_KEYSPACE, KeyspaceCreateOptions::default).map_err(ferr)?;
        let rebuilding = state.get(REBUILDING).map_err(ferr)?.is_some();
        let inner = Inner {
            db,
            keyspaces: RwLock::new(Arc::new(keyspaces)),
            state,
            lazy,
            last_sync: Mutex::new(None),
            written: AtomicU64::new(0),
            synced: Mutex::new(0),
            syncs: AtomicU64::new(0),
            rebuilding: AtomicBool::new(rebuilding),
            fresh: Mutex::new(false),
            fresh_hint: AtomicBool::new(false),
            path: path.to_path_buf(),
        };
        if rebuilding {
            tracing::warn!(path = %path.display(), "a rebuild was interrupted; emptying the projection store (the projectors replay the log from the start)");
            inner.clear()?;
        }
        tracing::debug!(path = %path.display(), "opened fjall projection store");
        Ok(Arc::new(FjallStore { inner: Arc::new(inner) }))
    }

    /// The directory backing the store.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// How many batches were committed and how many fsyncs made them durable (group sync).
    pub fn commit_stats(&self) -> CommitStats {
        CommitStats { batches: self.inner.written.load(Ordering::Relaxed), transactions: self.inner.syncs.load(Ordering::Relaxed) }
    }

    /// Blocking export (see [`ProjectionStore::export`]) from one snapshot. Do not call it on
    /// an async worker thread; the async `export` runs this on the blocking pool.
    pub fn export_blocking(&self, visit: &mut Visitor<'_>) -> Result<(), StoreError> {
        self.inner.export(visit)
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&inner)).await.map_err(join_err)?
    }
}

impl Inner {
    fn keyspaces(&self) -> Arc<Keyspaces> {
        Arc::clone(&self.keyspaces.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    fn commit(&self, log_partition: u32, offset: u64, writes: Vec<Write>) -> Result<(), StoreError> {
        for write in &writes {
            write.validate()?;
        }
        if self.fresh_hint.load(Ordering::Acquire) {
            *lock(&self.fresh) = false;
            self.fresh_hint.store(false, Ordering::Release);
        }
        // Buffer: the batch reaches the OS before commit() returns, so it survives a kill.
        let keyspaces = self.keyspaces();
        let mut batch = self.db.batch().durability(Some(PersistMode::Buffer));
        for write in writes {
            match write {
                Write::Put { table, pk, ck, value } => batch.insert(keyspaces.table(table)?, row_key(&pk, &ck), &value[..]),
                Write::Delete { table, pk, ck } => batch.remove(keyspaces.table(table)?, row_key(&pk, &ck)),
            }
        }
        batch.insert(&keyspaces.offsets, log_partition.to_be_bytes(), offset.to_be_bytes());
        batch.commit().map_err(ferr)?;
        self.make_durable()
    }

    /// Durable mode: fsync unless another caller's fsync, started after our batch was
    /// written, already covered it (group sync). Lazy mode: fsync if the last one is older
    /// than the interval.
    fn make_durable(&self) -> Result<(), StoreError> {
        let ticket = self.written.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(interval) = self.lazy {
            let due = {
                let mut last = lock(&self.last_sync);
                let now = Instant::now();
                let due = last.is_none_or(|t| now.duration_since(t) >= interval);
                if due {
                    *last = Some(now);
                }
                due
            };
            if due {
                self.db.persist(PersistMode::SyncAll).map_err(ferr)?;
                self.syncs.fetch_add(1, Ordering::Relaxed);
            }
            return Ok(());
        }
        let mut synced = lock(&self.synced);
        if *synced >= ticket {
            return Ok(());
        }
        // Every ticket up to `target` was taken after its batch reached the journal.
        let target = self.written.load(Ordering::SeqCst);
        self.db.persist(PersistMode::SyncAll).map_err(ferr)?;
        *synced = target;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Sets or clears the rebuild marker, durably.
    fn set_rebuilding(&self, on: bool) -> Result<(), StoreError> {
        let mut batch = self.db.batch();
        if on {
            batch.insert(&self.state, REBUILDING, [1u8]);
        } else {
            batch.remove(&self.state, REBUILDING);
        }
        batch.commit().map_err(ferr)?;
        self.db.persist(PersistMode::SyncAll).map_err(ferr)?;
        self.rebuilding.store(on, Ordering::SeqCst);
        Ok(())
    }

    /// Empties every table and the offsets by deleting their keyspaces and creating new
    /// ones. The marker makes it all-or-nothing across a crash (each keyspace goes on its
    /// own): a store reopened with the marker set is cleared again.
    ///
    /// Not `Keyspace::clear`: fjall journals a clear, and replaying that journal entry on the
    /// next open also wipes tables ingested after it (a rebuild's whole output).
    fn clear(&self) -> Result<(), StoreError> {
        self.set_rebuilding(true)?;
        self.state.remove(LAYOUT).map_err(ferr)?;
        let mut current = self.keyspaces.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        for keyspace in current.rows.iter().chain([&current.offsets]) {
            self.db.delete_keyspace(keyspace.clone()).map_err(ferr)?;
        }
        *current = Arc::new(Keyspaces::open(&self.db)?);
        drop(current);
        self.set_rebuilding(false)?;
        self.flush_memtables()?;
        *lock(&self.fresh) = true;
        self.fresh_hint.store(true, Ordering::Release);
        Ok(())
    }

    /// Flushes every memtable to a table file, so that fjall can drop the sealed journals
    /// behind them. Journals are evicted only once every live keyspace they mention has
    /// flushed past them, and after a rebuild only tiny memtables (offsets, the marker) are
    /// left, which would never fill up and flush on their own: every later open would replay
    /// the journals of the replaced keyspaces (hundreds of MB after a catch-up).
    fn flush_memtables(&self) -> Result<(), StoreError> {
        let keyspaces = self.keyspaces();
        for keyspace in keyspaces.rows.iter().chain([&keyspaces.offsets, &self.state]) {
            keyspace.rotate_memtable_and_wait().map_err(ferr)?;
        }
        Ok(())
    }

    // Reads go through a snapshot: `Keyspace::get` and `range` read everything in the
    // memtables, including a batch that is still being applied, so a reader could see a
    // commit's rows without its offset (or some of its rows). A snapshot reads only batches
    // fjall has published whole.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.snapshot().get(self.keyspaces().table(table)?, key).map_err(ferr)?.map(|v| v.to_vec()))
    }

    fn scan(&self, table: Table, prefix: &[u8], start: Bound<Vec<u8>>, limit: usize) -> Result<Vec<Row>, StoreError> {
        let mut out = Vec::new();
        for guard in self.db.snapshot().range::<Vec<u8>, _>(self.keyspaces().table(table)?, (start, Bound::Unbounded)) {
            let (key, value) = guard.into_inner().map_err(ferr)?;
            let Some(ck) = key.strip_prefix(prefix) else { break };
            out.push(Row { ck: ck.to_vec(), value: value.to_vec() });
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn offset(&self, log_partition: u32) -> Result<Option<u64>, StoreError> {
        match self.db.snapshot().get(&self.keyspaces().offsets, log_partition.to_be_bytes()).map_err(ferr)? {
            None => Ok(None),
            Some(v) => {
                let bytes: [u8; 8] =
                    v.as_ref().try_into().map_err(|_| StoreError::Corrupt(format!("offset of partition {log_partition} is {} bytes", v.len())))?;
                Ok(Some(u64::from_be_bytes(bytes)))
            }
        }
    }

    /// Every row (table by table, in key order, which is the canonical order) and then every
    /// offset, from one snapshot.
    fn export(&self, visit: &mut Visitor<'_>) -> Result<(), StoreError> {
        let keyspaces = self.keyspaces();
        let snapshot = self.db.snapshot();
        let mut pk = Vec::new();
        for (&table, keyspace) in Table::ALL.iter().zip(&keyspaces.rows) {
            for guard in snapshot.iter(keyspace) {
                let (key, value) = guard.into_inner().map_err(ferr)?;
                let ck = split_key(&key, &mut pk)?;
                visit(Entry::Row { table, pk: &pk, ck, value: &value })?;
            }
        }
        for guard in snapshot.iter(&keyspaces.offsets) {
            let (key, value) = guard.into_inner().map_err(ferr)?;
            let (Ok(partition), Ok(offset)) = (<[u8; 4]>::try_from(key.as_ref()), <[u8; 8]>::try_from(value.as_ref())) else {
                return Err(StoreError::Corrupt(format!("offset entry of {} + {} bytes", key.len(), value.len())));
            };
            visit(Entry::Offset { log_partition: u32::from_be_bytes(partition), offset: u64::from_be_bytes(offset) })?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl ProjectionStore for FjallStore {
    async fn get(&self, table: Table, pk: &[u8], ck: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let key = row_key(pk, ck);
        self.blocking(move |inner| inner.get(table, &key)).await
    }

    async fn scan(&self, table: Table, pk: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Row>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let prefix = partition_prefix(pk);
        let start = scan_start(&prefix, after);
        self.blocking(move |inner| inner.scan(table, &prefix, start, limit)).await
    }

    async fn commit(&self, log_partition: u32, offset: u64, writes: Vec<Write>) -> Result<(), StoreError> {
        self.blocking(move |inner| inner.commit(log_partition, offset, writes)).await
    }

    fn load_rows(&self) -> LoadRows {
        LoadRows::new(KeyEncoding::Escaped)
    }

    async fn load(&self, offsets: Vec<(u32, u64)>, batches: Vec<LoadRows>, durable: bool) -> Result<(), StoreError> {
        self.blocking(move |inner| load::load(inner, &offsets, batches, durable)).await
    }

    async fn offset(&self, log_partition: u32) -> Result<Option<u64>, StoreError> {
        self.blocking(move |inner| inner.offset(log_partition)).await
    }

    async fn clear(&self) -> Result<(), StoreError> {
        self.blocking(Inner::clear).await
    }

    async fn layout(&self) -> Result<Option<u32>, StoreError> {
        self.blocking(|inner| match inner.state.get(LAYOUT).map_err(ferr)? {
            None => Ok(None),
            Some(v) => {
                <[u8; 4]>::try_from(&v[..]).map(|b| Some(u32::from_be_bytes(b))).map_err(|_| StoreError::Corrupt(format!("layout of {} bytes", v.len())))
            }
        })
        .await
    }

    async fn set_layout(&self, layout: u32) -> Result<(), StoreError> {
        self.blocking(move |inner| {
            inner.state.insert(LAYOUT, layout.to_be_bytes()).map_err(ferr)?;
            inner.db.persist(PersistMode::SyncAll).map_err(ferr)
        })
        .await
    }

    async fn export(&self, visit: &mut Visitor<'_>) -> Result<(), StoreError> {
        let inner = Arc::clone(&self.inner);
        crate::embedded::stream_blocking_export(move |v| inner.export(v), visit).await
    }

    async fn fingerprint(&self) -> Result<[u8; 32], StoreError> {
        // Same framing as the default, hashed on the blocking thread without the channel hop.
        self.blocking(|inner| fingerprint_blocking(|visit| inner.export(visit))).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_keyspace_names_cannot_collide_with_a_row_table() {
        assert!(Table::ALL.iter().all(|t| t.name() != FJALL_OFFSETS_KEYSPACE && t.name() != STATE_KEYSPACE));
    }
}
