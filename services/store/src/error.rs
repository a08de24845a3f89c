//! [`StoreError`], the one error type of every `ProjectionStore` implementation.

/// Everything a projection store operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend failed in a way that has no better variant (message from the backend).
    #[error("projection store backend error: {0}")]
    Backend(String),
    /// An I/O error from the underlying file or socket.
    #[error("projection store I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The stored data cannot be decoded or fails its checksums.
    #[error("projection store is corrupt: {0}")]
    Corrupt(String),
    /// The store cannot serve requests right now (file locked by another process, closed,
    /// a previous I/O error poisoned it, cluster unreachable...).
    #[error("projection store unavailable: {0}")]
    Unavailable(String),
    /// A write of a `commit` batch breaks a limit (`MAX_KEY_LEN`, `MAX_VALUE_LEN`); the whole
    /// batch was rejected and nothing of it, nor its offset, was applied.
    #[error("invalid write: {0}")]
    InvalidWrite(String),
}
