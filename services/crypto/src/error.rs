//! The crate's error type.

use thiserror::Error;

/// Every fallible operation of this crate returns this error.
///
/// Messages never contain secret material (passwords, keys, codes, exponents).
#[derive(Debug, Error)]
pub enum CryptoError {
    /// Argon2 parameters out of range, or hashing failed.
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    /// A stored PHC string could not be parsed or uses an unsupported algorithm.
    #[error("malformed password hash (PHC string): {0}")]
    MalformedPhc(String),
    /// A hex-encoded protocol value could not be decoded.
    #[error("invalid hex in {0}")]
    InvalidHex(&'static str),
    /// A base64-encoded value could not be decoded.
    #[error("invalid base64 in {0}")]
    InvalidBase64(&'static str),
    /// A big number does not fit in the 3072-bit SRP group.
    #[error("{0} is too large for the SRP group")]
    ValueTooLarge(&'static str),
    /// SRP_A or SRP_B is congruent to 0 mod N (an SRP-6a abort condition).
    #[error("illegal SRP public value {0} (zero mod N)")]
    IllegalPublicValue(&'static str),
    /// The scrambling parameter u = H(A, B) is zero (an SRP-6a abort condition).
    #[error("illegal SRP scrambling parameter (u = 0)")]
    ZeroScrambler,
    /// A secret exponent or verifier is empty, zero or too long.
    #[error("invalid SRP secret: {0}")]
    InvalidSecret(&'static str),
    /// A TOTP secret or parameter is unusable.
    #[error("{0}")]
    Invalid(String),
    /// Sealing a one-time code failed.
    #[error("sealing failed")]
    Seal,
    /// A sealed one-time code could not be opened (wrong key, corrupted or truncated).
    #[error("sealed code could not be opened")]
    Open,
    /// Reading or writing the key file failed.
    #[error("key file {path}: {source}")]
    KeyFileIo {
        /// The file concerned.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The key file exists but its content is not valid.
    #[error("key file {path}: {reason}")]
    KeyFileFormat {
        /// The file concerned.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The key file can be read by users other than its owner.
    #[error("key file {path} has mode {mode:o}; it must not be accessible to group or others (use 0600)")]
    KeyFilePermissions {
        /// The file concerned.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
}
