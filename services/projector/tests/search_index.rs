//! The ListUsers search index follows every kind of user change, and a rebuild reproduces it
//! (and every other row) byte for byte.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use idp_domain::keys::AggregateKey;
use idp_domain::pb::{event::Kind, *};
use idp_domain::AggregateState;
use idp_eventlog::{partition_for_key, EmbeddedLog, EmbeddedOptions, EventLog, Record};
use idp_projector::{rebuild::rebuild, rows, search, Arbiter, Verdict};
use idp_store::{Entry, MemoryStore, ProjectionStore, Table, Write};
use prost::Message;

const POOL: &str = "eu-west-1_Search";
const PARTITIONS: u32 = 4;

fn attr(name: &str, value: &str) -> Attribute {
    Attribute { name: name.into(), value: value.into() }
}

fn signed_up(username: &str, sub: &str, attrs: &[(&str, &str)]) -> Kind {
    Kind::UserSignedUp(UserSignedUp {
        sub: sub.into(),
        username: username.into(),
        attributes: attrs.iter().map(|(n, v)| attr(n, v)).collect(),
        pool_id: POOL.into(),
        created_at_ms: 1_700_000_000_000,
        ..Default::default()
    })
}

fn updated(set: &[(&str, &str)], deleted: &[&str]) -> Kind {
    Kind::AttributesUpdated(AttributesUpdated {
        set: set.iter().map(|(n, v)| attr(n, v)).collect(),
        deleted: deleted.iter().map(|d| d.to_string()).collect(),
        unverified: vec![],
    })
}

/// Appends envelopes for one user aggregate, tracking its version.
struct Writer {
    log: Arc<EmbeddedLog>,
    versions: std::collections::HashMap<String, u64>,
    n: u64,
}

impl Writer {
    async fn append(&mut self, username_key: &str, kind: Kind) {
        let key = AggregateKey::user(POOL, username_key).encode();
        let version = *self.versions.get(&key).unwrap_or(&0);
        self.n += 1;
        let env = Envelope {
            event_id: format!("ev-{}", self.n),
            request_id: String::new(),
            recorded_at_ms: 1_700_000_000_000 + self.n as i64,
            aggregate: key.clone(),
            expected_version: version,
            events: vec![Event { kind: Some(kind.clone()) }],
        };
        let p = partition_for_key(key.as_bytes(), PARTITIONS);
        self.log.append(p, Record::new(key.as_bytes(), env.encode_to_vec())).await.expect("append");
        let next = if matches!(kind, Kind::UserDeleted(_)) { 0 } else { version + 1 };
        self.versions.insert(key, next);
    }
}

async fn rows_of(store: &dyn ProjectionStore, table: Table) -> BTreeSet<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let mut out = BTreeSet::new();
    store
        .export(&mut |e: Entry<'_>| {
            if let Entry::Row { table: t, pk, ck, value } = e {
                if t == table {
                    out.insert((pk.to_vec(), ck.to_vec(), value.to_vec()));
                }
            }
            Ok(())
        })
        .await
        .expect("export");
    out
}

/// The index rows the current user states call for, derived independently of the writes.
async fn expected_index(store: &dyn ProjectionStore) -> BTreeSet<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let mut out = BTreeSet::new();
    for (pk, _, value) in rows_of(store, Table::Users).await {
        let user = UserState::decode(value.as_slice()).expect("user state");
        let username_key = String::from_utf8(pk[POOL.len() + 1..].to_vec()).expect("utf-8");
        for (pk, ck) in search::entries(POOL, &username_key, &user) {
            assert_eq!(search::username_key(&ck), Some(username_key.as_bytes()));
            out.insert((pk, ck, Vec::new()));
        }
    }
    out
}

