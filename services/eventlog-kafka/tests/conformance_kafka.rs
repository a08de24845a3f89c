//! The shared `idp_eventlog::conformance` suite against a Kafka-compatible broker
//! (`IDP_TEST_KAFKA`, started by `.ci/kafka.sh`), one test per check, each on fresh topics.
//! `every_conformance_check_runs_here` fails when the suite gains a check this list lacks.

mod common;

use std::path::Path;

use idp_eventlog::conformance::{self, CheckFailure};

#[test]
fn partition_for_key_matches_kafka() -> Result<(), CheckFailure> {
    conformance::partition_for_key_matches_kafka()
}

macro_rules! conformance_checks {
    ($($check:ident),* $(,)?) => {
        /// Every check this file runs.
        const COVERED: &[&str] = &["partition_for_key_matches_kafka", $(stringify!($check)),*];
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() -> Result<(), CheckFailure> {
                let Some(brokers) = common::broker() else { return Ok(()) };
                conformance::$check(|partitions| common::fresh_log(brokers.clone(), partitions))
                    .await
            }
        )*
    };
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

/// Names of the public functions returning `CheckResult` in the suite's sources.
fn checks_in(dir: &Path, found: &mut Vec<String>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read the conformance sources in {dir:?}: {e}"));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            checks_in(&path, found);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read source");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(rest) = line.strip_prefix("pub async fn ").or_else(|| line.strip_prefix("pub fn ")) else {
                continue;
            };
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            // The signature ends at the line holding `{`.
            let signature: String = lines[i..].iter().take_while(|l| !l.contains('{')).chain(lines[i..].iter().find(|l| l.contains('{'))).copied().collect();
            if signature.contains("-> CheckResult") {
                found.push(name);
            }
        }
    }
}

#[test]
fn every_conformance_check_runs_here() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../eventlog/src/conformance");
    let mut suite = Vec::new();
    checks_in(&dir, &mut suite);
    assert!(suite.len() >= COVERED.len(), "found only {suite:?} in {dir:?}: has the suite moved?");
    let missing: Vec<&String> = suite.iter().filter(|name| !COVERED.contains(&name.as_str())).collect();
    assert!(missing.is_empty(), "conformance checks not run against Kafka: {missing:?}; add them to conformance_checks!");
}
