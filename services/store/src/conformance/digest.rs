//! Export order and fingerprints.

use std::future::Future;
use std::sync::Arc;

use super::{del, dump, ok, put};
use crate::{Fingerprinter, OwnedEntry, ProjectionStore, Table, Write};

/// A content set whose pks have different lengths (so a length-prefixed key order differs from
/// the canonical bytewise order), several tables, and offsets whose partitions sort differently
/// as numbers and as little-endian bytes.
fn sample() -> (Vec<OwnedEntry>, Vec<(u32, u64)>) {
    type SampleRow = (Table, &'static [u8], &'static [u8], &'static [u8]);
    let rows: Vec<SampleRow> = vec![
        (Table::Meta, b"m", b"", b"meta"),
        (Table::Users, b"b", b"1", b"b1"),
        (Table::Users, b"ab", b"", b"ab"),
        (Table::Users, b"a", b"z", b"az"),
        (Table::Users, b"a", b"bc", b"abc"),
        (Table::Users, b"", b"x", b"empty pk"),
        (Table::Users, &[0xff], &[0x80], b"ff"),
        (Table::Users, &[0x00, 0x01], &[], b"0001"),
        (Table::Pools, b"pool-2", b"", b"p2"),
        (Table::Pools, b"pool-10", b"", b"p10"),
        (Table::Pools, b"pool-10", &[0x00], b"p10/0"),
        (Table::UsersBySub, &[0x7f; 40], b"sub", b"long pk"),
    ];
    let mut entries: Vec<OwnedEntry> =
        rows.into_iter().map(|(table, pk, ck, value)| OwnedEntry::Row { table, pk: pk.to_vec(), ck: ck.to_vec(), value: value.to_vec() }).collect();
    let offsets = vec![(256, 3), (1, 40), (70_000, 5), (2, 0)];
    entries.sort_by(|a, b| canonical_key(a).cmp(&canonical_key(b)));
    (entries, offsets)
}

fn canonical_key(e: &OwnedEntry) -> (usize, &[u8], &[u8]) {
    match e {
        OwnedEntry::Row { table, pk, ck, .. } => (table.index(), pk, ck),
        OwnedEntry::Offset { .. } => (usize::MAX, &[], &[]),
    }
}

fn as_put(e: &OwnedEntry) -> Option<Write> {
    match e {
        OwnedEntry::Row { table, pk, ck, value } => Some(put(*table, pk, ck, value)),
        OwnedEntry::Offset { .. } => None,
    }
}

/// Writes the sample as one batch per offset partition, rows in canonical order.
async fn load_in_order(store: &dyn ProjectionStore) {
    let (entries, offsets) = sample();
    let writes: Vec<Write> = entries.iter().filter_map(as_put).collect();
    let mut first = true;
    for (p, o) in offsets {
        let batch = if first { writes.clone() } else { Vec::new() };
        first = false;
        ok(store.commit(p, o, batch).await, "commit");
    }
}

/// The same final contents reached differently: rows in reverse, one per commit, through a
/// stale value and a row that is written then deleted, offsets moved through other values.
async fn load_scrambled(store: &dyn ProjectionStore) {
    let (entries, offsets) = sample();
    let junk = vec![put(Table::Requests, b"gone", b"", b"x"), put(Table::Users, b"a", b"z", b"stale")];
    ok(store.commit(1, 999, junk).await, "commit");
    for (i, e) in entries.iter().rev().enumerate() {
        let Some(w) = as_put(e) else { continue };
        ok(store.commit(1, i as u64, vec![w]).await, "commit");
    }
    ok(store.commit(2, 77, vec![del(Table::Requests, b"gone", b"")]).await, "commit");
    for (p, o) in offsets.into_iter().rev() {
        ok(store.commit(p, o, vec![]).await, "commit");
    }
}

/// `export` yields every row by (table in `Table::ALL` order, pk bytewise, ck bytewise), then
/// every offset by ascending partition number.
pub async fn export_is_canonical<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ProjectionStore>>,
{
    let store = new_store().await;
    assert!(dump(&*store).await.is_empty(), "fresh store exports nothing");
    load_in_order(&*store).await;
    let (mut expected, mut offsets) = sample();
    offsets.sort();
    expected.extend(offsets.into_iter().map(|(log_partition, offset)| OwnedEntry::Offset { log_partition, offset }));
    assert_eq!(dump(&*store).await, expected, "export is not in canonical order");

    // A visitor error stops the export and comes back unchanged.
    let mut calls = 0;
    let result = store
        .export(&mut |_e| {
            calls += 1;
            if calls == 3 {
                Err(crate::StoreError::Backend("stop here".into()))
            } else {
                Ok(())
            }
        })
        .await;
    assert!(matches!(result, Err(crate::StoreError::Backend(ref m)) if m == "stop here"), "got {result:?}");
    assert_eq!(calls, 3, "export went on after the visitor failed");
}

/// Equal contents give equal fingerprints, however they were written.
pub async fn fingerprint_ignores_write_order_and_batching<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ProjectionStore>>,
{
    let a = new_store().await;
    let b = new_store().await;
    assert_eq!(ok(a.fingerprint().await, "fp"), ok(b.fingerprint().await, "fp"), "two empty stores");
    load_in_order(&*a).await;
    load_scrambled(&*b).await;
    assert_eq!(dump(&*a).await, dump(&*b).await, "setup: contents should be equal");
    assert_eq!(ok(a.fingerprint().await, "fp"), ok(b.fingerprint().await, "fp"), "same contents, different digests");
    assert_eq!(ok(a.fingerprint().await, "fp"), ok(a.fingerprint().await, "fp"), "digest is not deterministic");
}

/// One differing byte anywhere (value, ck, pk, table, offset, pk/ck boundary) changes the
/// fingerprint.
pub async fn fingerprint_detects_any_difference<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ProjectionStore>>,
{
    let base = new_store().await;
    load_in_order(&*base).await;
    let reference = ok(base.fingerprint().await, "fp");
    /// (what differs, extra writes, offset to commit them with instead of (2, 0)).
    type Variant = (&'static str, Vec<Write>, Option<(u32, u64)>);
    let variants: Vec<Variant> = vec![
        ("one value byte", vec![put(Table::Users, b"a", b"z", b"aZ")], None),
        ("value length", vec![put(Table::Users, b"a", b"z", b"az\0")], None),
        ("empty value vs absent", vec![put(Table::Requests, b"new", b"", b"")], None),
        ("one row removed", vec![del(Table::Meta, b"m", b"")], None),
        ("pk/ck boundary", vec![del(Table::Users, b"a", b"bc"), put(Table::Users, b"ab", b"c", b"abc")], None),
        ("table", vec![del(Table::Meta, b"m", b""), put(Table::Requests, b"m", b"", b"meta")], None),
        ("ck byte", vec![del(Table::Users, b"b", b"1"), put(Table::Users, b"b", b"2", b"b1")], None),
        ("offset value", vec![], Some((2, 1))),
        ("extra offset", vec![], Some((3, 0))),
    ];
    for (what, writes, offset) in variants {
        let other = new_store().await;
        load_in_order(&*other).await;
        let (p, o) = offset.unwrap_or((2, 0));
        ok(other.commit(p, o, writes).await, "commit variant");
        assert_ne!(ok(other.fingerprint().await, "fp"), reference, "fingerprint blind to: {what}");
    }
}

/// The fingerprint is exactly [`Fingerprinter`] over the canonical export, so every
/// implementation agrees with every other on the same contents.
pub async fn fingerprint_uses_the_shared_framing<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn ProjectionStore>>,
{
    let store = new_store().await;
    let empty = Fingerprinter::new().finish();
    assert_eq!(ok(store.fingerprint().await, "fp"), empty, "empty store");
    load_in_order(&*store).await;
    let (mut expected, mut offsets) = sample();
    offsets.sort();
    expected.extend(offsets.into_iter().map(|(log_partition, offset)| OwnedEntry::Offset { log_partition, offset }));
    let mut fp = Fingerprinter::new();
    for e in &expected {
        fp.entry(e.as_entry());
    }
    assert_eq!(ok(store.fingerprint().await, "fp"), fp.finish(), "fingerprint does not follow the shared framing");
}
