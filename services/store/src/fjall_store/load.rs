//! Bulk load for `idp rebuild`: the [`ProjectionStore::load`](crate::ProjectionStore::load)
//! of [`FjallStore`](super::FjallStore).
//!
//! Each table's writes are sorted by key (stable, so writes to one key keep their order), only
//! the last write per key is kept, and the result is written straight into new table files
//! (fjall ingestion: no journal, no memtable, no per-row tree insert), deletes as tombstones
//! (or not at all into a store that nothing was written to since it was cleared).
//! Then one batch sets the offsets.
//!
//! Ingestion is atomic per table, not across tables and offsets. So a load first sets the
//! rebuild marker (durably), and a durable load clears it in the batch that sets its offsets:
//! a crash in between leaves the marker, and a store opened with the marker set is emptied
//! (the projectors then replay from offset 0). The store is therefore never seen with rows
//! that its offsets do not account for.

use std::sync::atomic::Ordering;

use fjall::PersistMode;

use super::{ferr, keys::push_row_key, lock, Inner, REBUILDING};
use crate::embedded::sorted_by_table;
use crate::{StoreError, Table, Write};

pub(super) fn load(inner: &Inner, offsets: &[(u32, u64)], writes: Vec<Write>, durable: bool) -> Result<(), StoreError> {
    let tables = sorted_by_table(writes, |pk, ck, out| {
        push_row_key(pk, ck, out);
        Ok(())
    })?;
    if !inner.rebuilding.load(Ordering::SeqCst) {
        inner.set_rebuilding(true)?;
    }
    let keyspaces = inner.keyspaces();
    let mut fresh = lock(&inner.fresh);
    // Into a store emptied by clear and not written since, a delete has nothing to delete.
    let keep_deletes = !*fresh;
    for (&table, rows) in Table::ALL.iter().zip(tables) {
        if !rows.iter().any(|(_, value)| value.is_some() || keep_deletes) {
            continue;
        }
        let mut ingestion = keyspaces.table(table)?.start_ingestion().map_err(ferr)?;
        for (key, value) in rows.iter() {
            match value {
                Some(value) => ingestion.write(key, value).map_err(ferr)?,
                None if keep_deletes => ingestion.write_tombstone(key).map_err(ferr)?,
                None => {}
            }
        }
        ingestion.finish().map_err(ferr)?;
    }
    *fresh = false;
    inner.fresh_hint.store(false, Ordering::Release);
    drop(fresh);
    let mut batch = inner.db.batch().durability(Some(PersistMode::Buffer));
    for &(log_partition, offset) in offsets {
        batch.insert(&keyspaces.offsets, log_partition.to_be_bytes(), offset.to_be_bytes());
    }
    if durable {
        batch.remove(&inner.state, REBUILDING);
    }
    batch.commit().map_err(ferr)?;
    if durable {
        inner.db.persist(PersistMode::SyncAll).map_err(ferr)?;
        inner.rebuilding.store(false, Ordering::SeqCst);
        inner.flush_memtables()?;
    }
    Ok(())
}
