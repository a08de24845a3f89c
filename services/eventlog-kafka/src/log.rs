//! [`KafkaLog`]: the [`EventLog`] implementation over one Kafka topic.
//!
//! - `append` → idempotent producer, `acks=all`, explicit partition; resolves with the offset from
//!   the delivery report, or [`LogError::Unavailable`] after at most `message_timeout`.
//! - `end_offset` → high watermark (ListOffsets via `fetch_watermarks`); `end_offsets` → every
//!   partition's in one ListOffsets request (`offsets_for_times` at "latest").
//! - `subscribe` → a group-less consumer with manual assignment ([`crate::KafkaSubscription`]).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use idp_eventlog::{EventLog, LogError, Offset, Partition, Record, Subscription};
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use rdkafka::TopicPartitionList;

use crate::config::KafkaConfig;
use crate::convert::{kafka_offset, kafka_partition, log_error, to_kafka_headers};
use crate::subscription::KafkaSubscription;
use crate::topic::ensure_topic;

/// An [`EventLog`] backed by one Kafka topic with one Kafka partition per log partition.
pub struct KafkaLog {
    cfg: KafkaConfig,
    /// Replaced wholesale if librdkafka reports a fatal (idempotence) error, after which the old
    /// instance refuses every record.
    producer: RwLock<FutureProducer>,
    /// Per partition: 1 + the highest offset this instance got acknowledged. `end_offset` never
    /// reports less (read-your-writes even where a broker's ListOffsets lags; see the ADR).
    acked_end: Vec<AtomicU64>,
    /// Per partition: concurrent `end_offset` calls share ListOffsets requests.
    end_flights: Vec<EndFlights<i64>>,
    /// Concurrent `end_offsets` calls share whole-topic ListOffsets requests.
    all_flights: EndFlights<Vec<i64>>,
    /// A group-less consumer handle for whole-topic ListOffsets (created on first use).
    lister: std::sync::OnceLock<Arc<BaseConsumer>>,
}

/// Coalesces concurrent end-offset reads (of one partition, or of the whole topic): at most one
/// ListOffsets request is in flight, and a caller uses the answer of the first request that
/// *started after it called* (so it still covers every append acknowledged before the call).
/// Under load this turns N concurrent catch-ups into about two requests per round trip.
struct EndFlights<T> {
    /// Number of requests started so far (the generation of the latest one).
    started: AtomicU64,
    /// One request at a time; FIFO, so waiters are served in arrival order.
    turn: tokio::sync::Mutex<()>,
    /// The latest finished request: (generation, answer or error text).
    last: std::sync::Mutex<(u64, Result<T, String>)>,
}

impl<T: Clone> EndFlights<T> {
    fn new(initial: T) -> Self {
        EndFlights { started: AtomicU64::new(0), turn: tokio::sync::Mutex::new(()), last: std::sync::Mutex::new((0, Ok(initial))) }
    }

    /// The answer of a request started after this call: a running one's, or `fetch`'s.
    async fn read<F, Fut>(&self, fetch: F) -> Result<T, LogError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, LogError>>,
    {
        let wanted = self.started.load(Ordering::Acquire) + 1;
        let _turn = self.turn.lock().await;
        let shared = match self.last.lock() {
            Ok(last) if last.0 >= wanted => Some(last.1.clone()),
            _ => None,
        };
        match shared {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(LogError::Unavailable(e)),
            None => {
                let generation = self.started.fetch_add(1, Ordering::AcqRel) + 1;
                let result = fetch().await;
                if let Ok(mut last) = self.last.lock() {
                    *last = (generation, result.as_ref().map(|v| v.clone()).map_err(|e| e.to_string()));
                }
                result
            }
        }
    }
}

impl std::fmt::Debug for KafkaLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaLog").field("brokers", &self.cfg.brokers).field("topic", &self.cfg.topic).field("partitions", &self.cfg.partitions).finish()
    }
}

impl KafkaLog {
    /// Connects to the cluster and makes sure the topic exists with `cfg.partitions` partitions
    /// (creating it when `cfg.create_topic`), all within `cfg.connect_timeout`.
    ///
    /// Errors: [`LogError::Unavailable`] when the brokers cannot be reached in time,
    /// [`LogError::InvalidConfig`] for a bad configuration, a missing topic with
    /// `create_topic == false`, or a topic with another partition count.
    pub async fn connect(cfg: KafkaConfig) -> Result<Arc<KafkaLog>, LogError> {
        cfg.validate()?;
        ensure_topic(&cfg).await?;
        let producer = new_producer(&cfg)?;
        Ok(Arc::new(KafkaLog {
            acked_end: (0..cfg.partitions).map(|_| AtomicU64::new(0)).collect(),
            end_flights: (0..cfg.partitions).map(|_| EndFlights::new(0)).collect(),
            all_flights: EndFlights::new(Vec::new()),
            lister: std::sync::OnceLock::new(),
            cfg,
            producer: RwLock::new(producer),
        }))
    }

