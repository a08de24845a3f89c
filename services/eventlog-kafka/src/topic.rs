//! Topic bootstrap for [`crate::KafkaLog::connect`]: look the topic up, create it with the
//! configured partition count when allowed, refuse a topic with another partition count.

use std::time::{Duration, Instant};

use idp_eventlog::LogError;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::types::RDKafkaRespErr;

use crate::config::KafkaConfig;
use crate::convert::log_error;

type Admin = AdminClient<DefaultClientContext>;

/// What the cluster says about the topic.
enum TopicState {
    Missing,
    Exists { partitions: u32 },
}

/// Makes sure the topic exists with exactly `cfg.partitions` partitions, within
/// `cfg.connect_timeout`.
pub(crate) async fn ensure_topic(cfg: &KafkaConfig) -> Result<(), LogError> {
    let deadline = Instant::now() + cfg.connect_timeout;
    let admin: Admin = cfg.admin_config().create().map_err(|e| LogError::InvalidConfig(format!("cannot create Kafka admin client: {e}")))?;
    let admin = std::sync::Arc::new(admin);

    match describe(&admin, cfg, deadline).await? {
        TopicState::Exists { partitions } => return check_count(cfg, partitions),
        TopicState::Missing if !cfg.create_topic => {
            return Err(LogError::InvalidConfig(format!("Kafka topic {:?} does not exist and create_topic is false", cfg.topic)))
        }
        TopicState::Missing => {}
    }

    let partitions = i32::try_from(cfg.partitions).map_err(|_| LogError::InvalidConfig(format!("too many partitions: {}", cfg.partitions)))?;
    let mut topic = NewTopic::new(&cfg.topic, partitions, TopicReplication::Fixed(cfg.replication_factor));
    let max_message_bytes = cfg.max_message_bytes().to_string();
    if !cfg.topic_config.iter().any(|(k, _)| k == "max.message.bytes") {
        topic = topic.set("max.message.bytes", &max_message_bytes);
    }
    // The log is the source of truth: never let the broker's default retention delete it.
    for (key, value) in [("retention.ms", "-1"), ("retention.bytes", "-1"), ("cleanup.policy", "delete")] {
        if !cfg.topic_config.iter().any(|(k, _)| k == key) {
            topic = topic.set(key, value);
        }
    }
    for (k, v) in &cfg.topic_config {
        topic = topic.set(k, v);
    }
    let remaining = remaining(deadline);
    let opts = AdminOptions::new().request_timeout(Some(remaining)).operation_timeout(Some(remaining));
    let created = tokio::time::timeout(remaining, admin.create_topics([&topic], &opts))
        .await
        .map_err(|_| timeout_error(cfg, "creating the topic"))?
        .map_err(|e| log_error("creating the Kafka topic", &cfg.brokers, &e))?;
    let mut already_existed = false;
    for result in created {
        match result {
            Ok(_) => {}
            // Someone else created it concurrently: fine if it has the right shape.
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => already_existed = true,
            Err((name, code)) => {
                return Err(LogError::Unavailable(format!(
                    "cannot create Kafka topic {name:?} with {} partitions (replication factor \
                     {}) on {}: {code}",
                    cfg.partitions, cfg.replication_factor, cfg.brokers
                )))
            }
        }
    }
    if !already_existed {
        tracing::info!(topic = %cfg.topic, partitions = cfg.partitions, "created Kafka topic");
    }

    // Metadata can lag creation for a moment; wait until the topic is visible with its shape.
    loop {
        let state = describe(&admin, cfg, deadline).await?;
        match state {
            TopicState::Exists { partitions } if partitions == cfg.partitions => return Ok(()),
            TopicState::Exists { partitions } if already_existed => return check_count(cfg, partitions),
            _ => {}
        }
        if Instant::now() >= deadline {
            return match state {
                TopicState::Exists { partitions } => check_count(cfg, partitions),
                TopicState::Missing => Err(timeout_error(cfg, "waiting for the new topic to appear in metadata")),
            };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn check_count(cfg: &KafkaConfig, found: u32) -> Result<(), LogError> {
    if found == cfg.partitions {
        Ok(())
    } else {
        Err(LogError::InvalidConfig(format!(
            "Kafka topic {:?} has {found} partitions but the log is configured with {}; the \
             partition count of a log cannot change (keys would move to other partitions)",
            cfg.topic, cfg.partitions
        )))
    }
}

/// Fetches the topic's metadata (blocking librdkafka call, run off the async threads).
async fn describe(admin: &std::sync::Arc<Admin>, cfg: &KafkaConfig, deadline: Instant) -> Result<TopicState, LogError> {
    let admin = std::sync::Arc::clone(admin);
    let topic = cfg.topic.clone();
    let timeout = remaining(deadline);
    let metadata = tokio::task::spawn_blocking(move || admin.inner().fetch_metadata(Some(&topic), timeout))
        .await
        .map_err(|e| LogError::Unavailable(format!("metadata task failed: {e}")))?
        .map_err(|e| LogError::Unavailable(format!("cannot reach Kafka brokers {} within {:?} (connect_timeout): {e}", cfg.brokers, cfg.connect_timeout)))?;
    let Some(t) = metadata.topics().iter().find(|t| t.name() == cfg.topic) else {
        return Ok(TopicState::Missing);
    };
    match t.error() {
        None => {}
        Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) => return Ok(TopicState::Missing),
        Some(err) => return Err(LogError::Unavailable(format!("metadata for Kafka topic {:?} reports error {err:?}", cfg.topic))),
    }
    let partitions = u32::try_from(t.partitions().len()).map_err(|_| LogError::Unavailable("absurd partition count in metadata".into()))?;
    Ok(TopicState::Exists { partitions })
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1))
}

fn timeout_error(cfg: &KafkaConfig, what: &str) -> LogError {
    LogError::Unavailable(format!("Kafka brokers {} did not finish {what} within {:?} (connect_timeout)", cfg.brokers, cfg.connect_timeout))
}
