//! Recovery of the embedded log from damaged files: torn tails are cut, acknowledged records are
//! never lost silently, corruption is an error, indexes are rebuildable, and the directory
//! guards (metadata, lock) refuse what they must.

mod common;

use std::time::Duration;

use common::*;
use idp_eventlog::format::{self, decode_index, IndexEntry};
use idp_eventlog::{EmbeddedLog, EmbeddedOptions, EventLog, LogError, Record};

fn opts() -> EmbeddedOptions {
    EmbeddedOptions::default()
}

/// Small segments and a dense index, so a few hundred records span many sealed segments.
fn small_segments() -> EmbeddedOptions {
    EmbeddedOptions { segment_bytes: 1024, index_interval_bytes: 128, max_batch: 8, ..EmbeddedOptions::default() }
}

fn frame_start(i: u64) -> u64 {
    (0..i).map(|j| format::frame_len(&record(j)) as u64).sum()
}

async fn assert_intact(log: &EmbeddedLog, n: u64) {
    assert_eq!(log.end_offset(0).await.unwrap(), n);
    let all = read_all(log, 0).await.expect("read back");
    assert_eq!(all.len() as u64, n);
    for (i, r) in all.iter().enumerate() {
        assert_eq!((r.partition, r.offset), (0, i as u64));
        assert_eq!(r.record, record(i as u64), "record {i} differs");
    }
}

/// Writes 10 acknowledged records, damages the tail with `damage`, reopens and checks that the
/// 10 records are intact, the tail is gone and appends continue at offset 10.
async fn torn_tail_case(damage: impl FnOnce(&std::path::Path)) {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 1, opts());
    fill(&log, 0, 0..10).await;
    drop(log);
    let seg = segment(dir.path(), 0, 0);
    let clean_len = file_len(&seg);
    assert_eq!(clean_len, frame_start(10));
    damage(&seg);
    assert!(file_len(&seg) > clean_len, "the damage must add a tail");

    let log = open(dir.path(), 1, opts());
    assert_eq!(file_len(&seg), clean_len, "torn tail not truncated");
    assert_intact(&log, 10).await;
    assert_eq!(log.append(0, record(10)).await.unwrap(), 10);
    drop(log);
    let log = open(dir.path(), 1, opts());
    assert_intact(&log, 11).await;
}

#[tokio::test]
async fn garbage_tail_is_truncated() {
    torn_tail_case(|seg| append_bytes(seg, &[0xAB; 37])).await;
}

#[tokio::test]
async fn zero_filled_tail_is_truncated() {
    // What a power loss can leave: the file size grew but the blocks were never written.
    torn_tail_case(|seg| append_bytes(seg, &[0; 4096])).await;
}

#[tokio::test]
async fn half_frame_tail_is_truncated() {
    torn_tail_case(|seg| {
        let mut frame = Vec::new();
        format::encode_frame(10, &record(10), &mut frame).unwrap();
        append_bytes(seg, &frame[..frame.len() / 2]);
    })
    .await;
}

#[tokio::test]
async fn tail_frame_with_flipped_byte_is_truncated() {
    torn_tail_case(|seg| {
        let mut frame = Vec::new();
        format::encode_frame(10, &record(10), &mut frame).unwrap();
        let last = frame.len() - 1;
        frame[last] ^= 0x01;
        append_bytes(seg, &frame);
    })
    .await;
}

#[tokio::test]
async fn header_only_tail_is_truncated() {
    torn_tail_case(|seg| {
        let mut frame = Vec::new();
        format::encode_frame(10, &record(10), &mut frame).unwrap();
        append_bytes(seg, &frame[..5]);
    })
    .await;
}

#[tokio::test]
async fn complete_but_unacknowledged_frame_is_kept() {
    // A batch that reached the disk but whose fsync never returned: its records are valid and
    // are kept (never acknowledged, so keeping them breaks no promise).
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 1, opts());
    fill(&log, 0, 0..10).await;
    drop(log);
    let mut frame = Vec::new();
    format::encode_frame(10, &record(10), &mut frame).unwrap();
    append_bytes(&segment(dir.path(), 0, 0), &frame);
    let log = open(dir.path(), 1, opts());
    assert_intact(&log, 11).await;
}

