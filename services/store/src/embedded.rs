//! What both embedded stores ([`FjallStore`](crate::FjallStore), [`RedbStore`](crate::RedbStore))
//! do the same way, whatever their key encoding:
//!
//! - [`stream_blocking_export`]: the async [`ProjectionStore::export`](crate::ProjectionStore::export)
//!   of a snapshot read by blocking code: walked on the blocking pool and handed over in chunks
//!   through a small bounded channel, so a slow visitor applies back-pressure instead of
//!   buffering the store;
//! - [`fingerprint_blocking`]: the same export hashed in place (no channel hop);
//! - [`scan_start`]: where a partition scan starts;
//! - [`sorted_by_table`]: a bulk load's writes grouped per table, keys encoded into one buffer
//!   per table, sorted by encoded key, last write per key;
//! - [`CommitStats`]: how many batches shared how many durable syncs.

use std::ops::Bound;

use crate::{Entry, Fingerprinter, OwnedEntry, StoreError, Table, Visitor, Write};

/// Write-path counters of an embedded store, for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Batches committed (`commit` calls that succeeded).
    pub batches: u64,
    /// Durable syncs that carried them: redb write transactions (group commit), fjall journal
    /// fsyncs (group sync). Fewer than `batches` when concurrent commits share one.
    pub transactions: u64,
}

/// Rows per chunk handed from the blocking export task to the async visitor.
const EXPORT_CHUNK_ROWS: usize = 512;
/// Bytes per chunk handed from the blocking export task to the async visitor.
const EXPORT_CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// Runs `produce` (a blocking export that feeds every entry to the visitor it is given) on the
/// blocking pool and feeds its entries, in order, to `visit`.
pub(crate) async fn stream_blocking_export<F>(produce: F, visit: &mut Visitor<'_>) -> Result<(), StoreError>
where
    F: FnOnce(&mut Visitor<'_>) -> Result<(), StoreError> + Send + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<OwnedEntry>, StoreError>>(2);
    let producer = tokio::task::spawn_blocking(move || {
        let mut chunk = Vec::with_capacity(EXPORT_CHUNK_ROWS);
        let mut bytes = 0usize;
        let result = produce(&mut |e: Entry<'_>| {
            if let Entry::Row { pk, ck, value, .. } = e {
                bytes += pk.len() + ck.len() + value.len();
            }
            chunk.push(e.to_owned_entry());
            if chunk.len() >= EXPORT_CHUNK_ROWS || bytes >= EXPORT_CHUNK_BYTES {
                bytes = 0;
                tx.blocking_send(Ok(std::mem::take(&mut chunk))).map_err(|_| StoreError::Backend("export consumer went away".into()))?;
            }
            Ok(())
        });
        // A send fails only when the consumer stopped early, and then nobody needs the tail.
        let _ = match result {
            Ok(()) if chunk.is_empty() => Ok(()),
            Ok(()) => tx.blocking_send(Ok(chunk)),
            Err(e) => tx.blocking_send(Err(e)),
        };
    });
    while let Some(chunk) = rx.recv().await {
        for entry in chunk? {
            visit(entry.as_entry())?;
        }
    }
    producer.await.map_err(|e| StoreError::Backend(format!("blocking export task failed: {e}")))
}

/// The store's fingerprint from a blocking export, with the shared framing.
pub(crate) fn fingerprint_blocking(export: impl FnOnce(&mut Visitor<'_>) -> Result<(), StoreError>) -> Result<[u8; 32], StoreError> {
    let mut fp = Fingerprinter::new();
    export(&mut |e: Entry<'_>| {
        fp.entry(e);
        Ok(())
    })?;
    Ok(fp.finish())
}

/// Bounds of a partition scan over keys `prefix ‖ ck`: from the partition start (or just after
/// `after`), open-ended; the caller stops at the first key without the prefix.
pub(crate) fn scan_start(prefix: &[u8], after: Option<&[u8]>) -> Bound<Vec<u8>> {
    match after {
        Some(after) => {
            let mut key = prefix.to_vec();
            key.extend_from_slice(after);
            Bound::Excluded(key)
        }
        None => Bound::Included(prefix.to_vec()),
    }
}

/// One table's rows of a bulk load: every key encoded into one buffer (no allocation per
/// row), sorted by encoded key, one row per key (the last write to it).
#[derive(Default)]
pub(crate) struct TableRows {
    keys: Vec<u8>,
    /// In key order after [`sorted_by_table`].
    slots: Vec<Slot>,
    /// The writes' values in arrival order (None = delete), indexed by [`Slot::write`].
    values: Vec<Option<bytes::Bytes>>,
}

