//! Rebuild: clear every projection, then replay every partition from offset 0 to its current
//! end, with the same arbiter the live projector uses (so verdicts and bytes are identical).
//! Partitions are independent (one arbiter each), so they replay concurrently, one task per
//! core.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use idp_eventlog::EventLog;
use idp_store::ProjectionStore;
use tokio::sync::Semaphore;

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
    let done = Arc::new(AtomicU64::new(0));
    let accepted = Arc::new(AtomicU64::new(0));
    on_progress(Progress { records_done: 0, records_total: total, accepted: 0 });
    let slots = Arc::new(Semaphore::new(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)));
    let mut tasks = tokio::task::JoinSet::new();
    for (p, end) in ends.into_iter().enumerate() {
        if end == 0 {
            continue;
        }
        let (log, store, done, accepted, slots) = (log.clone(), store.clone(), done.clone(), accepted.clone(), slots.clone());
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await.map_err(|_| ProjectorError::Log(idp_eventlog::LogError::Closed))?;
            replay_partition(log.as_ref(), store.as_ref(), p as u32, end, &done, &accepted).await
        });
    }
    loop {
        tokio::select! {
            next = tasks.join_next() => match next {
                None => break,
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(e))) => return Err(e),
                Some(Err(e)) => return Err(ProjectorError::Log(idp_eventlog::LogError::Unavailable(format!("replay task: {e}")))),
            },
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
        on_progress(Progress { records_done: done.load(Ordering::Relaxed), records_total: total, accepted: accepted.load(Ordering::Relaxed) });
    }
    let progress = Progress { records_done: done.load(Ordering::Relaxed), records_total: total, accepted: accepted.load(Ordering::Relaxed) };
    on_progress(progress);
    Ok(progress)
}

async fn replay_partition(
    log: &dyn EventLog,
    store: &dyn ProjectionStore,
    p: u32,
    end: u64,
    done: &AtomicU64,
    accepted: &AtomicU64,
) -> Result<(), ProjectorError> {
    let mut sub = log.subscribe(&[(p, 0)]).await?;
    let mut arbiter = Arbiter::over_empty_store();
    let mut next = 0u64;
    while next < end {
        let mut records = sub.poll(BATCH, Duration::from_secs(5)).await?;
        records.retain(|r| r.offset < end);
        let Some(last) = records.last().map(|r| r.offset + 1) else { continue };
        let outcome = arbiter.arbitrate(store, &records).await?;
        store.commit(p, last, outcome.writes).await?;
        done.fetch_add(last - next, Ordering::Relaxed);
        accepted.fetch_add(outcome.accepted as u64, Ordering::Relaxed);
        next = last;
    }
    Ok(())
}
