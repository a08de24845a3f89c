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

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::{
    partition_for_key, partitioner::murmur2, EventLog, LogError, Offset, Partition, Record,
    StoredRecord, Subscription,
};

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
        CheckFailure {
            message: message.into(),
        }
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
    note(
        "partition_for_key_matches_kafka",
        partition_for_key_matches_kafka(),
    );
    note(
        "offsets_are_dense_per_partition",
        offsets_are_dense_per_partition(&make).await,
    );
    note(
        "end_offset_tracks_appends",
        end_offset_tracks_appends(&make).await,
    );
    note(
        "concurrent_appenders_preserve_order",
        concurrent_appenders_preserve_order(&make).await,
    );
    note(
        "records_round_trip_byte_exact",
        records_round_trip_byte_exact(&make).await,
    );
    note("subscribe_from_start", subscribe_from_start(&make).await);
    note("subscribe_from_middle", subscribe_from_middle(&make).await);
    note(
        "subscribe_at_end_is_woken_by_append",
        subscribe_at_end_is_woken_by_append(&make).await,
    );
    note(
        "subscription_over_several_partitions",
        subscription_over_several_partitions(&make).await,
    );
    note(
        "poll_timeout_returns_empty",
        poll_timeout_returns_empty(&make).await,
    );
    note(
        "poll_respects_max_without_skip_or_repeat",
        poll_respects_max_without_skip_or_repeat(&make).await,
    );
    note(
        "invalid_partition_is_rejected",
        invalid_partition_is_rejected(&make).await,
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err(ConformanceError { failures })
    }
}

async fn bounded(check: impl Future<Output = CheckResult>) -> CheckResult {
    match tokio::time::timeout(CHECK_TIMEOUT, check).await {
        Ok(result) => result,
        Err(_) => Err(CheckFailure::new(format!(
            "check did not finish within {CHECK_TIMEOUT:?}"
        ))),
    }
}

async fn append(
    log: &dyn EventLog,
    partition: Partition,
    record: Record,
) -> Result<Offset, CheckFailure> {
    log.append(partition, record)
        .await
        .map_err(|e| CheckFailure::new(format!("append to partition {partition} failed: {e}")))
}

async fn subscribe(
    log: &dyn EventLog,
    start: &[(Partition, Offset)],
) -> Result<Box<dyn Subscription>, CheckFailure> {
    log.subscribe(start)
        .await
        .map_err(|e| CheckFailure::new(format!("subscribe({start:?}) failed: {e}")))
}

fn numbered(i: u64) -> Record {
    Record::new(format!("key-{i}"), format!("value-{i}")).with_header("n", i.to_le_bytes().to_vec())
}

/// Polls until exactly `n` records arrived (failing after `within`), checking none is extra.
async fn collect(
    sub: &mut dyn Subscription,
    n: usize,
    within: Duration,
) -> Result<Vec<StoredRecord>, CheckFailure> {
    let deadline = Instant::now() + within;
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        let now = Instant::now();
        ensure!(
            now < deadline,
            "received {} of {n} expected records within {within:?}",
            got.len()
        );
        let wait = (deadline - now).min(Duration::from_secs(1));
        let batch = sub
            .poll(n - got.len(), wait)
            .await
            .map_err(|e| CheckFailure::new(format!("poll failed: {e}")))?;
        ensure!(
            batch.len() <= n - got.len(),
            "poll(max = {}) returned {} records",
            n - got.len(),
            batch.len()
        );
        got.extend(batch);
    }
    Ok(got)
}

/// Fails if the subscription delivers anything within `wait`.
async fn expect_quiet(sub: &mut dyn Subscription, wait: Duration) -> CheckResult {
    let extra = sub.poll(100, wait).await?;
    ensure!(
        extra.is_empty(),
        "unexpected extra records: {:?}",
        extra
            .iter()
            .map(|r| (r.partition, r.offset))
            .collect::<Vec<_>>()
    );
    Ok(())
}

/// Checks that `records` are exactly `partition`'s offsets `from..to` with `numbered` contents.
fn expect_numbered(
    records: &[StoredRecord],
    partition: Partition,
    from: u64,
    to: u64,
) -> CheckResult {
    let got: Vec<(Partition, Offset)> = records.iter().map(|r| (r.partition, r.offset)).collect();
    let want: Vec<(Partition, Offset)> = (from..to).map(|o| (partition, o)).collect();
    ensure!(
        got == want,
        "expected partition {partition} offsets {from}..{to} in order, got {got:?}"
    );
    for r in records {
        ensure!(
            r.record == numbered(r.offset),
            "record at offset {} has wrong contents: {:?}",
            r.offset,
            r.record
        );
    }
    Ok(())
}

