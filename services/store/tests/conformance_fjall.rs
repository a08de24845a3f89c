//! The conformance suite against `FjallStore` in a temp dir, one test per check, plus the
//! fjall-only checks: durability across reopen and across a crash (durable and lazy), the
//! directory lock, group sync, interrupted bulk loads, and agreement with `MemoryStore`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

mod embedded;

use embedded::{put, sample_batch};
use idp_store::{FjallStore, LoadRows, MemoryStore, ProjectionStore, StoreError, Table, Write};

/// A factory of fresh stores, each at its own path under `dir`.
fn dir_stores(dir: &Path) -> embedded::Stores {
    embedded::fresh_stores(dir, "", FjallStore::open)
}

idp_store::conformance_tests!(dir_stores);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_creates_the_directory_and_reopen_keeps_committed_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store");
    assert!(!path.exists());
    embedded::reopen_keeps_commits_and_clears(&path, FjallStore::open).await;
    assert!(path.is_dir(), "open did not create the directory");
    assert_eq!(FjallStore::open(&path).expect("open").path(), path.as_path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_open_of_the_same_directory_is_unavailable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store");
    let _first = FjallStore::open(&path).expect("first open");
    match FjallStore::open(&path) {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn open_of_a_file_or_a_garbage_directory_fails_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("projections.redb");
    std::fs::write(&file, vec![0x5a; 64 * 1024]).expect("write file");
    assert!(matches!(FjallStore::open(&file), Err(StoreError::Unavailable(_))), "a file must not open as a store");
    let garbage = dir.path().join("garbage");
    std::fs::create_dir(&garbage).expect("mkdir");
    std::fs::write(garbage.join("version"), vec![0x5a; 300]).expect("write garbage");
    std::fs::write(garbage.join("0"), vec![0x5a; 4096]).expect("write garbage");
    let err = FjallStore::open(&garbage).expect_err("garbage must not open");
    assert!(matches!(err, StoreError::Corrupt(_) | StoreError::Io(_) | StoreError::Backend(_)), "unexpected error {err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fjall_and_memory_agree_on_the_fingerprint_and_exports_agree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fjall = FjallStore::open(&dir.path().join("a")).expect("open");
    let memory = MemoryStore::new();
    for store in [fjall.clone() as Arc<dyn ProjectionStore>, memory.clone()] {
        store.commit(0, 1, sample_batch()).await.expect("commit");
        let batch = vec![
            put(Table::Users, b"pool-10", b"bob", b"b"),
            put(Table::Users, b"", b"", b""),
            put(Table::Users, b"zz", b"", b"z"),
            // 0x00 bytes inside keys: escaped in the pk, raw in the ck.
            put(Table::Users, b"pool\0-1", b"\0\0", b"nul"),
            put(Table::Users, b"pool", b"\xff\0", b"prefix pk"),
        ];
        store.commit(1, 9, batch).await.expect("commit");
    }
    assert_eq!(fjall.fingerprint().await.expect("fp"), memory.fingerprint().await.expect("fp"));
    assert_eq!(embedded::exports_agree(fjall, FjallStore::export_blocking).await.len(), 9 + 2);
}

const CRASH_ENV: &str = "IDP_FJALL_CRASH_CHILD_PATH";
const CRASH_LAZY_ENV: &str = "IDP_FJALL_CRASH_CHILD_LAZY";

/// Child half of the crash tests: commits, then aborts the process without running any
/// destructor (no flush on close). Does nothing when run as a normal test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child() {
    let Some(path) = std::env::var_os(CRASH_ENV) else {
        return;
    };
    let path = PathBuf::from(path);
    let store = if std::env::var_os(CRASH_LAZY_ENV).is_some() {
        // An interval no commit here reaches after the first: only the OS holds the rest.
        FjallStore::open_lazy(&path, Duration::from_secs(3600)).expect("open lazy")
    } else {
        FjallStore::open(&path).expect("open")
    };
    for i in 0..50u64 {
        store.commit(5, 1000 + i, vec![put(Table::Requests, b"r", &i.to_be_bytes(), b"x")]).await.expect("commit");
    }
    store.commit(5, 1050, sample_batch()).await.expect("commit");
    std::process::abort();
}

fn crash_after_commits(lazy: bool) -> PathBuf {
    let dir = tempfile::tempdir().expect("tempdir").keep();
    let path = dir.join("crash");
    let mut cmd = std::process::Command::new(std::env::current_exe().expect("current exe"));
    cmd.args(["--exact", "crash_child", "--nocapture", "--test-threads=1"]).env(CRASH_ENV, &path);
    if lazy {
        cmd.env(CRASH_LAZY_ENV, "1");
    }
    let status = cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).status().expect("spawn child");
    assert!(!status.success(), "child should have aborted after committing");
    path
}

