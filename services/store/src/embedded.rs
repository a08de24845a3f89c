//! What both embedded stores ([`FjallStore`](crate::FjallStore), [`RedbStore`](crate::RedbStore))
//! do the same way, whatever their key encoding:
//!
//! - [`stream_blocking_export`]: the async [`ProjectionStore::export`](crate::ProjectionStore::export)
//!   of a snapshot read by blocking code: walked on the blocking pool and handed over in chunks
//!   through a small bounded channel, so a slow visitor applies back-pressure instead of
//!   buffering the store;
//! - [`fingerprint_blocking`]: the same export hashed in place (no channel hop);
//! - [`scan_start`]: where a partition scan starts;
//! - [`CommitStats`]: how many batches shared how many durable syncs.

use std::ops::Bound;

use crate::{Entry, Fingerprinter, OwnedEntry, StoreError, Visitor};

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
