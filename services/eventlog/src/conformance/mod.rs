//! The conformance suite: the one behavioural test suite every [`EventLog`] implementation runs.
//!
//! Each check is a `pub async fn` taking a factory that returns a *fresh, empty* log with the
//! requested number of partitions, and returns `Ok(())` or a [`CheckFailure`] explaining what
//! broke. An implementation crate enables the `conformance` feature from its dev-dependencies
//! and writes either one test calling [`run_all`] or one test per check:
//!
//! ```ignore
//! async fn make(partitions: u32) -> Arc<dyn EventLog> { /* a fresh log */ }
//!
//! #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
//! async fn offsets_are_dense_per_partition() -> Result<(), CheckFailure> {
//!     conformance::offsets_are_dense_per_partition(make).await
//! }
//! ```
//!
//! Checks never panic; each is bounded by [`CHECK_TIMEOUT`] so a hanging implementation fails
//! instead of blocking CI. They need a tokio runtime with the time driver.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::{EventLog, LogError, Offset, Partition, Record, StoredRecord, Subscription};

/// Upper bound for one check.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a subscriber parked at the end may take to see a new record. Generous for networked
/// logs; a log that only notices new data when `poll`'s timeout (30 s here) expires fails.
pub const WAKE_LATENCY_LIMIT: Duration = Duration::from_secs(2);
/// Number of concurrent appenders in [`concurrent_appenders_preserve_order`].
pub const CONCURRENT_APPENDERS: usize = 64;

/// Why a check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    pub message: String,
}

impl CheckFailure {
    pub fn new(message: impl Into<String>) -> Self {
        CheckFailure { message: message.into() }
    }
}

impl fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CheckFailure {}

impl From<LogError> for CheckFailure {
    fn from(e: LogError) -> Self {
        CheckFailure::new(format!("unexpected log error: {e}"))
    }
}

/// Result of one check.
pub type CheckResult = Result<(), CheckFailure>;

/// Every failed check of a [`run_all`] run.
#[derive(Debug)]
pub struct ConformanceError {
    pub failures: Vec<(&'static str, CheckFailure)>,
}

impl fmt::Display for ConformanceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} conformance check(s) failed:", self.failures.len())?;
        for (name, failure) in &self.failures {
            writeln!(f, "  {name}: {failure}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConformanceError {}

macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(CheckFailure::new(format!($($arg)+)));
        }
    };
}

mod checks;
pub use checks::*;

/// Runs every check (each against fresh logs from `make`) and reports all failures together.
pub async fn run_all<F, Fut>(make: F) -> Result<(), ConformanceError>
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = Arc<dyn EventLog>>,
{
    let mut failures = Vec::new();
    let mut note = |name: &'static str, result: CheckResult| {
        if let Err(f) = result {
            failures.push((name, f));
        }
    };
    note("partition_for_key_matches_kafka", partition_for_key_matches_kafka());
    note("offsets_are_dense_per_partition", offsets_are_dense_per_partition(&make).await);
    note("end_offset_tracks_appends", end_offset_tracks_appends(&make).await);
    note("concurrent_appenders_preserve_order", concurrent_appenders_preserve_order(&make).await);
    note("records_round_trip_byte_exact", records_round_trip_byte_exact(&make).await);
    note("subscribe_from_start", subscribe_from_start(&make).await);
    note("subscribe_from_middle", subscribe_from_middle(&make).await);
    note("subscribe_at_end_is_woken_by_append", subscribe_at_end_is_woken_by_append(&make).await);
    note("subscription_over_several_partitions", subscription_over_several_partitions(&make).await);
    note("poll_timeout_returns_empty", poll_timeout_returns_empty(&make).await);
    note("poll_respects_max_without_skip_or_repeat", poll_respects_max_without_skip_or_repeat(&make).await);
    note("invalid_partition_is_rejected", invalid_partition_is_rejected(&make).await);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(ConformanceError { failures })
    }
}

pub(crate) async fn bounded(check: impl Future<Output = CheckResult>) -> CheckResult {
    match tokio::time::timeout(CHECK_TIMEOUT, check).await {
        Ok(result) => result,
        Err(_) => Err(CheckFailure::new(format!("check did not finish within {CHECK_TIMEOUT:?}"))),
    }
}

pub(crate) async fn append(log: &dyn EventLog, partition: Partition, record: Record) -> Result<Offset, CheckFailure> {
    log.append(partition, record).await.map_err(|e| CheckFailure::new(format!("append to partition {partition} failed: {e}")))
}

pub(crate) async fn subscribe(log: &dyn EventLog, start: &[(Partition, Offset)]) -> Result<Box<dyn Subscription>, CheckFailure> {
    log.subscribe(start).await.map_err(|e| CheckFailure::new(format!("subscribe({start:?}) failed: {e}")))
}

pub(crate) fn numbered(i: u64) -> Record {
    Record::new(format!("key-{i}"), format!("value-{i}")).with_header("n", i.to_le_bytes().to_vec())
}

/// Polls until exactly `n` records arrived (failing after `within`), checking none is extra.
pub(crate) async fn collect(sub: &mut dyn Subscription, n: usize, within: Duration) -> Result<Vec<StoredRecord>, CheckFailure> {
    let deadline = Instant::now() + within;
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        let now = Instant::now();
        ensure!(now < deadline, "received {} of {n} expected records within {within:?}", got.len());
        let wait = (deadline - now).min(Duration::from_secs(1));
        let batch = sub.poll(n - got.len(), wait).await.map_err(|e| CheckFailure::new(format!("poll failed: {e}")))?;
        ensure!(batch.len() <= n - got.len(), "poll(max = {}) returned {} records", n - got.len(), batch.len());
        got.extend(batch);
    }
    Ok(got)
}

/// Fails if the subscription delivers anything within `wait`.
pub(crate) async fn expect_quiet(sub: &mut dyn Subscription, wait: Duration) -> CheckResult {
    let extra = sub.poll(100, wait).await?;
    ensure!(extra.is_empty(), "unexpected extra records: {:?}", extra.iter().map(|r| (r.partition, r.offset)).collect::<Vec<_>>());
    Ok(())
}

/// Checks that `records` are exactly `partition`'s offsets `from..to` with `numbered` contents.
pub(crate) fn expect_numbered(records: &[StoredRecord], partition: Partition, from: u64, to: u64) -> CheckResult {
    let got: Vec<(Partition, Offset)> = records.iter().map(|r| (r.partition, r.offset)).collect();
    let want: Vec<(Partition, Offset)> = (from..to).map(|o| (partition, o)).collect();
    ensure!(got == want, "expected partition {partition} offsets {from}..{to} in order, got {got:?}");
    for r in records {
        ensure!(r.record == numbered(r.offset), "record at offset {} has wrong contents: {:?}", r.offset, r.record);
    }
    Ok(())
}
