//! The projector: the single arbiter of each log partition, and the read models it builds.
//!
//! - [`rows`]: where each aggregate and index lives in the projection store, and how states
//!   are encoded (prost, deterministic) — the one mapping both the projector and readers use;
//!   [`group_rows`]: the rows of groups and of group memberships.
//! - [`search`]: the ListUsers search index (one partition per pool and searchable attribute,
//!   value-ordered), derived from a user's state and diffed on every change.
//! - [`arbiter`]: the pure-given-its-inputs step that takes records in log order, accepts or
//!   rejects each envelope against its precondition (expected version, duplicate request id),
//!   evolves states and emits the store writes, including outbox rows for messages and
//!   trigger-queue rows for post-* triggers (PostConfirmation, PostAuthentication).
//! - [`runner`]: one task per partition: poll the log, arbitrate a batch, commit rows **and**
//!   the next offset atomically, then publish verdicts and the applied watermark.
//! - [`verdicts`]: how a front waits for the verdict on its own record (read-your-writes) and
//!   for a partition to be applied up to an offset (catch-up).
//! - [`rebuild`]: drop every projection and replay the log from offset 0, every partition at
//!   once, writing rows in large sorted loads, one fsync each ([`idp_store::ProjectionStore::load`]).
//! - `tests/rebuild_matches_live.rs`: the rebuild and the live projector leave the same bytes.

pub mod arbiter;
pub mod group_rows;
pub mod rebuild;
pub mod rows;
pub mod runner;
pub mod search;
pub mod verdicts;

pub use arbiter::{Arbiter, Verdict};
pub use runner::{Projector, ProjectorError};
pub use verdicts::Verdicts;
