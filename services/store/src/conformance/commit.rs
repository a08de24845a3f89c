//! Commits: atomicity, offsets, concurrency, clear.

use std::future::Future;
use std::sync::Arc;

use super::{del, dump, ok, put, rows};
use crate::{ProjectionStore, StoreError, Table, Write, MAX_KEY_LEN, MAX_VALUE_LEN};

/// A batch with one write over a limit fails with `InvalidWrite` and applies nothing: not the
/// valid writes before the bad one (puts, overwrites, deletes, in several tables), not the offset.
pub async fn invalid_write_rejects_whole_batch<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ProjectionStore>>,
{
    let store = new_store().await;
    let before = vec![put(Table::Users, b"u", b"x", b"old"), put(Table::Pools, b"p", b"z", b"keep")];
    ok(store.commit(3, 10, before).await, "setup commit");
    let fingerprint_before = ok(store.fingerprint().await, "fingerprint");

    let bad_writes: Vec<Write> = vec![
        put(Table::Users, &vec![1; MAX_KEY_LEN + 1], b"", b"pk too long"),
        put(Table::Users, b"u", &vec![1; MAX_KEY_LEN + 1], b"ck too long"),
        put(Table::Users, b"u", b"big", &vec![7; MAX_VALUE_LEN + 1]),
        del(Table::Users, &vec![1; MAX_KEY_LEN + 1], b""),
    ];
    for (i, bad) in bad_writes.into_iter().enumerate() {
        for partition in [3u32, 4] {
            let batch = vec![
                put(Table::Users, b"u", b"x", b"new"),
                put(Table::Users, b"u", b"y", b"added"),
                del(Table::Pools, b"p", b"z"),
                put(Table::Meta, b"m", b"", b"added"),
                bad.clone(),
            ];
            match store.commit(partition, 11, batch).await {
                Err(StoreError::InvalidWrite(_)) => {}
                other => panic!("conformance: bad write #{i} on partition {partition} gave {other:?}, expected InvalidWrite"),
            }
            assert_eq!(ok(store.get(Table::Users, b"u", b"x").await, "get"), Some(b"old".to_vec()), "bad #{i}: overwrite leaked");
            assert_eq!(ok(store.get(Table::Users, b"u", b"y").await, "get"), None, "bad #{i}: put leaked");
            assert_eq!(ok(store.get(Table::Pools, b"p", b"z").await, "get"), Some(b"keep".to_vec()), "bad #{i}: delete leaked");
            assert_eq!(ok(store.get(Table::Meta, b"m", b"").await, "get"), None, "bad #{i}: put leaked");
            assert_eq!(ok(store.offset(3).await, "offset"), Some(10), "bad #{i}: offset moved");
            assert_eq!(ok(store.offset(4).await, "offset"), None, "bad #{i}: offset created");
            assert_eq!(ok(store.fingerprint().await, "fingerprint"), fingerprint_before, "bad #{i}: contents changed");
        }
    }
    // The store is still usable after rejected batches.
    ok(store.commit(3, 11, vec![put(Table::Users, b"u", b"x", b"new")]).await, "commit after rejects");
    assert_eq!(ok(store.get(Table::Users, b"u", b"x").await, "get"), Some(b"new".to_vec()));
    assert_eq!(ok(store.offset(3).await, "offset"), Some(11));
}

const TASKS: u32 = 6;
const COMMITS_PER_TASK: u32 = 8;

fn task_batch(partition: u32, k: u32) -> Vec<Write> {
    vec![
        put(Table::Users, &partition.to_be_bytes(), &k.to_be_bytes(), &[partition as u8, k as u8]),
        put(Table::Meta, b"progress", &partition.to_be_bytes(), &k.to_be_bytes()),
        del(Table::Users, &partition.to_be_bytes(), &k.wrapping_sub(2).to_be_bytes()),
    ]
}

