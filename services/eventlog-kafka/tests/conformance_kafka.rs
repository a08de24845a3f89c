//! The shared `idp_eventlog::conformance` suite against a Kafka-compatible broker
//! (`IDP_TEST_KAFKA`, started by `.ci/kafka.sh`), one test per check, each on fresh topics.

mod common;

use idp_eventlog::conformance::{self, CheckFailure};

#[test]
fn partition_for_key_matches_kafka() -> Result<(), CheckFailure> {
    conformance::partition_for_key_matches_kafka()
}

macro_rules! conformance_checks {
    ($($check:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $check() -> Result<(), CheckFailure> {
            let Some(brokers) = common::broker() else { return Ok(()) };
            conformance::$check(|partitions| common::fresh_log(brokers.clone(), partitions)).await
        }
    )*};
}

conformance_checks!(
    offsets_are_dense_per_partition,
    end_offset_tracks_appends,
    concurrent_appenders_preserve_order,
    records_round_trip_byte_exact,
    subscribe_from_start,
    subscribe_from_middle,
    subscribe_at_end_is_woken_by_append,
    subscription_over_several_partitions,
    poll_timeout_returns_empty,
    poll_respects_max_without_skip_or_repeat,
    invalid_partition_is_rejected,
);
