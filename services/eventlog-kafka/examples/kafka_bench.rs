//! Append latency and consume throughput of the Kafka log against a running broker.
//!
//! ```text
//! eval "$(bash .ci/kafka.sh)"
//! cargo run --release -p idp-eventlog-kafka --example kafka_bench -- \
//!     [appends_per_latency_run=3200] [consume_records=50000] [linger_ms=1]
//! ```
//!
//! With `ONE_RECORD_PER_BATCH=1` in the environment the producer sends one record per batch
//! (`KafkaConfig::one_record_per_batch`, what a multi-process deployment on tansu needs).
//!
//! Prints append latency p50/p99/max with 1 and 32 concurrent appenders (each waits for its
//! acks=all acknowledgement before the next append), then fills a topic with `consume_records`
//! records (64 appenders) and prints the records/s of one subscription reading them all back
//! over the 4 partitions. Each run uses a fresh 4-partition topic. Also prints the latency of
//! `end_offset` (one ListOffsets round trip) with 1 and 32 concurrent callers: what a front's
//! catch-up before a state-dependent read costs once its replica is already caught up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use idp_eventlog::{partition_for_key, EventLog, Record};
use idp_eventlog_kafka::{KafkaConfig, KafkaLog};

const PARTITIONS: u32 = 4;
const VALUE_BYTES: usize = 256;

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn record(appender: usize, i: usize) -> (u32, Record) {
    let key = format!("user-{appender}-{}", i % 64);
    let partition = partition_for_key(key.as_bytes(), PARTITIONS);
    let rec = Record::new(key, vec![b'x'; VALUE_BYTES])
        .with_header("type", b"UserUpdated".to_vec())
        .with_header("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_vec());
    (partition, rec)
}

async fn appenders(log: &Arc<KafkaLog>, concurrency: usize, total: usize) -> BenchResult<()> {
    let per = total / concurrency;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for a in 0..concurrency {
        let log = Arc::clone(log);
        tasks.push(tokio::spawn(async move {
            let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            for i in 0..per {
                let (p, rec) = record(a, i);
                let t = Instant::now();
                log.append(p, rec).await?;
                h.record(t.elapsed().as_micros().max(1) as u64)?;
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(h)
        }));
    }
    let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for t in tasks {
        all.add(t.await??)?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "append  {concurrency:>2} appender(s): {:>6} appends, p50 {:>7.2} ms, p99 {:>7.2} ms, max {:>7.2} ms, {:>8.0} appends/s",
        all.len(),
        all.value_at_quantile(0.50) as f64 / 1000.0,
        all.value_at_quantile(0.99) as f64 / 1000.0,
        all.max() as f64 / 1000.0,
        all.len() as f64 / secs,
    );
    Ok(())
}

async fn end_offsets(log: &Arc<KafkaLog>, concurrency: usize, total: usize) -> BenchResult<()> {
    let per = total / concurrency;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for a in 0..concurrency {
        let log = Arc::clone(log);
        tasks.push(tokio::spawn(async move {
            let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            for i in 0..per {
                let t = Instant::now();
                log.end_offset(((a + i) as u32) % PARTITIONS).await?;
                h.record(t.elapsed().as_micros().max(1) as u64)?;
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(h)
        }));
    }
    let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for t in tasks {
        all.add(t.await??)?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "end_offset {concurrency:>2} caller(s): {:>6} calls, p50 {:>7.2} ms, p99 {:>7.2} ms, max {:>7.2} ms, {:>8.0} calls/s",
        all.len(),
        all.value_at_quantile(0.50) as f64 / 1000.0,
        all.value_at_quantile(0.99) as f64 / 1000.0,
        all.max() as f64 / 1000.0,
        all.len() as f64 / secs,
    );
    Ok(())
}

async fn consume(log: &Arc<KafkaLog>) -> BenchResult<()> {
    let mut start = Vec::new();
    let mut total = 0u64;
    for p in 0..PARTITIONS {
        start.push((p, 0));
        total += log.end_offset(p).await?;
    }
    let started = Instant::now();
    let mut sub = log.subscribe(&start).await?;
    let mut read = 0u64;
    while read < total {
        let batch = sub.poll(10_000, Duration::from_secs(10)).await?;
        if batch.is_empty() {
            return Err(format!("consume stalled at {read} of {total}").into());
        }
        read += batch.len() as u64;
    }
    let secs = started.elapsed().as_secs_f64();
    println!("consume 1 subscription: {read} records ({} B values) in {secs:.2} s = {:.0} records/s", VALUE_BYTES, read as f64 / secs);
    Ok(())
}

async fn fresh_log(brokers: &str, name: &str, linger_ms: u64) -> BenchResult<Arc<KafkaLog>> {
    let one_per_batch = std::env::var_os("ONE_RECORD_PER_BATCH").is_some();
    let topic = format!("bench-{}-{name}-{}", std::process::id(), uuid_ish());
    let mut cfg = KafkaConfig::new(brokers, topic, PARTITIONS);
    cfg.client_id = "kafka-bench".into();
    cfg.linger = Duration::from_millis(linger_ms);
    cfg.one_record_per_batch = one_per_batch;
    let log = KafkaLog::connect(cfg).await?;
    // Warm-up: connections, producer id, metadata.
    for p in 0..PARTITIONS {
        log.append(p, Record::new("warm", "up")).await?;
    }
    Ok(log)
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    let brokers = std::env::var("IDP_TEST_KAFKA").map_err(|_| "IDP_TEST_KAFKA not set: eval \"$(bash .ci/kafka.sh)\" first")?;
    let mut args = std::env::args().skip(1);
    let total: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(3200);
    let consume_records: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(50_000);
    let linger_ms: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1);
    println!("broker {brokers}, {PARTITIONS} partitions, linger.ms={linger_ms}, {VALUE_BYTES} B values + 2 headers");

    for concurrency in [1usize, 32] {
        let log = fresh_log(&brokers, &format!("latency{concurrency}"), linger_ms).await?;
        appenders(&log, concurrency, total).await?;
        end_offsets(&log, concurrency, total).await?;
    }
    let log = fresh_log(&brokers, "consume", linger_ms).await?;
    appenders(&log, 64, consume_records).await?;
    consume(&log).await?;
    Ok(())
}

fn uuid_ish() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
}
