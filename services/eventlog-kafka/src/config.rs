//! Configuration of the Kafka log ([`KafkaConfig`]) and of a consumer-group member
//! ([`GroupConfig`]), and their translation into librdkafka client properties.

use std::time::Duration;

use idp_eventlog::LogError;
use rdkafka::ClientConfig;

/// How to reach Kafka and which topic backs the log.
///
/// Build it with [`KafkaConfig::new`] and adjust the public fields; every timeout has a default
/// that keeps a dead broker from hanging a caller for long.
#[derive(Clone, Debug)]
pub struct KafkaConfig {
    /// Comma-separated `host:port` bootstrap list (librdkafka `bootstrap.servers`).
    pub brokers: String,
    /// The topic that holds the log; one Kafka partition per log partition.
    pub topic: String,
    /// Number of partitions of the log. The topic must have exactly this many.
    pub partitions: u32,
    /// librdkafka `client.id` (shows up in broker logs and metrics).
    pub client_id: String,
    /// Create the topic when it does not exist. When false, a missing topic is an error.
    pub create_topic: bool,
    /// Replication factor used when the topic is created (1 for a single test broker; 3 in
    /// production).
    pub replication_factor: i32,
    /// Extra topic configuration used when the topic is created (e.g. `min.insync.replicas=2`
    /// with a replication factor of 3). By default the topic is created with
    /// `retention.ms=-1`, `retention.bytes=-1`, `cleanup.policy=delete` (keep every record
    /// forever: the log is the source of truth) and `max.message.bytes` from
    /// `max_record_bytes`; entries here override those.
    pub topic_config: Vec<(String, String)>,
    /// Bound on [`crate::KafkaLog::connect`]: metadata fetch and topic creation.
    pub connect_timeout: Duration,
    /// Bound on one append (librdkafka `message.timeout.ms`): a record not acknowledged by all
    /// in-sync replicas within this time fails with [`LogError::Unavailable`] (observed: within
    /// this plus about one second, the reconnect backoff).
    pub message_timeout: Duration,
    /// Bound on metadata-style requests after connect (`end_offset`, subscription checks).
    pub request_timeout: Duration,
    /// Largest record accepted by `append` (key + value + header names and values), checked
    /// before sending ([`LogError::RecordTooLarge`]). The producer's `message.max.bytes` and, when
    /// the topic is created, its `max.message.bytes` are set to this plus framing headroom.
    pub max_record_bytes: usize,
    /// librdkafka `linger.ms`: how long the producer waits to batch records. 0 favours latency of
    /// a lone appender; a few ms favours throughput of many concurrent appenders.
    pub linger: Duration,
    /// librdkafka `fetch.wait.max.ms` for subscriptions: the longest a broker may hold a fetch
    /// when no data is available. Bounds tail latency of readers on brokers that do not answer
    /// a fetch as soon as data arrives.
    pub fetch_wait_max: Duration,
    /// Further librdkafka properties applied to every client last (security settings, debug,
    /// tuning). Applied verbatim; the properties that carry the log's guarantees
    /// (`enable.idempotence`, `acks`, `enable.auto.commit`, ...) cannot be overridden here.
    pub extra: Vec<(String, String)>,
    /// Send every record in a batch of its own (librdkafka `batch.num.messages=1`). Needed on
    /// brokers that report a partition's end offset as "start of the last batch + 1" (tansu):
    /// there another process would see a too-low end offset after a multi-record batch, and
    /// "catch up to the end" could stop short. Costs producer throughput; not needed on Kafka.
    /// Implies `linger.ms=0`.
    pub one_record_per_batch: bool,
}