#[tokio::test]
async fn damaged_acknowledged_record_fails_open() {
    for victim in [9u64, 4, 0] {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), 1, opts());
        fill(&log, 0, 0..10).await;
        drop(log);
        let seg = segment(dir.path(), 0, 0);
        flip_byte(&seg, frame_start(victim) + 12);
        let len = file_len(&seg);
        match EmbeddedLog::open(dir.path(), 1, opts()) {
            Err(LogError::Corrupt { reason, .. }) => {
                assert!(reason.contains("acknowledged"), "reason: {reason}")
            }
            other => panic!("damaged record {victim}: expected Corrupt, got {other:?}"),
        }
        assert_eq!(file_len(&seg), len, "a failed open must not truncate anything");
    }
}

#[tokio::test]
async fn missing_acknowledged_records_fail_open() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 1, opts());
    fill(&log, 0, 0..10).await;
    drop(log);
    // Cut exactly at a frame boundary: the file looks clean but ends too early.
    let seg = std::fs::OpenOptions::new().write(true).open(segment(dir.path(), 0, 0)).unwrap();
    seg.set_len(frame_start(8)).unwrap();
    drop(seg);
    match EmbeddedLog::open(dir.path(), 1, opts()) {
        Err(LogError::Corrupt { reason, .. }) => {
            assert!(reason.contains("missing"), "reason: {reason}")
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[tokio::test]
async fn without_a_checkpoint_a_bad_tail_is_cut_at_the_first_bad_frame() {
    // Degraded mode (checkpoint deleted or torn): recovery cannot tell acknowledged records from
    // a torn tail, so it keeps the longest valid prefix.
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 1, opts());
    fill(&log, 0, 0..10).await;
    drop(log);
    std::fs::remove_file(partition_dir(dir.path(), 0).join(format::CHECKPOINT_FILE_NAME)).unwrap();
    flip_byte(&segment(dir.path(), 0, 0), frame_start(9) + 12);
    let log = open(dir.path(), 1, opts());
    assert_intact(&log, 9).await;
}

#[tokio::test]
async fn segments_roll_are_named_by_base_offset_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 1, small_segments());
    fill(&log, 0, 0..300).await;
    drop(log);
    let bases = segment_bases(dir.path(), 0);
    assert!(bases.len() >= 5, "expected several segments, got {bases:?}");
    assert_eq!(bases[0], 0);
    // Each segment's first frame holds its base offset.
    for &base in &bases[..bases.len() - 1] {
        let bytes = std::fs::read(segment(dir.path(), 0, base)).unwrap();
        let mut r = format::FrameReader::new(&bytes[..], 0);
        assert!(r.next(bytes.len() as u64, base).unwrap().is_some(), "segment {base} does not start at {base}");
    }
    let log = open(dir.path(), 1, small_segments());
    assert_intact(&log, 300).await;
    fill(&log, 0, 300..400).await;
    for from in [0u64, 1, 57, 150, 299, 300, 333, 399] {
        let got = read_from(&*log, 0, from).await.unwrap();
        assert_eq!(got.len() as u64, 400 - from);
        assert!(got.iter().zip(from..).all(|(r, o)| r.offset == o && r.record == record(o)), "from {from}");
    }
}

#[tokio::test]
async fn sealed_index_is_sparse_and_rebuilt_when_missing_or_torn() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 1, small_segments());
    fill(&log, 0, 0..300).await;
    drop(log);
    let bases = segment_bases(dir.path(), 0);
    let idx = |base| partition_dir(dir.path(), 0).join(format::index_file_name(base));
    let first = std::fs::read(idx(bases[0])).unwrap();
    let entries = decode_index(&first, 0, file_len(&segment(dir.path(), 0, 0))).expect("valid index");
    assert!(entries.len() > 2, "index should have several entries: {entries:?}");
    assert!(entries.windows(2).all(|w| w[1].position - w[0].position >= 128));

    std::fs::remove_file(idx(bases[0])).unwrap();
    std::fs::write(idx(bases[1]), [1u8; 7]).unwrap(); // torn: not a multiple of 16 bytes
    let log = open(dir.path(), 1, small_segments());
    assert_eq!(std::fs::read(idx(bases[0])).unwrap(), first, "rebuilt index differs from the original");
    assert!(file_len(&idx(bases[1])).is_multiple_of(16) && file_len(&idx(bases[1])) > 0);
    let from = bases[1] + 3;
    let got = read_from(&*log, 0, from).await.unwrap();
    assert_eq!(got.first().map(|r| r.offset), Some(from));
    assert_eq!(got.len() as u64, 300 - from);
}

