//! The conformance suite against `RedbStore` on a file in a temp dir, one test per check, plus
//! the redb-only checks: durability across reopen and across a crash, file locking, the
//! in-memory backend, and agreement with `MemoryStore`'s fingerprint.

use std::path::{Path, PathBuf};
use std::sync::Arc;

mod embedded;

use embedded::{put, sample_batch};
use idp_store::{conformance, MemoryStore, ProjectionStore, RedbStore, StoreError, Table};

/// A factory of fresh stores, each at its own path under `dir`.
fn file_stores(dir: &Path) -> embedded::Stores {
    embedded::fresh_stores(dir, ".redb", RedbStore::open)
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

#[tokio::test]
async fn open_creates_the_file_and_reopen_keeps_committed_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.redb");
    assert!(!path.exists());
    embedded::reopen_keeps_commits_and_clears(&path, RedbStore::open).await;
    assert!(path.is_file(), "open did not create the file");
    assert_eq!(RedbStore::open(&path).expect("open").path(), Some(path.as_path()));
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
    assert_eq!(embedded::exports_agree(redb, RedbStore::export_blocking).await.len(), 7 + 2);
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
    let dir = tempfile::tempdir().expect("tempdir");
    let store = RedbStore::open(&dir.path().join("group.redb")).expect("open");
    embedded::concurrent_commits_share_syncs(store, RedbStore::commit_stats).await;
}

/// Dropping the store releases the file as soon as the last call has returned: no background
/// task (group-commit drainer, blocking read) may keep the database open behind the caller's
/// back, or an immediate reopen fails with `Unavailable`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_right_after_the_last_commit_returns() {
    let dir = tempfile::tempdir().expect("tempdir");
    embedded::reopen_right_after_the_last_commit_returns(&dir.path().join("reopen.redb"), RedbStore::open).await;
}
