//! The conformance suite against `RedbStore` on a file in a temp dir, one test per check, plus
//! the redb-only checks: durability across reopen and across a crash, file locking, the
//! in-memory backend, and agreement with `MemoryStore`'s fingerprint.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use idp_store::{conformance, MemoryStore, ProjectionStore, RedbStore, StoreError, Table, Write};

/// A factory of fresh file-backed stores, each in its own file of `dir`.
fn file_stores(dir: &Path) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = Arc<dyn ProjectionStore>>>> {
    let dir = dir.to_path_buf();
    let n = Arc::new(AtomicUsize::new(0));
    move || {
        let path = dir.join(format!("store-{}.redb", n.fetch_add(1, Ordering::SeqCst)));
        Box::pin(async move {
            let store: Arc<dyn ProjectionStore> = RedbStore::open(&path).expect("open redb store");
            store
        })
    }
}

idp_store::conformance_tests!(file_stores);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_backend_passes_the_whole_suite() {
    conformance::run_all(|| async {
        let store: Arc<dyn ProjectionStore> = RedbStore::in_memory().expect("in-memory redb");
        store
    })
    .await;
}

fn put(table: Table, pk: &[u8], ck: &[u8], value: &[u8]) -> Write {
    Write::Put { table, pk: pk.to_vec(), ck: ck.to_vec(), value: value.to_vec() }
}

fn sample_batch() -> Vec<Write> {
    vec![
        put(Table::Users, b"pool-1", b"alice", b"{\"sub\":\"1\"}"),
        put(Table::UsersBySub, b"1", b"", b"pool-1/alice"),
        put(Table::Pools, b"pool-1", b"", &vec![0xaa; 100_000]),
        put(Table::Meta, b"", b"schema", b"1"),
    ]
}

#[tokio::test]
async fn open_creates_the_file_and_reopen_keeps_committed_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.redb");
    assert!(!path.exists());
    let fingerprint = {
        let store = RedbStore::open(&path).expect("create");
        assert!(path.exists(), "open did not create the file");
        assert_eq!(store.path(), Some(path.as_path()));
        store.commit(0, 42, sample_batch()).await.expect("commit");
        store.commit(3, 7, vec![]).await.expect("commit");
        store.fingerprint().await.expect("fingerprint")
    };
    let store = RedbStore::open(&path).expect("reopen");
    assert_eq!(store.offset(0).await.expect("offset"), Some(42));
    assert_eq!(store.offset(3).await.expect("offset"), Some(7));
    assert_eq!(store.get(Table::Users, b"pool-1", b"alice").await.expect("get"), Some(b"{\"sub\":\"1\"}".to_vec()));
    assert_eq!(store.fingerprint().await.expect("fingerprint"), fingerprint);

    store.clear().await.expect("clear");
    drop(store);
    let store = RedbStore::open(&path).expect("reopen after clear");
    assert_eq!(store.offset(0).await.expect("offset"), None, "clear did not persist");
    assert_eq!(store.get(Table::Users, b"pool-1", b"alice").await.expect("get"), None);
}

#[tokio::test]
async fn a_second_open_of_the_same_file_is_unavailable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.redb");
    let _first = RedbStore::open(&path).expect("first open");
    match RedbStore::open(&path) {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn open_of_a_file_that_is_not_redb_fails_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("garbage.redb");
    std::fs::write(&path, vec![0x5a; 64 * 1024]).expect("write garbage");
    let err = RedbStore::open(&path).expect_err("garbage must not open");
    assert!(matches!(err, StoreError::Corrupt(_) | StoreError::Io(_) | StoreError::Backend(_)), "unexpected error {err:?}");
}

