//! [`DeferredKafkaLog`]: a [`KafkaLog`] that connects in the background, so a service can start
//! (and report itself not ready) while its brokers are still unreachable.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use idp_eventlog::{EventLog, LogError, Offset, Partition, Record, Subscription};

use crate::config::KafkaConfig;
use crate::log::KafkaLog;

/// Until the first successful [`KafkaLog::connect`], every call fails with
/// [`LogError::Unavailable`] naming the brokers and the last connect error; afterwards every call
/// goes to the connected log. A background task retries the connect every `retry` interval.
pub struct DeferredKafkaLog {
    cfg: KafkaConfig,
    inner: OnceLock<Arc<KafkaLog>>,
    last_error: Mutex<String>,
}

impl std::fmt::Debug for DeferredKafkaLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeferredKafkaLog")
            .field("brokers", &self.cfg.brokers)
            .field("topic", &self.cfg.topic)
            .field("connected", &self.inner.get().is_some())
            .finish()
    }
}

impl DeferredKafkaLog {
    /// Starts connecting in the background (must run inside a tokio runtime). `first_error` is
    /// the error of a connect attempt the caller already made, reported until the next attempt.
    pub fn start(cfg: KafkaConfig, first_error: String, retry: Duration) -> Arc<DeferredKafkaLog> {
        let me = Arc::new(DeferredKafkaLog { cfg, inner: OnceLock::new(), last_error: Mutex::new(first_error) });
        let weak = Arc::downgrade(&me);
        tokio::spawn(async move {
            loop {
                let Some(me) = weak.upgrade() else { return };
                match KafkaLog::connect(me.cfg.clone()).await {
                    Ok(log) => {
                        tracing::info!(brokers = %me.cfg.brokers, topic = %me.cfg.topic, "connected to Kafka");
                        let _ = me.inner.set(log);
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(brokers = %me.cfg.brokers, error = %e, "Kafka still unreachable; retrying");
                        if let Ok(mut last) = me.last_error.lock() {
                            *last = e.to_string();
                        }
                    }
                }
                drop(me);
                tokio::time::sleep(retry).await;
            }
        });
        me
    }

    /// True once connected.
    pub fn connected(&self) -> bool {
        self.inner.get().is_some()
    }

    fn log(&self) -> Result<&Arc<KafkaLog>, LogError> {
        self.inner.get().ok_or_else(|| {
            let last = self.last_error.lock().map(|l| l.clone()).unwrap_or_default();
            LogError::Unavailable(format!("not connected to Kafka ({}, topic {}) yet: {last}", self.cfg.brokers, self.cfg.topic))
        })
    }
}

#[async_trait]
impl EventLog for DeferredKafkaLog {
    fn partition_count(&self) -> u32 {
        self.cfg.partitions
    }

    async fn append(&self, partition: Partition, record: Record) -> Result<Offset, LogError> {
        self.log()?.append(partition, record).await
    }

    async fn end_offset(&self, partition: Partition) -> Result<Offset, LogError> {
        self.log()?.end_offset(partition).await
    }

    async fn subscribe(&self, start: &[(Partition, Offset)]) -> Result<Box<dyn Subscription>, LogError> {
        self.log()?.subscribe(start).await
    }
}