#[tokio::test]
async fn stale_index_entries_fall_back_to_a_scan() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 1, small_segments());
    fill(&log, 0, 0..300).await;
    drop(log);
    let bases = segment_bases(dir.path(), 0);
    // Plausible (ordered, in range) but wrong: positions in the middle of frames.
    let lying: Vec<u8> =
        [IndexEntry { offset: bases[1], position: 0 }, IndexEntry { offset: bases[1] + 2, position: 7 }, IndexEntry { offset: bases[1] + 4, position: 301 }]
            .iter()
            .flat_map(|e| format::encode_index_entry(*e))
            .collect();
    std::fs::write(partition_dir(dir.path(), 0).join(format::index_file_name(bases[1])), lying).unwrap();
    let log = open(dir.path(), 1, small_segments());
    for from in [bases[1] + 2, bases[1] + 5] {
        let got = read_from(&*log, 0, from).await.unwrap();
        assert!(got.iter().zip(from..).all(|(r, o)| r.offset == o && r.record == record(o)));
        assert_eq!(got.len() as u64, 300 - from);
    }
}

#[tokio::test]
async fn corruption_inside_a_sealed_segment_is_an_error_not_a_skip() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 1, small_segments());
    fill(&log, 0, 0..300).await;
    drop(log);
    let bases = segment_bases(dir.path(), 0);
    let victim = bases[1] + 2; // third record of the second segment
    let seg = segment(dir.path(), 0, bases[1]);
    let pos: u64 = (bases[1]..victim).map(|j| format::frame_len(&record(j)) as u64).sum();
    flip_byte(&seg, pos + 14);

    // The sealed segment is not rescanned on open (its index is fine) ...
    let log = open(dir.path(), 1, small_segments());
    // ... but reading through it fails at the damaged record, after delivering those before it.
    let mut sub = log.subscribe(&[(0, 0)]).await.unwrap();
    let mut got = Vec::new();
    let err = loop {
        match sub.poll(3, Duration::from_secs(2)).await {
            Ok(batch) => {
                assert!(!batch.is_empty(), "stalled instead of failing");
                got.extend(batch);
            }
            Err(e) => break e,
        }
    };
    assert!(matches!(err, LogError::Corrupt { .. }), "got {err:?}");
    assert!(got.len() as u64 <= victim && got.iter().zip(0..).all(|(r, o)| r.offset == o));
    // The error is sticky: the record is not skipped on the next poll.
    assert!(matches!(sub.poll(3, Duration::from_millis(100)).await, Err(LogError::Corrupt { .. })));
    // The damage is local: later segments are still readable.
    assert_eq!(read_from(&*log, 0, bases[2]).await.unwrap().len() as u64, 300 - bases[2]);
    drop(log);

    // Without its index the sealed segment is rescanned on open, which finds the damage.
    std::fs::remove_file(partition_dir(dir.path(), 0).join(format::index_file_name(bases[1]))).unwrap();
    assert!(matches!(EmbeddedLog::open(dir.path(), 1, small_segments()), Err(LogError::Corrupt { .. })));
}

#[tokio::test]
async fn wrong_partition_count_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 4, opts());
    fill(&log, 3, 0..3).await;
    drop(log);
    match EmbeddedLog::open(dir.path(), 8, opts()) {
        Err(e @ LogError::PartitionCountMismatch { on_disk: 4, requested: 8, .. }) => {
            assert!(e.to_string().contains("4 partitions but 8"), "message: {e}")
        }
        other => panic!("expected PartitionCountMismatch, got {other:?}"),
    }
    assert!(matches!(EmbeddedLog::open(dir.path(), 1, opts()), Err(LogError::PartitionCountMismatch { .. })));
    let log = open(dir.path(), 4, opts());
    assert_eq!(log.end_offset(3).await.unwrap(), 3);
}

#[tokio::test]
async fn partition_dirs_without_metadata_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path(), 2, opts()));
    std::fs::remove_file(dir.path().join(format::META_FILE_NAME)).unwrap();
    assert!(matches!(EmbeddedLog::open(dir.path(), 2, opts()), Err(LogError::InvalidConfig(_))));
}

