//! Crash tests with real processes and real files: `log-crash-writer` appends from 64 tasks and
//! prints every acknowledged offset; we SIGKILL it mid-stream, reopen the log and check that
//! every acknowledged record is there, intact. Also: the directory lock across processes.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{open, read_all, segment_bases};
use idp_eventlog::{EmbeddedLog, EmbeddedOptions, EventLog, LogError};

const BIN: &str = env!("CARGO_BIN_EXE_log-crash-writer");
const PARTITIONS: u32 = 4;

/// Must match `expected_value` in `src/bin/log-crash-writer.rs`.
fn expected_value(run: u64, task: u64, seq: u64) -> Vec<u8> {
    let unit = format!("run={run} task={task} seq={seq};");
    unit.repeat(1 + (seq % 7) as usize).into_bytes()
}

#[derive(Clone, Copy, Debug)]
struct Ack {
    run: u64,
    partition: u32,
    offset: u64,
    task: u64,
    seq: u64,
}

fn spawn(dir: &Path, partitions: u32, mode: &str, extra: &[&str]) -> Child {
    Command::new(BIN)
        .arg(dir)
        .arg(partitions.to_string())
        .arg(mode)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn log-crash-writer")
}

/// Forwards complete stdout lines (a line cut by the kill has no '\n' and is dropped).
fn line_reader(child: &mut Child) -> (mpsc::Receiver<String>, std::thread::JoinHandle<()>) {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) if line.ends_with(b"\n") => {
                    let _ = tx.send(String::from_utf8_lossy(&line[..line.len() - 1]).into_owned());
                }
                Ok(_) => break,
            }
        }
    });
    (rx, handle)
}

fn stderr_of(child: &mut Child) -> String {
    let mut err = String::new();
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut err);
    }
    err
}

/// Runs the writer until it acknowledged at least `kill_after` appends, SIGKILLs it and returns
/// every ack it printed.
fn write_then_kill(dir: &Path, run: u64, kill_after: usize) -> Vec<Ack> {
    let mut child = spawn(dir, PARTITIONS, "write", &[&run.to_string(), "64", "65536"]);
    let (lines, reader) = line_reader(&mut child);
    let mut got: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.len() < kill_after && Instant::now() < deadline {
        match lines.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => got.push(line),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    child.kill().expect("SIGKILL"); // std sends SIGKILL on Unix
    let status = child.wait().expect("wait");
    reader.join().expect("reader thread");
    got.extend(lines.try_iter());
    let stderr = stderr_of(&mut child);
    assert_eq!(status.signal(), Some(9), "writer was not killed by us: {status:?}; stderr:\n{stderr}");
    assert!(got.len() >= kill_after, "writer acknowledged only {} appends; stderr:\n{stderr}", got.len());
    got.iter()
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            assert!(f.len() == 5 && f[0] == "ack", "bad line {line:?}");
            let n = |i: usize| f[i].parse::<u64>().expect("number");
            Ack { run, partition: n(1) as u32, offset: n(2), task: n(3), seq: n(4) }
        })
        .collect()
}

async fn verify(dir: &Path, acks: &[Ack]) -> Vec<u64> {
    let log = EmbeddedLog::open(dir, PARTITIONS, EmbeddedOptions::default()).expect("reopen after kill -9");
    let mut stored = HashMap::new();
    let mut ends = Vec::new();
    for p in 0..PARTITIONS {
        let records = read_all(&*log, p).await.expect("read partition");
        ends.push(records.len() as u64);
        let mut seen = HashSet::new();
        for r in records {
            let key = String::from_utf8(r.record.key.clone()).expect("utf8 key");
            if key.starts_with("verify-") {
                continue; // appended by `verify` itself
            }
            let seq = u64::from_le_bytes(r.record.headers[0].1.clone().try_into().expect("seq header"));
            let value = String::from_utf8_lossy(&r.record.value).into_owned();
            assert!(seen.insert((key.clone(), value.clone())), "partition {p}: record {key}/{seq} stored twice");
            stored.insert((p, r.offset), r.record);
        }
    }
    for a in acks {
        let Some(rec) = stored.get(&(a.partition, a.offset)) else {
            panic!("acknowledged record lost: {a:?} (partition ends at {})", ends[a.partition as usize]);
        };
        assert_eq!(rec.key, format!("task-{}", a.task).into_bytes(), "{a:?}");
        assert_eq!(rec.headers, vec![("seq".to_owned(), a.seq.to_le_bytes().to_vec())], "{a:?}");
        assert!(rec.value == expected_value(a.run, a.task, a.seq), "{a:?} holds {:?}", String::from_utf8_lossy(&rec.value));
    }
    // Appends continue right after what survived.
    let marker = idp_eventlog::Record::new(format!("verify-{}", ends[0]), Vec::new());
    let o = log.append(0, marker).await.expect("append after recovery");
    assert_eq!(o, ends[0]);
    ends[0] += 1;
    ends
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_minus_9_never_loses_an_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut all: Vec<Ack> = Vec::new();
    let mut previous_ends = vec![0u64; PARTITIONS as usize];
    for (run, kill_after) in [(1u64, 400usize), (2, 3000), (3, 40), (4, 1500), (5, 6000)] {
        let acks = write_then_kill(dir.path(), run, kill_after);
        all.extend(&acks);
        let ends = verify(dir.path(), &all).await;
        for p in 0..PARTITIONS as usize {
            assert!(ends[p] >= previous_ends[p], "partition {p} shrank from {} to {}", previous_ends[p], ends[p]);
        }
        eprintln!("run {run}: {} acks before SIGKILL, partition ends {ends:?}", acks.len());
        previous_ends = ends;
    }
    let segments = segment_bases(dir.path(), 0).len();
    assert!(segments > 2, "the runs should have rolled segments (got {segments})");
}

#[tokio::test]
async fn a_log_held_by_another_process_cannot_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let mut holder = spawn(dir.path(), 2, "hold", &[]);
    let (lines, reader) = line_reader(&mut holder);
    let ready = lines.recv_timeout(Duration::from_secs(30));
    assert_eq!(ready.as_deref(), Ok("ready"), "holder stderr:\n{}", stderr_of(&mut holder));
    match EmbeddedLog::open(dir.path(), 2, EmbeddedOptions::default()) {
        Err(e @ LogError::Locked(_)) => assert!(e.to_string().contains("locked")),
        other => panic!("expected Locked, got {other:?}"),
    }
    holder.kill().unwrap();
    holder.wait().unwrap();
    reader.join().unwrap();
    // The kernel drops the flock with the process: no stale lock after a crash.
    let log = EmbeddedLog::open(dir.path(), 2, EmbeddedOptions::default()).expect("open after holder died");
    drop(log);
}

#[tokio::test]
async fn another_process_cannot_open_a_log_we_hold_nor_with_another_partition_count() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 4, EmbeddedOptions::default());
    let out = Command::new(BIN).arg(dir.path()).args(["4", "probe"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("locked"));
    drop(log);

    let out = Command::new(BIN).arg(dir.path()).args(["4", "probe"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(BIN).arg(dir.path()).args(["6", "probe"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("4 partitions but 6 were requested"));
}
