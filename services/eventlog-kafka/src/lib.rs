//! `idp-eventlog-kafka`: the Kafka implementation of [`idp_eventlog::EventLog`], for deployments
//! that run the identity service against a Kafka cluster instead of the embedded file log.
//! Design and failure behaviour: `docs/adr/0003-kafka-log.md`.
//!
//! What lives where:
//! - [`config`]: [`KafkaConfig`] (brokers, topic, partition count, timeouts) and [`GroupConfig`],
//!   and the librdkafka properties they turn into (idempotent `acks=all` producer, readers
//!   without auto-commit).
//! - `topic` (private): topic bootstrap at connect — create with the configured partition
//!   count, refuse an existing topic with another count.
//! - `log` (private): [`KafkaLog`], the `EventLog` implementation (append, end offset,
//!   subscribe).
//! - `subscription` (private): [`KafkaSubscription`], a manually assigned reader, and the batch
//!   poll loop shared with the group member.
//! - `group` (private): [`GroupMember`], a consumer-group member with manual commits and
//!   assignment-change notification, for side-effect owners.
//! - `deferred` (private): [`DeferredKafkaLog`], a log that connects in the background so a
//!   service starts (not ready) while the brokers are unreachable.
//! - `convert` (private): records ⇄ Kafka messages, rdkafka errors → [`LogError`].
//!
//! Partitioning is explicit: callers pick the partition (normally
//! [`idp_eventlog::partition_for_key`], Kafka's murmur2), so the embedded and Kafka logs place
//! every key on the same partition. librdkafka is built from its bundled sources (no system
//! library, no cmake).
//!
//! Tests (`tests/`) need a Kafka-compatible broker: `.ci/kafka.sh` starts one and prints the
//! `IDP_TEST_KAFKA` address the tests read.

pub mod config;
mod convert;
mod deferred;
mod group;
mod log;
mod subscription;
mod topic;

pub use config::{GroupConfig, KafkaConfig};
pub use deferred::DeferredKafkaLog;
pub use group::GroupMember;
pub use idp_eventlog::LogError;
pub use log::KafkaLog;
pub use subscription::KafkaSubscription;
