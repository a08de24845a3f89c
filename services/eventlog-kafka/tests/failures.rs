//! Failure behaviour of the Kafka log: dead brokers, a broker killed and restarted under a live
//! log, topics of the wrong shape, oversized records.

mod common;

use std::time::{Duration, Instant};

use idp_eventlog::{EventLog, LogError, Record};
use idp_eventlog_kafka::KafkaLog;

use common::{config, free_port, unique_topic, TestBroker};

/// Runs with or without a broker: nothing listens on the port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_to_dead_broker_is_unavailable_within_timeout() {
    let brokers = format!("127.0.0.1:{}", free_port());
    let mut cfg = config(&brokers, "never-created", 2);
    cfg.connect_timeout = Duration::from_secs(2);
    let started = Instant::now();
    let result = KafkaLog::connect(cfg).await;
    let took = started.elapsed();
    match result {
        Err(LogError::Unavailable(msg)) => {
            assert!(msg.contains(&brokers), "message should name the brokers: {msg}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(took < Duration::from_secs(5), "connect with a 2 s timeout took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_with_other_partition_count_is_refused() {
    let Some(brokers) = common::broker() else {
        return;
    };
    let topic = unique_topic("shape");
    let log = KafkaLog::connect(config(&brokers, &topic, 3)).await.expect("create topic");
    assert_eq!(log.partition_count(), 3);
    // Same shape again: fine, nothing is created.
    KafkaLog::connect(config(&brokers, &topic, 3)).await.expect("reconnect to an existing topic");

    match KafkaLog::connect(config(&brokers, &topic, 5)).await {
        Err(LogError::InvalidConfig(msg)) => {
            assert!(msg.contains("has 3 partitions") && msg.contains('5'), "{msg}");
        }
        other => panic!("expected InvalidConfig for 5 vs 3 partitions, got {other:?}"),
    }

    let mut missing = config(&brokers, &unique_topic("missing"), 2);
    missing.create_topic = false;
    match KafkaLog::connect(missing).await {
        Err(LogError::InvalidConfig(msg)) => assert!(msg.contains("does not exist"), "{msg}"),
        other => panic!("expected InvalidConfig for a missing topic, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_record_is_refused() {
    let Some(brokers) = common::broker() else {
        return;
    };
    let mut cfg = config(&brokers, &unique_topic("size"), 1);
    cfg.max_record_bytes = 1024;
    let log = KafkaLog::connect(cfg).await.expect("connect");
    let r = log.append(0, Record::new(b"k".to_vec(), vec![7u8; 2048])).await;
    assert!(matches!(r, Err(LogError::RecordTooLarge { size: 2049, max: 1024 })), "got {r:?}");
    // At the limit it goes through.
    let r = log.append(0, Record::new(b"k".to_vec(), vec![7u8; 1023])).await;
    assert_eq!(r.expect("append at the limit"), 0);
    assert_eq!(log.end_offset(0).await.expect("end offset"), 1);
}

/// A broker of the test's own is killed under a live log: appends, end offsets and polls fail
/// with `Unavailable` within their timeouts (no hang); after a restart the same `KafkaLog`
/// appends again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_killed_and_restarted_under_a_live_log() {
    let Some(bin) = common::tansu_bin() else {
        return;
    };
    let mut broker = TestBroker::start(&bin, free_port());
    let brokers = broker.address();
    let topic = unique_topic("restart");
    let mut cfg = config(&brokers, &topic, 2);
    cfg.message_timeout = Duration::from_secs(3);
    cfg.request_timeout = Duration::from_secs(2);
    cfg.connect_timeout = Duration::from_secs(10);
    let log = KafkaLog::connect(cfg.clone()).await.expect("connect");
    assert_eq!(log.append(1, Record::new("k", "before")).await.expect("append"), 0);
    let mut sub = log.subscribe(&[(1, 0)]).await.expect("subscribe");
    let got = sub.poll(10, Duration::from_secs(10)).await.expect("poll");
    assert_eq!(got.len(), 1);

    broker.kill();

    let started = Instant::now();
    let r = log.append(1, Record::new("k", "while down")).await;
    let took = started.elapsed();
    eprintln!("append with broker down failed after {took:?}: {r:?}");
    match &r {
        Err(LogError::Unavailable(msg)) => assert!(msg.contains(&brokers), "{msg}"),
        other => panic!("append with the broker down: expected Unavailable, got {other:?}"),
    }
    assert!(took <= Duration::from_secs(8), "append with a 3 s message timeout failed only after {took:?}");

    let started = Instant::now();
    let r = log.end_offset(1).await;
    assert!(matches!(r, Err(LogError::Unavailable(_))), "end_offset: {r:?}");
    assert!(started.elapsed() <= Duration::from_secs(6), "end_offset took {:?}", started.elapsed());

    // A reader neither hangs nor invents records.
    let started = Instant::now();
    let r = sub.poll(10, Duration::from_secs(1)).await;
    assert!(matches!(&r, Ok(v) if v.is_empty()) || matches!(&r, Err(LogError::Unavailable(_))), "poll with the broker down: {r:?}");
    assert!(started.elapsed() <= Duration::from_secs(3), "poll took {:?}", started.elapsed());

    // Close the reader first: librdkafka 2.12.1 dereferences a NULL topic name (SIGSEGV in
    // rd_kafka_metadata_update_op) when a fetch response carries KIP-951 leader hints without a
    // topic id, which is what tansu answers a reader whose topic vanished with the restart.
    drop(sub);

    // Restart. The test broker keeps everything in memory, so the topic is gone: connecting
    // again recreates it (and proves that records do not survive a restart of this broker).
    broker.restart();
    let again = KafkaLog::connect(cfg).await.expect("reconnect after restart");
    assert_eq!(again.end_offset(1).await.expect("end offset"), 0, "memory storage lost the topic");

    // The original log recovers by itself: its next appends succeed.
    let deadline = Instant::now() + Duration::from_secs(30);
    let offset = loop {
        match log.append(1, Record::new("k", "after")).await {
            Ok(o) => break o,
            Err(e) => {
                assert!(Instant::now() < deadline, "no recovery within 30 s: {e}");
                eprintln!("append after restart not yet possible: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    let mut fresh = log.subscribe(&[(1, offset)]).await.expect("subscribe after restart");
    let got = fresh.poll(10, Duration::from_secs(10)).await.expect("poll after restart");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].record.value, b"after");
}

/// The topic is created to keep every record: no time or size retention, no compaction, and a
/// message size limit that fits `max_record_bytes`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_topic_keeps_records_forever() {
    use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
    use rdkafka::client::DefaultClientContext;

    let Some(brokers) = common::broker() else {
        return;
    };
    let topic = unique_topic("retention");
    let cfg = config(&brokers, &topic, 1);
    let max_record_bytes = cfg.max_record_bytes;
    KafkaLog::connect(cfg).await.expect("connect");

    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new().set("bootstrap.servers", &brokers).create().expect("admin client");
    let opts = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    let results = admin.describe_configs([&ResourceSpecifier::Topic(&topic)], &opts).await.expect("describe configs");
    let resource = results.into_iter().next().expect("one result").expect("topic config");
    let entries = resource.entry_map();
    let value = |name: &str| entries.get(name).and_then(|e| e.value.clone());
    assert_eq!(value("retention.ms").as_deref(), Some("-1"));
    assert_eq!(value("retention.bytes").as_deref(), Some("-1"));
    assert_eq!(value("cleanup.policy").as_deref(), Some("delete"));
    let max: usize = value("max.message.bytes").expect("max.message.bytes set").parse().expect("a number");
    assert!(max > max_record_bytes, "max.message.bytes {max} <= {max_record_bytes}");
}
