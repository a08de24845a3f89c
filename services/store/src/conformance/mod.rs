//! The conformance suite: the one set of checks every [`ProjectionStore`] implementation must
//! pass (enable the `conformance` feature, e.g. from dev-dependencies).
//!
//! Each check is a `pub async fn` taking a factory that returns a fresh, empty store, and
//! panics (like `assert!`) when the store breaks the contract; this module is test support, so
//! it is the one place in the crate that panics on purpose. Run the checks under a multi-thread
//! Tokio runtime (`#[tokio::test(flavor = "multi_thread")]`): the race checks need real
//! parallelism to mean anything. [`run_all`] runs every check in turn.
//!
//! Checks that only make sense for one backend (durability across a reopen of a file, crash
//! recovery) live in that backend's own tests, not here.

mod commit;
mod digest;
mod race;
mod rows;
mod scan;

use std::future::Future;
use std::sync::Arc;

use crate::{Entry, OwnedEntry, ProjectionStore, StoreError, Table, Write};

pub use commit::{
    clear_empties_rows_and_offsets, concurrent_commits_serialize, invalid_write_rejects_whole_batch, large_load_matches_commits,
    layout_is_recorded_apart_from_the_rows, load_applies_in_order_and_sets_its_offsets, offsets_are_per_log_partition,
};
pub use digest::{export_is_canonical, fingerprint_detects_any_difference, fingerprint_ignores_write_order_and_batching, fingerprint_uses_the_shared_framing};
pub use race::{offset_never_visible_without_its_writes, writes_never_visible_without_their_offset};
pub use rows::{delete_removes_only_that_row, every_table_is_separate, get_missing_is_none, later_write_in_batch_wins, put_get_round_trip};
pub use scan::{scan_is_bytewise_ascending, scan_pages_with_after_and_limit, scan_stays_in_its_partition};

/// Runs every check, each against its own fresh store from `new_store`.
pub async fn run_all<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ProjectionStore>>,
{
    let f = &new_store;
    get_missing_is_none(f).await;
    put_get_round_trip(f).await;
    later_write_in_batch_wins(f).await;
    delete_removes_only_that_row(f).await;
    every_table_is_separate(f).await;
    scan_is_bytewise_ascending(f).await;
    scan_pages_with_after_and_limit(f).await;
    scan_stays_in_its_partition(f).await;
    invalid_write_rejects_whole_batch(f).await;
    offset_never_visible_without_its_writes(f).await;
    writes_never_visible_without_their_offset(f).await;
    concurrent_commits_serialize(f).await;
    offsets_are_per_log_partition(f).await;
    load_applies_in_order_and_sets_its_offsets(f).await;
    large_load_matches_commits(f).await;
    clear_empties_rows_and_offsets(f).await;
    layout_is_recorded_apart_from_the_rows(f).await;
    export_is_canonical(f).await;
    fingerprint_ignores_write_order_and_batching(f).await;
    fingerprint_detects_any_difference(f).await;
    fingerprint_uses_the_shared_framing(f).await;
}

/// Declares one `#[tokio::test]` per conformance check, each against fresh stores from
/// `$stores(dir)`, a factory of stores living in a temp dir (`tempfile` must be a
/// dev-dependency of the test crate). With only `$stores`, every check of the suite.
#[macro_export]
macro_rules! conformance_tests {
    ($stores:path) => {
        $crate::conformance_tests!($stores;
            get_missing_is_none,
            put_get_round_trip,
            later_write_in_batch_wins,
            delete_removes_only_that_row,
            every_table_is_separate,
            scan_is_bytewise_ascending,
            scan_pages_with_after_and_limit,
            scan_stays_in_its_partition,
            invalid_write_rejects_whole_batch,
            offset_never_visible_without_its_writes,
            writes_never_visible_without_their_offset,
            concurrent_commits_serialize,
            offsets_are_per_log_partition,
            load_applies_in_order_and_sets_its_offsets,
            large_load_matches_commits,
            clear_empties_rows_and_offsets,
            layout_is_recorded_apart_from_the_rows,
            export_is_canonical,
            fingerprint_ignores_write_order_and_batching,
            fingerprint_detects_any_difference,
            fingerprint_uses_the_shared_framing,
        );
    };
    ($stores:path; $($check:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $check() {
            let dir = tempfile::tempdir().expect("tempdir");
            $crate::conformance::$check($stores(dir.path())).await;
        }
    )*};
}

pub(crate) fn put(table: Table, pk: &[u8], ck: &[u8], value: &[u8]) -> Write {
    Write::Put { table, pk: pk.to_vec(), ck: ck.to_vec(), value: value.to_vec().into() }
}

/// `writes` as rows for `store`'s [`ProjectionStore::load`].
pub(crate) fn rows(store: &Arc<dyn ProjectionStore>, writes: Vec<Write>) -> crate::LoadRows {
    let mut rows = store.load_rows();
    rows.extend(writes);
    rows
}

pub(crate) fn del(table: Table, pk: &[u8], ck: &[u8]) -> Write {
    Write::Delete { table, pk: pk.to_vec(), ck: ck.to_vec() }
}

/// Unwraps a store result, failing the check with `what` and the error.
#[track_caller]
pub(crate) fn ok<T>(result: Result<T, StoreError>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("conformance: {what} failed: {e}"),
    }
}

/// Every entry of the store's export, owned.
pub(crate) async fn dump(store: &dyn ProjectionStore) -> Vec<OwnedEntry> {
    let mut out = Vec::new();
    let result = store
        .export(&mut |e: Entry<'_>| {
            out.push(e.to_owned_entry());
            Ok(())
        })
        .await;
    ok(result, "export");
    out
}
