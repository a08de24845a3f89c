//! [`RedbStore`]: the embedded [`ProjectionStore`] on one redb file.
//!
//! One redb table per [`Table`] (named `Table::name()`), keys encoded as in [`keys`], plus the
//! `_log_offsets` table (u32 log partition → u64 next offset). Every redb transaction runs on
//! `tokio::task::spawn_blocking`. Writes (`commit`) go through the group commit in
//! [`commit`]: concurrent batches share one durable transaction, applied in arrival order.
//! Rebuild's bulk `load` writes sorted, mostly non-durable transactions ([`load`]).

mod commit;
pub(crate) mod keys;
mod load;

use std::fmt;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, TableError, WriteTransaction};

use crate::embedded::{fingerprint_blocking, scan_start};
use crate::{CommitStats, Entry, KeyEncoding, LoadRows, ProjectionStore, Row, StoreError, Table, Visitor, Write};
use commit::CommitQueue;
use keys::{export_rows, partition_prefix, row_key, RowTable};

/// Name of the redb table holding the log offsets; starts with `_` so no `Table::name()` can
/// collide with it.
pub const OFFSETS_TABLE: &str = "_log_offsets";
const OFFSETS: TableDefinition<u32, u64> = TableDefinition::new(OFFSETS_TABLE);
pub const META_TABLE: &str = "_store_meta";
/// The store's own settings: `layout` → the recorded row layout.
const META: TableDefinition<&str, u32> = TableDefinition::new(META_TABLE);

fn row_table(table: Table) -> TableDefinition<'static, &'static [u8], &'static [u8]> {
    TableDefinition::new(table.name())
}

/// Maps any redb error to a [`StoreError`] (keeps redb's types out of the public API).
pub(crate) fn rerr(err: impl Into<redb::Error>) -> StoreError {
    match err.into() {
        redb::Error::Io(e) => StoreError::Io(e),
        redb::Error::Corrupted(msg) => StoreError::Corrupt(msg),
        redb::Error::ValueTooLarge(n) => StoreError::InvalidWrite(format!("value of {n} bytes is too large for redb")),
        e @ (redb::Error::DatabaseAlreadyOpen | redb::Error::DatabaseClosed | redb::Error::PreviousIo) => StoreError::Unavailable(e.to_string()),
        redb::Error::UpgradeRequired(v) => StoreError::Unavailable(format!("redb file format {v} must be upgraded before use")),
        e => StoreError::Backend(e.to_string()),
    }
}

fn join_err(err: tokio::task::JoinError) -> StoreError {
    StoreError::Backend(format!("blocking store task failed: {err}"))
}

/// The redb-backed projection store. Cheap to share: hand out the `Arc`.
pub struct RedbStore {
    db: Arc<Database>,
    queue: Arc<CommitQueue>,
    path: Option<PathBuf>,
}

impl fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedbStore").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Drop for RedbStore {
    fn drop(&mut self) {
        if self.queue.lazy.is_some() {
            if let Err(e) = self.flush() {
                tracing::warn!(error = %e, "flushing the projection store on close failed");
            }
        }
    }
}

impl RedbStore {
    /// Opens the store file at `path`, creating it (not its directory) if missing.
    ///
    /// Blocking: after an unclean shutdown redb repairs the file here, which walks all of it.
    /// Fails with [`StoreError::Unavailable`] if another handle or process has it open.
    pub fn open(path: &Path) -> Result<Arc<RedbStore>, StoreError> {
        let db = Database::create(path).map_err(rerr)?;
        tracing::debug!(path = %path.display(), "opened redb projection store");
        Self::init(db, Some(path.to_path_buf()))
    }

