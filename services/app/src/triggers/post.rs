//! Post-* triggers (PostConfirmation, PostAuthentication), run from the log.
//!
//! The events that call for them (`UserConfirmed`, `PasswordChanged` with reason RESET,
//! `UserAuthenticated`) record the version of the trigger the pool had when the front decided;
//! the projector turns each such event into a `TriggerItem` row of the trigger queue, atomically
//! with the state change (the same transactional-outbox pattern as messages). The
//! [`PostTriggerRunner`] walks the queue of the partitions it owns, in order, and only then
//! advances its progress (a cursor file of its own, or a Kafka consumer group: one owner per
//! partition), so a crash resumes where it stopped: at-least-once.
//!
//! Every call gets the row's id (`<event id>/<index>`) as `idempotency-key`; the runner also
//! remembers the keys it completed recently and never calls twice for one of them in a process.
//! A failing call (trap, timeout, `err(...)`) is retried with exponential backoff, up to
//! `max_attempts`; then it is logged and dropped. The request that caused it was acknowledged
//! long before: a post-* trigger never fails it (unlike Cognito, see docs/triggers.md). While a
//! row waits for its retry, the rows after it in its partition wait too (order is kept).
//!
//! The trigger that runs is the one deployed *now* (if the kind was removed since, the row is
//! skipped); its event carries the user's attributes as of the event, and the ClientMetadata
//! of the request that caused it (recorded in the event, so a replay queues the same call).

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use idp_domain::keys::AggregateKey;
use idp_domain::pb::TriggerItem;
use idp_projector::rows;
use idp_store::Table;
use idp_triggers::{types as t, Kind};
use prost::Message as _;

use crate::messages::DispatchProgress;
use crate::{App, AppError};

/// Retry policy of post-* trigger calls.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Calls per row before giving up on it (at least 1).
    pub max_attempts: u32,
    /// Wait before the first retry; doubles with every attempt, up to `max_delay`.
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 8, first_delay: Duration::from_millis(200), max_delay: Duration::from_secs(30) }
    }
}

impl RetryPolicy {
    /// The wait after `failures` failed calls.
    pub fn delay(&self, failures: u32) -> Duration {
        let factor = 1u32.checked_shl(failures.saturating_sub(1)).unwrap_or(u32::MAX);
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// How many completed idempotency keys a runner remembers.
const RECENT_KEYS: usize = 4096;

/// Runs the queued post-* trigger calls of the partitions [`DispatchProgress::owned`] names.
pub struct PostTriggerRunner {
    pub app: Arc<App>,
    pub progress: Arc<dyn DispatchProgress>,
    pub retry: RetryPolicy,
}

/// A partition waiting to retry its first pending row.
struct Backoff {
    failures: u32,
    until: Instant,
}

/// What one pass over a partition did.
struct Pass {
    /// Clustering key of the last row handled (`None`: none).
    last: Option<Vec<u8>>,
    /// The first pending row failed: retry it later.
    failed: bool,
}

impl PostTriggerRunner {
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move { self.run().await })
    }