/// Commits from one task per log partition, all at once, lose nothing: the result equals the
/// same batches committed one after another (compared by fingerprint).
pub async fn concurrent_commits_serialize<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ProjectionStore>>,
{
    let store = new_store().await;
    let mut tasks = Vec::new();
    for partition in 0..TASKS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for k in 0..COMMITS_PER_TASK {
                ok(store.commit(partition, u64::from(k) + 1, task_batch(partition, k)).await, "concurrent commit");
            }
        }));
    }
    for task in tasks {
        if let Err(e) = task.await {
            panic!("conformance: commit task failed: {e}");
        }
    }
    let sequential = new_store().await;
    for partition in 0..TASKS {
        for k in 0..COMMITS_PER_TASK {
            ok(sequential.commit(partition, u64::from(k) + 1, task_batch(partition, k)).await, "sequential commit");
        }
    }
    for partition in 0..TASKS {
        assert_eq!(ok(store.offset(partition).await, "offset"), Some(u64::from(COMMITS_PER_TASK)), "partition {partition}");
        let rows = ok(store.scan(Table::Users, &partition.to_be_bytes(), None, 100).await, "scan");
        assert_eq!(rows.len(), 2, "partition {partition} keeps its last two rows: {rows:?}");
    }
    assert_eq!(dump(&*store).await, dump(&*sequential).await, "concurrent result differs from sequential");
    assert_eq!(ok(store.fingerprint().await, "fp"), ok(sequential.fingerprint().await, "fp"));
}

/// Offsets are per log partition: unset until committed, independent of each other, set even
/// by an empty batch, overwritten by the next commit of the same partition, full u32/u64 range.
pub async fn offsets_are_per_log_partition<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ProjectionStore>>,
{
    let store = new_store().await;
    for p in [0, 1, u32::MAX] {
        assert_eq!(ok(store.offset(p).await, "offset"), None, "partition {p} before any commit");
    }
    ok(store.commit(0, 5, vec![]).await, "empty batch");
    assert_eq!(ok(store.offset(0).await, "offset"), Some(5), "empty batch records its offset");
    assert_eq!(ok(store.offset(1).await, "offset"), None, "other partition untouched");
    ok(store.commit(1, 7, vec![put(Table::Users, b"u", b"", b"")]).await, "commit");
    ok(store.commit(0, 9, vec![]).await, "commit");
    assert_eq!(ok(store.offset(0).await, "offset"), Some(9));
    assert_eq!(ok(store.offset(1).await, "offset"), Some(7));
    ok(store.commit(u32::MAX, u64::MAX, vec![]).await, "extremes");
    assert_eq!(ok(store.offset(u32::MAX).await, "offset"), Some(u64::MAX));
    ok(store.commit(0, 0, vec![]).await, "offset 0");
    assert_eq!(ok(store.offset(0).await, "offset"), Some(0), "an offset is stored as given");
    assert_eq!(ok(store.offset(2).await, "offset"), None);
}

/// `clear` drops every row of every table and every offset; the store stays usable and then
/// looks exactly like a fresh one.
pub async fn clear_empties_rows_and_offsets<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ProjectionStore>>,
{
    let store = new_store().await;
    let fresh = ok(new_store().await.fingerprint().await, "fingerprint of a fresh store");
    for (i, &t) in Table::ALL.iter().enumerate() {
        let writes = vec![put(t, b"pk", b"a", b"1"), put(t, b"pk", b"b", b"2"), put(t, b"", b"", b"3")];
        ok(store.commit(i as u32, 100 + i as u64, writes).await, "commit");
    }
    assert_ne!(ok(store.fingerprint().await, "fingerprint"), fresh);
    ok(store.clear().await, "clear");
    for (i, &t) in Table::ALL.iter().enumerate() {
        assert_eq!(ok(store.get(t, b"pk", b"a").await, "get"), None, "{t:?} row after clear");
        assert!(ok(store.scan(t, b"pk", None, 10).await, "scan").is_empty(), "{t:?} scan after clear");
        assert!(ok(store.scan(t, b"", None, 10).await, "scan").is_empty(), "{t:?} scan after clear");
        assert_eq!(ok(store.offset(i as u32).await, "offset"), None, "offset {i} after clear");
    }
    assert!(dump(&*store).await.is_empty(), "export after clear");
    assert_eq!(ok(store.fingerprint().await, "fingerprint"), fresh, "cleared store differs from a fresh one");
    ok(store.clear().await, "clear of an empty store");
    ok(store.commit(0, 1, vec![put(Table::Users, b"u", b"", b"back")]).await, "commit after clear");
    assert_eq!(ok(store.get(Table::Users, b"u", b"").await, "get"), Some(b"back".to_vec()));
    assert_eq!(ok(store.offset(0).await, "offset"), Some(1));
}