    /// Like [`RedbStore::open`], but commits become durable lazily: at most every `interval`
    /// one commit is fsynced, and the others return without waiting for the disk. For
    /// projections of a durable log only: their offsets commit atomically with their rows, so
    /// after a crash the store is consistent, merely behind, and the projector replays the
    /// rest. The store is flushed when dropped.
    pub fn open_lazy(path: &Path, interval: std::time::Duration) -> Result<Arc<RedbStore>, StoreError> {
        let db = Database::create(path).map_err(rerr)?;
        let txn = begin_durable_write(&db)?;
        create_tables(&txn)?;
        txn.commit().map_err(rerr)?;
        let queue = CommitQueue::lazy(interval);
        Ok(Arc::new(RedbStore { db: Arc::new(db), queue: Arc::new(queue), path: Some(path.to_path_buf()) }))
    }

    /// Makes every commit so far durable (an empty fsynced transaction).
    pub fn flush(&self) -> Result<(), StoreError> {
        let txn = begin_durable_write(&self.db)?;
        txn.commit().map_err(rerr)
    }

    /// A store on redb's in-memory backend: same code paths as the file store, nothing durable.
    pub fn in_memory() -> Result<Arc<RedbStore>, StoreError> {
        let db = Database::builder().create_with_backend(redb::backends::InMemoryBackend::new()).map_err(rerr)?;
        Self::init(db, None)
    }

    /// The file backing the store (None for `in_memory`).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// How many batches were committed in how many durable transactions (group commit).
    pub fn commit_stats(&self) -> CommitStats {
        self.queue.stats()
    }

    fn init(db: Database, path: Option<PathBuf>) -> Result<Arc<RedbStore>, StoreError> {
        // Create every table up front so readers never meet a missing one.
        let txn = begin_durable_write(&db)?;
        create_tables(&txn)?;
        txn.commit().map_err(rerr)?;
        Ok(Arc::new(RedbStore { db: Arc::new(db), queue: Arc::default(), path }))
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || f(&db)).await.map_err(join_err)?
    }

    /// Blocking export (see [`ProjectionStore::export`]) from one read snapshot. Do not call it
    /// on an async worker thread; the async `export` runs this on the blocking pool.
    pub fn export_blocking(&self, visit: &mut Visitor<'_>) -> Result<(), StoreError> {
        export_db(&self.db, visit)
    }
}

fn begin_durable_write(db: &Database) -> Result<WriteTransaction, StoreError> {
    let mut txn = db.begin_write().map_err(rerr)?;
    // fsync before commit() returns: a projector advances its offset only past durable writes.
    txn.set_durability(Durability::Immediate).map_err(rerr)?;
    Ok(txn)
}

fn create_tables(txn: &WriteTransaction) -> Result<(), StoreError> {
    for &table in Table::ALL {
        txn.open_table(row_table(table)).map_err(rerr)?;
    }
    txn.open_table(OFFSETS).map_err(rerr)?;
    Ok(())
}