impl KafkaConfig {
    /// A configuration with defaults: create the topic if missing, replication factor 1,
    /// 10 s connect timeout, 30 s message timeout, 10 s request timeout, 8 MiB records (as the
    /// embedded log), `linger.ms=1`, `fetch.wait.max.ms=100`.
    pub fn new(brokers: impl Into<String>, topic: impl Into<String>, partitions: u32) -> Self {
        KafkaConfig {
            brokers: brokers.into(),
            topic: topic.into(),
            partitions,
            client_id: "idp-eventlog".to_string(),
            create_topic: true,
            replication_factor: 1,
            topic_config: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            message_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
            max_record_bytes: 8 * 1024 * 1024,
            linger: Duration::from_millis(1),
            fetch_wait_max: Duration::from_millis(100),
            extra: Vec::new(),
            one_record_per_batch: false,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), LogError> {
        if self.brokers.trim().is_empty() {
            return Err(LogError::InvalidConfig("brokers must not be empty".into()));
        }
        validate_topic_name(&self.topic)?;
        if self.partitions == 0 || self.partitions > i32::MAX as u32 {
            return Err(LogError::InvalidConfig(format!("partitions must be in 1..={}, got {}", i32::MAX, self.partitions)));
        }
        if self.replication_factor < 1 {
            return Err(LogError::InvalidConfig(format!("replication_factor must be >= 1, got {}", self.replication_factor)));
        }
        if self.max_record_bytes == 0 || self.max_record_bytes > MAX_RECORD_BYTES_LIMIT {
            return Err(LogError::InvalidConfig(format!("max_record_bytes must be in 1..={MAX_RECORD_BYTES_LIMIT}, got {}", self.max_record_bytes)));
        }
        for (name, d) in [("connect_timeout", self.connect_timeout), ("message_timeout", self.message_timeout), ("request_timeout", self.request_timeout)] {
            if d.is_zero() {
                return Err(LogError::InvalidConfig(format!("{name} must not be zero")));
            }
        }
        Ok(())
    }

    /// Properties common to every client of this log.
    fn base(&self, role: &str) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("client.id", format!("{}-{role}", self.client_id))
            // Never let a metadata request create a topic with the broker's default partition
            // count: the partition count is part of the log's identity.
            .set("allow.auto.create.topics", "false")
            .set("socket.timeout.ms", millis(self.request_timeout.max(Duration::from_millis(10))))
            .set("log.connection.close", "false")
            // librdkafka only notices expired messages when the broker thread wakes up, and a
            // broker that refuses connections puts it to sleep for up to the reconnect backoff
            // (default max 10 s): keep that short so `message_timeout` is the real bound.
            .set("reconnect.backoff.ms", "100")
            .set("reconnect.backoff.max.ms", "1000");
        for (k, v) in &self.extra {
            c.set(k, v);
        }
        c
    }

    /// Admin / metadata client used by `connect`.
    pub(crate) fn admin_config(&self) -> ClientConfig {
        self.base("admin")
    }

    /// Kafka's per-message limit that fits the largest record with its framing.
    pub(crate) fn max_message_bytes(&self) -> usize {
        self.max_record_bytes + MESSAGE_FRAMING_HEADROOM
    }

    /// The idempotent, acks=all producer behind `append`.
    pub(crate) fn producer_config(&self) -> ClientConfig {
        let mut c = self.base("producer");
        c.set("message.max.bytes", self.max_message_bytes().to_string())
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", millis(self.message_timeout))
            .set("linger.ms", millis(self.linger))
            // The producer also needs an answer for metadata within the message timeout.
            .set("request.timeout.ms", millis(self.message_timeout.min(self.request_timeout)));
        if self.one_record_per_batch {
            // A batch never grows past one record, so lingering would only add latency.
            c.set("batch.num.messages", "1").set("linger.ms", "0");
        }
        c
    }

    /// A reader with manual assignment. librdkafka's `assign` refuses a consumer without a
    /// `group.id` ("Local: Unknown group"), so each reader gets a unique throwaway one; it never
    /// joins the group (no `subscribe`) and never commits.
    pub(crate) fn reader_config(&self) -> ClientConfig {
        let mut c = self.base("reader");
        c.set("group.id", format!("{}-reader-{}", self.client_id, uuid::Uuid::new_v4()))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            // Reading at an offset the broker does not have is an error, never a silent jump.
            .set("auto.offset.reset", "error")
            .set("enable.partition.eof", "false")
            .set("fetch.wait.max.ms", millis(self.fetch_wait_max))
            .set("fetch.error.backoff.ms", "100");
        c
    }
}

/// A member of a Kafka consumer group (see [`crate::GroupMember`]).
#[derive(Clone, Debug)]
pub struct GroupConfig {
    /// Comma-separated `host:port` bootstrap list.
    pub brokers: String,
    /// Topic whose partitions the group splits.
    pub topic: String,
    /// The consumer group; members with the same id split the partitions.
    pub group_id: String,
    /// librdkafka `client.id`.
    pub client_id: String,
    /// librdkafka `session.timeout.ms`: how long a silent member keeps its partitions.
    pub session_timeout: Duration,
    /// Where a partition without a committed offset starts: true = offset 0, false = the end.
    pub start_from_beginning: bool,
    /// Bound on commit / committed-offset requests.
    pub request_timeout: Duration,
    /// librdkafka `fetch.wait.max.ms`.
    pub fetch_wait_max: Duration,
    /// Further librdkafka properties applied last (auto-commit cannot be re-enabled here).
    pub extra: Vec<(String, String)>,
    /// False: the member pauses every partition it is assigned, so it only takes part in the
    /// group (assignment, commits) and fetches no records — for owners that read their work
    /// elsewhere (the message dispatcher reads the outbox rows of its own replica).
    pub fetch_records: bool,
}