    /// The configuration this log was connected with.
    pub fn config(&self) -> &KafkaConfig {
        &self.cfg
    }

    /// Waits until every append handed to the producer so far is acknowledged or failed.
    pub async fn flush(&self) -> Result<(), LogError> {
        let producer = self.producer();
        let timeout = self.cfg.message_timeout;
        tokio::task::spawn_blocking(move || producer.flush(timeout))
            .await
            .map_err(|e| LogError::Unavailable(format!("flush task failed: {e}")))?
            .map_err(|e| log_error("flush", &self.cfg.brokers, &e))
    }

    fn producer(&self) -> FutureProducer {
        match self.producer.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// After an error that means the producer's idempotence state (producer id, epoch, sequence
    /// numbers) is no longer accepted by the cluster, start a fresh producer so later appends can
    /// succeed; the failed append still reports its error. Seen when a broker forgot the
    /// producer (tansu restarted with memory storage answers `ProducerFenced` forever) and on
    /// librdkafka fatal errors.
    fn replace_producer_if_broken(&self, failed: FutureProducer, err: &KafkaError) {
        let fatal = failed.client().fatal_error();
        let broken = fatal.is_some()
            || matches!(
                err.rdkafka_error_code(),
                Some(
                    RDKafkaErrorCode::Fatal
                        | RDKafkaErrorCode::ProducerFenced
                        | RDKafkaErrorCode::UnknownProducerId
                        | RDKafkaErrorCode::OutOfOrderSequenceNumber
                        | RDKafkaErrorCode::InvalidProducerEpoch
                        | RDKafkaErrorCode::InvalidProducerIdMapping
                )
            );
        if !broken {
            return;
        }
        let old = {
            let mut guard = match self.producer.write() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            // Another task may have replaced it already.
            if guard.client().native_ptr() != failed.client().native_ptr() {
                return;
            }
            match new_producer(&self.cfg) {
                Ok(p) => {
                    tracing::warn!(error = %err, fatal = ?fatal, "Kafka producer replaced");
                    std::mem::replace(&mut *guard, p)
                }
                Err(e) => {
                    tracing::error!(%e, "cannot replace the failed Kafka producer");
                    return;
                }
            }
        };
        // Dropping a producer purges and flushes for up to 500 ms: not on an async thread.
        tokio::task::spawn_blocking(move || drop((old, failed)));
    }

    /// One ListOffsets(latest) request for `partition`.
    /// Every partition's high watermark in one ListOffsets request ("latest" offsets).
    async fn fetch_all_high_watermarks(&self) -> Result<Vec<i64>, LogError> {
        let lister = match self.lister.get() {
            Some(c) => c.clone(),
            None => {
                let created: BaseConsumer =
                    self.cfg.reader_config().create().map_err(|e| LogError::InvalidConfig(format!("cannot create Kafka consumer: {e}")))?;
                self.lister.get_or_init(|| Arc::new(created)).clone()
            }
        };
        let mut tpl = TopicPartitionList::with_capacity(self.cfg.partitions as usize);
        for partition in 0..self.cfg.partitions {
            let p = kafka_partition(partition, self.cfg.partitions)?;
            tpl.add_partition_offset(&self.cfg.topic, p, rdkafka::Offset::End).map_err(|e| LogError::InvalidConfig(format!("partition list: {e}")))?;
        }
        let timeout = self.cfg.request_timeout;
        let answer = tokio::task::spawn_blocking(move || lister.offsets_for_times(tpl, timeout))
            .await
            .map_err(|e| LogError::Unavailable(format!("end offsets task failed: {e}")))?
            .map_err(|e| log_error("reading the end offsets", &self.cfg.brokers, &e))?;
        let mut out = vec![0i64; self.cfg.partitions as usize];
        for element in answer.elements() {
            if let Some(e) = element.error().err() {
                return Err(log_error("reading the end offsets", &self.cfg.brokers, &e));
            }
            let slot = usize::try_from(element.partition()).ok().and_then(|i| out.get_mut(i));
            match (slot, element.offset()) {
                (Some(slot), rdkafka::Offset::Offset(o)) => *slot = o,
                (_, other) => return Err(LogError::Unavailable(format!("Kafka answered {other:?} for the end of partition {}", element.partition()))),
            }
        }
        Ok(out)
    }

    /// `max(high watermark, 1 + the highest offset this instance got acknowledged)`.
    fn end_from(&self, partition: Partition, high: i64) -> Result<Offset, LogError> {
        let high =
            Offset::try_from(high).map_err(|_| LogError::Unavailable(format!("Kafka returned an invalid high watermark {high} for partition {partition}")))?;
        // On Kafka the high watermark already covers every acks=all acknowledgement; tansu
        // reports (base offset of the last batch + 1), which is too low after a batch of
        // several records.
        let acked = self.acked_end.get(partition as usize).map_or(0, |a| a.load(Ordering::Acquire));
        Ok(high.max(acked))
    }

    async fn fetch_high_watermark(&self, partition: Partition, p: i32) -> Result<i64, LogError> {
        let producer = self.producer();
        let topic = self.cfg.topic.clone();
        let timeout = self.cfg.request_timeout;
        let (_low, high) = tokio::task::spawn_blocking(move || producer.client().fetch_watermarks(&topic, p, timeout))
            .await
            .map_err(|e| LogError::Unavailable(format!("watermark task failed: {e}")))?
            .map_err(|e| log_error(&format!("reading the end offset of partition {partition}"), &self.cfg.brokers, &e))?;
        Ok(high)
    }

    fn map_append_error(&self, err: &KafkaError, size: usize) -> LogError {
        match err.rdkafka_error_code() {
            // The broker's limit for the topic is below ours (topic created elsewhere).
            Some(RDKafkaErrorCode::MessageSizeTooLarge) => LogError::RecordTooLarge { size, max: self.cfg.max_record_bytes },
            _ => log_error(&format!("append to {}", self.cfg.topic), &self.cfg.brokers, err),
        }
    }
}

fn new_producer(cfg: &KafkaConfig) -> Result<FutureProducer, LogError> {
    cfg.producer_config().create().map_err(|e| LogError::InvalidConfig(format!("cannot create Kafka producer: {e}")))
}

#[async_trait]
impl EventLog for KafkaLog {
    fn partition_count(&self) -> u32 {
        self.cfg.partitions
    }

