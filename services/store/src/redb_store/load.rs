//! Bulk load for `idp rebuild`: the [`ProjectionStore::load`](crate::ProjectionStore::load)
//! of [`RedbStore`](super::RedbStore).
//!
//! One redb transaction per load, bypassing the group commit (a rebuild is the only writer).
//! Each table's writes are sorted by their redb key (stable, so writes to one key keep their
//! order) and only the last write per key is applied: the B-tree is then filled leaf after
//! leaf instead of at random, and a row rewritten many times during the replay is inserted
//! once. Only the final load of a rebuild is durable.

use redb::{Database, Durability, WriteTransaction};

use super::{rerr, row_table, OFFSETS};
use crate::redb_store::keys::row_key;
use crate::{StoreError, Table, Write};

/// A write reduced to its redb key and its value (None = delete).
type Keyed = (Vec<u8>, Option<Vec<u8>>);

pub(super) fn load(db: &Database, offsets: &[(u32, u64)], writes: Vec<Write>, durable: bool) -> Result<(), StoreError> {
    for write in &writes {
        write.validate()?;
    }
    let mut tables: Vec<Vec<Keyed>> = Table::ALL.iter().map(|_| Vec::new()).collect();
    for write in writes {
        let table = write.table();
        let keyed = match write {
            Write::Put { pk, ck, value, .. } => (row_key(&pk, &ck)?, Some(value)),
            Write::Delete { pk, ck, .. } => (row_key(&pk, &ck)?, None),
        };
        let slot = tables.get_mut(table.index()).ok_or_else(|| StoreError::Backend(format!("{table:?} is missing from Table::ALL")))?;
        slot.push(keyed);
    }
    let mut txn = db.begin_write().map_err(rerr)?;
    let durability = if durable { Durability::Immediate } else { Durability::None };
    txn.set_durability(durability).map_err(rerr)?;
    match fill(&txn, &mut tables, offsets) {
        Ok(()) => txn.commit().map_err(rerr),
        Err(e) => {
            txn.abort().map_err(rerr)?;
            Err(e)
        }
    }
}

fn fill(txn: &WriteTransaction, tables: &mut [Vec<Keyed>], offsets: &[(u32, u64)]) -> Result<(), StoreError> {
    for (&table, rows) in Table::ALL.iter().zip(tables.iter_mut()) {
        if rows.is_empty() {
            continue;
        }
        // Stable: writes to one key stay in write order, so the last one is the one to keep.
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        let mut redb_table = txn.open_table(row_table(table)).map_err(rerr)?;
        let mut iter = rows.iter().peekable();
        while let Some((key, value)) = iter.next() {
            if iter.peek().is_some_and(|(next, _)| next == key) {
                continue;
            }
            match value {
                Some(value) => {
                    redb_table.insert(key.as_slice(), value.as_slice()).map_err(rerr)?;
                }
                None => {
                    redb_table.remove(key.as_slice()).map_err(rerr)?;
                }
            }
        }
    }
    if !offsets.is_empty() {
        let mut table = txn.open_table(OFFSETS).map_err(rerr)?;
        for &(log_partition, offset) in offsets {
            table.insert(log_partition, offset).map_err(rerr)?;
        }
    }
    Ok(())
}
