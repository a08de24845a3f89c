//! `GroupMember` against the broker: two members split the partitions, commits are manual and
//! survive a hand-over. Slow on tansu (each group join takes ~20 s there).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use idp_eventlog::{EventLog, LogError, Offset, Partition, Record};
use idp_eventlog_kafka::{GroupConfig, GroupMember, KafkaLog};

const PARTITIONS: u32 = 4;
const JOIN_LIMIT: Duration = Duration::from_secs(120);

type Seen = BTreeMap<Partition, Vec<Offset>>;

fn group_config(brokers: &str, topic: &str, group: &str, name: &str) -> GroupConfig {
    let mut cfg = GroupConfig::new(brokers, topic, group);
    cfg.client_id = name.to_string();
    cfg.session_timeout = Duration::from_secs(10);
    cfg
}

/// Polls `members` (recording what each receives) until `done` holds or `limit` passes.
async fn poll_until(members: &[&GroupMember], seen: &mut [Seen], limit: Duration, what: &str, done: impl Fn(&[&GroupMember], &[Seen]) -> bool) {
    let deadline = Instant::now() + limit;
    while !done(members, seen) {
        assert!(
            Instant::now() < deadline,
            "{what}: not reached within {limit:?}; assignments {:?}, seen {seen:?}",
            members.iter().map(|m| m.assignment()).collect::<Vec<_>>()
        );
        for (member, seen) in members.iter().zip(seen.iter_mut()) {
            let batch = member.poll(100, Duration::from_millis(100)).await.expect("poll");
            for r in batch {
                seen.entry(r.partition).or_default().push(r.offset);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_split_partitions_and_hand_over_committed_positions() {
    let Some(brokers) = common::broker() else {
        return;
    };
    let topic = common::unique_topic("group");
    let group = common::unique_topic("effects");
    let log = KafkaLog::connect(common::config(&brokers, &topic, PARTITIONS)).await.expect("connect");
    for p in 0..PARTITIONS {
        log.append(p, Record::new(format!("k{p}"), "first")).await.expect("append");
    }

    // A alone gets every partition and reads offset 0 of each.
    let a = GroupMember::join(group_config(&brokers, &topic, &group, "member-a")).expect("join a");
    let mut a_changes = a.assignment_changes();
    let mut seen = vec![Seen::new()];
    poll_until(&[&a], &mut seen, JOIN_LIMIT, "A owns and read all", |m, s| m[0].assignment().len() == PARTITIONS as usize && s[0].len() == PARTITIONS as usize)
        .await;
    assert!(a_changes.has_changed().expect("sender alive"), "A was not notified");
    a_changes.mark_unchanged();
    for p in 0..PARTITIONS {
        assert_eq!(seen[0][&p], vec![0], "A on partition {p}");
    }

    // B joins: the partitions are split, disjoint and complete, both members get some.
    let b = GroupMember::join(group_config(&brokers, &topic, &group, "member-b")).expect("join b");
    let mut seen = vec![Seen::new(), Seen::new()];
    poll_until(&[&a, &b], &mut seen, JOIN_LIMIT, "A and B split", |m, _| {
        let (pa, pb) = (m[0].assignment(), m[1].assignment());
        let all: BTreeSet<Partition> = pa.iter().chain(&pb).copied().collect();
        !pa.is_empty() && !pb.is_empty() && pa.len() + pb.len() == PARTITIONS as usize && all.len() == PARTITIONS as usize
    })
    .await;
    assert!(a_changes.has_changed().expect("sender alive"), "A not told about the split");
    let (a_parts, b_parts) = (a.assignment(), b.assignment());
    eprintln!("split: A {a_parts:?}, B {b_parts:?}");

    // A handled offset 0 of its partitions: it commits 1 (the next offset to handle).
    for &p in &a_parts {
        a.commit(p, 1).await.expect("commit");
        assert_eq!(a.committed(p).await.expect("committed"), Some(1));
    }
    // Committing a partition it does not own is refused locally.
    let r = a.commit(b_parts[0], 1).await;
    assert!(matches!(r, Err(LogError::InvalidArgument(_))), "{r:?}");

    // A leaves; B takes over A's partitions starting at A's committed offset 1, so it sees the
    // new records (offset 1) but not offset 0 again.
    a.leave().await;
    for p in 0..PARTITIONS {
        log.append(p, Record::new(format!("k{p}"), "second")).await.expect("append");
    }
    let mut seen_b = vec![seen.swap_remove(1)];
    poll_until(&[&b], &mut seen_b, JOIN_LIMIT, "B owns all and read the new records", |m, s| {
        m[0].assignment().len() == PARTITIONS as usize && (0..PARTITIONS).all(|p| s[0].get(&p).is_some_and(|o| o.contains(&1)))
    })
    .await;
    for &p in &a_parts {
        assert_eq!(seen_b[0][&p], vec![1], "B re-read partition {p} from before A's committed offset");
    }
    b.leave().await;
}