    async fn append(&self, partition: Partition, record: Record) -> Result<Offset, LogError> {
        let p = kafka_partition(partition, self.cfg.partitions)?;
        let size = record.key.len() + record.value.len() + record.headers.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        if size > self.cfg.max_record_bytes {
            return Err(LogError::RecordTooLarge { size, max: self.cfg.max_record_bytes });
        }
        let producer = self.producer();
        let kafka_record = FutureRecord::to(&self.cfg.topic)
            .partition(p)
            .key(record.key.as_slice())
            .payload(record.value.as_slice())
            .headers(to_kafka_headers(&record.headers));
        // The queue timeout only matters when librdkafka's local queue is full; the delivery
        // itself is bounded by message.timeout.ms.
        let queue_timeout = Timeout::After(self.cfg.message_timeout);
        match producer.send(kafka_record, queue_timeout).await {
            Ok(delivery) => {
                let offset = Offset::try_from(delivery.offset)
                    .map_err(|_| LogError::Unavailable(format!("Kafka acknowledged the append without an offset ({})", delivery.offset)))?;
                if let Some(end) = self.acked_end.get(partition as usize) {
                    end.fetch_max(offset + 1, Ordering::AcqRel);
                }
                Ok(offset)
            }
            Err((err, _message)) => {
                let mapped = self.map_append_error(&err, size);
                self.replace_producer_if_broken(producer, &err);
                Err(mapped)
            }
        }
    }

    async fn end_offset(&self, partition: Partition) -> Result<Offset, LogError> {
        let p = kafka_partition(partition, self.cfg.partitions)?;
        let flights = self.end_flights.get(partition as usize).ok_or(LogError::InvalidPartition(partition))?;
        let high = flights.read(|| self.fetch_high_watermark(partition, p)).await?;
        self.end_from(partition, high)
    }

    async fn end_offsets(&self) -> Result<Vec<Offset>, LogError> {
        let highs = self.all_flights.read(|| self.fetch_all_high_watermarks()).await?;
        (0..self.cfg.partitions).zip(highs).map(|(partition, high)| self.end_from(partition, high)).collect()
    }

    async fn subscribe(&self, start: &[(Partition, Offset)]) -> Result<Box<dyn Subscription>, LogError> {
        let mut seen = HashSet::new();
        let mut tpl = TopicPartitionList::with_capacity(start.len());
        for &(partition, offset) in start {
            let p = kafka_partition(partition, self.cfg.partitions)?;
            if !seen.insert(partition) {
                return Err(LogError::InvalidArgument(format!("partition {partition} appears twice in the subscription")));
            }
            let end = self.end_offset(partition).await?;
            if offset > end {
                return Err(LogError::OffsetOutOfRange { partition, offset, end });
            }
            tpl.add_partition_offset(&self.cfg.topic, p, rdkafka::Offset::Offset(kafka_offset(partition, offset)?))
                .map_err(|e| LogError::InvalidArgument(format!("bad start position: {e}")))?;
        }
        let consumer: StreamConsumer = self.cfg.reader_config().create().map_err(|e| LogError::InvalidConfig(format!("cannot create Kafka consumer: {e}")))?;
        consumer.assign(&tpl).map_err(|e| log_error("assigning partitions", &self.cfg.brokers, &e))?;
        Ok(Box::new(KafkaSubscription::new(consumer, start)))
    }
}