/// Kafka's murmur2 and partition formula for known keys (no log involved).
pub fn partition_for_key_matches_kafka() -> CheckResult {
    // (key, murmur2 as Java int): Kafka's UtilsTest.testMurmur2 and librdkafka's
    // `java_murmur2_results` (rdmurmur2.c), both generated by the Java client.
    let hashes: &[(&[u8], i32)] = &[
        (b"21", -973_932_308),
        (b"foobar", -790_332_482),
        (b"a-little-bit-long-string", -985_981_536),
        (b"a-little-bit-longer-string", -1_486_304_829),
        (
            b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            -58_897_971,
        ),
        (b"abc", 479_470_107),
        (b"kafka", 0xd067_cf64_u32 as i32),
        (b"giberish123456789", 0x8f55_2b0c_u32 as i32),
        (b"1234", 0x9fc9_7b14_u32 as i32),
        (b"234", 0xe7c0_09ca_u32 as i32),
        (b"34", 0x8739_30da_u32 as i32),
        (b"4", 0x5a4b_5ca1_u32 as i32),
        (
            b"PreAmbleWillBeRemoved,ThePrePartThatIs",
            0x7842_4f1c_u32 as i32,
        ),
        (b"", 0x106e_08d9_u32 as i32),
    ];
    for (key, want) in hashes {
        let got = murmur2(key);
        ensure!(
            got == *want,
            "murmur2({:?}) = {got}, Kafka gives {want}",
            String::from_utf8_lossy(key)
        );
    }
    // (key, partitions, partition) = ((murmur2 & 0x7fffffff) % partitions).
    let partitions: &[(&[u8], u32, Partition)] = &[
        (b"21", 16, 12),
        (b"foobar", 8, 6),
        (b"kafka", 16, 4),
        (b"kafka", 3, 1),
        (b"", 16, 9),
        (b"abc", 16, 11),
        (b"4", 3, 1),
        (b"a-little-bit-long-string", 3, 2),
        (b"anything", 1, 0),
    ];
    for (key, n, want) in partitions {
        let got = partition_for_key(key, *n);
        ensure!(
            got == *want,
            "partition_for_key({:?}, {n}) = {got}, Kafka gives {want}",
            String::from_utf8_lossy(key)
        );
    }
    for i in 0..1000u32 {
        let key = format!("user-{i}");
        let p = partition_for_key(key.as_bytes(), 7);
        ensure!(
            p < 7 && p == partition_for_key(key.as_bytes(), 7),
            "partition_for_key is not stable for {key}"
        );
    }
    Ok(())
}

/// Offsets start at 0 and are dense, independently per partition.
pub async fn offsets_are_dense_per_partition<F, Fut>(make: F) -> CheckResult
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = Arc<dyn EventLog>>,
{
    bounded(async {
        let log = make(3).await;
        ensure!(
            log.partition_count() == 3,
            "partition_count() = {}, asked for 3",
            log.partition_count()
        );
        for i in 0..10u64 {
            let o = append(&*log, 0, numbered(i)).await?;
            ensure!(o == i, "partition 0: append #{i} got offset {o}");
            if i < 5 {
                let o = append(&*log, 2, numbered(i)).await?;
                ensure!(o == i, "partition 2: append #{i} got offset {o}");
            }
        }
        let ends = (
            log.end_offset(0).await?,
            log.end_offset(1).await?,
            log.end_offset(2).await?,
        );
        ensure!(
            ends == (10, 0, 5),
            "end offsets (p0, p1, p2) = {ends:?}, expected (10, 0, 5)"
        );
        Ok(())
    })
    .await
}

/// `end_offset` is 0 on an empty partition and moves with each acknowledged append.
pub async fn end_offset_tracks_appends<F, Fut>(make: F) -> CheckResult
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = Arc<dyn EventLog>>,
{
    bounded(async {
        let log = make(2).await;
        ensure!(
            log.end_offset(0).await? == 0 && log.end_offset(1).await? == 0,
            "a fresh log must have end offset 0"
        );
        for i in 0..5u64 {
            append(&*log, 1, numbered(i)).await?;
            let end = log.end_offset(1).await?;
            ensure!(
                end == i + 1,
                "after {} appends end_offset(1) = {end}",
                i + 1
            );
        }
        let end0 = log.end_offset(0).await?;
        ensure!(
            end0 == 0,
            "appends to partition 1 moved end_offset(0) to {end0}"
        );
        Ok(())
    })
    .await
}