/// `load` (rebuild's bulk write) applies writes in order (the last write to a key wins, put or
/// delete, whatever order the backend inserts in), sets every offset it is given and no other,
/// rejects an invalid batch whole, and leaves the same rows as `commit`s of the same writes.
pub async fn load_applies_in_order_and_sets_its_offsets<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ProjectionStore>>,
{
    let store = new_store().await;
    ok(store.commit(4, 40, vec![put(Table::Outbox, b"o", b"1", b"a")]).await, "commit");
    let batch = vec![
        put(Table::Outbox, b"o", b"2", b"b"),
        put(Table::Users, b"zz", b"", b"z"),
        put(Table::Users, b"a", b"", b"a"),
        put(Table::Outbox, b"o", b"2", b"c"),
        del(Table::Outbox, b"o", b"1"),
        put(Table::Users, b"gone", b"", b"x"),
        del(Table::Users, b"gone", b""),
        del(Table::Users, b"never", b""),
    ];
    // Split in two batches: the order holds across them too.
    ok(store.load(vec![(1, 10), (2, 20)], vec![rows(&store, batch[..4].to_vec()), rows(&store, batch[4..].to_vec())], false).await, "load");
    assert_eq!(ok(store.get(Table::Outbox, b"o", b"2").await, "get"), Some(b"c".to_vec()), "later write wins");
    assert_eq!(ok(store.get(Table::Outbox, b"o", b"1").await, "get"), None, "delete of an earlier row");
    assert_eq!(ok(store.get(Table::Users, b"gone", b"").await, "get"), None, "delete after put in one load");
    assert_eq!(ok(store.get(Table::Users, b"zz", b"").await, "get"), Some(b"z".to_vec()));
    assert_eq!(ok(store.offset(1).await, "offset"), Some(10));
    assert_eq!(ok(store.offset(2).await, "offset"), Some(20));
    assert_eq!(ok(store.offset(4).await, "offset"), Some(40), "load moved an offset it was not given");
    ok(store.load(vec![], vec![], true).await, "empty durable load");

    // The same writes through `commit` give the same bytes.
    let twin = new_store().await;
    ok(twin.commit(4, 40, vec![put(Table::Outbox, b"o", b"1", b"a")]).await, "commit");
    ok(twin.commit(1, 10, batch).await, "commit");
    ok(twin.commit(2, 20, vec![]).await, "commit");
    assert_eq!(ok(store.fingerprint().await, "fingerprint"), ok(twin.fingerprint().await, "fingerprint"), "load and commit of the same writes differ");

    let before = ok(store.fingerprint().await, "fingerprint");
    let bad = vec![put(Table::Outbox, b"o", b"3", b"x"), put(Table::Outbox, b"o", &vec![0; MAX_KEY_LEN + 1], b"")];
    match store.load(vec![(3, 30)], vec![rows(&store, vec![]), rows(&store, bad)], true).await {
        Err(StoreError::InvalidWrite(_)) => {}
        other => panic!("conformance: load of an invalid batch gave {other:?}"),
    }
    assert_eq!(ok(store.fingerprint().await, "fingerprint"), before, "rejected load changed the store");
    assert_eq!(ok(store.offset(3).await, "offset"), None, "rejected load set an offset");

    // After a clear (a rebuild's start): deletes in the first load, in a later load, and in a
    // load after a commit each remove what was there (a store may skip deletes only while
    // nothing was written since the clear).
    ok(store.clear().await, "clear");
    let first = vec![put(Table::Users, b"x", b"", b"1"), del(Table::Users, b"x", b""), del(Table::Users, b"never", b""), put(Table::Users, b"y", b"", b"2")];
    ok(store.load(vec![(0, 4)], vec![rows(&store, first)], false).await, "first load after clear");
    assert_eq!(ok(store.get(Table::Users, b"x", b"").await, "get"), None, "put then delete in the first load");
    assert_eq!(ok(store.get(Table::Users, b"y", b"").await, "get"), Some(b"2".to_vec()));
    ok(store.load(vec![(0, 5)], vec![rows(&store, vec![del(Table::Users, b"y", b"")])], false).await, "second load");
    assert_eq!(ok(store.get(Table::Users, b"y", b"").await, "get"), None, "a later load deletes a row of an earlier one");
    ok(store.clear().await, "clear");
    ok(store.commit(0, 1, vec![put(Table::Users, b"z", b"", b"3")]).await, "commit after clear");
    ok(store.load(vec![(0, 2)], vec![rows(&store, vec![del(Table::Users, b"z", b"")])], true).await, "load after a commit");
    assert_eq!(ok(store.get(Table::Users, b"z", b"").await, "get"), None, "a load deletes a committed row");
}

