//! idp-store: the projection store, where the read models built from the event log live.
//!
//! What lives where:
//! - `src/types.rs`: [`Table`] (one `tables!` list generates the enum, `Table::ALL` and
//!   `Table::name`), [`Write`], [`RowSink`] (where a projector's rows go: `Vec<Write>` or
//!   [`LoadRows`]), [`Row`], the export [`Entry`] / [`OwnedEntry`] and the limits
//!   [`MAX_KEY_LEN`] / [`MAX_VALUE_LEN`].
//! - `src/error.rs`: [`StoreError`].
//! - `src/store.rs`: the [`ProjectionStore`] trait. It is shaped for Scylla: rows addressed by
//!   (table, partition key, clustering key), point reads, scans within one partition only, and
//!   one atomic write, [`ProjectionStore::commit`] (a projector batch plus its log offset), with
//!   [`ProjectionStore::load`] as rebuild's bulk twin (several offsets, lazily durable).
//! - `src/fingerprint.rs`: [`Fingerprinter`], the one SHA-256 framing of an export that every
//!   implementation's `fingerprint` must match.
//! - `src/fjall_store/`: [`FjallStore`], the default embedded implementation on one fjall
//!   (LSM-tree) directory: `mod.rs` (open, reads, commit with group sync, clear, export),
//!   `load.rs` (rebuild's bulk load: sorted runs ingested as table files, guarded by a rebuild
//!   marker), `keys.rs` (order-preserving key encoding: pk escaped, then ck).
//! - `src/load_rows.rs`: [`LoadRows`], a bulk load's rows with keys already encoded the way
//!   the loading store lays them out ([`KeyEncoding`]), and the loads' per-table merge and sort.
//! - `src/embedded.rs`: what both embedded stores share: the async export of a blocking
//!   snapshot, its fingerprint, partition-scan bounds.
//! - `src/redb_store/`: [`RedbStore`], the alternative embedded implementation on one redb file:
//!   `mod.rs` (open, reads, clear, export), `commit.rs` (group commit: concurrent batches share
//!   one durable transaction), `load.rs` (rebuild's bulk load: sorted, last write per key,
//!   durable only when asked), `keys.rs` (key encoding and the canonical-order export merge).
//! - `src/memory.rs`: [`MemoryStore`], a `BTreeMap` implementation (reference model for the
//!   suite, and a fast store for other crates' tests).
//! - `src/conformance/` (feature `conformance`): the one test suite every implementation must
//!   pass, one `pub async fn` per property plus `run_all`: `rows.rs` (get/put/delete),
//!   `scan.rs`, `commit.rs` (atomicity, offsets, concurrency, clear, load), `race.rs`
//!   (readers racing a writer), `digest.rs` (export order, fingerprints).
//! - `tests/`: the suite against `FjallStore`, `RedbStore` (file and in-memory) and
//!   `MemoryStore`, plus each embedded store's own checks (reopen, crash, lock, interrupted
//!   loads); `benches/store.rs`: commit and get throughput of both.
//!
//! Why fjall: docs/adr/0008-fjall-projection-store.md; the trait, redb, and how this maps to
//! Scylla: docs/adr/0002-embedded-projection-store.md.

mod embedded;
mod error;
mod fingerprint;
mod fjall_store;
mod load_rows;
mod memory;
mod redb_store;
mod store;
mod types;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use bytes::Bytes;
pub use embedded::CommitStats;
pub use error::StoreError;
pub use fingerprint::Fingerprinter;
pub use fjall_store::{FjallStore, FJALL_OFFSETS_KEYSPACE};
pub use load_rows::{KeyEncoding, LoadRows};
pub use memory::MemoryStore;
pub use redb_store::{RedbStore, OFFSETS_TABLE};
pub use store::ProjectionStore;
pub use types::{Entry, OwnedEntry, Row, RowSink, Table, Visitor, Write, MAX_KEY_LEN, MAX_VALUE_LEN};
