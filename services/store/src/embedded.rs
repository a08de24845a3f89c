//! What both embedded stores ([`FjallStore`](crate::FjallStore), [`RedbStore`](crate::RedbStore))
//! do the same way, whatever their key encoding:
//!
//! - [`stream_blocking_export`]: the async [`ProjectionStore::export`](crate::ProjectionStore::export)
//!   of a snapshot read by blocking code: walked on the blocking pool and handed over in chunks
//!   through a small bounded channel, so a slow visitor applies back-pressure instead of
//!   buffering the store;
//! - [`fingerprint_blocking`]: the same export hashed in place (no channel hop);
//! - [`scan_start`]: where a partition scan starts;
//! - [`sorted_by_table`]: a bulk load's writes grouped per table, sorted by encoded key, last
//!   write per key;
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

/// A write reduced to its encoded key and its value (None = delete).
pub(crate) type Keyed = (Vec<u8>, Option<Vec<u8>>);

/// A bulk load's writes, validated, encoded with `key`, grouped per table (in [`Table::ALL`]
/// order) and sorted by key with only the last write per key kept (the sort is stable, so
/// writes to one key keep their order). Fails whole on the first invalid write.
pub(crate) fn sorted_by_table(writes: Vec<Write>, key: impl Fn(&[u8], &[u8]) -> Result<Vec<u8>, StoreError>) -> Result<Vec<Vec<Keyed>>, StoreError> {
    for write in &writes {
        write.validate()?;
    }
    let mut tables: Vec<Vec<Keyed>> = Table::ALL.iter().map(|_| Vec::new()).collect();
    for write in writes {
        let table = write.table();
        let keyed = match write {
            Write::Put { pk, ck, value, .. } => (key(&pk, &ck)?, Some(value)),
            Write::Delete { pk, ck, .. } => (key(&pk, &ck)?, None),
        };
        let slot = tables.get_mut(table.index()).ok_or_else(|| StoreError::Backend(format!("{table:?} is missing from Table::ALL")))?;
        slot.push(keyed);
    }
    for rows in &mut tables {
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        // Of each run of equal keys keep one slot holding the last write's value.
        rows.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(&mut later.1, &mut kept.1);
            }
            same
        });
    }
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_writes_are_grouped_sorted_and_the_last_per_key_wins() {
        let put = |table, pk: &[u8], v: &[u8]| Write::Put { table, pk: pk.to_vec(), ck: vec![], value: v.to_vec() };
        let writes = vec![
            put(Table::Users, b"b", b"1"),
            put(Table::Pools, b"p", b"x"),
            put(Table::Users, b"a", b"2"),
            Write::Delete { table: Table::Users, pk: b"b".to_vec(), ck: vec![] },
            put(Table::Users, b"a", b"3"),
        ];
        let tables = sorted_by_table(writes, |pk, _| Ok(pk.to_vec())).unwrap();
        assert_eq!(tables[Table::Users.index()], vec![(b"a".to_vec(), Some(b"3".to_vec())), (b"b".to_vec(), None)]);
        assert_eq!(tables[Table::Pools.index()], vec![(b"p".to_vec(), Some(b"x".to_vec()))]);
        let too_long = vec![put(Table::Users, &vec![0; crate::MAX_KEY_LEN + 1], b"")];
        assert!(matches!(sorted_by_table(too_long, |pk, _| Ok(pk.to_vec())), Err(StoreError::InvalidWrite(_))));
    }
}