impl GroupConfig {
    /// Defaults: 10 s session timeout, start from the beginning, 10 s request timeout.
    pub fn new(brokers: impl Into<String>, topic: impl Into<String>, group_id: impl Into<String>) -> Self {
        GroupConfig {
            brokers: brokers.into(),
            topic: topic.into(),
            group_id: group_id.into(),
            client_id: "idp-group-member".to_string(),
            session_timeout: Duration::from_secs(10),
            start_from_beginning: true,
            request_timeout: Duration::from_secs(10),
            fetch_wait_max: Duration::from_millis(100),
            extra: Vec::new(),
            fetch_records: true,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), LogError> {
        if self.brokers.trim().is_empty() {
            return Err(LogError::InvalidConfig("brokers must not be empty".into()));
        }
        validate_topic_name(&self.topic)?;
        if self.group_id.is_empty() {
            return Err(LogError::InvalidConfig("group_id must not be empty".into()));
        }
        Ok(())
    }

    pub(crate) fn consumer_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id)
            .set("group.id", &self.group_id)
            .set("allow.auto.create.topics", "false")
            .set("session.timeout.ms", millis(self.session_timeout))
            .set("heartbeat.interval.ms", millis(self.session_timeout / 4))
            .set("auto.offset.reset", if self.start_from_beginning { "earliest" } else { "latest" })
            .set("enable.partition.eof", "false")
            .set("fetch.wait.max.ms", millis(self.fetch_wait_max));
        for (k, v) in &self.extra {
            c.set(k, v);
        }
        // Offsets are committed explicitly by the owner of the side effect, after the effect.
        c.set("enable.auto.commit", "false").set("enable.auto.offset.store", "false");
        c
    }
}

/// Kafka's legal topic names: 1..=249 chars of `[a-zA-Z0-9._-]`, not `.` or `..`.
fn validate_topic_name(topic: &str) -> Result<(), LogError> {
    let legal = !topic.is_empty()
        && topic.len() <= 249
        && topic != "."
        && topic != ".."
        && topic.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if legal {
        Ok(())
    } else {
        Err(LogError::InvalidConfig(format!("illegal Kafka topic name {topic:?}: use 1 to 249 characters of [a-zA-Z0-9._-]")))
    }
}

/// Bytes added to `max_record_bytes` for Kafka's record batch and record framing.
const MESSAGE_FRAMING_HEADROOM: usize = 64 * 1024;
/// librdkafka refuses a `message.max.bytes` above 1e9.
const MAX_RECORD_BYTES_LIMIT: usize = 512 * 1024 * 1024;

pub(crate) fn millis(d: Duration) -> String {
    d.as_millis().min(i32::MAX as u128).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarantees_survive_extra_properties() {
        let mut cfg = KafkaConfig::new("127.0.0.1:9092", "t", 4);
        cfg.extra.push(("acks".into(), "1".into()));
        cfg.extra.push(("enable.idempotence".into(), "false".into()));
        let p = cfg.producer_config();
        assert_eq!(p.get("acks"), Some("all"));
        assert_eq!(p.get("enable.idempotence"), Some("true"));
        let r = cfg.reader_config();
        assert_eq!(r.get("enable.auto.commit"), Some("false"));
        assert_eq!(r.get("enable.auto.offset.store"), Some("false"));

        let mut g = GroupConfig::new("b", "t", "g");
        g.extra.push(("enable.auto.commit".into(), "true".into()));
        assert_eq!(g.consumer_config().get("enable.auto.commit"), Some("false"));
    }

    #[test]
    fn readers_get_unique_group_ids() {
        let cfg = KafkaConfig::new("127.0.0.1:9092", "t", 4);
        assert_ne!(cfg.reader_config().get("group.id"), cfg.reader_config().get("group.id"));
    }

    #[test]
    fn validation() {
        assert!(KafkaConfig::new("b", "ok.topic_1-x", 1).validate().is_ok());
        assert!(KafkaConfig::new("", "t", 1).validate().is_err());
        assert!(KafkaConfig::new("b", "bad topic", 1).validate().is_err());
        assert!(KafkaConfig::new("b", "..", 1).validate().is_err());
        assert!(KafkaConfig::new("b", "t", 0).validate().is_err());
        let mut c = KafkaConfig::new("b", "t", 1);
        c.message_timeout = Duration::ZERO;
        assert!(c.validate().is_err());
        assert!(GroupConfig::new("b", "t", "").validate().is_err());
    }
}
