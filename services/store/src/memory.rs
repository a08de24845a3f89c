//! [`MemoryStore`]: a `BTreeMap` implementation of [`ProjectionStore`].
//!
//! It is the reference model the conformance suite is checked against (a second, independent
//! implementation keeps the suite honest about what is contract and what is redb behaviour),
//! and a fast store for other crates' unit tests. Nothing is persisted.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::{Entry, KeyEncoding, LoadRows, ProjectionStore, Row, StoreError, Table, Visitor, Write};

type Partition = BTreeMap<Vec<u8>, Vec<u8>>;

#[derive(Debug, Default)]
struct State {
    /// table → pk → ck → value; a partition is removed when its last row is.
    tables: BTreeMap<Table, BTreeMap<Vec<u8>, Partition>>,
    offsets: BTreeMap<u32, u64>,
    layout: Option<u32>,
}

/// The in-memory projection store. One lock: a commit is applied under the write lock, so
/// readers see all of it or none of it.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: RwLock<State>,
}

impl MemoryStore {
    pub fn new() -> Arc<MemoryStore> {
        Arc::new(MemoryStore::default())
    }

    fn read(&self) -> Result<RwLockReadGuard<'_, State>, StoreError> {
        self.state.read().map_err(|_| StoreError::Unavailable("memory store lock poisoned".into()))
    }

    fn write(&self) -> Result<RwLockWriteGuard<'_, State>, StoreError> {
        self.state.write().map_err(|_| StoreError::Unavailable("memory store lock poisoned".into()))
    }
}

impl MemoryStore {
    fn apply_writes(&self, offsets: &[(u32, u64)], writes: Vec<Write>) -> Result<(), StoreError> {
        // Validate everything first: nothing below can fail, so the batch is all-or-nothing.
        for write in &writes {
            write.validate()?;
        }
        let mut state = self.write()?;
        for write in writes {
            match write {
                Write::Put { table, pk, ck, value } => {
                    state.tables.entry(table).or_default().entry(pk).or_default().insert(ck, value.to_vec());
                }
                Write::Delete { table, pk, ck } => {
                    let Some(t) = state.tables.get_mut(&table) else {
                        continue;
                    };
                    let Some(partition) = t.get_mut(&pk) else {
                        continue;
                    };
                    partition.remove(&ck);
                    if partition.is_empty() {
                        t.remove(&pk);
                    }
                }
            }
        }
        for &(log_partition, offset) in offsets {
            state.offsets.insert(log_partition, offset);
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl ProjectionStore for MemoryStore {
    async fn get(&self, table: Table, pk: &[u8], ck: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let state = self.read()?;
        Ok(state.tables.get(&table).and_then(|t| t.get(pk)).and_then(|p| p.get(ck)).cloned())
    }

    async fn scan(&self, table: Table, pk: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Row>, StoreError> {
        let state = self.read()?;
        let Some(partition) = state.tables.get(&table).and_then(|t| t.get(pk)) else {
            return Ok(Vec::new());
        };
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        Ok(partition.range::<[u8], _>((start, Bound::Unbounded)).take(limit).map(|(ck, value)| Row { ck: ck.clone(), value: value.clone() }).collect())
    }

    async fn commit(&self, log_partition: u32, offset: u64, writes: Vec<Write>) -> Result<(), StoreError> {
        self.apply_writes(&[(log_partition, offset)], writes)
    }

    fn load_rows(&self) -> LoadRows {
        LoadRows::new(KeyEncoding::LengthPrefixed)
    }

    async fn load(&self, offsets: Vec<(u32, u64)>, batches: Vec<LoadRows>, _durable: bool) -> Result<(), StoreError> {
        // Back to writes, in order: within a table, rows are in arrival order; tables are apart.
        let mut writes = Vec::new();
        for mut batch in batches {
            if let Some(e) = batch.take_invalid() {
                return Err(e);
            }
            if batch.encoding() != KeyEncoding::LengthPrefixed {
                return Err(StoreError::InvalidWrite(format!("rows encoded {:?} handed to the memory store", batch.encoding())));
            }
            for (table, key, value) in batch.rows() {
                let (pk, ck) = crate::redb_store::keys::split_key(key)?;
                let (pk, ck) = (pk.to_vec(), ck.to_vec());
                writes.push(match value {
                    Some(value) => Write::Put { table, pk, ck, value: value.clone() },
                    None => Write::Delete { table, pk, ck },
                });
            }
        }
        self.apply_writes(&offsets, writes)
    }

    async fn offset(&self, log_partition: u32) -> Result<Option<u64>, StoreError> {
        Ok(self.read()?.offsets.get(&log_partition).copied())
    }

    async fn clear(&self) -> Result<(), StoreError> {
        *self.write()? = State::default();
        Ok(())
    }

    async fn layout(&self) -> Result<Option<u32>, StoreError> {
        Ok(self.read()?.layout)
    }

    async fn set_layout(&self, layout: u32) -> Result<(), StoreError> {
        self.write()?.layout = Some(layout);
        Ok(())
    }

    async fn export(&self, visit: &mut Visitor<'_>) -> Result<(), StoreError> {
        // BTreeMap orders Table by declaration (= Table::ALL) and Vec<u8> bytewise: canonical.
        let state = self.read()?;
        for (&table, partitions) in &state.tables {
            for (pk, partition) in partitions {
                for (ck, value) in partition {
                    visit(Entry::Row { table, pk, ck, value })?;
                }
            }
        }
        for (&log_partition, &offset) in &state.offsets {
            visit(Entry::Offset { log_partition, offset })?;
        }
        Ok(())
    }
}
