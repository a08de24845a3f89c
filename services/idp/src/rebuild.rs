//! `idp rebuild`: drop every projection and replay the log, showing progress and events/s.
//! Prints the projection fingerprint before (once the store is caught up to the log's end) and
//! after, so an operator (and the tests) can see that a replay reproduces the projections byte
//! for byte. Works on the embedded log and on a Kafka replica (`--log kafka …`). The last line
//! before the "after" fingerprint gives the replay's wall rate and its rate per CPU-second
//! (process CPU time, all threads), the figure issue #2's replay target is stated in.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use idp_projector::rebuild::RebuildOptions;

use crate::config::{self, RebuildArgs};
use crate::serve::{open_backend, BoxError};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// CPU time of the whole process so far (every thread), in seconds. Through libc, not
/// rustix: rustix reads the vDSO itself, which crashes under valgrind, and callgrind counts
/// this command's instructions for docs/benchmarks.md.
fn cpu_seconds() -> f64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is a valid timespec for the call to fill.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    if rc != 0 {
        return 0.0;
    }
    t.tv_sec as f64 + t.tv_nsec as f64 / 1e9
}

/// The process's (user, system) CPU seconds so far: the system share of a replay is mostly
/// the kernel populating fresh memory (heap growth, the page cache of the new table files).
fn cpu_split() -> (f64, f64) {
    // SAFETY: all-zero is a valid `rusage`, which getrusage fills.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid rusage for the call to fill.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return (0.0, 0.0);
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(usage.ru_utime), secs(usage.ru_stime))
}

pub async fn run(args: RebuildArgs) -> Result<(), BoxError> {
    let options = RebuildOptions { memory_budget: args.memory_mib.saturating_mul(1 << 20), ..RebuildOptions::default() };
    let args = args.common;
    let file = config::load_file(&args.config)?;
    let (data_dir, partitions, store) = config::resolve_common(&args, &file);
    let backend = config::resolve_log(&args, &file, None)?;
    let (log, store) = open_backend(&backend, &data_dir, store, partitions, true).await?;
    // The store may have stopped behind the log (lazily durable commits after a kill -9, or a
    // Kafka replica behind the topic): bring it to the current end first, so "before" is this
    // store's state at the end of the log (comparable with a replay and across replicas).
    catch_up(log.clone(), store.clone()).await?;
    let before = store.fingerprint().await?;
    println!("fingerprint before: {}", hex(&before));
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} replay [{bar:40}] {pos}/{len} records {per_sec} eta {eta}").unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let cpu_started = cpu_seconds();
    let split_started = cpu_split();
    let done = idp_projector::rebuild::rebuild_with(log, store.clone(), options, |p| {
        bar.set_length(p.records_total);
        bar.set_position(p.records_done);
    })
    .await?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_started;
    let split = cpu_split();
    let (user, system) = (split.0 - split_started.0, split.1 - split_started.1);
    let per = |n: u64, s: f64| if s > 0.0 { n as f64 / s } else { 0.0 };
    println!(
        "replayed {} records ({} accepted) holding {} events in {secs:.3}s: {:.0} records/s, {:.0} events/s; \
         CPU {cpu:.3}s: {:.0} records/s per core, {:.0} events/s per core (user {user:.3}s, system {system:.3}s)",
        done.records_done,
        done.accepted,
        done.events_done,
        per(done.records_done, secs),
        per(done.events_done, secs),
        per(done.records_done, cpu),
        per(done.events_done, cpu)
    );
    store.set_layout(idp_projector::rows::LAYOUT).await?;
    let after = store.fingerprint().await?;
    println!("fingerprint after: {}", hex(&after));
    Ok(())
}

/// Runs the live projector until every partition is applied up to its end offset as read now.
async fn catch_up(log: std::sync::Arc<dyn idp_eventlog::EventLog>, store: std::sync::Arc<dyn idp_store::ProjectionStore>) -> Result<(), BoxError> {
    let verdicts = std::sync::Arc::new(idp_projector::Verdicts::new(log.partition_count()));
    let tasks = idp_projector::Projector::new(log.clone(), store.clone(), verdicts.clone()).spawn();
    let mut result = Ok(());
    for p in 0..log.partition_count() {
        let end = match log.end_offset(p).await {
            Ok(end) => end,
            Err(e) => {
                result = Err(e.into());
                break;
            }
        };
        if let Err(e) = verdicts.wait_applied(p, end, std::time::Duration::from_secs(120)).await {
            result = Err(format!("catching up partition {p} to {end}: {e}").into());
            break;
        }
    }
    for t in &tasks {
        t.abort();
    }
    for t in tasks {
        let _ = t.await;
    }
    result
}
