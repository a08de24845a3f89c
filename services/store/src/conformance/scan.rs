//! Partition scans: ordering, paging, and isolation between partitions.

use std::future::Future;
use std::sync::Arc;

use super::{ok, put};
use crate::{ProjectionStore, Row, Table};

fn cks(rows: &[Row]) -> Vec<Vec<u8>> {
    rows.iter().map(|r| r.ck.clone()).collect()
}

/// Rows come back ascending by ck compared as unsigned bytes (0x80 after 0x7f, a prefix before
/// its extensions, the empty ck first), whatever the write order.
pub async fn scan_is_bytewise_ascending<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ProjectionStore>>,
{
    let store = new_store().await;
    let mut keys: Vec<Vec<u8>> = vec![
        vec![0xff, 0x00],
        vec![0x80],
        b"a".to_vec(),
        vec![0x00, 0x00],
        vec![],
        vec![0xff],
        b"B".to_vec(),
        vec![0x7f],
        vec![0x00],
        vec![0x01],
        b"ab".to_vec(),
    ];
    // Two batches, neither in order.
    let (first, second) = keys.split_at(5);
    let w1 = first.iter().map(|ck| put(Table::Users, b"p", ck, ck)).collect();
    let w2 = second.iter().rev().map(|ck| put(Table::Users, b"p", ck, ck)).collect();
    ok(store.commit(0, 1, w1).await, "commit");
    ok(store.commit(0, 2, w2).await, "commit");
    keys.sort();
    let rows = ok(store.scan(Table::Users, b"p", None, 100).await, "scan");
    assert_eq!(cks(&rows), keys, "scan order is not bytewise ascending");
    assert!(rows.iter().all(|r| r.value == r.ck), "values follow their rows");
}

/// `after` is exclusive and need not exist; `limit` caps the page; paging with the last ck of
/// each page visits every row exactly once.
pub async fn scan_pages_with_after_and_limit<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ProjectionStore>>,
{
    let store = new_store().await;
    let t = Table::Requests;
    let all: Vec<Vec<u8>> = (0u16..10).map(|i| i.to_be_bytes().to_vec()).collect();
    ok(store.commit(0, 1, all.iter().map(|ck| put(t, b"p", ck, b"v")).collect()).await, "commit");

    let mut seen = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    let mut pages = 0;
    loop {
        let page = ok(store.scan(t, b"p", after.as_deref(), 3).await, "scan page");
        assert!(page.len() <= 3, "limit 3 returned {}", page.len());
        pages += 1;
        assert!(pages <= 5, "paging does not terminate");
        let Some(last) = page.last() else { break };
        after = Some(last.ck.clone());
        seen.extend(cks(&page));
    }
    assert_eq!(seen, all, "paging lost or repeated rows");
    assert_eq!(pages, 5, "3+3+3+1 then an empty page");

    assert!(ok(store.scan(t, b"p", None, 0).await, "scan").is_empty(), "limit 0");
    let all_rows = ok(store.scan(t, b"p", None, usize::MAX).await, "scan");
    assert_eq!(cks(&all_rows), all, "limit usize::MAX");
    let from_gap = ok(store.scan(t, b"p", Some(&[0, 4, 0]), 2).await, "scan");
    assert_eq!(cks(&from_gap), vec![vec![0, 5], vec![0, 6]], "after a ck that is not stored");
    let exclusive = ok(store.scan(t, b"p", Some(&[0, 4]), 1).await, "scan");
    assert_eq!(cks(&exclusive), vec![vec![0, 5]], "after is exclusive");
    assert!(ok(store.scan(t, b"p", Some(&[0, 9]), 5).await, "scan").is_empty(), "after the last");
    let from_empty = ok(store.scan(t, b"p", Some(&[]), 1).await, "scan");
    assert_eq!(cks(&from_empty), vec![vec![0, 0]], "after the empty ck");
    assert!(ok(store.scan(t, b"p", Some(&[0xff]), 5).await, "scan").is_empty(), "after everything");
    assert!(ok(store.scan(t, b"nope", None, 5).await, "scan").is_empty(), "unknown partition");
}

/// A scan sees only its own (table, pk): pks that are prefixes of each other ("a", "ab"), whose
/// pk‖ck concatenations collide ("a"+"bc" = "ab"+"c"), the empty pk, and the same pk in
/// another table never mix.
pub async fn scan_stays_in_its_partition<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ProjectionStore>>,
{
    let store = new_store().await;
    let t = Table::PoolIndex;
    let writes = vec![
        put(t, b"a", b"bc", b"a/bc"),
        put(t, b"a", b"z", b"a/z"),
        put(t, b"ab", b"c", b"ab/c"),
        put(t, b"ab", b"", b"ab/"),
        put(t, b"", b"abc", b"/abc"),
        put(t, b"a\0", b"", b"a0/"),
        put(t, b"b", b"", b"b/"),
        put(Table::ClientIndex, b"a", b"a", b"other table"),
    ];
    ok(store.commit(0, 1, writes).await, "commit");
    let expect = |rows: Vec<Row>| rows.into_iter().map(|r| r.value).collect::<Vec<_>>();
    let v = |s: &[&[u8]]| s.iter().map(|x| x.to_vec()).collect::<Vec<_>>();
    assert_eq!(expect(ok(store.scan(t, b"a", None, 100).await, "scan")), v(&[b"a/bc", b"a/z"]), "pk a");
    assert_eq!(expect(ok(store.scan(t, b"ab", None, 100).await, "scan")), v(&[b"ab/", b"ab/c"]), "pk ab");
    assert_eq!(expect(ok(store.scan(t, b"", None, 100).await, "scan")), v(&[b"/abc"]), "empty pk");
    assert_eq!(expect(ok(store.scan(t, b"a\0", None, 100).await, "scan")), v(&[b"a0/"]), "pk a NUL");
    assert_eq!(expect(ok(store.scan(t, b"a", Some(b"c"), 100).await, "scan")), v(&[b"a/z"]), "pk a after c");
    assert_eq!(expect(ok(store.scan(t, b"a", Some(b"z"), 100).await, "scan")), v(&[]), "pk a after its last");
    assert_eq!(ok(store.get(t, b"a", b"bc").await, "get"), Some(b"a/bc".to_vec()));
    assert_eq!(ok(store.get(t, b"ab", b"c").await, "get"), Some(b"ab/c".to_vec()));
    assert_eq!(ok(store.get(t, b"", b"abc").await, "get"), Some(b"/abc".to_vec()));
    assert_eq!(ok(store.get(t, b"abc", b"").await, "get"), None, "pk/ck split is not ambiguous");
    assert_eq!(expect(ok(store.scan(Table::ClientIndex, b"a", None, 100).await, "scan")), v(&[b"other table"]));
}
