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
use crate::load_rows::{sorted, SortedRows};
use crate::{KeyEncoding, LoadRows, StoreError, Table};

pub(super) fn load(db: &Database, offsets: &[(u32, u64)], batches: Vec<LoadRows>, durable: bool) -> Result<(), StoreError> {
    let tables = sorted(batches, KeyEncoding::LengthPrefixed)?;
    let mut txn = db.begin_write().map_err(rerr)?;
    let durability = if durable { Durability::Immediate } else { Durability::None };
    txn.set_durability(durability).map_err(rerr)?;
    match fill(&txn, tables, offsets) {
        Ok(()) => txn.commit().map_err(rerr),
        Err(e) => {
            txn.abort().map_err(rerr)?;
            Err(e)
        }
    }
}

fn fill(txn: &WriteTransaction, tables: Vec<SortedRows>, offsets: &[(u32, u64)]) -> Result<(), StoreError> {
    for (&table, rows) in Table::ALL.iter().zip(tables) {
        if rows.is_empty() {
            continue;
        }
        let mut redb_table = txn.open_table(row_table(table)).map_err(rerr)?;
        for (key, value) in rows.iter() {
            match value {
                Some(value) => {
                    redb_table.insert(key, value).map_err(rerr)?;
                }
                None => {
                    redb_table.remove(key).map_err(rerr)?;
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
