//! Checks both embedded stores (fjall and redb) run against their own files: shared here so
//! that each test file only says how to open its store.

#![allow(dead_code)] // each test crate uses its own subset

use std::path::Path;
use std::sync::Arc;

use idp_store::{CommitStats, ProjectionStore, Table, Write};

pub fn put(table: Table, pk: &[u8], ck: &[u8], value: &[u8]) -> Write {
    Write::Put { table, pk: pk.to_vec(), ck: ck.to_vec(), value: value.to_vec().into() }
}

pub fn sample_batch() -> Vec<Write> {
    vec![
        put(Table::Users, b"pool-1", b"alice", b"{\"sub\":\"1\"}"),
        put(Table::UsersBySub, b"1", b"", b"pool-1/alice"),
        put(Table::Pools, b"pool-1", b"", &vec![0xaa; 100_000]),
        put(Table::Meta, b"", b"schema", b"1"),
    ]
}

/// Group commit / group sync: 16 concurrent projector tasks share durable syncs (fewer than
/// batches), and every batch still lands with its offset.
pub async fn concurrent_commits_share_syncs<S: ProjectionStore>(store: Arc<S>, stats: impl Fn(&S) -> CommitStats) {
    const TASKS: u32 = 16;
    const COMMITS: u64 = 10;
    let mut tasks = Vec::new();
    for p in 0..TASKS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for k in 0..COMMITS {
                let batch = vec![put(Table::Users, &p.to_be_bytes(), &k.to_be_bytes(), b"v")];
                store.commit(p, k + 1, batch).await.expect("commit");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let stats = stats(&store);
    assert_eq!(stats.batches, u64::from(TASKS) * COMMITS);
    assert!(stats.transactions < stats.batches, "no grouping under {TASKS} concurrent writers: {stats:?}");
    for p in 0..TASKS {
        assert_eq!(store.offset(p).await.expect("offset"), Some(COMMITS));
        assert_eq!(store.scan(Table::Users, &p.to_be_bytes(), None, 100).await.expect("scan").len() as u64, COMMITS);
    }
    eprintln!("grouped commits: {stats:?}");
}

/// Dropping the store releases its file or directory as soon as the last call has returned:
/// no background task may keep it open behind the caller's back, or an immediate reopen fails.
pub async fn reopen_right_after_the_last_commit_returns<S, E>(path: &Path, open: impl Fn(&Path) -> Result<Arc<S>, E>)
where
    S: ProjectionStore,
    E: std::fmt::Display,
{
    for round in 0u64..20 {
        let store = open(path).unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
        let mut tasks = Vec::new();
        for p in 0..4u32 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move { store.commit(p, round + 1, vec![put(Table::Meta, &p.to_be_bytes(), b"", b"x")]).await }));
        }
        for t in tasks {
            t.await.expect("join").expect("commit");
        }
        assert_eq!(store.offset(3).await.expect("offset"), Some(round + 1));
        drop(store);
    }
}

/// The async export (chunks through a channel from the blocking pool) and the store's
/// blocking export give the same entries; returns them.
pub async fn exports_agree<S: ProjectionStore>(
    store: Arc<S>,
    blocking: fn(&S, &mut idp_store::Visitor<'_>) -> Result<(), idp_store::StoreError>,
) -> Vec<idp_store::OwnedEntry> {
    let mut via_async = Vec::new();
    store
        .export(&mut |e| {
            via_async.push(e.to_owned_entry());
            Ok(())
        })
        .await
        .expect("export");
    let via_blocking = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        blocking(&store, &mut |e| {
            out.push(e.to_owned_entry());
            Ok(())
        })
        .map(|()| out)
    })
    .await
    .expect("join")
    .expect("blocking export");
    assert_eq!(via_async, via_blocking);
    via_async
}

/// What the conformance suite takes: a factory of fresh stores.
pub type Stores = Box<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Arc<dyn ProjectionStore>>>>>;

/// Fresh stores opened with `open`, each at its own path `dir/store-N{suffix}`.
pub fn fresh_stores<S, E>(dir: &Path, suffix: &'static str, open: fn(&Path) -> Result<Arc<S>, E>) -> Stores
where
    S: ProjectionStore,
    E: std::fmt::Display + 'static,
{
    let dir = dir.to_path_buf();
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    Box::new(move || {
        let path = dir.join(format!("store-{}{suffix}", n.fetch_add(1, std::sync::atomic::Ordering::SeqCst)));
        Box::pin(async move {
            let store: Arc<dyn ProjectionStore> = open(&path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
            store
        })
    })
}

/// Commits and the recorded layout survive a clean reopen with the same fingerprint, and a
/// clear (which drops the layout too) survives one too.
pub async fn reopen_keeps_commits_and_clears<S, E>(path: &Path, open: fn(&Path) -> Result<Arc<S>, E>)
where
    S: ProjectionStore,
    E: std::fmt::Display,
{
    let must = |what: &str| {
        let what = what.to_string();
        move |e: E| -> Arc<S> { panic!("{what}: {e}") }
    };
    let fingerprint = {
        let store = open(path).unwrap_or_else(must("create"));
        store.commit(0, 42, sample_batch()).await.expect("commit");
        store.commit(3, 7, vec![]).await.expect("commit");
        store.set_layout(5).await.expect("set layout");
        store.fingerprint().await.expect("fingerprint")
    };
    let store = open(path).unwrap_or_else(must("reopen"));
    assert_eq!(store.offset(0).await.expect("offset"), Some(42));
    assert_eq!(store.offset(3).await.expect("offset"), Some(7));
    assert_eq!(store.get(Table::Users, b"pool-1", b"alice").await.expect("get"), Some(b"{\"sub\":\"1\"}".to_vec()));
    assert_eq!(store.fingerprint().await.expect("fingerprint"), fingerprint);
    assert_eq!(store.layout().await.expect("layout"), Some(5), "the layout did not persist");

    store.clear().await.expect("clear");
    drop(store);
    let store = open(path).unwrap_or_else(must("reopen after clear"));
    assert_eq!(store.offset(0).await.expect("offset"), None, "clear did not persist");
    assert_eq!(store.get(Table::Users, b"pool-1", b"alice").await.expect("get"), None);
    assert_eq!(store.layout().await.expect("layout"), None, "clear did not drop the layout");
}
