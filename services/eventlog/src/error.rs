//! [`LogError`]: the error type shared by every [`crate::EventLog`] implementation.

use std::path::PathBuf;

use crate::{Offset, Partition};

/// Everything that can go wrong with an event log.
///
/// Callers mostly care about three families: [`LogError::Unavailable`] / [`LogError::Closed`]
/// (the log cannot serve right now: report "not ready"), [`LogError::Corrupt`] (stored data is
/// damaged: an operator must look), and caller mistakes ([`LogError::InvalidPartition`],
/// [`LogError::RecordTooLarge`], ...).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// An I/O error without a more specific context.
    #[error("event log I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// An I/O error on a known file or directory.
    #[error("event log I/O error on {}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Stored data failed validation (checksum, framing, offsets, missing acknowledged records).
    #[error("event log data is corrupt in {} at byte {position}: {reason}", path.display())]
    Corrupt { path: PathBuf, position: u64, reason: String },

    /// The backend cannot serve (broker down, partition writer failed after an I/O error, ...).
    /// Callers map this to "not ready".
    #[error("event log unavailable: {0}")]
    Unavailable(String),

    /// The partition does not exist in this log.
    #[error("invalid partition {0}")]
    InvalidPartition(Partition),

    /// The log was closed; no more appends are accepted and subscriptions have read everything.
    #[error("event log is closed")]
    Closed,

    /// The directory already holds a log with another partition count.
    #[error(
        "event log in {} has {on_disk} partitions but {requested} were requested; \
         the partition count of a log cannot change",
        dir.display()
    )]
    PartitionCountMismatch { dir: PathBuf, on_disk: u32, requested: u32 },

    /// Another process (or another handle in this process) has the log directory open.
    #[error("event log directory {} is locked by another process or handle", .0.display())]
    Locked(PathBuf),

    /// The encoded record is larger than the configured maximum.
    #[error("record of {size} bytes exceeds the maximum record size of {max} bytes")]
    RecordTooLarge { size: usize, max: usize },

    /// A subscription asked for an offset past the end of a partition.
    #[error("offset {offset} is past the end ({end}) of partition {partition}")]
    OffsetOutOfRange { partition: Partition, offset: Offset, end: Offset },

    /// A malformed request (e.g. the same partition twice in one subscription).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// Invalid options or an unusable directory layout.
    #[error("invalid event log configuration: {0}")]
    InvalidConfig(String),
}

impl LogError {
    pub(crate) fn file(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        LogError::File { path: path.into(), source }
    }

    /// A copy of this error for fanning one failure out to many waiters (`io::Error` is not
    /// `Clone`): I/O errors keep their kind and message.
    pub(crate) fn duplicate(&self) -> LogError {
        match self {
            LogError::Io(e) => LogError::Io(std::io::Error::new(e.kind(), e.to_string())),
            LogError::File { path, source } => LogError::File { path: path.clone(), source: std::io::Error::new(source.kind(), source.to_string()) },
            other => LogError::Unavailable(other.to_string()),
        }
    }
}
