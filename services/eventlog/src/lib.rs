//! `idp-eventlog`: a partitioned, ordered, durable log — the source of truth of the identity
//! service (every state change is an event appended here; read models are projections of it).
//!
//! What lives where:
//! - this file: the shared vocabulary ([`Partition`], [`Offset`], [`Record`], [`StoredRecord`])
//!   and the two traits every implementation provides, [`EventLog`] and [`Subscription`].
//! - [`error`]: [`LogError`], the one error type of the crate.
//! - [`partitioner`]: [`partition_for_key`], Kafka's default (murmur2) partitioner, so a key lands
//!   on the same partition in every implementation.
//! - [`format`](mod@format): the on-disk format of the embedded log (frames, file names, index entries); public
//!   so tools and crash tests can read and forge files. See `docs/adr/0001-embedded-log-format.md`.
//! - [`embedded`]: [`EmbeddedLog`], the zero-config file-based implementation (segments, group
//!   commit, recovery, sparse index, subscriptions).
//! - `conformance` (cargo feature `conformance`): the single behavioural test suite that every
//!   implementation (embedded, Kafka, ...) runs against itself.
//! - `src/bin/log-crash-writer.rs`: a helper binary the crash tests spawn and `kill -9`.

pub mod embedded;
pub mod error;
pub mod format;
pub mod partitioner;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use embedded::{EmbeddedLog, EmbeddedOptions, EmbeddedStats};
pub use error::LogError;
pub use partitioner::{murmur2, partition_for_key};

/// Index of a partition, `0..partition_count()`.
pub type Partition = u32;
/// Position of a record inside its partition; dense, starting at 0.
pub type Offset = u64;

/// One event as appended: an opaque key (used for partitioning), ordered headers and a value.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Record {
    pub key: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub value: Vec<u8>,
}

impl Record {
    /// A record without headers.
    pub fn new(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        Record { key: key.into(), headers: Vec::new(), value: value.into() }
    }

    /// Adds a header (builder style). Header names may repeat; order is preserved.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A record as read back, with the position it was stored at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    pub partition: Partition,
    pub offset: Offset,
    pub record: Record,
}

/// A partitioned, ordered, durable log.
///
/// Contract shared by every implementation (checked by the `conformance` suite):
/// - offsets are dense per partition and start at 0;
/// - records of one partition are read back in offset order, byte-exact;
/// - `append` returns only once the record is durable;
/// - an out-of-range partition is [`LogError::InvalidPartition`].
#[async_trait::async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Number of partitions, fixed for the life of the log.
    fn partition_count(&self) -> u32;

    /// Appends one record to `partition`; returns its offset only once the record is durable
    /// (fsynced). Concurrent appends are group-committed (one fsync for many records).
    ///
    /// Dropping the returned future after it started does not un-append: the record may still
    /// be written (the caller just does not learn its offset), as with any network log.
    async fn append(&self, partition: Partition, record: Record) -> Result<Offset, LogError>;

    /// The offset the next appended record will get (0 for an empty partition) = high watermark.
    async fn end_offset(&self, partition: Partition) -> Result<Offset, LogError>;

    /// Every partition's end offset (index = partition), each read after this call started, in
    /// one round trip where the log allows (Kafka: one ListOffsets request). A request that
    /// reads several aggregates catches up with one call instead of one per partition.
    async fn end_offsets(&self) -> Result<Vec<Offset>, LogError> {
        let mut out = Vec::with_capacity(self.partition_count() as usize);
        for partition in 0..self.partition_count() {
            out.push(self.end_offset(partition).await?);
        }
        Ok(out)
    }

    /// A reader over the given partitions, each starting at the given offset.
    async fn subscribe(&self, start: &[(Partition, Offset)]) -> Result<Box<dyn Subscription>, LogError>;
}

/// A reader over a fixed set of partitions (see [`EventLog::subscribe`]).
#[async_trait::async_trait]
pub trait Subscription: Send {
    /// Waits up to `timeout` for at least one record, then returns what is available (<= max),
    /// in offset order per partition; an empty Vec on timeout. Never skips or repeats a record.
    async fn poll(&mut self, max: usize, timeout: std::time::Duration) -> Result<Vec<StoredRecord>, LogError>;
}