/// A load of many megabytes (keys short and long, values empty to tens of KB, deletes, rows
/// over several tables) leaves the same rows as commits of the same writes: backends that
/// stage a load in buffers of their own must get every boundary right.
pub async fn large_load_matches_commits<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ProjectionStore>>,
{
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let earlier: Vec<Write> = (0..200u32).map(|i| put(Table::Users, format!("user-{i:05}").as_bytes(), b"", b"old")).collect();
    let mut writes = Vec::new();
    for i in 0..6000u32 {
        let key_len = [1usize, 19, 20, 21, 64, 300][(next() % 6) as usize];
        let mut pk = format!("user-{:05}", next() % 4000).into_bytes();
        pk.resize(key_len.max(pk.len()), b'k');
        let value_len = [0usize, 5, 20, 21, 900, 40_000][(next() % 6) as usize];
        let value: Vec<u8> = (0..value_len).map(|j| (i as usize + j) as u8).collect();
        let table = [Table::Users, Table::UserSearch, Table::Outbox][(next() % 3) as usize];
        if next() % 7 == 0 {
            writes.push(del(table, &pk, b""));
        } else {
            writes.push(put(table, &pk, format!("{}", i % 3).as_bytes(), &value));
        }
    }
    for i in (0..200u32).step_by(3) {
        writes.push(del(Table::Users, format!("user-{i:05}").as_bytes(), b""));
    }
    let store = new_store().await;
    ok(store.commit(0, 1, earlier.clone()).await, "commit");
    ok(store.load(vec![(0, 2)], writes.chunks(700).map(|c| rows(&store, c.to_vec())).collect(), true).await, "large load");
    let twin = new_store().await;
    ok(twin.commit(0, 1, earlier).await, "commit");
    for chunk in writes.chunks(500) {
        ok(twin.commit(0, 2, chunk.to_vec()).await, "commit");
    }
    assert_eq!(ok(store.fingerprint().await, "fingerprint"), ok(twin.fingerprint().await, "fingerprint"), "a large load and commits of the same writes differ");
    assert_eq!(ok(store.get(Table::Users, b"user-00003", b"").await, "get"), None, "a load's delete of a committed row");
}

/// The recorded row layout: none in a fresh store, the last one set, kept by commits and
/// loads, neither exported nor fingerprinted (it is not a row), and dropped by `clear`.
pub async fn layout_is_recorded_apart_from_the_rows<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ProjectionStore>>,
{
    let store = new_store().await;
    assert_eq!(ok(store.layout().await, "layout"), None, "a fresh store has a layout");
    let fresh = ok(store.fingerprint().await, "fingerprint");
    ok(store.set_layout(3).await, "set_layout");
    ok(store.set_layout(7).await, "set_layout");
    assert_eq!(ok(store.layout().await, "layout"), Some(7), "the last layout set");
    assert_eq!(ok(store.fingerprint().await, "fingerprint"), fresh, "the layout changed the fingerprint");
    assert!(dump(&*store).await.is_empty(), "the layout was exported");
    ok(store.commit(0, 1, vec![put(Table::Users, b"u", b"", b"x")]).await, "commit");
    ok(store.load(vec![(1, 5)], vec![rows(&store, vec![put(Table::Pools, b"p", b"", b"y")])], true).await, "load");
    assert_eq!(ok(store.layout().await, "layout"), Some(7), "a commit or a load changed the layout");
    ok(store.clear().await, "clear");
    assert_eq!(ok(store.layout().await, "layout"), None, "clear kept the layout");
    ok(store.set_layout(8).await, "set_layout after clear");
    assert_eq!(ok(store.layout().await, "layout"), Some(8));
}
