//! Invariant 1 for the bulk rebuild path: replaying a varied log with `rebuild` leaves exactly
//! the bytes the live projector leaves (same fingerprint), whatever the load size, the poll
//! batch or the arbiters' cache size (small caches force evictions and store reads mid-replay).
//!
//! The log mixes every kind of verdict: pools, clients, sign-ups with codes (outbox rows),
//! confirmations, attribute updates, password changes, revocations, deletes and sign-ups again
//! after a delete, sign-ups of a taken name (conflicts), retried request ids (duplicates),
//! undecodable records and unknown aggregate keys.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use idp_domain::pb::{
    event::Kind, Attribute, AttributesUpdated, ClientCreated, CodeIssued, Envelope, Event, PasswordChanged, PasswordRecord, PoolCreated, RefreshTokenRevoked,
    UserConfirmed, UserDeleted, UserSignedUp,
};
use idp_eventlog::{EmbeddedLog, EmbeddedOptions, EventLog, Record};
use idp_projector::rebuild::{rebuild_with, RebuildOptions};
use idp_projector::{Projector, Verdicts};
use idp_store::{MemoryStore, ProjectionStore, RedbStore};
use prost::Message;

const POOL: &str = "us-east-1_Equiv";
const PARTITIONS: u32 = 3;

struct LogWriter {
    log: Arc<dyn EventLog>,
    versions: HashMap<String, u64>,
    n: u64,
}

impl LogWriter {
    async fn raw(&mut self, key: &str, value: Vec<u8>) {
        let p = idp_eventlog::partition_for_key(key.as_bytes(), PARTITIONS);
        self.log.append(p, Record::new(key.as_bytes().to_vec(), value)).await.expect("append");
    }

    /// Appends an envelope at `expected` version (None: the version the aggregate is at).
    /// `accepted` says whether the test expects it to be, to keep its version model right.
    async fn env(&mut self, aggregate: &str, request_id: &str, expected: Option<u64>, kinds: Vec<Kind>, accepted: bool) {
        self.n += 1;
        let current = self.versions.get(aggregate).copied().unwrap_or(0);
        let deletes = kinds.iter().any(|k| matches!(k, Kind::UserDeleted(_)));
        let env = Envelope {
            event_id: format!("ev-{:06}", self.n),
            request_id: request_id.to_string(),
            recorded_at_ms: 1_790_000_000_000 + self.n as i64,
            aggregate: aggregate.to_string(),
            expected_version: expected.unwrap_or(current),
            events: kinds.into_iter().map(|k| Event { kind: Some(k) }).collect(),
        };
        self.raw(aggregate, env.encode_to_vec()).await;
        if accepted {
            self.versions.insert(aggregate.to_string(), if deletes { 0 } else { current + 1 });
        }
    }
}

fn password(tag: &str) -> PasswordRecord {
    PasswordRecord {
        argon2_phc: format!("$argon2id$v=19$m=8,t=1,p=1$c2FsdA${tag}"),
        srp_salt_hex: "ab".repeat(16),
        srp_verifier_hex: format!("{tag:0>64}"),
        set_at_ms: 1_790_000_000_000,
        // Records written before the bytes fields (hex only) replay as they were.
        ..Default::default()
    }
}

fn sign_up(i: u32, round: u32) -> Vec<Kind> {
    let name = format!("user{i:03}");
    vec![
        Kind::UserSignedUp(UserSignedUp {
            sub: format!("sub-{i:03}-{round}"),
            username: name.clone(),
            attributes: vec![Attribute { name: "email".into(), value: format!("{name}@example.com") }],
            password: Some(password(&format!("p{i}r{round}"))),
            client_id: "client1".into(),
            created_at_ms: 1_790_000_000_000,
            pool_id: POOL.into(),
            ..Default::default()
        }),
        Kind::CodeIssued(CodeIssued {
            purpose: "SIGN_UP".into(),
            attribute: "email".into(),
            channel: "EMAIL".into(),
            destination: format!("{name}@example.com"),
            salt: vec![1; 16].into(),
            hash: vec![2; 32].into(),
            sealed: vec![3; 20].into(),
            expires_at_ms: 1_790_086_400_000,
            client_id: "client1".into(),
            ..Default::default()
        }),
    ]
}

