//! Bulk load for `idp rebuild`: the [`ProjectionStore::load`](crate::ProjectionStore::load)
//! of [`FjallStore`](super::FjallStore).
//!
//! Each table's writes are sorted by key (stable, so writes to one key keep their order), only
//! the last write per key is kept, and the result is written straight into new table files
//! (fjall ingestion: no journal, no memtable, no per-row tree insert), deletes as tombstones
//! (or not at all into a store that nothing was written to since it was cleared).
//! Then one batch sets the offsets.
//!
//! fjall keeps every key and value of a table it writes as a `ByteView` until the block holding
//! it is written out. Handing it `&[u8]` made it allocate and copy each one; instead, the rows
//! of a chunk are copied once into one buffer for their keys and one for their values, and
//! fjall gets slices of those (a slice longer than 20 bytes shares the buffer, a shorter one is
//! held inline).
//!
//! Ingestion is atomic per table, not across tables and offsets. So a load first sets the
//! rebuild marker (durably), and a durable load clears it in the batch that sets its offsets:
//! a crash in between leaves the marker, and a store opened with the marker set is emptied
//! (the projectors then replay from offset 0). The store is therefore never seen with rows
//! that its offsets do not account for.

use std::sync::atomic::Ordering;

use byteview::ByteView;
use fjall::PersistMode;

use super::{ferr, lock, Inner, REBUILDING};
use crate::load_rows::sorted;
use crate::{KeyEncoding, LoadRows, StoreError, Table};

pub(super) fn load(inner: &Inner, offsets: &[(u32, u64)], batches: Vec<LoadRows>, durable: bool) -> Result<(), StoreError> {
    let tables = sorted(batches, KeyEncoding::Escaped)?;
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
        let mut chunk = Vec::new();
        let mut rows = rows.iter().filter(|(_, value)| value.is_some() || keep_deletes).peekable();
        while rows.peek().is_some() {
            chunk.clear();
            let mut bytes = 0;
            for row in rows.by_ref() {
                bytes += row.0.len() + row.1.map_or(0, <[u8]>::len);
                chunk.push(row);
                if bytes >= CHUNK_BYTES {
                    break;
                }
            }
            let keys = arena(chunk.iter().map(|(key, _)| *key))?;
            let values = arena(chunk.iter().filter_map(|(_, value)| *value))?;
            let (mut k, mut v) = (0, 0);
            for (key, value) in &chunk {
                let key_view = keys.slice(k..k + key.len());
                k += key.len();
                match value {
                    Some(value) => {
                        ingestion.write(key_view, values.slice(v..v + value.len())).map_err(ferr)?;
                        v += value.len();
                    }
                    None => ingestion.write_tombstone(key_view).map_err(ferr)?,
                }
            }
        }
        drop(chunk);
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

/// Bytes of keys and values per shared buffer (a `ByteView` holds at most 4 GiB; the buffer
/// lives until fjall has written the last block with one of its rows).
const CHUNK_BYTES: usize = 4 << 20;

/// The pieces, concatenated into one buffer (one allocation, no zeroing).
fn arena<'a>(pieces: impl Iterator<Item = &'a [u8]> + Clone) -> Result<ByteView, StoreError> {
    let len = pieces.clone().map(<[u8]>::len).sum();
    ByteView::from_reader(&mut Pieces { pieces, current: &[] }, len).map_err(|e| StoreError::Backend(format!("bulk load buffer: {e}")))
}

/// Reads a sequence of byte slices as one stream.
struct Pieces<'a, I> {
    pieces: I,
    current: &'a [u8],
}

impl<'a, I: Iterator<Item = &'a [u8]>> std::io::Read for Pieces<'a, I> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.pieces.next() {
                Some(next) => self.current = next,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        let (head, rest) = self.current.split_at(n);
        if let Some(to) = buf.get_mut(..n) {
            to.copy_from_slice(head);
        }
        self.current = rest;
        Ok(n)
    }
}
