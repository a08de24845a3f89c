//! [`KafkaSubscription`]: a reader over explicitly assigned partitions, and [`poll_consumer`], the
//! batch-poll loop it shares with [`crate::GroupMember`].

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use futures::{FutureExt, StreamExt};
use idp_eventlog::{LogError, Offset, Partition, StoredRecord, Subscription};
use rdkafka::consumer::{ConsumerContext, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::convert::to_stored;

/// Reader returned by `KafkaLog::subscribe` ([`idp_eventlog::EventLog::subscribe`]).
///
/// The consumer has a manual assignment (no consumer group, no rebalancing, nothing committed):
/// the caller keeps its own positions (stored with its projections) and passes them to
/// `subscribe` on restart.
pub struct KafkaSubscription {
    consumer: StreamConsumer,
    /// Next offset expected per partition: a record below it would be a repeat and is dropped.
    next: HashMap<Partition, Offset>,
}

impl KafkaSubscription {
    pub(crate) fn new(consumer: StreamConsumer, start: &[(Partition, Offset)]) -> Self {
        KafkaSubscription { consumer, next: start.iter().copied().collect() }
    }
}

#[async_trait]
impl Subscription for KafkaSubscription {
    async fn poll(&mut self, max: usize, timeout: Duration) -> Result<Vec<StoredRecord>, LogError> {
        let next = &mut self.next;
        poll_consumer(&self.consumer, max, timeout, |rec| {
            let expected = next.entry(rec.partition).or_insert(rec.offset);
            if rec.offset < *expected {
                tracing::warn!(partition = rec.partition, offset = rec.offset, expected = *expected, "dropping a record the consumer delivered twice");
                return false;
            }
            if rec.offset > *expected {
                // Offsets of a topic written only by this log are dense; a gap means records
                // were removed (retention, compaction) or transactional markers were skipped.
                tracing::warn!(partition = rec.partition, offset = rec.offset, expected = *expected, "gap in partition offsets");
            }
            *expected = rec.offset + 1;
            true
        })
        .await
    }
}

/// Waits up to `timeout` for a first message, then takes whatever else is already fetched, up
/// to `max` records in all. `accept` may drop a record (returns false). Cancel-safe: a message
/// leaves librdkafka's queue only in a poll that completes.
pub(crate) async fn poll_consumer<C, F>(consumer: &StreamConsumer<C>, max: usize, timeout: Duration, mut accept: F) -> Result<Vec<StoredRecord>, LogError>
where
    C: ConsumerContext + 'static,
    F: FnMut(&StoredRecord) -> bool + Send,
{
    let mut out = Vec::new();
    if max == 0 {
        return Ok(out);
    }
    let deadline = tokio::time::Instant::now() + timeout;
    let mut stream = consumer.stream();
    // Wait for the first record (errors end the wait: the caller decides whether to retry).
    while out.is_empty() {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_elapsed) => return Ok(out),
            Ok(None) => {
                return Err(LogError::Unavailable("Kafka consumer stream ended".into()));
            }
            Ok(Some(Err(e))) => return Err(consume_error(&e)),
            Ok(Some(Ok(msg))) => {
                let rec = to_stored(&msg)?;
                if accept(&rec) {
                    out.push(rec);
                }
            }
        }
    }
    // Drain what is already buffered without waiting.
    while out.len() < max {
        match stream.next().now_or_never() {
            Some(Some(Ok(msg))) => {
                let rec = to_stored(&msg)?;
                if accept(&rec) {
                    out.push(rec);
                }
            }
            Some(Some(Err(e))) => {
                // Records already taken must be returned; the error (if it persists) shows up
                // again on the next poll.
                tracing::debug!(error = %e, "Kafka consumer error after a partial batch");
                break;
            }
            Some(None) | None => break,
        }
    }
    Ok(out)
}

fn consume_error(e: &KafkaError) -> LogError {
    match e.rdkafka_error_code() {
        Some(RDKafkaErrorCode::AutoOffsetReset | RDKafkaErrorCode::OffsetOutOfRange) => LogError::Unavailable(format!(
            "Kafka has no record at the subscription's position (deleted by retention, or \
                 the topic was recreated): {e}"
        )),
        _ => LogError::Unavailable(format!("Kafka consumer error: {e}")),
    }
}