async fn varied_log(dir: &std::path::Path) -> Arc<dyn EventLog> {
    let options = EmbeddedOptions { fsync: false, ..EmbeddedOptions::default() };
    let log: Arc<dyn EventLog> = EmbeddedLog::open(dir, PARTITIONS, options).expect("open log");
    let mut w = LogWriter { log: log.clone(), versions: HashMap::new(), n: 0 };
    let pool = format!("pool/{POOL}");
    let created = PoolCreated { pool_id: POOL.into(), created_at_ms: 1, ..Default::default() };
    w.env(&pool, "create-pool", None, vec![Kind::PoolCreated(created.clone())], true).await;
    // A retried creation (same request id): a duplicate.
    w.env(&pool, "create-pool", Some(0), vec![Kind::PoolCreated(created)], false).await;
    let client = ClientCreated { client_id: "client1".into(), pool_id: POOL.into(), created_at_ms: 2, ..Default::default() };
    w.env("client/client1", "", None, vec![Kind::ClientCreated(client)], true).await;
    w.raw("junk", b"\xff\xff not an envelope".to_vec()).await;
    w.env("nonsense/key", "", None, vec![], false).await;

    for i in 0..120u32 {
        let user = format!("user/{POOL}/user{i:03}");
        let retried = format!("signup-{i}");
        w.env(&user, &retried, None, sign_up(i, 0), true).await;
        if i % 8 == 0 {
            // The front retried the same request: the arbiter answers Duplicate.
            w.env(&user, &retried, Some(0), sign_up(i, 0), false).await;
        }
        if i % 6 == 0 {
            // Someone else signed up the same name: the aggregate moved on, Conflict.
            w.env(&user, "", Some(0), sign_up(i, 9), false).await;
        }
    }
    for i in 0..120u32 {
        let user = format!("user/{POOL}/user{i:03}");
        if i % 3 == 0 {
            w.env(
                &user,
                &format!("confirm-{i}"),
                None,
                vec![Kind::UserConfirmed(UserConfirmed { verified_attributes: vec!["email".into()], ..Default::default() })],
                true,
            )
            .await;
        }
        if i % 4 == 0 {
            let update = AttributesUpdated { set: vec![Attribute { name: "name".into(), value: format!("User {i}") }], deleted: vec![], unverified: vec![] };
            w.env(&user, "", None, vec![Kind::AttributesUpdated(update)], true).await;
        }
        if i % 5 == 0 {
            let changed = PasswordChanged { password: Some(password(&format!("changed{i}"))), reason: "CHANGE".into(), ..Default::default() };
            w.env(&user, &format!("pw-{i}"), None, vec![Kind::PasswordChanged(changed.clone())], true).await;
            w.env(&user, &format!("pw-{i}"), None, vec![Kind::PasswordChanged(changed)], false).await;
        }
        if i % 9 == 0 {
            let revoked = RefreshTokenRevoked { origin_jti: format!("jti-{i}"), expires_at_ms: 1_800_000_000_000 };
            w.env(&user, "", None, vec![Kind::RefreshTokenRevoked(revoked)], true).await;
        }
        if i % 7 == 0 {
            w.env(&user, &format!("delete-{i}"), None, vec![Kind::UserDeleted(UserDeleted {})], true).await;
            if i % 14 == 0 {
                // The name is free again: a new user (new sub) under the same key.
                w.env(&user, "", Some(0), sign_up(i, 1), true).await;
            }
        }
        if i % 10 == 1 {
            // A stale front: decided on version 0 after the user existed.
            w.env(&user, "", Some(0), vec![Kind::UserConfirmed(UserConfirmed::default())], false).await;
        }
    }
    log
}

async fn live_fingerprint(log: Arc<dyn EventLog>, store: Arc<dyn ProjectionStore>) -> [u8; 32] {
    let verdicts = Arc::new(Verdicts::new(log.partition_count()));
    let tasks = Projector::new(log.clone(), store.clone(), verdicts.clone()).spawn();
    for p in 0..log.partition_count() {
        let end = log.end_offset(p).await.expect("end offset");
        verdicts.wait_applied(p, end, Duration::from_secs(60)).await.expect("live projector caught up");
    }
    for t in tasks {
        t.abort();
    }
    store.fingerprint().await.expect("fingerprint")
}

async fn rebuilt_fingerprint(log: Arc<dyn EventLog>, store: Arc<dyn ProjectionStore>, options: RebuildOptions) -> [u8; 32] {
    let done = rebuild_with(log, store.clone(), options, |_| {}).await.expect("rebuild");
    assert!(done.accepted > 100 && done.accepted < done.records_total, "the log should mix verdicts: {done:?}");
    store.fingerprint().await.expect("fingerprint")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_leaves_the_bytes_the_live_projector_leaves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = varied_log(&dir.path().join("log")).await;
    let live_store: Arc<dyn ProjectionStore> = RedbStore::open_lazy(&dir.path().join("live.redb"), Duration::from_millis(250)).expect("open store");
    let live = live_fingerprint(log.clone(), live_store.clone()).await;

    let small = RebuildOptions { memory_budget: 1, batch: 7, state_cache: Some(5) };
    let cases: Vec<(&str, Arc<dyn ProjectionStore>, RebuildOptions)> = vec![
        ("same redb file, defaults", live_store.clone(), RebuildOptions::default()),
        ("fresh in-memory redb, defaults", RedbStore::in_memory().expect("redb"), RebuildOptions::default()),
        ("redb, a load per batch, tiny batches and caches", RedbStore::in_memory().expect("redb"), small),
        ("memory store, tiny batches and caches", MemoryStore::new(), small),
        // Every state comes back to a later batch from the bytes the cache keeps of it.
        ("memory store, tiny batches, whole cache", MemoryStore::new(), RebuildOptions { state_cache: None, ..small }),
        ("redb, one big load, tiny cache", RedbStore::in_memory().expect("redb"), RebuildOptions { state_cache: Some(3), ..RebuildOptions::default() }),
    ];
    for (what, store, options) in cases {
        let rebuilt = rebuilt_fingerprint(log.clone(), store.clone(), options).await;
        assert_eq!(rebuilt, live, "{what}: rebuild and live projector disagree");
        for p in 0..PARTITIONS {
            let end = log.end_offset(p).await.expect("end offset");
            assert_eq!(store.offset(p).await.expect("offset"), Some(end), "{what}: offset of partition {p}");
        }
    }
}