/// `commit` is durable when it returns: a process killed right after it loses nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_survives_a_crash() {
    for lazy in [false, true] {
        let path = crash_after_commits(lazy);
        let store = FjallStore::open(&path).expect("reopen after crash");
        assert_eq!(store.offset(5).await.expect("offset"), Some(1050), "committed offset lost in crash (lazy: {lazy})");
        assert_eq!(store.get(Table::UsersBySub, b"1", b"").await.expect("get"), Some(b"pool-1/alice".to_vec()), "row lost (lazy: {lazy})");
        assert_eq!(store.scan(Table::Requests, b"r", None, 100).await.expect("scan").len(), 50, "rows lost (lazy: {lazy})");
        drop(store);
        let _ = std::fs::remove_dir_all(path.parent().expect("parent"));
    }
}

/// Group sync: concurrent commits share fsyncs, and every batch still lands with its offset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_share_fsyncs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FjallStore::open(&dir.path().join("group")).expect("open");
    embedded::concurrent_commits_share_syncs(store, FjallStore::commit_stats).await;
}

/// Dropping the store releases the directory as soon as the last call has returned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_right_after_the_last_commit_returns() {
    let dir = tempfile::tempdir().expect("tempdir");
    embedded::reopen_right_after_the_last_commit_returns(&dir.path().join("reopen"), FjallStore::open).await;
}

/// A bulk load is not atomic across tables, so an unfinished one (a non-durable load, or a
/// crash inside a load) leaves the rebuild marker, and the next open empties the store. A
/// durable load clears the marker: its rows and offsets survive reopening.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfinished_bulk_load_is_emptied_on_open_and_a_finished_one_is_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("load");
    {
        let store = FjallStore::open(&path).expect("open");
        store.clear().await.expect("clear");
        store.load(vec![(0, 10), (1, 4)], vec![rows_of(&store, sample_batch())], true).await.expect("durable load");
        store.load(vec![(0, 20)], vec![rows_of(&store, vec![put(Table::Users, b"pool-1", b"carol", b"c")])], false).await.expect("lazy load");
        assert_eq!(store.offset(0).await.expect("offset"), Some(20));
    }
    let store = FjallStore::open(&path).expect("reopen");
    assert_eq!(store.offset(0).await.expect("offset"), None, "a store left mid-rebuild must open empty");
    assert_eq!(store.get(Table::Users, b"pool-1", b"alice").await.expect("get"), None);

    store.load(vec![(0, 10), (1, 4)], vec![rows_of(&store, sample_batch())], true).await.expect("durable load");
    let fingerprint = store.fingerprint().await.expect("fingerprint");
    drop(store);
    let store = FjallStore::open(&path).expect("reopen");
    assert_eq!(store.offset(1).await.expect("offset"), Some(4));
    assert_eq!(store.get(Table::Users, b"pool-1", b"alice").await.expect("get"), Some(b"{\"sub\":\"1\"}".to_vec()));
    assert_eq!(store.fingerprint().await.expect("fingerprint"), fingerprint);
}

fn rows_of(store: &FjallStore, writes: Vec<Write>) -> LoadRows {
    let mut rows = store.load_rows();
    rows.extend(writes);
    rows
}
