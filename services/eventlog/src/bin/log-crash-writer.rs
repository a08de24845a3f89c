//! Test helper for the crash tests (`tests/crash.rs`); not part of the service.
//!
//! ```text
//! log-crash-writer <dir> <partitions> <mode> [run] [tasks] [segment_bytes]
//!   mode = write  append forever from `tasks` tasks; print "ack <partition> <offset> <task> <seq>"
//!                 (flushed) as soon as each append returns. Run it, then kill -9 it.
//!          hold   open the log, print "ready", sleep until killed.
//!          probe  open the log, print "opened", exit 0.
//! exit codes: 0 ok, 2 usage, 3 locked, 4 partition count mismatch, 1 other error.
//! ```
//!
//! The value of record (run, task, seq) is [`expected_value`]; the test recomputes it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use idp_eventlog::{EmbeddedLog, EmbeddedOptions, EventLog, LogError, Record};

/// The value the writer stores for (run, task, seq); variable length, deterministic.
fn expected_value(run: u64, task: u64, seq: u64) -> Vec<u8> {
    let unit = format!("run={run} task={task} seq={seq};");
    unit.repeat(1 + (seq % 7) as usize).into_bytes()
}

struct Args {
    dir: PathBuf,
    partitions: u32,
    mode: String,
    run: u64,
    tasks: u64,
    segment_bytes: u64,
}

fn parse_args() -> Option<Args> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: u64| -> Option<u64> {
        match args.get(i) {
            Some(s) => s.parse().ok(),
            None => Some(default),
        }
    };
    Some(Args {
        dir: PathBuf::from(args.first()?),
        partitions: args.get(1)?.parse().ok()?,
        mode: args.get(2)?.clone(),
        run: num(3, 0)?,
        tasks: num(4, 64)?,
        segment_bytes: num(5, EmbeddedOptions::default().segment_bytes)?,
    })
}

fn exit_code(e: &LogError) -> ExitCode {
    match e {
        LogError::Locked(_) => ExitCode::from(3),
        LogError::PartitionCountMismatch { .. } => ExitCode::from(4),
        _ => ExitCode::from(1),
    }
}

fn say(line: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

async fn write_forever(log: Arc<EmbeddedLog>, args: &Args) -> Result<(), String> {
    let mut tasks = Vec::new();
    for task in 0..args.tasks {
        let log = Arc::clone(&log);
        let (run, partitions) = (args.run, args.partitions);
        tasks.push(tokio::spawn(async move {
            for seq in 0u64.. {
                let partition = ((task + seq) % u64::from(partitions)) as u32;
                let record = Record::new(format!("task-{task}"), expected_value(run, task, seq)).with_header("seq", seq.to_le_bytes().to_vec());
                let offset = log.append(partition, record).await.map_err(|e| e.to_string())?;
                say(&format!("ack {partition} {offset} {task} {seq}")).map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

fn main() -> ExitCode {
    let Some(args) = parse_args() else {
        eprintln!("usage: log-crash-writer <dir> <partitions> <write|hold|probe> [run] [tasks] [segment_bytes]");
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let opts = EmbeddedOptions { segment_bytes: args.segment_bytes, ..EmbeddedOptions::default() };
    let log = match EmbeddedLog::open(&args.dir, args.partitions, opts) {
        Ok(log) => log,
        Err(e) => {
            eprintln!("open failed: {e}");
            return exit_code(&e);
        }
    };
    let result = match args.mode.as_str() {
        "probe" => say("opened").map_err(|e| e.to_string()),
        "hold" => say("ready").map_err(|e| e.to_string()).map(|()| loop {
            std::thread::sleep(Duration::from_secs(3600));
        }),
        "write" => runtime.block_on(write_forever(log, &args)),
        other => Err(format!("unknown mode {other}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("log-crash-writer: {e}");
            ExitCode::from(1)
        }
    }
}
