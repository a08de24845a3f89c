//! Point reads and writes: get, put, delete, last-write-wins, table separation.

use std::future::Future;
use std::sync::Arc;

use super::{del, ok, put};
use crate::{ProjectionStore, Table, MAX_KEY_LEN, MAX_VALUE_LEN};

/// A key never written reads as `None`, in every table, also on an empty pk/ck.
pub async fn get_missing_is_none<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ProjectionStore>>,
{
    let store = new_store().await;
    for &table in Table::ALL {
        assert_eq!(ok(store.get(table, b"nope", b"nope").await, "get"), None, "{table:?}");
        assert_eq!(ok(store.get(table, b"", b"").await, "get"), None, "{table:?}");
    }
    ok(store.commit(0, 1, vec![put(Table::Users, b"u", b"1", b"x")]).await, "commit");
    assert_eq!(ok(store.get(Table::Users, b"u", b"2").await, "get"), None, "sibling ck");
    assert_eq!(ok(store.get(Table::Users, b"u", b"").await, "get"), None, "empty ck");
    assert_eq!(ok(store.get(Table::Users, b"", b"u1").await, "get"), None, "pk/ck boundary");
}

/// Values come back byte for byte: empty values, 1 MiB values, the size limits, binary keys
/// (NUL and 0xFF bytes, empty pk and ck).
pub async fn put_get_round_trip<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ProjectionStore>>,
{
    let store = new_store().await;
    let mib: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    let cases: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = vec![
        (b"pk".to_vec(), b"empty".to_vec(), Vec::new()),
        (b"pk".to_vec(), b"mib".to_vec(), mib.clone()),
        (vec![0, 0xff, 0], vec![0xff, 0, 0xff], vec![0, 1, 2, 0xfe, 0xff]),
        (Vec::new(), Vec::new(), b"both keys empty".to_vec()),
        (Vec::new(), b"ck".to_vec(), b"empty pk".to_vec()),
        (b"pk".to_vec(), Vec::new(), b"empty ck".to_vec()),
        (vec![0xab; MAX_KEY_LEN], vec![0xcd; MAX_KEY_LEN], b"longest keys".to_vec()),
    ];
    let writes = cases.iter().map(|(pk, ck, v)| put(Table::Users, pk, ck, v)).collect();
    ok(store.commit(0, 1, writes).await, "commit");
    for (pk, ck, v) in &cases {
        let got = ok(store.get(Table::Users, pk, ck).await, "get");
        assert!(got.as_deref() == Some(v.as_slice()), "round trip of pk {:?} ck {:?}", &pk[..pk.len().min(8)], &ck[..ck.len().min(8)]);
    }
    // The largest value allowed, alone in its batch.
    let biggest: Vec<u8> = (0..MAX_VALUE_LEN).map(|i| (i % 253) as u8).collect();
    ok(store.commit(0, 2, vec![put(Table::Requests, b"big", b"", &biggest)]).await, "commit MAX_VALUE_LEN");
    let got = ok(store.get(Table::Requests, b"big", b"").await, "get");
    assert!(got.as_deref() == Some(biggest.as_slice()), "MAX_VALUE_LEN value did not round-trip");
    // The empty value is a row, not an absence.
    let rows = ok(store.scan(Table::Users, b"pk", None, 10).await, "scan");
    assert!(rows.iter().any(|r| r.ck == b"empty" && r.value.is_empty()), "empty value must be a row");
}

/// Within one batch writes apply in order: the last write to a key wins, put or delete.
pub async fn later_write_in_batch_wins<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ProjectionStore>>,
{
    let store = new_store().await;
    let t = Table::Clients;
    ok(store.commit(0, 1, vec![put(t, b"k", b"a", b"1"), put(t, b"k", b"a", b"2")]).await, "put,put");
    assert_eq!(ok(store.get(t, b"k", b"a").await, "get"), Some(b"2".to_vec()), "put then put");
    ok(store.commit(0, 2, vec![put(t, b"k", b"b", b"1"), del(t, b"k", b"b")]).await, "put,del");
    assert_eq!(ok(store.get(t, b"k", b"b").await, "get"), None, "put then delete");
    ok(store.commit(0, 3, vec![del(t, b"k", b"a"), put(t, b"k", b"a", b"3")]).await, "del,put");
    assert_eq!(ok(store.get(t, b"k", b"a").await, "get"), Some(b"3".to_vec()), "delete then put");
    let batch = vec![put(t, b"k", b"c", b"1"), del(t, b"k", b"c"), put(t, b"k", b"c", b"2"), put(t, b"k", b"c", b"3")];
    ok(store.commit(0, 4, batch).await, "mixed");
    assert_eq!(ok(store.get(t, b"k", b"c").await, "get"), Some(b"3".to_vec()), "four writes, last wins");
    let rows = ok(store.scan(t, b"k", None, 100).await, "scan");
    assert_eq!(rows.len(), 2, "one row per key after overwrites: {rows:?}");
}

/// A delete removes that row only; deleting a missing row is a no-op; a later batch can delete.
pub async fn delete_removes_only_that_row<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ProjectionStore>>,
{
    let store = new_store().await;
    let t = Table::Revocations;
    let writes = vec![put(t, b"p", b"1", b"a"), put(t, b"p", b"2", b"b"), put(t, b"q", b"1", b"c")];
    ok(store.commit(0, 1, writes).await, "commit");
    ok(store.commit(0, 2, vec![del(t, b"p", b"1")]).await, "delete");
    assert_eq!(ok(store.get(t, b"p", b"1").await, "get"), None, "deleted row");
    assert_eq!(ok(store.get(t, b"p", b"2").await, "get"), Some(b"b".to_vec()), "sibling survives");
    assert_eq!(ok(store.get(t, b"q", b"1").await, "get"), Some(b"c".to_vec()), "other pk survives");
    ok(store.commit(0, 3, vec![del(t, b"p", b"missing"), del(t, b"nope", b"x"), del(Table::Meta, b"p", b"2")]).await, "no-op deletes");
    assert_eq!(ok(store.get(t, b"p", b"2").await, "get"), Some(b"b".to_vec()), "delete in another table");
    ok(store.commit(0, 4, vec![del(t, b"p", b"2")]).await, "delete last row");
    assert!(ok(store.scan(t, b"p", None, 10).await, "scan").is_empty(), "partition emptied");
    assert_eq!(ok(store.offset(0).await, "offset"), Some(4));
}

/// The same (pk, ck) in every table holds a separate row.
pub async fn every_table_is_separate<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ProjectionStore>>,
{
    let store = new_store().await;
    let writes = Table::ALL.iter().map(|&t| put(t, b"pk", b"ck", t.name().as_bytes())).collect();
    ok(store.commit(0, 1, writes).await, "commit");
    for &t in Table::ALL {
        assert_eq!(ok(store.get(t, b"pk", b"ck").await, "get"), Some(t.name().as_bytes().to_vec()), "{t:?}");
        let rows = ok(store.scan(t, b"pk", None, 10).await, "scan");
        assert_eq!(rows.len(), 1, "{t:?} scan sees another table's rows: {rows:?}");
    }
    ok(store.commit(0, 2, vec![del(Table::Users, b"pk", b"ck")]).await, "delete");
    for &t in Table::ALL {
        let expected = (t != Table::Users).then(|| t.name().as_bytes().to_vec());
        assert_eq!(ok(store.get(t, b"pk", b"ck").await, "get"), expected, "{t:?} after deleting from Users");
    }
}
