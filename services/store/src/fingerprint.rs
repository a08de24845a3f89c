//! The fingerprint framing: how export entries are fed to SHA-256.
//!
//! Every implementation must hash with [`Fingerprinter`] so that equal contents give equal
//! digests across implementations (redb, memory, Scylla), not only within one.

use sha2::{Digest, Sha256};

use crate::Entry;

/// Version tag hashed first; bump it if the framing below ever changes.
const DOMAIN: &[u8] = b"idp-store fingerprint v1\n";

/// Incremental SHA-256 over export entries given in canonical order.
///
/// Framing (all integers big-endian, every byte string length-prefixed so no two different
/// sequences of entries hash the same input):
/// - row: `b'R'`, u32 name length, table name, u32 pk length, pk, u32 ck length, ck,
///   u64 value length, value;
/// - offset: `b'O'`, u32 log partition, u64 offset.
pub struct Fingerprinter {
    hasher: Sha256,
}

impl Default for Fingerprinter {
    fn default() -> Self {
        Self::new()
    }
}

impl Fingerprinter {
    pub fn new() -> Self {
        let mut hasher = Sha256::new();
        hasher.update(DOMAIN);
        Fingerprinter { hasher }
    }

    /// Hashes one entry. Entries must come in the canonical export order.
    pub fn entry(&mut self, entry: Entry<'_>) {
        match entry {
            Entry::Row { table, pk, ck, value } => {
                self.hasher.update(b"R");
                self.bytes32(table.name().as_bytes());
                self.bytes32(pk);
                self.bytes32(ck);
                self.hasher.update((value.len() as u64).to_be_bytes());
                self.hasher.update(value);
            }
            Entry::Offset { log_partition, offset } => {
                self.hasher.update(b"O");
                self.hasher.update(log_partition.to_be_bytes());
                self.hasher.update(offset.to_be_bytes());
            }
        }
    }

    /// The digest.
    pub fn finish(self) -> [u8; 32] {
        self.hasher.finalize().into()
    }

    fn bytes32(&mut self, b: &[u8]) {
        // Keys are at most MAX_KEY_LEN and table names are short, so the length fits; saturate
        // rather than truncate silently if a caller hashes something that was never validated.
        let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
        self.hasher.update(len.to_be_bytes());
        self.hasher.update(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Table;

    fn digest(entries: &[Entry<'_>]) -> [u8; 32] {
        let mut f = Fingerprinter::new();
        for e in entries {
            f.entry(*e);
        }
        f.finish()
    }

    #[test]
    fn framing_separates_key_boundaries() {
        let a = Entry::Row { table: Table::Users, pk: b"a", ck: b"bc", value: b"" };
        let b = Entry::Row { table: Table::Users, pk: b"ab", ck: b"c", value: b"" };
        assert_ne!(digest(&[a]), digest(&[b]));
        let c = Entry::Row { table: Table::Users, pk: b"a", ck: b"b", value: b"c" };
        let d = Entry::Row { table: Table::Users, pk: b"a", ck: b"bc", value: b"" };
        assert_ne!(digest(&[c]), digest(&[d]));
    }

    #[test]
    fn empty_digest_is_stable() {
        assert_eq!(digest(&[]), digest(&[]));
        assert_ne!(digest(&[]), digest(&[Entry::Offset { log_partition: 0, offset: 0 }]));
    }
}
