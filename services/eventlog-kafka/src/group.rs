//! [`GroupMember`]: a thin consumer-group member for the owners of side effects (mail, webhooks):
//! partitions are split among the members of a group, offsets are committed by hand after the
//! effect, and the member is told when its assignment changes.

use std::sync::Arc;
use std::time::Duration;

use idp_eventlog::{LogError, Offset, Partition, StoredRecord};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::{ClientContext, TopicPartitionList};
use tokio::sync::watch;

use crate::config::GroupConfig;
use crate::convert::{kafka_offset, log_error};
use crate::subscription::poll_consumer;

/// Publishes the member's assignment after every rebalance.
struct GroupContext {
    topic: String,
    assignment: watch::Sender<Vec<Partition>>,
    /// Pause every assigned partition (membership and commits only, no records).
    pause: bool,
}

impl ClientContext for GroupContext {}

impl ConsumerContext for GroupContext {
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Error(e) = rebalance {
            tracing::warn!(error = %e, "consumer group rebalance error");
            return;
        }
        match consumer.assignment() {
            Ok(tpl) => {
                if self.pause && tpl.count() > 0 {
                    if let Err(e) = consumer.pause(&tpl) {
                        tracing::warn!(error = %e, "cannot pause the assigned partitions");
                    }
                }
                let mut parts: Vec<Partition> = tpl.elements_for_topic(&self.topic).iter().filter_map(|e| Partition::try_from(e.partition()).ok()).collect();
                parts.sort_unstable();
                tracing::info!(topic = %self.topic, partitions = ?parts, "group assignment changed");
                self.assignment.send_replace(parts);
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the group assignment"),
        }
    }
}

/// A member of a Kafka consumer group over one topic, with manual commits.
///
/// Rebalances (and so assignment changes) only progress while the member is polled: call
/// [`GroupMember::poll`] regularly (at least every `max.poll.interval.ms`, 5 min by default, or
/// librdkafka considers the member stuck and gives its partitions away).
pub struct GroupMember {
    consumer: Arc<StreamConsumer<GroupContext>>,
    assignment: watch::Receiver<Vec<Partition>>,
    cfg: GroupConfig,
}

impl std::fmt::Debug for GroupMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupMember")
            .field("topic", &self.cfg.topic)
            .field("group_id", &self.cfg.group_id)
            .field("assignment", &*self.assignment.borrow())
            .finish()
    }
}

impl GroupMember {
    /// Creates the consumer and subscribes it to the topic. Joining the group happens in the
    /// background while [`GroupMember::poll`] is called; watch [`GroupMember::assignment_changes`]
    /// to learn the partitions.
    pub fn join(cfg: GroupConfig) -> Result<GroupMember, LogError> {
        cfg.validate()?;
        let (tx, rx) = watch::channel(Vec::new());
        let context = GroupContext { topic: cfg.topic.clone(), assignment: tx, pause: !cfg.fetch_records };
        let consumer: StreamConsumer<GroupContext> =
            cfg.consumer_config().create_with_context(context).map_err(|e| LogError::InvalidConfig(format!("cannot create Kafka consumer: {e}")))?;
        consumer.subscribe(&[cfg.topic.as_str()]).map_err(|e| log_error("subscribing to the topic", &cfg.brokers, &e))?;
        Ok(GroupMember { consumer: Arc::new(consumer), assignment: rx, cfg })
    }

    /// The partitions currently assigned to this member (sorted; empty before the first
    /// assignment and during an eager rebalance).
    pub fn assignment(&self) -> Vec<Partition> {
        self.assignment.borrow().clone()
    }

    /// A receiver that is notified on every assignment change (revocations included).
    pub fn assignment_changes(&self) -> watch::Receiver<Vec<Partition>> {
        self.assignment.clone()
    }

    /// Records from the assigned partitions, in offset order per partition: waits up to
    /// `timeout` for a first one, returns at most `max`. Also drives group membership.
    pub async fn poll(&self, max: usize, timeout: Duration) -> Result<Vec<StoredRecord>, LogError> {
        poll_consumer(&self.consumer, max, timeout, |_| true).await
    }

    /// Commits `next_offset` for `partition`: the offset of the first record NOT yet handled
    /// (Kafka's convention: last handled offset + 1). Synchronous: returns once the group
    /// coordinator has stored it. Refused for a partition not assigned to this member.
    pub async fn commit(&self, partition: Partition, next_offset: Offset) -> Result<(), LogError> {
        if !self.assignment.borrow().contains(&partition) {
            return Err(LogError::InvalidArgument(format!("partition {partition} is not assigned to this member of group {:?}", self.cfg.group_id)));
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(
            &self.cfg.topic,
            i32::try_from(partition).map_err(|_| LogError::InvalidPartition(partition))?,
            rdkafka::Offset::Offset(kafka_offset(partition, next_offset)?),
        )
        .map_err(|e| LogError::InvalidArgument(format!("bad commit position: {e}")))?;
        let consumer = Arc::clone(&self.consumer);
        let work = tokio::task::spawn_blocking(move || consumer.commit(&tpl, CommitMode::Sync));
        tokio::time::timeout(self.cfg.request_timeout, work)
            .await
            .map_err(|_| LogError::Unavailable(format!("commit to group {:?} not confirmed within {:?}", self.cfg.group_id, self.cfg.request_timeout)))?
            .map_err(|e| LogError::Unavailable(format!("commit task failed: {e}")))?
            .map_err(|e| log_error("committing an offset", &self.cfg.brokers, &e))
    }

    /// The offset committed for `partition` by this group, if any.
    pub async fn committed(&self, partition: Partition) -> Result<Option<Offset>, LogError> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(&self.cfg.topic, i32::try_from(partition).map_err(|_| LogError::InvalidPartition(partition))?);
        let consumer = Arc::clone(&self.consumer);
        let timeout = self.cfg.request_timeout;
        let tpl = tokio::task::spawn_blocking(move || consumer.committed_offsets(tpl, timeout))
            .await
            .map_err(|e| LogError::Unavailable(format!("committed-offset task failed: {e}")))?
            .map_err(|e| log_error("reading a committed offset", &self.cfg.brokers, &e))?;
        let offset = tpl.elements().first().and_then(|e| e.offset().to_raw()).and_then(|o| Offset::try_from(o).ok());
        Ok(offset)
    }

    /// Leaves the group (its partitions go to the other members at once instead of after the
    /// session timeout). Runs the blocking librdkafka close off the async threads.
    pub async fn leave(self) {
        let consumer = self.consumer;
        let _ = tokio::task::spawn_blocking(move || {
            consumer.unsubscribe();
            drop(consumer);
        })
        .await;
    }
}
