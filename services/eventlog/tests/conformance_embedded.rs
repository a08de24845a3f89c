//! The shared conformance suite, run against `EmbeddedLog`: once per check with the default
//! options, and as a whole with tiny segments and a dense index (so that every check also
//! crosses segment boundaries and seeks through sealed segments).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use idp_eventlog::conformance::{self, CheckFailure};
use idp_eventlog::{EmbeddedLog, EmbeddedOptions, EventLog};
use tempfile::TempDir;

type LogFuture = Pin<Box<dyn Future<Output = Arc<dyn EventLog>> + Send>>;

/// A factory of fresh logs, each in its own temporary directory (kept until the test ends).
fn factory(opts: EmbeddedOptions) -> impl Fn(u32) -> LogFuture {
    let dirs: Arc<Mutex<Vec<TempDir>>> = Arc::default();
    move |partitions| {
        let dirs = Arc::clone(&dirs);
        let opts = opts.clone();
        Box::pin(async move {
            let dir = tempfile::tempdir().expect("tempdir");
            let log = EmbeddedLog::open(dir.path(), partitions, opts).expect("open embedded log");
            dirs.lock().expect("dirs").push(dir);
            log as Arc<dyn EventLog>
        })
    }
}

macro_rules! conformance_tests {
    ($($check:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $check() -> Result<(), CheckFailure> {
            conformance::$check(factory(EmbeddedOptions::default())).await
        }
    )*};
}

conformance_tests!(
    offsets_are_dense_per_partition,
    end_offset_tracks_appends,
    concurrent_appenders_preserve_order,
    records_round_trip_byte_exact,
    subscribe_from_start,
    subscribe_from_middle,
    subscribe_at_end_is_woken_by_append,
    subscription_over_several_partitions,
    poll_timeout_returns_empty,
    poll_respects_max_without_skip_or_repeat,
    invalid_partition_is_rejected,
);

#[test]
fn partition_for_key_matches_kafka() -> Result<(), CheckFailure> {
    conformance::partition_for_key_matches_kafka()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_with_tiny_segments_and_dense_index() -> Result<(), conformance::ConformanceError> {
    conformance::run_all(factory(EmbeddedOptions { segment_bytes: 2048, index_interval_bytes: 256, max_batch: 16, ..EmbeddedOptions::default() })).await
}

#[tokio::test(flavor = "current_thread")]
async fn run_all_on_a_current_thread_runtime_without_fsync() -> Result<(), conformance::ConformanceError> {
    conformance::run_all(factory(EmbeddedOptions { fsync: false, ..EmbeddedOptions::default() })).await
}
