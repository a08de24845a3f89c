//! Bulk load for `idp rebuild`: the [`ProjectionStore::load`](crate::ProjectionStore::load)
//! of [`FjallStore`](super::FjallStore).
//!
//! Each table's writes are sorted by key (stable, so writes to one key keep their order), only
//! the last write per key is kept, and the result is written straight into new table files
//! (fjall ingestion: no journal, no memtable, no per-row tree insert), deletes as tombstones.
//! Then one batch sets the offsets.
//!
//! Ingestion is atomic per table, not across tables and offsets. So a load first sets the
//! rebuild marker (durably), and a durable load clears it in the batch that sets its offsets:
//! a crash in between leaves the marker, and a store opened with the marker set is emptied
//! (the projectors then replay from offset 0). The store is therefore never seen with rows
//! that its offsets do not account for.

use std::sync::atomic::Ordering;

use fjall::PersistMode;

use super::{ferr, keys::row_key, Inner, REBUILDING};
use crate::{StoreError, Table, Write};

/// A write reduced to its encoded key and its value (None = delete).
type Keyed = (Vec<u8>, Option<Vec<u8>>);

pub(super) fn load(inner: &Inner, offsets: &[(u32, u64)], writes: Vec<Write>, durable: bool) -> Result<(), StoreError> {
    for write in &writes {
        write.validate()?;
    }
    let mut tables: Vec<Vec<Keyed>> = Table::ALL.iter().map(|_| Vec::new()).collect();
    for write in writes {
        let table = write.table();
        let keyed = match write {
            Write::Put { pk, ck, value, .. } => (row_key(&pk, &ck), Some(value)),
            Write::Delete { pk, ck, .. } => (row_key(&pk, &ck), None),
        };
        let slot = tables.get_mut(table.index()).ok_or_else(|| StoreError::Backend(format!("{table:?} is missing from Table::ALL")))?;
        slot.push(keyed);
    }
    if !inner.rebuilding.load(Ordering::SeqCst) {
        inner.set_rebuilding(true)?;
    }
    let keyspaces = inner.keyspaces();
    for (&table, rows) in Table::ALL.iter().zip(tables.iter_mut()) {
        if rows.is_empty() {
            continue;
        }
        // Stable: writes to one key stay in write order, so the last one is the one to keep.
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        let mut ingestion = keyspaces.table(table)?.start_ingestion().map_err(ferr)?;
        let mut iter = rows.drain(..).peekable();
        while let Some((key, value)) = iter.next() {
            if iter.peek().is_some_and(|(next, _)| *next == key) {
                continue;
            }
            match value {
                Some(value) => ingestion.write(key, value).map_err(ferr)?,
                None => ingestion.write_tombstone(key).map_err(ferr)?,
            }
        }
        ingestion.finish().map_err(ferr)?;
    }
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