/// Opens a row table of a read transaction; a table that does not exist reads as empty.
fn open_rows(txn: &redb::ReadTransaction, table: Table) -> Result<Option<RowTable>, StoreError> {
    match txn.open_table(row_table(table)) {
        Ok(t) => Ok(Some(t)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(rerr(e)),
    }
}

fn export_db(db: &Database, visit: &mut Visitor<'_>) -> Result<(), StoreError> {
    let txn = db.begin_read().map_err(rerr)?;
    for &table in Table::ALL {
        if let Some(rows) = open_rows(&txn, table)? {
            export_rows(table, &rows, visit)?;
        }
    }
    let offsets = match txn.open_table(OFFSETS) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(rerr(e)),
    };
    for item in offsets.iter().map_err(rerr)? {
        let (partition, offset) = item.map_err(rerr)?;
        visit(Entry::Offset { log_partition: partition.value(), offset: offset.value() })?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl ProjectionStore for RedbStore {
    async fn get(&self, table: Table, pk: &[u8], ck: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let key = row_key(pk, ck)?;
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(rerr)?;
            let Some(rows) = open_rows(&txn, table)? else {
                return Ok(None);
            };
            let value = rows.get(key.as_slice()).map_err(rerr)?;
            Ok(value.map(|v| v.value().to_vec()))
        })
        .await
    }

    async fn scan(&self, table: Table, pk: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Row>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let prefix = partition_prefix(pk)?;
        let start = scan_start(&prefix, after);
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(rerr)?;
            let Some(rows) = open_rows(&txn, table)? else {
                return Ok(Vec::new());
            };
            let bounds = (start.as_ref().map(Vec::as_slice), Bound::<&[u8]>::Unbounded);
            let mut out = Vec::new();
            for item in rows.range::<&[u8]>(bounds).map_err(rerr)? {
                let (key, value) = item.map_err(rerr)?;
                let Some(ck) = key.value().strip_prefix(prefix.as_slice()) else {
                    break;
                };
                out.push(Row { ck: ck.to_vec(), value: value.value().to_vec() });
                if out.len() >= limit {
                    break;
                }
            }
            Ok(out)
        })
        .await
    }

    async fn commit(&self, log_partition: u32, offset: u64, writes: Vec<Write>) -> Result<(), StoreError> {
        self.queue.submit(&self.db, (log_partition, offset), writes).await
    }

    fn load_rows(&self) -> LoadRows {
        LoadRows::new(KeyEncoding::LengthPrefixed)
    }

    async fn load(&self, offsets: Vec<(u32, u64)>, batches: Vec<LoadRows>, durable: bool) -> Result<(), StoreError> {
        self.blocking(move |db| load::load(db, &offsets, batches, durable)).await
    }

    async fn offset(&self, log_partition: u32) -> Result<Option<u64>, StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(rerr)?;
            let offsets = match txn.open_table(OFFSETS) {
                Ok(t) => t,
                Err(TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(rerr(e)),
            };
            Ok(offsets.get(log_partition).map_err(rerr)?.map(|v| v.value()))
        })
        .await
    }

    async fn clear(&self) -> Result<(), StoreError> {
        self.blocking(|db| {
            let txn = begin_durable_write(db)?;
            for &table in Table::ALL {
                txn.delete_table(row_table(table)).map_err(rerr)?;
            }
            txn.delete_table(OFFSETS).map_err(rerr)?;
            txn.delete_table(META).map_err(rerr)?;
            create_tables(&txn)?;
            txn.commit().map_err(rerr)
        })
        .await
    }

    async fn layout(&self) -> Result<Option<u32>, StoreError> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(rerr)?;
            let meta = match txn.open_table(META) {
                Ok(t) => t,
                Err(TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(rerr(e)),
            };
            Ok(meta.get("layout").map_err(rerr)?.map(|v| v.value()))
        })
        .await
    }

    async fn set_layout(&self, layout: u32) -> Result<(), StoreError> {
        self.blocking(move |db| {
            let txn = begin_durable_write(db)?;
            txn.open_table(META).map_err(rerr)?.insert("layout", layout).map_err(rerr)?;
            txn.commit().map_err(rerr)
        })
        .await
    }

    async fn export(&self, visit: &mut Visitor<'_>) -> Result<(), StoreError> {
        let db = Arc::clone(&self.db);
        crate::embedded::stream_blocking_export(move |v| export_db(&db, v), visit).await
    }

    async fn fingerprint(&self) -> Result<[u8; 32], StoreError> {
        // Same framing as the default, hashed on the blocking thread without the channel hop.
        self.blocking(|db| fingerprint_blocking(|visit| export_db(db, visit))).await
    }
}

#[cfg(test)]
mod tests {
    use super::keys::split_key;
    use super::*;

    #[test]
    fn offsets_table_name_cannot_collide_with_a_row_table() {
        assert!(Table::ALL.iter().all(|t| t.name() != OFFSETS_TABLE && t.name() != META_TABLE));
    }

    #[test]
    fn split_key_is_the_inverse_of_row_key() {
        let key = row_key(&[0, 0, 0], &[0xff]).unwrap();
        assert_eq!(split_key(&key).unwrap(), (&[0u8, 0, 0][..], &[0xffu8][..]));
    }
}
