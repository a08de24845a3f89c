//! Rebuild: clear every projection, then replay every partition from offset 0 to its current
//! end, with the same arbiter the live projector uses (so verdicts and bytes are identical).

use std::sync::Arc;
use std::time::Duration;

use idp_eventlog::EventLog;
use idp_store::ProjectionStore;

use crate::runner::BATCH;
use crate::{Arbiter, ProjectorError};

/// Progress reported after every committed batch.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub records_done: u64,
    pub records_total: u64,
    pub accepted: u64,
}

/// Replays the log into an emptied store. Returns the final progress.
pub async fn rebuild(
    log: Arc<dyn EventLog>,
    store: Arc<dyn ProjectionStore>,
    mut on_progress: impl FnMut(Progress),
) -> Result<Progress, ProjectorError> {
    store.clear().await?;
    let mut ends = Vec::new();
    for p in 0..log.partition_count() {
        ends.push(log.end_offset(p).await?);
    }
    let total: u64 = ends.iter().sum();
    let mut progress = Progress { records_done: 0, records_total: total, accepted: 0 };
    on_progress(progress);
    for (p, end) in ends.into_iter().enumerate() {
        let p = p as u32;
        if end == 0 {
            continue;
        }
        let mut sub = log.subscribe(&[(p, 0)]).await?;
        let mut arbiter = Arbiter::over_empty_store();
        let mut next = 0u64;
        while next < end {
            let mut records = sub.poll(BATCH, Duration::from_secs(5)).await?;
            records.retain(|r| r.offset < end);
            let Some(last) = records.last().map(|r| r.offset + 1) else { continue };
            let outcome = arbiter.arbitrate(store.as_ref(), &records).await?;
            store.commit(p, last, outcome.writes).await?;
            progress.records_done += last - next;
            progress.accepted += outcome.accepted as u64;
            next = last;
            on_progress(progress);
        }
    }
    Ok(progress)
}
