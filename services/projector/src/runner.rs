//! One projector task per log partition: poll → arbitrate → commit (rows + offset) → publish.

use std::sync::Arc;
use std::time::Duration;

use idp_eventlog::{EventLog, LogError};
use idp_store::{ProjectionStore, StoreError};
use tokio::task::JoinHandle;

use crate::{Arbiter, Verdicts};

#[derive(Debug, thiserror::Error)]
pub enum ProjectorError {
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Records per poll / per store commit. Large batches amortise the commit during replay; a
/// live poll returns as soon as anything is available, so latency does not wait for a batch.
pub const BATCH: usize = 4096;

pub struct Projector {
    log: Arc<dyn EventLog>,
    store: Arc<dyn ProjectionStore>,
    verdicts: Arc<Verdicts>,
}

impl Projector {
    pub fn new(log: Arc<dyn EventLog>, store: Arc<dyn ProjectionStore>, verdicts: Arc<Verdicts>) -> Self {
        Projector { log, store, verdicts }
    }

    /// Starts one task per partition. Each task retries with backoff on log or store errors
    /// (reporting unhealthy meanwhile) and never skips a record.
    pub fn spawn(self) -> Vec<JoinHandle<()>> {
        let me = Arc::new(self);
        (0..me.log.partition_count())
            .map(|p| {
                let me = me.clone();
                tokio::spawn(async move { me.run_partition(p).await })
            })
            .collect()
    }

    async fn run_partition(&self, partition: u32) {
        let mut backoff = Duration::from_millis(50);
        loop {
            match self.follow(partition).await {
                Ok(()) => return,
                Err(e) => {
                    self.verdicts.set_healthy(partition, false);
                    tracing::warn!(partition, error = %e, "projector stalled; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            }
        }
    }

    /// Follows the partition from the stored offset; returns only on error.
    async fn follow(&self, partition: u32) -> Result<(), ProjectorError> {
        let mut next = self.store.offset(partition).await?.unwrap_or(0);
        self.verdicts.publish(partition, next, vec![]);
        let mut sub = self.log.subscribe(&[(partition, next)]).await?;
        let mut arbiter = Arbiter::new();
        self.verdicts.set_healthy(partition, true);
        loop {
            let records = sub.poll(BATCH, Duration::from_millis(500)).await?;
            self.verdicts.set_healthy(partition, true);
            if records.is_empty() {
                continue;
            }
            let outcome = arbiter.arbitrate(self.store.as_ref(), &records).await;
            let outcome = match outcome {
                Ok(o) => o,
                Err(e) => {
                    arbiter.reset();
                    return Err(e.into());
                }
            };
            let last = records.last().map(|r| r.offset + 1).unwrap_or(next);
            if let Err(e) = self.store.commit(partition, last, outcome.writes).await {
                arbiter.reset();
                return Err(e.into());
            }
            next = last;
            self.verdicts.publish(partition, next, outcome.verdicts);
        }
    }
}
