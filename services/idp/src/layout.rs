//! Keeps the local projection store in this binary's row layout
//! ([`idp_projector::rows::LAYOUT`]). A store written by a version that derived other rows
//! from the same log, or by one that did not record its layout, is rebuilt from the log before
//! the process serves from it: an upgrade never serves rows that a replay would not write
//! (invariant 1), and never misses rows a new index needs for users created before it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use idp_eventlog::EventLog;
use idp_projector::rows::LAYOUT;
use idp_store::ProjectionStore;

use crate::serve::BoxError;

/// Rebuilds `store` from `log` unless it is empty or recorded in [`LAYOUT`]; then records it.
pub async fn ensure(log: &Arc<dyn EventLog>, store: &Arc<dyn ProjectionStore>) -> Result<(), BoxError> {
    let recorded = store.layout().await?;
    if recorded == Some(LAYOUT) {
        return Ok(());
    }
    let mut written = false;
    for p in 0..log.partition_count() {
        if store.offset(p).await?.is_some() {
            written = true;
            break;
        }
    }
    if written {
        tracing::warn!(
            recorded = recorded.map_or_else(|| "none".to_string(), |l| l.to_string()),
            layout = LAYOUT,
            "the projection store was written in another row layout: rebuilding it from the log before serving"
        );
        let (started, mut reported) = (Instant::now(), Instant::now());
        let done = idp_projector::rebuild::rebuild(log.clone(), store.clone(), |p| {
            if reported.elapsed() >= Duration::from_secs(5) {
                reported = Instant::now();
                tracing::info!(records = p.records_done, of = p.records_total, "rebuilding the projection store");
            }
        })
        .await?;
        tracing::info!(records = done.records_done, seconds = started.elapsed().as_secs_f64(), "projection store rebuilt");
    }
    store.set_layout(LAYOUT).await?;
    Ok(())
}