/// Where a row's encoded key sits in [`TableRows::keys`], and which write it came from.
#[derive(Clone, Copy)]
struct Slot {
    start: usize,
    len: u32,
    write: u32,
    /// The sort's current 8 key bytes (see [`sort_slots`]).
    head: u64,
}

impl TableRows {
    fn key(&self, slot: &Slot) -> &[u8] {
        self.keys.get(slot.start..slot.start + slot.len as usize).unwrap_or_default()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// (encoded key, value or None for a delete), in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> + '_ {
        self.slots.iter().map(|slot| (self.key(slot), self.values.get(slot.write as usize).and_then(|v| v.as_deref())))
    }

    fn sort(&mut self) {
        let (keys, slots) = (&self.keys, &mut self.slots);
        let key = |s: &Slot| keys.get(s.start..s.start + s.len as usize).unwrap_or_default();
        sort_slots(keys, slots);
        slots.dedup_by(|later, kept| {
            let same = key(later) == key(kept);
            if same {
                *kept = *later;
            }
            same
        });
    }
}

/// Sorts `slots` by their key in `keys`, ties broken by arrival (so the last of a run of equal
/// keys is the last write). Keys of one table share long prefixes (pool ids, attribute names),
/// which a plain comparison sort re-reads at every comparison; this one sorts by 8 key bytes
/// at a time held in the slot, past the prefix a run shares: sort by (those bytes, how many
/// exist, arrival), then refine each run that agrees on 8 whole bytes by the next 8.
fn sort_slots(keys: &[u8], slots: &mut [Slot]) {
    let key = |s: &Slot| keys.get(s.start..s.start + s.len as usize).unwrap_or_default();
    // (range of slots, key bytes every slot in it is known to share)
    let mut runs = vec![(0..slots.len(), 0usize)];
    while let Some((range, known)) = runs.pop() {
        let Some(run) = slots.get_mut(range.clone()) else { continue };
        let Some(first) = run.first().map(key) else { continue };
        // Skip what the whole run shares.
        let mut depth = first.len();
        for s in run.iter().skip(1) {
            let (shared, k) = (first.get(known..depth).unwrap_or_default(), key(s).get(known..).unwrap_or_default());
            if k.starts_with(shared) {
                continue;
            }
            depth = known + shared.iter().zip(k).take_while(|(a, b)| a == b).count();
            if depth == known {
                break;
            }
        }
        for s in run.iter_mut() {
            s.head = head(key(s), depth);
        }
        let avail = |s: &Slot| (s.len as usize).saturating_sub(depth).min(8);
        // Equal (bytes, count): equal keys when fewer than 8 bytes were left; else unknown.
        run.sort_unstable_by(|a, b| a.head.cmp(&b.head).then(avail(a).cmp(&avail(b))).then(a.write.cmp(&b.write)));
        let mut at = range.start;
        for group in run.chunk_by(|a, b| a.head == b.head && avail(a) == avail(b)) {
            if group.len() > 1 && group.first().is_some_and(|s| avail(s) == 8) {
                runs.push((at..at + group.len(), depth + 8));
            }
            at += group.len();
        }
    }
}

/// Up to 8 bytes of `key` from `depth`, big-endian, zero-padded.
fn head(key: &[u8], depth: usize) -> u64 {
    let mut bytes = [0u8; 8];
    for (to, from) in bytes.iter_mut().zip(key.get(depth..).unwrap_or_default()) {
        *to = *from;
    }
    u64::from_be_bytes(bytes)
}