/// 64 concurrent appenders over 2 partitions: offsets are dense, every ack's offset holds that
/// very record, and each appender's records appear in the order it appended them.
pub async fn concurrent_appenders_preserve_order<F, Fut>(make: F) -> CheckResult
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = Arc<dyn EventLog>>,
{
    bounded(async {
        const PER_APPENDER: usize = 40;
        let log = make(2).await;
        let mut tasks = Vec::new();
        for t in 0..CONCURRENT_APPENDERS {
            let log = Arc::clone(&log);
            tasks.push(tokio::spawn(async move {
                let mut acks = Vec::with_capacity(PER_APPENDER);
                for j in 0..PER_APPENDER {
                    let p = ((t + j) % 2) as Partition;
                    let record = Record::new(format!("appender-{t}"), format!("{t}:{j}"));
                    acks.push((p, log.append(p, record).await?, t, j));
                }
                Ok::<_, LogError>(acks)
            }));
        }
        let mut acked: HashMap<(Partition, Offset), (usize, usize)> = HashMap::new();
        for task in tasks {
            let acks = task
                .await
                .map_err(|e| CheckFailure::new(format!("appender task failed: {e}")))??;
            for (p, o, t, j) in acks {
                ensure!(acked.insert((p, o), (t, j)).is_none(), "offset {o} of partition {p} was acknowledged twice");
            }
        }
        let total = CONCURRENT_APPENDERS * PER_APPENDER;
        let mut sub = subscribe(&*log, &[(0, 0), (1, 0)]).await?;
        for p in 0..2u32 {
            let n = acked.keys().filter(|(q, _)| *q == p).count() as u64;
            let end = log.end_offset(p).await?;
            ensure!(end == n, "partition {p}: {n} acknowledged appends but end_offset = {end}");
            for o in 0..n {
                ensure!(acked.contains_key(&(p, o)), "partition {p}: offset {o} was never acknowledged (offsets not dense)");
            }
        }
        let records = collect(&mut *sub, total, Duration::from_secs(60)).await?;
        let mut last: BTreeMap<(Partition, usize), (Offset, usize)> = BTreeMap::new();
        let mut next: [Offset; 2] = [0, 0];
        for r in &records {
            let p = r.partition as usize;
            ensure!(p < 2 && r.offset == next[p], "partition {p}: got offset {}, expected {}", r.offset, next.get(p).copied().unwrap_or(0));
            next[p] += 1;
            let Some(&(t, j)) = acked.get(&(r.partition, r.offset)) else {
                return Err(CheckFailure::new(format!("record at {}/{} was never acknowledged", r.partition, r.offset)));
            };
            let want = Record::new(format!("appender-{t}"), format!("{t}:{j}"));
            ensure!(r.record == want, "offset {}/{} holds {:?}, but its ack was for appender {t} record {j}", r.partition, r.offset, String::from_utf8_lossy(&r.record.value));
            if let Some(&(prev_offset, prev_j)) = last.get(&(r.partition, t)) {
                ensure!(prev_j < j, "appender {t}: record {j} at offset {} comes after record {prev_j} at {prev_offset}", r.offset);
            }
            last.insert((r.partition, t), (r.offset, j));
        }
        expect_quiet(&mut *sub, Duration::from_millis(200)).await
    })
    .await
}

fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Keys, headers and values come back byte-exact, including empty and 1 MiB values.
pub async fn records_round_trip_byte_exact<F, Fut>(make: F) -> CheckResult
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = Arc<dyn EventLog>>,
{
    bounded(async {
        let all_bytes: Vec<u8> = (0..=255u8).collect();
        let cases = vec![
            Record::default(),
            Record::new(Vec::new(), b"only a value".to_vec()),
            Record::new(
                all_bytes.clone(),
                all_bytes.iter().rev().copied().collect::<Vec<u8>>(),
            ),
            Record::new(b"k".to_vec(), Vec::new())
                .with_header("dup", b"first".to_vec())
                .with_header("dup", b"second".to_vec())
                .with_header("", Vec::new())
                .with_header("ünïcødé ✓", all_bytes.clone())
                .with_header("empty-value", Vec::new()),
            Record::new(pseudo_random(1024, 1), pseudo_random(1024 * 1024, 2))
                .with_header("size", b"1MiB".to_vec()),
            (0..100).fold(
                Record::new(b"many-headers".to_vec(), b"v".to_vec()),
                |r, i| r.with_header(format!("h{i}"), pseudo_random(i, i as u64 + 3)),
            ),
            Record::new(vec![0u8; 3], vec![0u8; 5]),
        ];
        let log = make(1).await;
        for (i, record) in cases.iter().enumerate() {
            let o = append(&*log, 0, record.clone()).await?;
            ensure!(o == i as u64, "append #{i} got offset {o}");
        }
        let mut sub = subscribe(&*log, &[(0, 0)]).await?;
        let got = collect(&mut *sub, cases.len(), Duration::from_secs(30)).await?;
        for (i, (stored, want)) in got.iter().zip(&cases).enumerate() {
            ensure!(
                stored.offset == i as u64 && stored.partition == 0,
                "record #{i} came back as {}/{}",
                stored.partition,
                stored.offset
            );
            ensure!(
                stored.record.key == want.key,
                "record #{i}: key differs ({} vs {} bytes)",
                stored.record.key.len(),
                want.key.len()
            );
            ensure!(
                stored.record.headers == want.headers,
                "record #{i}: headers differ: {:?} vs {:?}",
                stored.record.headers,
                want.headers
            );
            ensure!(
                stored.record.value == want.value,
                "record #{i}: value differs ({} vs {} bytes)",
                stored.record.value.len(),
                want.value.len()
            );
        }
        Ok(())
    })
    .await
}

