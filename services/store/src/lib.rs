//! idp-store: the projection store, where the read models built from the event log live.
//!
//! What lives where:
//! - `src/types.rs`: [`Table`] (one `tables!` list generates the enum, `Table::ALL` and
//!   `Table::name`), [`Write`], [`Row`], the export [`Entry`] / [`OwnedEntry`] and the limits
//!   [`MAX_KEY_LEN`] / [`MAX_VALUE_LEN`].
//! - `src/error.rs`: [`StoreError`].
//! - `src/store.rs`: the [`ProjectionStore`] trait. It is shaped for Scylla: rows addressed by
//!   (table, partition key, clustering key), point reads, scans within one partition only, and
//!   one atomic write, [`ProjectionStore::commit`] (a projector batch plus its log offset), with
//!   [`ProjectionStore::load`] as rebuild's bulk twin (several offsets, lazily durable).
//! - `src/fingerprint.rs`: [`Fingerprinter`], the one SHA-256 framing of an export that every
//!   implementation's `fingerprint` must match.
//! - `src/redb_store/`: [`RedbStore`], the embedded implementation on one redb file:
//!   `mod.rs` (open, reads, clear, export), `commit.rs` (group commit: concurrent batches share
//!   one durable transaction), `load.rs` (rebuild's bulk load: sorted, last write per key,
//!   durable only when asked), `keys.rs` (key encoding and the canonical-order export merge).
//! - `src/memory.rs`: [`MemoryStore`], a `BTreeMap` implementation (reference model for the
//!   suite, and a fast store for other crates' tests).
//! - `src/conformance/` (feature `conformance`): the one test suite every implementation must
//!   pass, one `pub async fn` per property plus `run_all`: `rows.rs` (get/put/delete),
//!   `scan.rs`, `commit.rs` (atomicity, offsets, concurrency, clear, load), `race.rs`
//!   (readers racing a writer), `digest.rs` (export order, fingerprints).
//! - `tests/`: the suite against `RedbStore` (file and in-memory) and `MemoryStore`, plus the
//!   redb-only checks (reopen, crash, file lock); `benches/store.rs`: commit and get throughput.
//!
//! Why redb, what it costs, and how this maps to Scylla: docs/adr/0002-embedded-projection-store.md.

mod error;
mod fingerprint;
mod memory;
mod redb_store;
mod store;
mod types;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use error::StoreError;
pub use fingerprint::Fingerprinter;
pub use memory::MemoryStore;
pub use redb_store::{CommitStats, RedbStore, OFFSETS_TABLE};
pub use store::ProjectionStore;
pub use types::{Entry, OwnedEntry, Row, Table, Visitor, Write, MAX_KEY_LEN, MAX_VALUE_LEN};
