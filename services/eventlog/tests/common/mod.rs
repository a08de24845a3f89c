//! Helpers shared by the embedded-log integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use idp_eventlog::format;
use idp_eventlog::{EmbeddedLog, EmbeddedOptions, EventLog, LogError, Offset, Partition, Record, StoredRecord};

pub fn record(i: u64) -> Record {
    Record::new(format!("key-{i}"), format!("value-{i}-{}", "x".repeat((i % 13) as usize))).with_header("i", i.to_le_bytes().to_vec())
}

pub fn open(dir: &Path, partitions: u32, opts: EmbeddedOptions) -> Arc<EmbeddedLog> {
    EmbeddedLog::open(dir, partitions, opts).expect("open log")
}

pub async fn fill(log: &EmbeddedLog, partition: Partition, range: std::ops::Range<u64>) {
    for i in range {
        let o = log.append(partition, record(i)).await.expect("append");
        assert_eq!(o, i, "append of record {i} got offset {o}");
    }
}

/// Every record of `partition`, read through a subscription from offset 0.
pub async fn read_all(log: &dyn EventLog, partition: Partition) -> Result<Vec<StoredRecord>, LogError> {
    read_from(log, partition, 0).await
}

pub async fn read_from(log: &dyn EventLog, partition: Partition, from: Offset) -> Result<Vec<StoredRecord>, LogError> {
    let end = log.end_offset(partition).await?;
    let mut sub = log.subscribe(&[(partition, from)]).await?;
    let mut out = Vec::new();
    while (out.len() as u64) < end - from {
        let batch = sub.poll(10_000, Duration::from_secs(5)).await?;
        assert!(!batch.is_empty(), "replay stalled at {} of {}", out.len(), end - from);
        out.extend(batch);
    }
    Ok(out)
}

pub fn partition_dir(dir: &Path, partition: Partition) -> PathBuf {
    dir.join(format::partition_dir_name(partition))
}

pub fn segment(dir: &Path, partition: Partition, base: Offset) -> PathBuf {
    partition_dir(dir, partition).join(format::segment_file_name(base))
}

/// Base offsets of the segments of a partition, ascending.
pub fn segment_bases(dir: &Path, partition: Partition) -> Vec<Offset> {
    let mut bases: Vec<Offset> = std::fs::read_dir(partition_dir(dir, partition))
        .expect("read partition dir")
        .filter_map(|e| format::parse_segment_file_name(e.ok()?.file_name().to_str()?))
        .collect();
    bases.sort_unstable();
    bases
}

pub fn append_bytes(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).expect("open segment");
    f.write_all(bytes).expect("append bytes");
}

pub fn flip_byte(path: &Path, position: u64) {
    let mut bytes = std::fs::read(path).expect("read file");
    bytes[position as usize] ^= 0x40;
    std::fs::write(path, bytes).expect("write file");
}

pub fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).expect("metadata").len()
}
