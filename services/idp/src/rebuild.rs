//! `idp rebuild`: drop every projection and replay the log, showing progress and events/s.
//! Prints the projection fingerprint before (once the store is caught up to the log's end) and
//! after, so an operator (and the tests) can see that a replay reproduces the projections byte
//! for byte. Works on the embedded log and on a Kafka replica (`--log kafka …`).

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::{self, CommonArgs};
use crate::serve::{open_backend, BoxError};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn run(args: CommonArgs) -> Result<(), BoxError> {
    let file = config::load_file(&args.config)?;
    let (data_dir, partitions) = config::resolve_common(&args, &file);
    let backend = config::resolve_log(&args, &file, None)?;
    let (log, store) = open_backend(&backend, &data_dir, partitions, true).await?;
    // The store may have stopped behind the log (lazily durable commits after a kill -9, or a
    // Kafka replica behind the topic): bring it to the current end first, so "before" is this
    // store's state at the end of the log (comparable with a replay and across replicas).
    catch_up(log.clone(), store.clone()).await?;
    let before = store.fingerprint().await?;
    println!("fingerprint before: {}", hex(&before));
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} replay [{bar:40}] {pos}/{len} events {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let done = idp_projector::rebuild::rebuild(log, store.clone(), |p| {
        bar.set_length(p.records_total);
        bar.set_position(p.records_done);
    })
    .await?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let rate = if secs > 0.0 { done.records_done as f64 / secs } else { 0.0 };
    let after = store.fingerprint().await?;
    println!("replayed {} events ({} accepted) in {:.3}s: {:.0} events/s", done.records_done, done.accepted, secs, rate);
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
