//! Key encoding inside redb and the canonical-order export of one redb table.
//!
//! A row key is `u32 big-endian pk length ‖ pk ‖ ck`. All rows of one pk share the prefix
//! `len ‖ pk`, so a partition scan is one contiguous range, and a pk that is a prefix of another
//! ("a" vs "ab") has a different length prefix, so the two never mix.
//!
//! redb therefore orders rows by (pk length, pk, ck), not by (pk, ck) bytewise. The canonical
//! export order is (pk, ck) bytewise, so [`export_rows`] merges one sorted run per distinct pk
//! length (within a run, fixed-length pks make byte order equal (pk, ck) order).

use redb::{AccessGuard, Range, ReadOnlyTable};
use std::cmp::Ordering;

use super::rerr;
use crate::{Entry, StoreError, Table, Visitor};

pub(super) type RowTable = ReadOnlyTable<&'static [u8], &'static [u8]>;

/// `len ‖ pk`: the prefix shared by every row of the partition.
pub(super) fn partition_prefix(pk: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut key = Vec::with_capacity(4 + pk.len());
    push_row_key(pk, &[], &mut key)?;
    Ok(key)
}

/// The full row key.
pub(super) fn row_key(pk: &[u8], ck: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut key = Vec::with_capacity(4 + pk.len() + ck.len());
    push_row_key(pk, ck, &mut key)?;
    Ok(key)
}

/// Appends the full row key to `out` (bulk loads encode every key into one buffer).
pub(crate) fn push_row_key(pk: &[u8], ck: &[u8], out: &mut Vec<u8>) -> Result<(), StoreError> {
    let len = u32::try_from(pk.len()).map_err(|_| StoreError::InvalidWrite(format!("partition key of {} bytes", pk.len())))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(pk);
    out.extend_from_slice(ck);
    Ok(())
}

/// Splits a stored key into (pk, ck).
pub(crate) fn split_key(key: &[u8]) -> Result<(&[u8], &[u8]), StoreError> {
    let (len, rest) = key.split_first_chunk::<4>().ok_or_else(|| StoreError::Corrupt(format!("row key of {} bytes has no length prefix", key.len())))?;
    let len = u32::from_be_bytes(*len) as usize;
    if rest.len() < len {
        return Err(StoreError::Corrupt(format!("row key claims a {len}-byte partition key but has {} bytes after the prefix", rest.len())));
    }
    Ok(rest.split_at(len))
}

type Head<'t> = (AccessGuard<'t, &'static [u8]>, AccessGuard<'t, &'static [u8]>);

/// The distinct pk lengths present in the table, ascending, found by skipping from one length
/// to the next (one seek per distinct length, no full scan).
fn pk_lengths(table: &RowTable) -> Result<Vec<u32>, StoreError> {
    let mut lengths = Vec::new();
    let mut next: u64 = 0;
    while let Ok(from) = u32::try_from(next) {
        let start = from.to_be_bytes();
        let mut range = table.range::<&[u8]>(start.as_slice()..).map_err(rerr)?;
        let Some(item) = range.next() else { break };
        let (key, _) = item.map_err(rerr)?;
        let (pk, _) = split_key(key.value())?;
        let len = u32::try_from(pk.len()).map_err(|_| StoreError::Corrupt("pk length overflow".into()))?;
        lengths.push(len);
        next = u64::from(len) + 1;
    }
    Ok(lengths)
}

/// Feeds every row of `table` to `visit` in (pk, ck) bytewise order.
pub(super) fn export_rows(table: Table, rows: &RowTable, visit: &mut Visitor<'_>) -> Result<(), StoreError> {
    let lengths = pk_lengths(rows)?;
    let mut runs: Vec<Range<'_, &'static [u8], &'static [u8]>> = Vec::with_capacity(lengths.len());
    for len in &lengths {
        let lo = len.to_be_bytes();
        let hi = len.checked_add(1).map(u32::to_be_bytes);
        let range = match &hi {
            Some(hi) => rows.range::<&[u8]>(lo.as_slice()..hi.as_slice()),
            None => rows.range::<&[u8]>(lo.as_slice()..),
        };
        runs.push(range.map_err(rerr)?);
    }

    // One run (all pks the same length, the usual case for id-keyed tables): already canonical.
    let mut heads: Vec<Option<Head<'_>>> = Vec::with_capacity(runs.len());
    for run in &mut runs {
        heads.push(run.next().transpose().map_err(rerr)?);
    }
    loop {
        let mut best: Option<(usize, &[u8], &[u8])> = None;
        for (i, head) in heads.iter().enumerate() {
            let Some((key, _)) = head else { continue };
            let (pk, ck) = split_key(key.value())?;
            let better = match best {
                None => true,
                Some((_, bpk, bck)) => (pk, ck).cmp(&(bpk, bck)) == Ordering::Less,
            };
            if better {
                best = Some((i, pk, ck));
            }
        }
        let Some((i, _, _)) = best else { break };
        let (Some(slot), Some(run)) = (heads.get_mut(i), runs.get_mut(i)) else {
            return Err(StoreError::Backend("export merge lost a run".into()));
        };
        if let Some((key, value)) = slot.take() {
            let (pk, ck) = split_key(key.value())?;
            visit(Entry::Row { table, pk, ck, value: value.value() })?;
        }
        *slot = run.next().transpose().map_err(rerr)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_of_each_other_get_different_encodings() {
        // pk "a" + ck "bc" must not collide with pk "ab" + ck "c".
        let a = row_key(b"a", b"bc").unwrap();
        let b = row_key(b"ab", b"c").unwrap();
        assert_ne!(a, b);
        assert!(!b.starts_with(&partition_prefix(b"a").unwrap()));
        assert_eq!(split_key(&a).unwrap(), (&b"a"[..], &b"bc"[..]));
        assert_eq!(split_key(&b).unwrap(), (&b"ab"[..], &b"c"[..]));
    }

    #[test]
    fn split_rejects_truncated_keys() {
        assert!(matches!(split_key(&[0, 0]), Err(StoreError::Corrupt(_))));
        assert!(matches!(split_key(&[0, 0, 0, 5, 1]), Err(StoreError::Corrupt(_))));
        assert_eq!(split_key(&[0, 0, 0, 0]).unwrap(), (&[][..], &[][..]));
    }
}