#[tokio::test]
async fn redb_and_memory_agree_on_the_fingerprint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let redb = RedbStore::open(&dir.path().join("a.redb")).expect("open");
    let memory = MemoryStore::new();
    for store in [redb.clone() as Arc<dyn ProjectionStore>, memory.clone()] {
        store.commit(0, 1, sample_batch()).await.expect("commit");
        store
            .commit(
                1,
                9,
                vec![
                    put(Table::Users, b"pool-10", b"bob", b"b"),
                    put(Table::Users, b"", b"", b""),
                    // Shorter than "pool-1" but after it bytewise: redb's key order
                    // (length first) differs from the canonical order here.
                    put(Table::Users, b"zz", b"", b"z"),
                ],
            )
            .await
            .expect("commit");
    }
    assert_eq!(redb.fingerprint().await.expect("fp"), memory.fingerprint().await.expect("fp"));
    // The async export (channel from the blocking pool) and the blocking export agree.
    let mut via_async = Vec::new();
    redb.export(&mut |e| {
        via_async.push(e.to_owned_entry());
        Ok(())
    })
    .await
    .expect("export");
    let redb2 = redb.clone();
    let via_blocking = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        redb2
            .export_blocking(&mut |e| {
                out.push(e.to_owned_entry());
                Ok(())
            })
            .map(|()| out)
    })
    .await
    .expect("join")
    .expect("export_blocking");
    assert_eq!(via_async, via_blocking);
    assert_eq!(via_async.len(), 7 + 2);
}

#[tokio::test]
async fn async_export_streams_many_chunks_in_order() {
    // More rows and bytes than one export chunk, over several pk lengths.
    let store = RedbStore::in_memory().expect("in-memory");
    let mut writes = Vec::new();
    for i in 0u32..3000 {
        let pk = i.to_string().into_bytes(); // lengths 1..=4
        writes.push(put(Table::Requests, &pk, &i.to_be_bytes(), &vec![1; 4096]));
    }
    store.commit(0, 1, writes).await.expect("commit");
    let mut keys = Vec::new();
    store
        .export(&mut |e| {
            if let idp_store::Entry::Row { pk, ck, .. } = e {
                keys.push((pk.to_vec(), ck.to_vec()));
            }
            Ok(())
        })
        .await
        .expect("export");
    assert_eq!(keys.len(), 3000);
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "export not in (pk, ck) bytewise order");
}

const CRASH_ENV: &str = "IDP_STORE_CRASH_CHILD_PATH";

/// Child half of `commit_survives_a_crash`: commits, then aborts the process without running
/// any destructor (no redb shutdown flush). Does nothing when run as a normal test.
#[tokio::test]
async fn crash_child() {
    let Some(path) = std::env::var_os(CRASH_ENV) else {
        return;
    };
    let store = RedbStore::open(&PathBuf::from(path)).expect("open");
    store.commit(5, 1001, sample_batch()).await.expect("commit");
    std::process::abort();
}

/// `commit` is durable when it returns: a process killed right after it (no clean close of
/// the database) loses nothing. Would fail with `Durability::None`, whose commits only reach
/// the file with a later durable commit or a clean close.
#[tokio::test]
async fn commit_survives_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("crash.redb");
    let status = std::process::Command::new(std::env::current_exe().expect("current exe"))
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CRASH_ENV, &path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("spawn child");
    assert!(!status.success(), "child should have aborted after committing");
    let store = RedbStore::open(&path).expect("reopen after crash (repair)");
    assert_eq!(store.offset(5).await.expect("offset"), Some(1001), "committed offset lost in crash");
    assert_eq!(store.get(Table::UsersBySub, b"1", b"").await.expect("get"), Some(b"pool-1/alice".to_vec()), "committed row lost in crash");
}

/// Group commit: concurrent projector tasks share durable transactions (fewer fsyncs than
/// batches), and every batch still lands with its offset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_share_transactions() {
    const TASKS: u32 = 16;
    const COMMITS: u64 = 10;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RedbStore::open(&dir.path().join("group.redb")).expect("open");
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
    let stats = store.commit_stats();
    assert_eq!(stats.batches, u64::from(TASKS) * COMMITS);
    assert!(stats.transactions < stats.batches, "no grouping under {TASKS} concurrent writers: {stats:?}");
    for p in 0..TASKS {
        assert_eq!(store.offset(p).await.expect("offset"), Some(COMMITS));
        let rows = store.scan(Table::Users, &p.to_be_bytes(), None, 100).await.expect("scan");
        assert_eq!(rows.len() as u64, COMMITS);
    }
    eprintln!("group commit: {stats:?}");
}

/// Dropping the store releases the file as soon as the last call has returned: no background
/// task (group-commit drainer, blocking read) may keep the database open behind the caller's
/// back, or an immediate reopen fails with `Unavailable`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_right_after_the_last_commit_returns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("reopen.redb");
    for round in 0u64..40 {
        let store = RedbStore::open(&path).unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
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