#[tokio::test]
async fn second_open_fails_until_the_first_is_closed_or_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 1, opts());
    fill(&log, 0, 0..3).await;
    assert!(matches!(EmbeddedLog::open(dir.path(), 1, opts()), Err(LogError::Locked(_))));
    log.close().await.unwrap();
    let again = open(dir.path(), 1, opts());
    assert_eq!(again.end_offset(0).await.unwrap(), 3);
    assert!(matches!(EmbeddedLog::open(dir.path(), 1, opts()), Err(LogError::Locked(_))));
    drop(again);
    drop(open(dir.path(), 1, opts()));
    drop(log);
}

#[tokio::test]
async fn close_stops_appends_and_ends_subscriptions() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 1, opts());
    fill(&log, 0, 0..5).await;
    let mut sub = log.subscribe(&[(0, 0)]).await.unwrap();
    log.close().await.unwrap();
    log.close().await.unwrap(); // idempotent
    assert!(matches!(log.append(0, record(5)).await, Err(LogError::Closed)));
    let got = sub.poll(100, Duration::from_secs(1)).await.unwrap();
    assert_eq!(got.len(), 5, "what was written stays readable");
    assert!(matches!(sub.poll(100, Duration::from_secs(1)).await, Err(LogError::Closed)));
}

#[tokio::test]
async fn caller_mistakes_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let small = EmbeddedOptions { max_record_bytes: 1000, ..opts() };
    let log = open(dir.path(), 2, small);
    let big = Record::new(Vec::new(), vec![0u8; 1000]);
    assert!(matches!(log.append(0, big).await, Err(LogError::RecordTooLarge { max: 1000, .. })));
    fill(&log, 0, 0..2).await;
    assert!(matches!(log.subscribe(&[(0, 3)]).await.map(|_| ()), Err(LogError::OffsetOutOfRange { partition: 0, offset: 3, end: 2 })));
    assert!(matches!(log.subscribe(&[(0, 0), (0, 1)]).await.map(|_| ()), Err(LogError::InvalidArgument(_))));
    assert!(matches!(EmbeddedLog::open(dir.path(), 0, opts()), Err(LogError::InvalidConfig(_))));
    let bad = EmbeddedOptions { max_batch: 0, ..opts() };
    assert!(matches!(EmbeddedLog::open(tempfile::tempdir().unwrap().path(), 1, bad), Err(LogError::InvalidConfig(_))));
}

#[tokio::test]
async fn a_cancelled_poll_neither_skips_nor_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 1, small_segments());
    fill(&log, 0, 0..300).await;
    let mut sub = log.subscribe(&[(0, 0)]).await.unwrap();
    let mut got = Vec::new();
    let mut cancelled = 0;
    let mut i = 0u32;
    while got.len() < 300 {
        i += 1;
        if i.is_multiple_of(3) {
            got.extend(sub.poll(7, Duration::from_secs(1)).await.unwrap());
            continue;
        }
        // Polled once and dropped: the read it started on the blocking pool is abandoned.
        match futures::FutureExt::now_or_never(sub.poll(7, Duration::from_secs(1))) {
            Some(batch) => got.extend(batch.unwrap()),
            None => cancelled += 1,
        }
    }
    assert!(cancelled > 0, "no poll was cancelled; the test exercised nothing");
    assert_eq!(got.len(), 300);
    assert!(got.iter().zip(0..).all(|(r, o)| r.offset == o && r.record == record(o)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_are_group_committed() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 1, opts());
    let tasks: Vec<_> = (0..64u64)
        .map(|t| {
            let log = std::sync::Arc::clone(&log);
            tokio::spawn(async move {
                for i in 0..20 {
                    log.append(0, record(t * 100 + i)).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let stats = log.stats();
    assert_eq!(stats.appended, 64 * 20);
    // One fsync per append would give 1280 batches; while one fsync runs the others queue up.
    assert!(stats.batches * 4 <= stats.appended, "no group commit: {stats:?}");
    eprintln!("group commit: {stats:?}");
}

#[tokio::test]
async fn a_missing_first_segment_fails_open() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 1, small_segments());
    fill(&log, 0, 0..100).await;
    drop(log);
    std::fs::remove_file(segment(dir.path(), 0, 0)).unwrap();
    match EmbeddedLog::open(dir.path(), 1, small_segments()) {
        Err(LogError::Corrupt { reason, .. }) => {
            assert!(reason.contains("records below are missing"), "{reason}")
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}
