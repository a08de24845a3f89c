//! The async [`ProjectionStore::export`](crate::ProjectionStore::export) of an embedded store
//! whose snapshot is read by blocking code: the snapshot is walked on the blocking pool and
//! handed over in chunks through a small bounded channel, so a slow visitor applies
//! back-pressure instead of buffering the store.

use crate::{Entry, OwnedEntry, StoreError, Visitor};

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