/// Two independent subscriptions from offset 0 each get every record, in order, once.
pub async fn subscribe_from_start<F, Fut>(make: F) -> CheckResult
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = Arc<dyn EventLog>>,
{
    bounded(async {
        let log = make(1).await;
        for i in 0..20 {
            append(&*log, 0, numbered(i)).await?;
        }
        let mut a = subscribe(&*log, &[(0, 0)]).await?;
        let mut b = subscribe(&*log, &[(0, 0)]).await?;
        for i in 20..30 {
            append(&*log, 0, numbered(i)).await?;
        }
        for sub in [&mut a, &mut b] {
            let got = collect(&mut **sub, 30, Duration::from_secs(30)).await?;
            expect_numbered(&got, 0, 0, 30)?;
            expect_quiet(&mut **sub, Duration::from_millis(200)).await?;
        }
        Ok(())
    })
    .await
}

/// A subscription from an offset in the middle starts exactly there.
pub async fn subscribe_from_middle<F, Fut>(make: F) -> CheckResult
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = Arc<dyn EventLog>>,
{
    bounded(async {
        let log = make(1).await;
        for i in 0..50 {
            append(&*log, 0, numbered(i)).await?;
        }
        for start in [1u64, 20, 49] {
            let mut sub = subscribe(&*log, &[(0, start)]).await?;
            let got = collect(&mut *sub, (50 - start) as usize, Duration::from_secs(30)).await?;
            expect_numbered(&got, 0, start, 50)?;
            expect_quiet(&mut *sub, Duration::from_millis(200)).await?;
        }
        Ok(())
    })
    .await
}

