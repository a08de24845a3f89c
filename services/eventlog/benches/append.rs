//! Embedded log throughput: group-commit appends (fsync on) with 1 and 64 concurrent appenders,
//! and sequential replay of one partition from offset 0.
//!
//! `cargo bench -p idp-eventlog --bench append`. Set `EVENTLOG_BENCH_DIR` to measure on a
//! specific disk (default: the system temp dir — make sure it is not a tmpfs, or fsync is free).

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use idp_eventlog::{EmbeddedLog, EmbeddedOptions, EventLog, Record};

const VALUE_BYTES: usize = 100;
const REPLAY_RECORDS: u64 = 1_000_000;

fn record(i: u64) -> Record {
    let mut value = format!("event-{i}-").into_bytes();
    value.resize(VALUE_BYTES, b'x');
    Record::new(format!("user-{}", i % 10_000), value).with_header("type", b"UserCreated".to_vec())
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    }
}

fn temp_dir() -> tempfile::TempDir {
    let base = std::env::var_os("EVENTLOG_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into);
    match tempfile::tempdir_in(base) {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    }
}

fn open(dir: &std::path::Path, opts: EmbeddedOptions) -> Arc<EmbeddedLog> {
    match EmbeddedLog::open(dir, 1, opts) {
        Ok(log) => log,
        Err(e) => panic!("open: {e}"),
    }
}

async fn append_concurrently(log: &Arc<EmbeddedLog>, appenders: u64, total: u64) -> Duration {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for a in 0..appenders {
        let log = Arc::clone(log);
        let n = total / appenders + u64::from(a < total % appenders);
        tasks.push(tokio::spawn(async move {
            for i in 0..n {
                if let Err(e) = log.append(0, record(a * 1_000_000 + i)).await {
                    panic!("append: {e}");
                }
            }
        }));
    }
    for t in tasks {
        if let Err(e) = t.await {
            panic!("appender: {e}");
        }
    }
    start.elapsed()
}

fn bench_append(c: &mut Criterion) {
    let rt = runtime();
    let dir = temp_dir();
    let log = open(dir.path(), EmbeddedOptions::default());
    let mut group = c.benchmark_group("append_fsync");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    for appenders in [1u64, 64] {
        group.bench_function(format!("{appenders}_appenders"), |b| {
            b.iter_custom(|iters| rt.block_on(append_concurrently(&log, appenders, iters)));
        });
    }
    group.finish();
}

fn bench_replay(c: &mut Criterion) {
    let rt = runtime();
    let dir = temp_dir();
    let opts = EmbeddedOptions { fsync: false, ..EmbeddedOptions::default() };
    let log = open(dir.path(), opts);
    rt.block_on(append_concurrently(&log, 64, REPLAY_RECORDS));

    let mut group = c.benchmark_group("replay");
    group.throughput(Throughput::Elements(REPLAY_RECORDS));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    group.bench_function("sequential_read_1m_records", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let mut sub = match log.subscribe(&[(0, 0)]).await {
                        Ok(s) => s,
                        Err(e) => panic!("subscribe: {e}"),
                    };
                    let mut read = 0u64;
                    while read < REPLAY_RECORDS {
                        match sub.poll(4096, Duration::from_secs(5)).await {
                            Ok(batch) if !batch.is_empty() => read += batch.len() as u64,
                            Ok(_) => panic!("replay stalled at {read}"),
                            Err(e) => panic!("poll: {e}"),
                        }
                    }
                }
                start.elapsed()
            })
        });
    });
    group.finish();
}

criterion_group!(benches, bench_append, bench_replay);
criterion_main!(benches);
