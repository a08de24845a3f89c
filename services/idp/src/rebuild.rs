//! `idp rebuild`: drop every projection and replay the log, showing progress and events/s.
//! Prints the projection fingerprint before and after, so an operator (and the tests) can
//! see that a replay reproduces the projections byte for byte.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::{self, CommonArgs};
use crate::serve::{open_embedded, BoxError};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn run(args: CommonArgs) -> Result<(), BoxError> {
    let file = config::load_file(&args.config)?;
    let (data_dir, partitions) = config::resolve_common(&args, &file);
    let (log, store) = open_embedded(&data_dir, partitions)?;
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