/// Applies every partition's new records one at a time with a live arbiter (store reads on
/// misses), committing each alone, and checks the index after every record.
async fn project_each(log: &EmbeddedLog, store: &dyn ProjectionStore, next: &mut [u64]) {
    for p in 0..PARTITIONS {
        let end = log.end_offset(p).await.expect("end");
        if next[p as usize] >= end {
            continue;
        }
        let mut sub = log.subscribe(&[(p, next[p as usize])]).await.expect("subscribe");
        while next[p as usize] < end {
            let records = sub.poll(1, Duration::from_secs(5)).await.expect("poll");
            let Some(rec) = records.into_iter().next() else { continue };
            // A fresh arbiter per record: states come from the store, as after a restart.
            let outcome = Arbiter::new().arbitrate(store, std::slice::from_ref(&rec)).await.expect("arbitrate");
            assert_eq!(outcome.verdicts[0].3, Verdict::Accepted, "record {}@{}", rec.offset, p);
            store.commit(p, rec.offset + 1, outcome.writes).await.expect("commit");
            next[p as usize] = rec.offset + 1;
            assert_eq!(rows_of(store, Table::UserSearch).await, expected_index(store).await, "after {}@{p}", rec.offset);
        }
    }
}

fn search_rows(attribute: idp_domain::search::SearchAttribute, rows: &BTreeSet<(Vec<u8>, Vec<u8>, Vec<u8>)>) -> Vec<Vec<u8>> {
    let pk = search::pk(POOL, attribute);
    rows.iter().filter(|(p, _, _)| *p == pk).map(|(_, ck, _)| ck.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_follows_every_change_and_rebuild_reproduces_it() {
    use idp_domain::search::SearchAttribute::*;
    let dir = tempfile::tempdir().expect("tempdir");
    let log = EmbeddedLog::open(dir.path(), PARTITIONS, EmbeddedOptions::default()).expect("log");
    let store = MemoryStore::new();
    let mut w = Writer { log: log.clone(), versions: Default::default(), n: 0 };
    let mut next = vec![0u64; PARTITIONS as usize];

    // Sign-ups.
    w.append("alice", signed_up("Alice", "sub-a", &[("email", "alice@example.com"), ("name", "Alice A"), ("custom:x", "1")])).await;
    w.append("bob", signed_up("bob", "sub-b", &[("email", "bob@example.com"), ("phone_number", "+15550001")])).await;
    w.append("nul", signed_up("nul", "sub-n", &[("name", "Alice\0B")])).await;
    project_each(&log, store.as_ref(), &mut next).await;
    let index = rows_of(store.as_ref(), Table::UserSearch).await;
    assert_eq!(search_rows(Email, &index), vec![search::ck("alice@example.com", "alice"), search::ck("bob@example.com", "bob")]);
    // Bytewise value order: the NUL (escaped) sorts before the space.
    assert_eq!(search_rows(Name, &index), vec![search::ck("Alice\0B", "nul"), search::ck("Alice A", "alice")]);
    assert_eq!(search_rows(UserStatus, &index).len(), 3);
    assert_eq!(search_rows(Username, &index)[0], search::ck("Alice", "alice"), "the username as given");

    // Status change (confirmation), attribute set / change / delete, a code (no index change).
    w.append("alice", Kind::UserConfirmed(UserConfirmed { verified_attributes: vec!["email".into()], ..Default::default() })).await;
    w.append("alice", updated(&[("email", "alice@new.example.com"), ("given_name", "Al")], &["name"])).await;
    w.append("bob", Kind::SignedOutEverywhere(SignedOutEverywhere { revoked_before_ms: 5 })).await;
    project_each(&log, store.as_ref(), &mut next).await;
    let index = rows_of(store.as_ref(), Table::UserSearch).await;
    assert_eq!(search_rows(Email, &index), vec![search::ck("alice@new.example.com", "alice"), search::ck("bob@example.com", "bob")]);
    assert_eq!(search_rows(Name, &index), vec![search::ck("Alice\0B", "nul")], "deleted attribute left the index");
    assert_eq!(search_rows(GivenName, &index), vec![search::ck("Al", "alice")]);
    assert!(search_rows(UserStatus, &index).contains(&search::ck("CONFIRMED", "alice")));
    assert!(!search_rows(UserStatus, &index).contains(&search::ck("UNCONFIRMED", "alice")));

    // Deletion, then the same username signed up again with another sub.
    w.append("bob", Kind::UserDeleted(UserDeleted {})).await;
    project_each(&log, store.as_ref(), &mut next).await;
    let index = rows_of(store.as_ref(), Table::UserSearch).await;
    assert!(index.iter().all(|(_, _, v)| v != b"bob"), "a deleted user has no index row");
    w.append("bob", signed_up("Bob", "sub-b2", &[("email", "bob@example.com")])).await;
    project_each(&log, store.as_ref(), &mut next).await;
    let index = rows_of(store.as_ref(), Table::UserSearch).await;
    assert_eq!(search_rows(Sub, &index), vec![search::ck("sub-a", "alice"), search::ck("sub-b2", "bob"), search::ck("sub-n", "nul")]);

    // Rebuild (one batch per partition, over an empty store) gives the same bytes, index included.
    let live = store.fingerprint().await.expect("fingerprint");
    let fresh = MemoryStore::new();
    rebuild(log.clone(), fresh.clone(), |_| {}).await.expect("rebuild");
    assert_eq!(rows_of(fresh.as_ref(), Table::UserSearch).await, rows_of(store.as_ref(), Table::UserSearch).await);
    assert_eq!(fresh.fingerprint().await.expect("fingerprint"), live, "rebuild reproduces every row");
    rebuild(log.clone(), store.clone(), |_| {}).await.expect("rebuild in place");
    assert_eq!(store.fingerprint().await.expect("fingerprint"), live, "rebuild in place");
}

/// Changes no event makes yet (enable/disable, other statuses, a new username case) still
/// reach the index: `transition` derives it from the states alone, so applying transitions
/// step by step always leaves exactly the rows of the last state.
#[tokio::test]
async fn any_state_sequence_leaves_exactly_the_last_states_rows() {
    let key = AggregateKey::user(POOL, "carol");
    let base =
        UserState { pool_id: POOL.into(), sub: "sub-c".into(), username: "carol".into(), status: "UNCONFIRMED".into(), enabled: true, ..Default::default() };
    let mut states = vec![base.clone()];
    let mut s = base.clone();
    s.enabled = false;
    states.push(s.clone());
    s.status = "FORCE_CHANGE_PASSWORD".into();
    states.push(s.clone());
    s.enabled = true;
    s.attributes.insert("preferred_username".into(), "cc".into());
    s.attributes.insert("family_name".into(), "Doe".into());
    states.push(s.clone());
    s.status = "RESET_REQUIRED".into();
    s.attributes.remove("family_name");
    s.username = "Carol".into();
    states.push(s.clone());
    let store = MemoryStore::new();
    let mut old: Option<AggregateState> = None;
    for (i, state) in states.iter().enumerate() {
        let new = Some(AggregateState::User(state.clone()));
        let writes: Vec<Write> = rows::transition(&key, old.as_ref(), new.as_ref());
        store.commit(0, i as u64 + 1, writes).await.expect("commit");
        let expect: BTreeSet<_> = search::entries(POOL, "carol", state).into_iter().map(|(pk, ck)| (pk, ck, Vec::new())).collect();
        assert_eq!(rows_of(store.as_ref(), Table::UserSearch).await, expect, "state {i}");
        old = new;
    }
    let disabled = search::ck("Disabled", "carol");
    assert!(rows_of(store.as_ref(), Table::UserSearch).await.iter().all(|(_, ck, _)| *ck != disabled));
    store.commit(0, 99, rows::transition(&key, old.as_ref(), None)).await.expect("commit");
    assert!(rows_of(store.as_ref(), Table::UserSearch).await.is_empty());
}
