//! The [`ProjectionStore`] trait: what projectors write through and what the API reads from.

use crate::{Entry, Fingerprinter, LoadRows, Row, StoreError, Table, Visitor, Write};

/// A store of read models, addressed like a wide-column database: every row lives in a
/// `table` under a partition key `pk` and a clustering key `ck`.
///
/// The shape is Scylla's on purpose: point reads, range scans only within one partition key,
/// and the only multi-row atomicity is [`commit`](ProjectionStore::commit) (a logged batch in
/// Scylla). Keys are compared bytewise (unsigned), like Scylla `blob` columns.
#[async_trait::async_trait]
pub trait ProjectionStore: Send + Sync + 'static {
    /// The value at (`table`, `pk`, `ck`), if any.
    async fn get(&self, table: Table, pk: &[u8], ck: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Rows of one partition key with ck > `after` (or from the start when None), ascending by ck, at most `limit`.
    async fn scan(&self, table: Table, pk: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Row>, StoreError>;

    /// Applies `writes` and records `offset` as the next offset to read for log partition `log_partition`,
    /// atomically (all or nothing, durable when it returns). Writes apply in order (a later write to the same key wins).
    ///
    /// A write that breaks a limit fails the whole batch with [`StoreError::InvalidWrite`].
    /// Concurrent commits (one projector task per log partition) are serialized.
    async fn commit(&self, log_partition: u32, offset: u64, writes: Vec<Write>) -> Result<(), StoreError>;

    /// An empty [`LoadRows`] encoding keys the way this store lays them out, for
    /// [`ProjectionStore::load`].
    fn load_rows(&self) -> LoadRows;

    /// Bulk write for `idp rebuild`: applies the rows of `batches` (each from
    /// [`ProjectionStore::load_rows`]) in order, batch after batch (a later write to the same
    /// key wins), and sets every `(log partition, next offset)` in `offsets`, all or nothing,
    /// as if one `commit` per partition had been applied together.
    ///
    /// With `durable: false` it need not be durable when it returns (a later durable load or
    /// commit makes it so): a crash in between leaves the store at an earlier durable state,
    /// whose offsets still match its rows. Implementations may reorder writes to
    /// distinct keys (redb inserts them sorted). A write that breaks a limit fails the whole
    /// load with [`StoreError::InvalidWrite`].
    async fn load(&self, offsets: Vec<(u32, u64)>, batches: Vec<LoadRows>, durable: bool) -> Result<(), StoreError>;

    /// The stored next offset for a log partition (None if never committed).
    async fn offset(&self, log_partition: u32) -> Result<Option<u64>, StoreError>;

    /// Drops every row, every offset and the recorded layout (used by `idp rebuild`).
    async fn clear(&self) -> Result<(), StoreError>;

    /// The row layout recorded with [`set_layout`](ProjectionStore::set_layout): which
    /// version of the projector's row derivation wrote the rows. `None` when none was recorded
    /// (a store written before layouts were, or cleared since). Not a row: neither exported
    /// nor fingerprinted.
    async fn layout(&self) -> Result<Option<u32>, StoreError>;

    /// Records the row layout, durably when it returns.
    async fn set_layout(&self, layout: u32) -> Result<(), StoreError>;

    /// Feeds every row and then every offset to `visit`, in canonical order (see [`Entry`]),
    /// from one consistent snapshot where the backend has snapshots. Stops at the first error
    /// `visit` returns and returns it.
    async fn export(&self, visit: &mut Visitor<'_>) -> Result<(), StoreError>;

    /// A deterministic digest (SHA-256) over every row of every table plus the offsets, in a canonical order
    /// (table, pk, ck): two stores with the same contents give the same digest, byte for byte.
    ///
    /// The default hashes [`export`](ProjectionStore::export) with [`Fingerprinter`]; an override
    /// must produce the same bytes.
    async fn fingerprint(&self) -> Result<[u8; 32], StoreError> {
        let mut fp = Fingerprinter::new();
        self.export(&mut |e: Entry<'_>| {
            fp.entry(e);
            Ok(())
        })
        .await?;
        Ok(fp.finish())
    }
}
