//! Conversions between the log's vocabulary and rdkafka's: records ⇄ messages, rdkafka errors
//! → [`LogError`], partition/offset range checks.

use idp_eventlog::{LogError, Offset, Partition, Record, StoredRecord};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::Message;

/// Record headers in Kafka form (order and repeated names preserved; values never null).
pub(crate) fn to_kafka_headers(headers: &[(String, Vec<u8>)]) -> OwnedHeaders {
    headers.iter().fold(OwnedHeaders::new_with_capacity(headers.len()), |acc, (k, v)| acc.insert(Header { key: k.as_str(), value: Some(v.as_slice()) }))
}

/// A consumed message as a [`StoredRecord`]. A null key, value or header value (written by a
/// foreign producer) reads back as empty bytes.
pub(crate) fn to_stored<M: Message>(msg: &M) -> Result<StoredRecord, LogError> {
    let partition = Partition::try_from(msg.partition())
        .map_err(|_| LogError::Unavailable(format!("broker returned a message with invalid partition {}", msg.partition())))?;
    let offset =
        Offset::try_from(msg.offset()).map_err(|_| LogError::Unavailable(format!("broker returned a message with invalid offset {}", msg.offset())))?;
    let headers = match msg.headers() {
        Some(h) => h.iter().map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec).unwrap_or_default())).collect(),
        None => Vec::new(),
    };
    Ok(StoredRecord {
        partition,
        offset,
        record: Record { key: msg.key().map(<[u8]>::to_vec).unwrap_or_default(), headers, value: msg.payload().map(<[u8]>::to_vec).unwrap_or_default() },
    })
}

/// Checks `partition < count` and converts it to Kafka's `i32`.
pub(crate) fn kafka_partition(partition: Partition, count: u32) -> Result<i32, LogError> {
    if partition >= count {
        return Err(LogError::InvalidPartition(partition));
    }
    i32::try_from(partition).map_err(|_| LogError::InvalidPartition(partition))
}

/// Converts a log offset to Kafka's `i64`.
pub(crate) fn kafka_offset(partition: Partition, offset: Offset) -> Result<i64, LogError> {
    i64::try_from(offset).map_err(|_| LogError::OffsetOutOfRange { partition, offset, end: i64::MAX as u64 })
}

/// Maps an rdkafka error to a [`LogError`]; `what` says which operation failed. Everything that a
/// retry against a healthy broker can cure is [`LogError::Unavailable`].
pub(crate) fn log_error(what: &str, brokers: &str, err: &KafkaError) -> LogError {
    match err.rdkafka_error_code() {
        Some(RDKafkaErrorCode::MessageSizeTooLarge) => LogError::InvalidArgument(format!("{what}: the broker rejected the record as too large ({err})")),
        Some(RDKafkaErrorCode::MessageTimedOut) => LogError::Unavailable(format!(
            "{what}: not acknowledged by the in-sync replicas before message_timeout \
             (brokers {brokers} unreachable or without a leader for the partition): {err}"
        )),
        Some(RDKafkaErrorCode::AllBrokersDown | RDKafkaErrorCode::BrokerTransportFailure) => {
            LogError::Unavailable(format!("{what}: cannot reach Kafka brokers {brokers}: {err}"))
        }
        Some(RDKafkaErrorCode::OperationTimedOut | RDKafkaErrorCode::RequestTimedOut) => {
            LogError::Unavailable(format!("{what}: no answer from Kafka brokers {brokers} in time: {err}"))
        }
        _ => LogError::Unavailable(format!("{what} failed (brokers {brokers}): {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::message::OwnedMessage;
    use rdkafka::Timestamp;

    #[test]
    fn message_round_trip_keeps_header_order_and_duplicates() {
        let headers = vec![("type".to_string(), b"UserCreated".to_vec()), ("traceparent".to_string(), b"00-abc".to_vec()), ("type".to_string(), Vec::new())];
        let msg =
            OwnedMessage::new(Some(b"value".to_vec()), Some(b"key".to_vec()), "t".into(), Timestamp::NotAvailable, 3, 42, Some(to_kafka_headers(&headers)));
        let stored = to_stored(&msg).unwrap();
        assert_eq!(stored.partition, 3);
        assert_eq!(stored.offset, 42);
        assert_eq!(stored.record.key, b"key");
        assert_eq!(stored.record.value, b"value");
        assert_eq!(stored.record.headers, headers);
    }

    #[test]
    fn nulls_read_back_as_empty() {
        let msg = OwnedMessage::new(None, None, "t".into(), Timestamp::NotAvailable, 0, 0, None);
        let stored = to_stored(&msg).unwrap();
        assert_eq!(stored.record, Record::default());
    }

    #[test]
    fn partition_range() {
        assert_eq!(kafka_partition(3, 4).unwrap(), 3);
        assert!(matches!(kafka_partition(4, 4), Err(LogError::InvalidPartition(4))));
        assert!(kafka_offset(0, u64::MAX).is_err());
    }

    #[test]
    fn timeouts_are_unavailable() {
        let e = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        let mapped = log_error("append", "127.0.0.1:1", &e);
        assert!(matches!(mapped, LogError::Unavailable(ref m) if m.contains("127.0.0.1:1")));
    }
}