    async fn run(self) {
        let mut positions: BTreeMap<u32, Option<Vec<u8>>> = BTreeMap::new();
        let mut backoff: BTreeMap<u32, Backoff> = BTreeMap::new();
        let mut recent = Recent::default();
        loop {
            let owned = self.progress.owned();
            positions.retain(|p, _| owned.contains(p));
            backoff.retain(|p, _| owned.contains(p));
            let mut any = false;
            for &p in &owned {
                let failures = match backoff.get(&p) {
                    Some(b) if b.until > Instant::now() => continue,
                    Some(b) => b.failures,
                    None => 0,
                };
                let after = match positions.get(&p) {
                    Some(after) => after.clone(),
                    None => match self.progress.resume(p).await {
                        Ok(after) => {
                            tracing::info!(partition = p, "running the post-* triggers of this partition");
                            positions.insert(p, after.clone());
                            after
                        }
                        Err(e) => {
                            tracing::warn!(partition = p, error = %e, "cannot read the trigger runner's progress");
                            continue;
                        }
                    },
                };
                match self.pass(p, after, failures, &mut recent).await {
                    Ok(pass) => {
                        // Rows handled before the failure: the failing row is a new one.
                        let failures = if pass.last.is_some() { 1 } else { failures + 1 };
                        if let Some(last) = pass.last {
                            any = true;
                            positions.insert(p, Some(last));
                        }
                        if pass.failed {
                            backoff.insert(p, Backoff { failures, until: Instant::now() + self.retry.delay(failures) });
                        } else {
                            backoff.remove(&p);
                        }
                    }
                    Err(e) => tracing::warn!(partition = p, error = %e, "post-* trigger queue stalled"),
                }
            }
            if !any {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// Handles up to one page of rows after `after`, saving the progress after each. The first
    /// row has already failed `failures` times. Stops at a row that fails and may be retried.
    async fn pass(&self, partition: u32, after: Option<Vec<u8>>, failures: u32, recent: &mut Recent) -> Result<Pass, String> {
        let pk = rows::outbox_pk(partition);
        let page = self.app.store.scan(Table::TriggerQueue, &pk, after.as_deref(), 64).await.map_err(|e| e.to_string())?;
        let mut pass = Pass { last: None, failed: false };
        let mut failures = failures;
        for row in &page {
            match TriggerItem::decode(row.value.as_slice()) {
                Err(e) => tracing::error!(error = %e, "dropping an unreadable trigger-queue row"),
                Ok(item) if recent.contains(&item.event_id) => {}
                Ok(item) => match self.app.run_post_trigger(&item).await {
                    Ok(()) => recent.insert(item.event_id),
                    Err(e) if failures + 1 < self.retry.max_attempts.max(1) => {
                        tracing::warn!(pool = %item.pool_id, kind = %item.kind, key = %item.event_id, attempt = failures + 1, error = %e, "post-* trigger failed; will retry");
                        pass.failed = true;
                        return Ok(pass);
                    }
                    Err(e) => {
                        tracing::error!(pool = %item.pool_id, kind = %item.kind, key = %item.event_id, attempts = failures + 1, error = %e, "post-* trigger failed; giving up on this call");
                    }
                },
            }
            failures = 0;
            self.progress.save(partition, &row.ck).await?;
            pass.last = Some(row.ck.clone());
        }
        Ok(pass)
    }
}

/// The idempotency keys completed lately (bounded, oldest forgotten first).
#[derive(Default)]
struct Recent {
    set: HashSet<String>,
    order: VecDeque<String>,
}

impl Recent {
    fn contains(&self, key: &str) -> bool {
        self.set.contains(key)
    }

    fn insert(&mut self, key: String) {
        if self.set.insert(key.clone()) {
            self.order.push_back(key);
        }
        while self.order.len() > RECENT_KEYS {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }
}

impl App {
    /// Runs one queued post-* trigger call with the pool's currently deployed trigger of its
    /// kind. `Ok` when there is nothing to run (kind removed since, pool deleted).
    pub async fn run_post_trigger(&self, item: &TriggerItem) -> Result<(), AppError> {
        let Some(kind) = Kind::parse(&item.kind) else { return Ok(()) };
        let mut pool = self.pool_or_none(&item.pool_id).await?;
        // This replica may not have applied the pool's partition as far as the front that decided
        // had: a trigger older than the event's means "not caught up yet", not "removed".
        if pool.as_ref().and_then(|p| App::trigger_spec(p, kind)).is_none_or(|s| s.version < item.trigger_version) {
            self.catch_up(&AggregateKey::pool(&item.pool_id)).await?;
            pool = self.pool_or_none(&item.pool_id).await?;
        }
        let Some(spec) = pool.as_ref().and_then(|p| App::trigger_spec(p, kind)) else { return Ok(()) };
        let attributes: Vec<(String, String)> = item.user_attributes.iter().map(|a| (a.name.clone(), a.value.clone())).collect();
        let client_metadata: Vec<(String, String)> = item.client_metadata.iter().map(|a| (a.name.clone(), a.value.clone())).collect();
        let (region, caller) = (self.config.region.clone(), self.caller_context(&item.client_id));
        match kind {
            Kind::PostConfirmation => {
                let event = t::PostConfirmationEvent {
                    version: "1".into(),
                    trigger_source: item.trigger_source.clone(),
                    region,
                    user_pool_id: item.pool_id.clone(),
                    user_name: item.username.clone(),
                    caller_context: caller,
                    request: t::PostConfirmationRequest { user_attributes: attributes, client_metadata, idempotency_key: item.event_id.clone() },
                };
                self.call_trigger(kind, move |rt| rt.post_confirmation(&spec, &event)).await
            }
            Kind::PostAuthentication => {
                let event = t::PostAuthenticationEvent {
                    version: "1".into(),
                    trigger_source: item.trigger_source.clone(),
                    region,
                    user_pool_id: item.pool_id.clone(),
                    user_name: item.username.clone(),
                    caller_context: caller,
                    request: t::PostAuthenticationRequest {
                        user_attributes: attributes,
                        new_device_used: false,
                        client_metadata,
                        idempotency_key: item.event_id.clone(),
                    },
                };
                self.call_trigger(kind, move |rt| rt.post_authentication(&spec, &event)).await
            }
            _ => Ok(()),
        }
    }

    async fn pool_or_none(&self, pool_id: &str) -> Result<Option<idp_domain::pb::PoolState>, AppError> {
        match self.pool(pool_id).await {
            Ok(pool) => Ok(Some(pool)),
            Err(AppError::Domain(idp_domain::DomainError::ResourceNotFound(_))) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy { max_attempts: 5, first_delay: Duration::from_millis(100), max_delay: Duration::from_millis(500) };
        let delays: Vec<u128> = (1..=5).map(|n| p.delay(n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
        assert_eq!(p.delay(200), Duration::from_millis(500));
    }

    #[test]
    fn recent_keys_are_bounded() {
        let mut r = Recent::default();
        for i in 0..(RECENT_KEYS + 10) {
            r.insert(format!("k{i}"));
        }
        assert!(!r.contains("k0"));
        assert!(r.contains(&format!("k{}", RECENT_KEYS + 9)));
        assert_eq!(r.set.len(), RECENT_KEYS);
    }
}
