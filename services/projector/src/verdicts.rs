//! Verdict delivery to waiting fronts, and per-partition applied watermarks.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use crate::Verdict;

/// Shared between the projector (publisher) and the fronts (waiters) of one process.
pub struct Verdicts {
    pending: Mutex<HashMap<String, oneshot::Sender<Verdict>>>,
    applied: Vec<watch::Sender<u64>>,
    healthy: Mutex<Vec<bool>>,
}

/// Waiting for a verdict or a watermark failed.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error("timed out after {0:?} waiting for the projector")]
    Timeout(Duration),
    #[error("the projector stopped")]
    Stopped,
}

impl Verdicts {
    pub fn new(partitions: u32) -> Self {
        Verdicts {
            pending: Mutex::new(HashMap::new()),
            applied: (0..partitions).map(|_| watch::channel(0).0).collect(),
            healthy: Mutex::new(vec![false; partitions as usize]),
        }
    }

    /// Registers interest in `event_id` *before* appending it, so the verdict cannot be missed.
    pub fn expect(&self, event_id: &str) -> oneshot::Receiver<Verdict> {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut map) = self.pending.lock() {
            map.insert(event_id.to_string(), tx);
        }
        rx
    }

    /// Drops interest (the append failed, or the waiter gave up).
    pub fn forget(&self, event_id: &str) {
        if let Ok(mut map) = self.pending.lock() {
            map.remove(event_id);
        }
    }

    /// Waits for the verdict registered with [`Verdicts::expect`].
    pub async fn wait(&self, event_id: &str, rx: oneshot::Receiver<Verdict>, timeout: Duration) -> Result<Verdict, WaitError> {
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(WaitError::Stopped),
            Err(_) => {
                self.forget(event_id);
                Err(WaitError::Timeout(timeout))
            }
        }
    }

    /// Called by the projector once a batch is committed.
    pub fn publish(&self, partition: u32, next_offset: u64, verdicts: Vec<(String, u32, u64, Verdict)>) {
        if let Ok(mut map) = self.pending.lock() {
            for (event_id, _, _, verdict) in verdicts {
                if let Some(tx) = map.remove(&event_id) {
                    let _ = tx.send(verdict);
                }
            }
        }
        if let Some(w) = self.applied.get(partition as usize) {
            w.send_if_modified(|cur| {
                let moved = *cur < next_offset;
                *cur = (*cur).max(next_offset);
                moved
            });
        }
    }

    /// The next offset the projector will apply on `partition`.
    pub fn applied(&self, partition: u32) -> u64 {
        self.applied.get(partition as usize).map(|w| *w.borrow()).unwrap_or(0)
    }

    /// Waits until `partition` is applied up to (excluding) `offset`: read-your-writes across
    /// fronts is "catch up to the end offset, then read".
    pub async fn wait_applied(&self, partition: u32, offset: u64, timeout: Duration) -> Result<(), WaitError> {
        let Some(w) = self.applied.get(partition as usize) else { return Err(WaitError::Stopped) };
        let mut rx = w.subscribe();
        let result = tokio::time::timeout(timeout, async { rx.wait_for(|applied| *applied >= offset).await.map(|_| ()) }).await;
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(WaitError::Stopped),
            Err(_) => Err(WaitError::Timeout(timeout)),
        }
    }

    /// Records whether `partition`'s projector task is following the log.
    pub fn set_healthy(&self, partition: u32, healthy: bool) {
        if let Ok(mut h) = self.healthy.lock() {
            if let Some(slot) = h.get_mut(partition as usize) {
                *slot = healthy;
            }
        }
    }

    /// True while every partition's projector task follows the log.
    pub fn healthy(&self) -> bool {
        self.healthy.lock().map(|h| h.iter().all(|b| *b)).unwrap_or(false)
    }
}
