//! What `idp serve` needs to run as one of several processes on a Kafka topic: opening the log
//! (or starting not ready while the brokers are unreachable), the message dispatcher's and the
//! post-* trigger runner's ownership and progress through consumer groups, and the shared admin
//! credential.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use idp_app::credentials::AdminCredentials;
use idp_app::messages::{outbox_offset, outbox_resume_key, Cursor, DispatchProgress, FileProgress};
use idp_eventlog::{EventLog, LogError};
use idp_eventlog_kafka::{DeferredKafkaLog, GroupConfig, GroupMember, KafkaConfig, KafkaLog};

use crate::config::{KafkaSettings, LogBackend};
use crate::serve::BoxError;

/// The librdkafka configuration of the log.
pub fn kafka_config(k: &KafkaSettings, partitions: u32) -> KafkaConfig {
    let mut cfg = KafkaConfig::new(k.brokers.clone(), k.topic.clone(), partitions);
    cfg.client_id = format!("idp-{}", std::process::id());
    cfg.replication_factor = k.replication_factor;
    cfg.connect_timeout = k.timeout;
    cfg.message_timeout = k.timeout;
    cfg.request_timeout = k.timeout;
    cfg.extra = k.properties.clone();
    cfg.topic_config = k.topic_config.clone();
    cfg.one_record_per_batch = k.one_record_per_batch;
    cfg.fetch_wait_max = k.fetch_wait;
    cfg
}

/// Connects to the topic. A wrong configuration (another partition count, a bad property) fails
/// here; unreachable brokers do not: the returned log keeps connecting in the background and
/// answers `Unavailable` meanwhile, so the process serves `/readyz` = 503 and clear errors.
pub async fn open_kafka(k: &KafkaSettings, partitions: u32) -> Result<Arc<dyn EventLog>, BoxError> {
    let cfg = kafka_config(k, partitions);
    match KafkaLog::connect(cfg.clone()).await {
        Ok(log) => Ok(log),
        Err(LogError::Unavailable(e)) => {
            tracing::error!(brokers = %k.brokers, error = %e, "Kafka unreachable at start; serving as not ready until it answers");
            Ok(DeferredKafkaLog::start(cfg, e, Duration::from_secs(1)))
        }
        Err(e) => Err(format!("Kafka log ({} topic {}): {e}", k.brokers, k.topic).into()),
    }
}

/// The dispatcher's progress: the local cursor file for the embedded log; for Kafka, a consumer
/// group that gives each partition's messages to one process and keeps its committed offsets.
pub fn dispatch_progress(log: &LogBackend, data_dir: &Path, partitions: u32) -> Result<Arc<dyn DispatchProgress>, BoxError> {
    match log {
        LogBackend::Embedded => {
            Ok(Arc::new(FileProgress { cursor: Cursor::open(data_dir.join("dispatch-cursor.json"))?, partitions: (0..partitions).collect() }))
        }
        LogBackend::Kafka(k) => Ok(GroupProgress::join(k, &k.dispatch_group)?),
    }
}

/// The post-* trigger runner's progress: like [`dispatch_progress`], with its own cursor file
/// (`trigger-cursor.json`) or consumer group (`--trigger-group`).
pub fn trigger_progress(log: &LogBackend, data_dir: &Path, partitions: u32) -> Result<Arc<dyn DispatchProgress>, BoxError> {
    match log {
        LogBackend::Embedded => {
            Ok(Arc::new(FileProgress { cursor: Cursor::open(data_dir.join("trigger-cursor.json"))?, partitions: (0..partitions).collect() }))
        }
        LogBackend::Kafka(k) => Ok(GroupProgress::join(k, &k.trigger_group)?),
    }
}

/// Ownership and progress of message dispatching in a Kafka consumer group.
///
/// The committed offset of a partition is the log offset of the last outbox row handled: the
/// next owner resumes at that offset's rows (so a crash re-sends at most the rows of one offset
/// plus those sent after the last commit; senders de-duplicate by event id).
pub struct GroupProgress {
    member: Arc<GroupMember>,
}

impl GroupProgress {
    pub fn join(k: &KafkaSettings, group: &str) -> Result<Arc<GroupProgress>, BoxError> {
        let mut cfg = GroupConfig::new(k.brokers.clone(), k.topic.clone(), group.to_string());
        cfg.client_id = format!("idp-{group}-{}", std::process::id());
        cfg.request_timeout = k.timeout;
        cfg.fetch_records = false;
        cfg.extra = k.properties.clone();
        let member = Arc::new(GroupMember::join(cfg)?);
        // Group membership (joins, rebalances, heartbeats) only progresses while polled.
        let poller = Arc::downgrade(&member);
        tokio::spawn(async move {
            while let Some(m) = poller.upgrade() {
                if let Err(e) = m.poll(1, Duration::from_millis(200)).await {
                    tracing::debug!(error = %e, "dispatch group poll");
                    drop(m);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        });
        Ok(Arc::new(GroupProgress { member }))
    }
}

#[async_trait::async_trait]
impl DispatchProgress for GroupProgress {
    fn owned(&self) -> Vec<u32> {
        self.member.assignment()
    }

    async fn resume(&self, partition: u32) -> Result<Option<Vec<u8>>, String> {
        let committed = self.member.committed(partition).await.map_err(|e| e.to_string())?;
        Ok(committed.and_then(outbox_resume_key))
    }

    async fn save(&self, partition: u32, ck: &[u8]) -> Result<(), String> {
        let offset = outbox_offset(ck).ok_or("outbox row key without an offset")?;
        self.member.commit(partition, offset).await.map_err(|e| e.to_string())
    }
}

/// The admin credential: env `IDP_ADMIN_ACCESS_KEY_ID` + `IDP_ADMIN_SECRET_ACCESS_KEY`, else the
/// `--admin-credentials` file (must exist), else `<data-dir>/admin.json` (created on first start).
pub fn admin_credentials(file: Option<&Path>, data_dir: &Path) -> Result<AdminCredentials, BoxError> {
    let id = std::env::var("IDP_ADMIN_ACCESS_KEY_ID").unwrap_or_default();
    let secret = std::env::var("IDP_ADMIN_SECRET_ACCESS_KEY").unwrap_or_default();
    match (id.is_empty(), secret.is_empty()) {
        (false, false) => {
            tracing::info!("admin credential from IDP_ADMIN_ACCESS_KEY_ID / IDP_ADMIN_SECRET_ACCESS_KEY");
            return Ok(AdminCredentials { access_key_id: id, secret_access_key: secret });
        }
        (true, true) => {}
        _ => return Err("set both IDP_ADMIN_ACCESS_KEY_ID and IDP_ADMIN_SECRET_ACCESS_KEY, or neither".into()),
    }
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| format!("admin credentials {}: {e}", path.display()))?;
        let creds: AdminCredentials = serde_json::from_str(&text).map_err(|e| format!("admin credentials {}: {e}", path.display()))?;
        tracing::info!(path = %path.display(), "admin credential");
        return Ok(creds);
    }
    let (creds, created) = AdminCredentials::load_or_create(data_dir)?;
    let path = data_dir.join("admin.json");
    if created {
        tracing::info!(path = %path.display(), "created the admin credential");
    } else {
        tracing::info!(path = %path.display(), "admin credential");
    }
    Ok(creds)
}