/// A bulk load's writes (batch after batch), validated, grouped per table (in [`Table::ALL`] order), keys encoded
/// by `encode` (which appends a row's key to the buffer it is given), sorted by encoded key
/// with only the last write per key kept. Fails whole on the first invalid write.
pub(crate) fn sorted_by_table(
    batches: Vec<Vec<Write>>,
    encode: impl Fn(&[u8], &[u8], &mut Vec<u8>) -> Result<(), StoreError>,
) -> Result<Vec<TableRows>, StoreError> {
    // Sized up front: the buffers of a load run to hundreds of MB, and growing them by
    // doubling copies them and touches twice the memory.
    let mut sizes = vec![(0usize, 0usize); Table::ALL.len()];
    for write in batches.iter().flatten() {
        write.validate()?;
        let (pk, ck) = match write {
            Write::Put { pk, ck, .. } | Write::Delete { pk, ck, .. } => (pk, ck),
        };
        if let Some(size) = sizes.get_mut(write.table().index()) {
            size.0 += 1;
            // Room for the encoding's own bytes (a length prefix or escapes and a terminator).
            size.1 += pk.len() + ck.len() + 8;
        }
    }
    let mut tables: Vec<TableRows> = sizes
        .iter()
        .map(|&(rows, bytes)| TableRows { keys: Vec::with_capacity(bytes), slots: Vec::with_capacity(rows), values: Vec::with_capacity(rows) })
        .collect();
    for write in batches.into_iter().flatten() {
        let table = write.table();
        let rows = tables.get_mut(table.index()).ok_or_else(|| StoreError::Backend(format!("{table:?} is missing from Table::ALL")))?;
        let (pk, ck, value) = match write {
            Write::Put { pk, ck, value, .. } => (pk, ck, Some(value)),
            Write::Delete { pk, ck, .. } => (pk, ck, None),
        };
        let start = rows.keys.len();
        encode(&pk, &ck, &mut rows.keys)?;
        let len = u32::try_from(rows.keys.len() - start).map_err(|_| StoreError::InvalidWrite(format!("encoded key of {} bytes", rows.keys.len() - start)))?;
        let write = u32::try_from(rows.values.len()).map_err(|_| StoreError::InvalidWrite("more than 2^32 writes in one load".into()))?;
        rows.slots.push(Slot { start, len, write, head: 0 });
        rows.values.push(value);
    }
    for rows in &mut tables {
        rows.sort();
    }
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_sort_matches_a_map_of_last_writes() {
        // Keys over a tiny alphabet with a long shared prefix, zero bytes, keys that are
        // prefixes of others, and equal keys longer than the sort's 8-byte steps.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut writes = Vec::new();
        let mut expected = std::collections::BTreeMap::new();
        for i in 0..5000u32 {
            let mut pk = b"pool-0001\0".to_vec();
            for _ in 0..(next() % 7) {
                pk.push([0u8, 1, b'a', 0xff][(next() % 4) as usize]);
            }
            if next() % 2 == 0 {
                pk.extend_from_slice(b"0123456789abcdef\0\0\0\0\0\0\0\0");
                for _ in 0..(next() % 4) {
                    pk.push([0u8, 1, b'a', 0xff][(next() % 4) as usize]);
                }
            }
            let value = i.to_be_bytes().to_vec();
            if next() % 5 == 0 {
                writes.push(Write::Delete { table: Table::Users, pk: pk.clone(), ck: vec![] });
                expected.insert(pk, None);
            } else {
                writes.push(Write::Put { table: Table::Users, pk: pk.clone(), ck: vec![], value: value.clone().into() });
                expected.insert(pk, Some(value));
            }
        }
        let tables = sorted_by_table(vec![writes], |pk, _, out| {
            out.extend_from_slice(pk);
            Ok(())
        })
        .unwrap();
        let got: Vec<_> = tables[Table::Users.index()].iter().map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec))).collect();
        assert_eq!(got, expected.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn bulk_writes_are_grouped_sorted_and_the_last_per_key_wins() {
        let put = |table, pk: &[u8], v: &[u8]| Write::Put { table, pk: pk.to_vec(), ck: vec![], value: v.to_vec().into() };
        let writes = vec![
            put(Table::Users, b"b", b"1"),
            put(Table::Pools, b"p", b"x"),
            put(Table::Users, b"a", b"2"),
            Write::Delete { table: Table::Users, pk: b"b".to_vec(), ck: vec![] },
            put(Table::Users, b"a", b"3"),
        ];
        let pk_only = |pk: &[u8], _: &[u8], out: &mut Vec<u8>| {
            out.extend_from_slice(pk);
            Ok(())
        };
        let (first, second) = writes.split_at(2);
        let tables = sorted_by_table(vec![first.to_vec(), second.to_vec()], pk_only).unwrap();
        let rows = |t: Table| tables[t.index()].iter().map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec))).collect::<Vec<_>>();
        assert_eq!(rows(Table::Users), vec![(b"a".to_vec(), Some(b"3".to_vec())), (b"b".to_vec(), None)]);
        assert_eq!(rows(Table::Pools), vec![(b"p".to_vec(), Some(b"x".to_vec()))]);
        assert!(tables[Table::Clients.index()].is_empty());
        let too_long = vec![put(Table::Users, &vec![0; crate::MAX_KEY_LEN + 1], b"")];
        assert!(matches!(sorted_by_table(vec![too_long], pk_only), Err(StoreError::InvalidWrite(_))));
    }
}