/// A subscriber parked at the end with a long timeout is woken by a new append (it neither
/// returns early empty-handed nor waits for its timeout).
pub async fn subscribe_at_end_is_woken_by_append<F, Fut>(make: F) -> CheckResult
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = Arc<dyn EventLog>>,
{
    bounded(async {
        let log = make(1).await;
        for i in 0..5 {
            append(&*log, 0, numbered(i)).await?;
        }
        let end = log.end_offset(0).await?;
        let mut sub = subscribe(&*log, &[(0, end)]).await?;
        let waiter = tokio::spawn(async move {
            let result = sub.poll(10, Duration::from_secs(30)).await;
            (result, Instant::now())
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        ensure!(
            !waiter.is_finished(),
            "poll at the end returned before any append and before its 30 s timeout"
        );
        let appended_at = Instant::now();
        append(&*log, 0, numbered(5)).await?;
        let (result, woke_at) = waiter
            .await
            .map_err(|e| CheckFailure::new(format!("poll task failed: {e}")))?;
        let got = result?;
        let latency = woke_at.saturating_duration_since(appended_at);
        ensure!(
            !got.is_empty(),
            "poll returned empty after {latency:?} although a record was appended"
        );
        ensure!(
            latency <= WAKE_LATENCY_LIMIT,
            "subscriber saw the new record only after {latency:?} (limit {WAKE_LATENCY_LIMIT:?})"
        );
        expect_numbered(&got, 0, 5, 6)
    })
    .await
}

/// One subscription over several partitions (each from its own offset) gets exactly those
/// partitions' records, in order per partition, and keeps receiving new ones.
pub async fn subscription_over_several_partitions<F, Fut>(make: F) -> CheckResult
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = Arc<dyn EventLog>>,
{
    bounded(async {
        let log = make(4).await;
        for p in 0..4 {
            for i in 0..5 {
                append(&*log, p, numbered(i)).await?;
            }
        }
        let mut sub = subscribe(&*log, &[(0, 0), (2, 2), (3, 5)]).await?;
        let first = collect(&mut *sub, 8, Duration::from_secs(30)).await?;
        for i in 5..8 {
            append(&*log, 3, numbered(i)).await?;
            append(&*log, 1, numbered(i)).await?;
        }
        let second = collect(&mut *sub, 3, Duration::from_secs(30)).await?;
        expect_quiet(&mut *sub, Duration::from_millis(300)).await?;

        let mut by_partition: BTreeMap<Partition, Vec<StoredRecord>> = BTreeMap::new();
        for r in first.into_iter().chain(second) {
            by_partition.entry(r.partition).or_default().push(r);
        }
        ensure!(
            !by_partition.contains_key(&1),
            "received records of partition 1, which is not subscribed"
        );
        expect_numbered(by_partition.get(&0).map_or(&[][..], Vec::as_slice), 0, 0, 5)?;
        expect_numbered(by_partition.get(&2).map_or(&[][..], Vec::as_slice), 2, 2, 5)?;
        expect_numbered(by_partition.get(&3).map_or(&[][..], Vec::as_slice), 3, 5, 8)
    })
    .await
}

/// `poll` with nothing to read waits (about) its timeout and returns an empty Vec.
pub async fn poll_timeout_returns_empty<F, Fut>(make: F) -> CheckResult
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = Arc<dyn EventLog>>,
{
    bounded(async {
        let log = make(1).await;
        let mut sub = subscribe(&*log, &[(0, 0)]).await?;
        let timeout = Duration::from_millis(300);
        let started = Instant::now();
        let got = sub.poll(10, timeout).await?;
        let took = started.elapsed();
        ensure!(
            got.is_empty(),
            "poll on an empty partition returned {} records",
            got.len()
        );
        ensure!(
            took >= timeout.mul_f32(0.8),
            "poll returned empty after {took:?}, before its {timeout:?} timeout"
        );
        ensure!(
            took < timeout + Duration::from_secs(5),
            "poll with a {timeout:?} timeout took {took:?}"
        );

        append(&*log, 0, numbered(0)).await?;
        let got = collect(&mut *sub, 1, Duration::from_secs(10)).await?;
        expect_numbered(&got, 0, 0, 1)?;
        let got = sub.poll(10, Duration::from_millis(200)).await?;
        ensure!(
            got.is_empty(),
            "poll after reading everything returned {} records",
            got.len()
        );
        Ok(())
    })
    .await
}

/// Small `max` values page through the partition without skipping or repeating a record.
pub async fn poll_respects_max_without_skip_or_repeat<F, Fut>(make: F) -> CheckResult
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = Arc<dyn EventLog>>,
{
    bounded(async {
        let log = make(1).await;
        for i in 0..100 {
            append(&*log, 0, numbered(i)).await?;
        }
        let mut sub = subscribe(&*log, &[(0, 0)]).await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut got = Vec::new();
        while got.len() < 100 {
            ensure!(
                Instant::now() < deadline,
                "only {} of 100 records read within 30 s",
                got.len()
            );
            let batch = sub.poll(7, Duration::from_secs(1)).await?;
            ensure!(
                batch.len() <= 7,
                "poll(max = 7) returned {} records",
                batch.len()
            );
            got.extend(batch);
        }
        expect_numbered(&got, 0, 0, 100)?;
        expect_quiet(&mut *sub, Duration::from_millis(200)).await
    })
    .await
}

/// Partitions outside `0..partition_count()` are rejected everywhere.
pub async fn invalid_partition_is_rejected<F, Fut>(make: F) -> CheckResult
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = Arc<dyn EventLog>>,
{
    bounded(async {
        let log = make(3).await;
        for bad in [3u32, 4, u32::MAX] {
            let r = log.append(bad, numbered(0)).await;
            ensure!(
                matches!(r, Err(LogError::InvalidPartition(p)) if p == bad),
                "append({bad}) returned {r:?}"
            );
            let r = log.end_offset(bad).await;
            ensure!(
                matches!(r, Err(LogError::InvalidPartition(p)) if p == bad),
                "end_offset({bad}) returned {r:?}"
            );
            let r = log.subscribe(&[(0, 0), (bad, 0)]).await.map(|_| ());
            ensure!(
                matches!(r, Err(LogError::InvalidPartition(p)) if p == bad),
                "subscribe with partition {bad} returned {r:?}"
            );
        }
        let end = log.end_offset(0).await?;
        ensure!(end == 0, "rejected appends moved end_offset(0) to {end}");
        Ok(())
    })
    .await
}
