//! [`LoadRows`]: the rows of a bulk load ([`ProjectionStore::load`](crate::ProjectionStore::load)),
//! with their keys already encoded the way the store that loads them lays keys out.
//!
//! A rebuild's partition tasks arbitrate each batch straight into a `LoadRows` (it is a
//! [`RowSink`]): every key is encoded as its row is made, from buffers the rows code reuses,
//! while it is hot in the cache of the core that made it, and no `Write` is allocated per row.
//! The loader then only sorts the batches of a load per table, where they are, and keeps the
//! last write per key ([`sorted`]). Encoding every key in the loader, from buffers written long
//! before on another core, was a third of the loader's time.

use bytes::Bytes;

use crate::types::check_row;
use crate::{RowSink, StoreError, Table, Write};

/// How a store lays a row's (pk, ck) out as one key. Both keep the canonical (pk, ck) order
/// bytewise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyEncoding {
    /// fjall: `escape(pk) ‖ 0x00 0x00 ‖ ck` (see `fjall_store/keys.rs`).
    Escaped,
    /// redb and the memory store: `len(pk) as u32 BE ‖ pk ‖ ck` (see `redb_store/keys.rs`).
    LengthPrefixed,
}

impl KeyEncoding {
    fn push(self, pk: &[u8], ck: &[u8], out: &mut Vec<u8>) -> Result<(), StoreError> {
        match self {
            KeyEncoding::Escaped => {
                crate::fjall_store::keys::push_row_key(pk, ck, out);
                Ok(())
            }
            KeyEncoding::LengthPrefixed => crate::redb_store::keys::push_row_key(pk, ck, out),
        }
    }
}

/// Bookkeeping bytes per row beyond its key and value (its slot and its value handle).
const ROW_OVERHEAD: usize = std::mem::size_of::<Slot>() + std::mem::size_of::<Option<Bytes>>();

/// Rows of a bulk load, in arrival order, keys encoded with one store's [`KeyEncoding`]
/// (from [`ProjectionStore::load_rows`](crate::ProjectionStore::load_rows)).
pub struct LoadRows {
    encoding: KeyEncoding,
    /// Indexed by [`Table::index`].
    tables: Vec<TableRows>,
    bytes: usize,
    /// The first write that broke a limit: the load of these rows fails with it, whole.
    invalid: Option<StoreError>,
}

impl LoadRows {
    pub fn new(encoding: KeyEncoding) -> Self {
        LoadRows { encoding, tables: Table::ALL.iter().map(|_| TableRows::default()).collect(), bytes: 0, invalid: None }
    }

    /// An empty `LoadRows` of the same encoding with room for as many rows and key bytes per
    /// table as this one holds (a rebuild's batches are alike: no growing by doubling).
    pub fn empty_like(&self) -> LoadRows {
        let tables = self
            .tables
            .iter()
            .map(|t| TableRows { keys: Vec::with_capacity(t.keys.len()), slots: Vec::with_capacity(t.slots.len()), values: Vec::with_capacity(t.values.len()) })
            .collect();
        LoadRows { encoding: self.encoding, tables, bytes: 0, invalid: None }
    }

    /// Appends a write (after every write pushed before it: a later write to a key wins).
    pub fn push(&mut self, write: Write) {
        match write {
            Write::Put { table, pk, ck, value } => self.push_row(table, &pk, &ck, Some(value)),
            Write::Delete { table, pk, ck } => self.push_row(table, &pk, &ck, None),
        }
    }

    /// Appends a put (`Some` value) or a delete of (`table`, `pk`, `ck`).
    fn push_row(&mut self, table: Table, pk: &[u8], ck: &[u8], value: Option<Bytes>) {
        if self.invalid.is_some() {
            return;
        }
        if let Err(e) = check_row(pk, ck, value.as_ref().map_or(0, Bytes::len)) {
            self.invalid = Some(e);
            return;
        }
        let Some(rows) = self.tables.get_mut(table.index()) else {
            self.invalid = Some(StoreError::Backend(format!("{table:?} is missing from Table::ALL")));
            return;
        };
        let start = rows.keys.len();
        if let Err(e) = self.encoding.push(pk, ck, &mut rows.keys) {
            self.invalid = Some(e);
            return;
        }
        let (Ok(start), Ok(len), Ok(index)) = (u32::try_from(start), u32::try_from(rows.keys.len() - start), u32::try_from(rows.values.len())) else {
            self.invalid = Some(StoreError::InvalidWrite("more than 4 GiB of keys or 2^32 rows in one batch".into()));
            return;
        };
        self.bytes += len as usize + value.as_ref().map_or(0, Bytes::len) + ROW_OVERHEAD;
        rows.slots.push(Slot { part: 0, start, len, write: index, head: 0 });
        rows.values.push(value);
    }

    /// Bytes held: keys, values and bookkeeping.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn encoding(&self) -> KeyEncoding {
        self.encoding
    }

    /// Every row as (table, encoded key, value or None for a delete), table by table, in
    /// arrival order within a table (the order of writes to one key).
    pub(crate) fn rows(&self) -> impl Iterator<Item = (Table, &[u8], Option<&Bytes>)> + '_ {
        Table::ALL.iter().zip(&self.tables).flat_map(|(&table, rows)| rows.in_arrival_order().map(move |(key, value)| (table, key, value)))
    }

    /// The limit a pushed write broke, if one did (the load of these rows fails with it).
    pub(crate) fn take_invalid(&mut self) -> Option<StoreError> {
        self.invalid.take()
    }
}

impl RowSink for LoadRows {
    fn put(&mut self, table: Table, pk: &[u8], ck: &[u8], value: Bytes) {
        self.push_row(table, pk, ck, Some(value));
    }

    fn delete(&mut self, table: Table, pk: &[u8], ck: &[u8]) {
        self.push_row(table, pk, ck, None);
    }
}

impl Extend<Write> for LoadRows {
    fn extend<I: IntoIterator<Item = Write>>(&mut self, writes: I) {
        for write in writes {
            self.push(write);
        }
    }
}

/// One table's rows of one [`LoadRows`]: every key encoded into one buffer (no allocation
/// per row), in arrival order.
#[derive(Default)]
struct TableRows {
    keys: Vec<u8>,
    slots: Vec<Slot>,
    /// The writes' values in arrival order (None = delete), indexed by [`Slot::write`].
    values: Vec<Option<Bytes>>,
}

/// Where a row's encoded key sits (in the `keys` of part `part` of a [`SortedRows`]; part 0
/// while a [`LoadRows`] is filled), and which write of that part it came from.
#[derive(Clone, Copy)]
struct Slot {
    part: u32,
    start: u32,
    len: u32,
    write: u32,
    /// The sort's current 8 key bytes; once sorted, [`NEW_KEY`] or [`SAME_KEY_AS_PREVIOUS`] (see
    /// [`sort_slots`]).
    head: u64,
}

impl TableRows {
    fn key(&self, slot: &Slot) -> &[u8] {
        let start = slot.start as usize;
        self.keys.get(start..start + slot.len as usize).unwrap_or_default()
    }

    fn in_arrival_order(&self) -> impl Iterator<Item = (&[u8], Option<&Bytes>)> + '_ {
        self.slots.iter().map(|slot| (self.key(slot), self.values.get(slot.write as usize).and_then(Option::as_ref)))
    }
}

/// One table's rows of a whole load: the batches' buffers side by side (the keys are not
/// copied together), and one slot per row in key order, one row per key (the last write).
pub(crate) struct SortedRows {
    parts: Vec<TableRows>,
    slots: Vec<Slot>,
}

impl SortedRows {
    fn new(parts: Vec<TableRows>) -> Result<SortedRows, StoreError> {
        let mut slots = Vec::with_capacity(parts.iter().map(|p| p.slots.len()).sum());
        for (index, part) in parts.iter().enumerate() {
            let part_no = u32::try_from(index).map_err(|_| StoreError::InvalidWrite("more than 2^32 batches in one load".into()))?;
            slots.extend(part.slots.iter().map(|s| Slot { part: part_no, ..*s }));
        }
        let mut rows = SortedRows { parts, slots };
        rows.sort();
        Ok(rows)
    }

    fn key(&self, slot: &Slot) -> &[u8] {
        self.parts.get(slot.part as usize).map(|p| p.key(slot)).unwrap_or_default()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// (encoded key, value or None for a delete), in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> + '_ {
        self.slots.iter().map(|slot| {
            let value = self.parts.get(slot.part as usize).and_then(|p| p.values.get(slot.write as usize)).and_then(|v| v.as_deref());
            (self.key(slot), value)
        })
    }

    fn sort(&mut self) {
        let mut slots = std::mem::take(&mut self.slots);
        sort_slots(|s| self.key(s), &mut slots);
        // The sort marked each slot whose key equals the one before it: keep the last of each.
        slots.dedup_by(|later, kept| {
            let same = later.head == SAME_KEY_AS_PREVIOUS;
            if same {
                *kept = *later;
            }
            same
        });
        self.slots = slots;
    }
}

/// Sorts `slots` by their key in `keys`, ties broken by arrival (so the last of a run of equal
/// keys is the last write). Keys of one table share long prefixes (pool ids, attribute names),
/// which a plain comparison sort re-reads at every comparison; this one sorts by 8 key bytes
/// at a time held in the slot, past the prefix a run shares: sort by (those bytes, how many
/// exist, arrival), then refine each run that agrees on 8 whole bytes by the next 8. Leaves
/// every slot's `head` at [`NEW_KEY`] or [`SAME_KEY_AS_PREVIOUS`] (so duplicates are dropped
/// without comparing keys again).
fn sort_slots<'k>(key: impl Fn(&Slot) -> &'k [u8], slots: &mut [Slot]) {
    // (range of slots, key bytes every slot in it is known to share)
    let mut runs = vec![(0..slots.len(), 0usize)];
    while let Some((range, known)) = runs.pop() {
        let Some(run) = slots.get_mut(range.clone()) else { continue };
        let Some(first) = run.first().map(&key) else { continue };
        // Skip what the whole run shares.
        let mut depth = first.len();
        for s in run.iter().skip(1) {
            let (shared, k) = (first.get(known..depth).unwrap_or_default(), key(s).get(known..).unwrap_or_default());
            if k.starts_with(shared) {
                continue;
            }
            depth = known + shared.iter().zip(k).take_while(|(a, b)| a == b).count();
            if depth == known {
                break;
            }
        }
        for s in run.iter_mut() {
            s.head = head(key(s), depth);
        }
        let avail = |s: &Slot| (s.len as usize).saturating_sub(depth).min(8);
        // Equal (bytes, count): equal keys when fewer than 8 bytes were left; else unknown.
        // Ties keep arrival order: a run is always in arrival order when it is sorted (the
        // whole table is, and a stable sort leaves each group of ties so), so a stable radix
        // sort by (bytes, count) does it for a long run, a comparison sort with arrival as the
        // last key for a short one (where a radix sort's passes cost more than they save).
        if run.len() >= RADIX_MIN_RUN {
            radsort::sort_by_key(run, |s| (s.head, avail(s) as u8));
        } else {
            run.sort_unstable_by(|a, b| a.head.cmp(&b.head).then(avail(a).cmp(&avail(b))).then((a.part, a.write).cmp(&(b.part, b.write))));
        }
        let mut at = range.start;
        for group in run.chunk_by_mut(|a, b| a.head == b.head && avail(a) == avail(b)) {
            if group.len() > 1 && group.first().is_some_and(|s| avail(s) == 8) {
                runs.push((at..at + group.len(), depth + 8));
            } else {
                // Sorted for good: one key, or equal keys (no bytes left to tell them apart).
                // Their `head` is free now: it says which ones repeat the key before them.
                for (i, s) in group.iter_mut().enumerate() {
                    s.head = if i == 0 { NEW_KEY } else { SAME_KEY_AS_PREVIOUS };
                }
            }
            at += group.len();
        }
    }
}

/// A sorted slot's `head` once its place is final (see [`sort_slots`]): its key differs from
/// the previous slot's, or equals it.
const NEW_KEY: u64 = 0;
const SAME_KEY_AS_PREVIOUS: u64 = 1;

/// Runs at least this long are radix-sorted (see [`sort_slots`]).
const RADIX_MIN_RUN: usize = 256;

/// Up to 8 bytes of `key` from `depth`, big-endian, zero-padded.
fn head(key: &[u8], depth: usize) -> u64 {
    // Most keys have 8 more bytes: one load, not a byte loop (or a memcpy call).
    if let Some(eight) = key.get(depth..depth + 8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
        return u64::from_be_bytes(eight);
    }
    let mut bytes = [0u8; 8];
    for (to, from) in bytes.iter_mut().zip(key.get(depth..).unwrap_or_default()) {
        *to = *from;
    }
    u64::from_be_bytes(bytes)
}

/// The rows of a load's batches (in order), per table (in [`Table::ALL`] order), sorted by
/// encoded key with only the last write per key kept. Fails whole if any batch holds an
/// invalid write or was encoded for another kind of store.
pub(crate) fn sorted(mut batches: Vec<LoadRows>, encoding: KeyEncoding) -> Result<Vec<SortedRows>, StoreError> {
    for batch in &mut batches {
        if let Some(e) = batch.invalid.take() {
            return Err(e);
        }
        if batch.encoding != encoding {
            return Err(StoreError::InvalidWrite(format!("rows encoded {:?} handed to a store that encodes {encoding:?}", batch.encoding)));
        }
    }
    let mut parts: Vec<Vec<TableRows>> = Table::ALL.iter().map(|_| Vec::with_capacity(batches.len())).collect();
    for batch in batches {
        for (table, rows) in parts.iter_mut().zip(batch.tables) {
            if !rows.slots.is_empty() {
                table.push(rows);
            }
        }
    }
    parts.into_iter().map(SortedRows::new).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_sort_matches_a_map_of_last_writes() {
        // Keys over a tiny alphabet with a long shared prefix, zero bytes, keys that are
        // prefixes of others, and equal keys longer than the sort's 8-byte steps.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut writes = Vec::new();
        let mut expected = std::collections::BTreeMap::new();
        for i in 0..5000u32 {
            let mut pk = b"pool-0001\0".to_vec();
            for _ in 0..(next() % 7) {
                pk.push([0u8, 1, b'a', 0xff][(next() % 4) as usize]);
            }
            if next() % 2 == 0 {
                pk.extend_from_slice(b"0123456789abcdef\0\0\0\0\0\0\0\0");
                for _ in 0..(next() % 4) {
                    pk.push([0u8, 1, b'a', 0xff][(next() % 4) as usize]);
                }
            }
            let value = i.to_be_bytes().to_vec();
            if next() % 5 == 0 {
                writes.push(Write::Delete { table: Table::Users, pk: pk.clone(), ck: vec![] });
                expected.insert(pk, None);
            } else {
                writes.push(Write::Put { table: Table::Users, pk: pk.clone(), ck: vec![], value: value.clone().into() });
                expected.insert(pk, Some(value));
            }
        }
        // In three batches: the order of writes holds across them.
        let batches: Vec<LoadRows> = writes.chunks(1700).map(|c| rows_of(c.to_vec())).collect();
        let tables = sorted(batches, KeyEncoding::Escaped).unwrap();
        let got: Vec<_> = tables[Table::Users.index()].iter().map(|(k, v)| (pk_of(k), v.map(<[u8]>::to_vec))).collect();
        assert_eq!(got, expected.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn bulk_writes_are_grouped_sorted_and_the_last_per_key_wins() {
        let put = |table, pk: &[u8], v: &[u8]| Write::Put { table, pk: pk.to_vec(), ck: vec![], value: v.to_vec().into() };
        let writes = vec![
            put(Table::Users, b"b", b"1"),
            put(Table::Pools, b"p", b"x"),
            put(Table::Users, b"a", b"2"),
            Write::Delete { table: Table::Users, pk: b"b".to_vec(), ck: vec![] },
            put(Table::Users, b"a", b"3"),
        ];
        let (first, second) = writes.split_at(2);
        let tables = sorted(vec![rows_of(first.to_vec()), rows_of(second.to_vec())], KeyEncoding::Escaped).unwrap();
        let rows = |t: Table| tables[t.index()].iter().map(|(k, v)| (pk_of(k), v.map(<[u8]>::to_vec))).collect::<Vec<_>>();
        assert_eq!(rows(Table::Users), vec![(b"a".to_vec(), Some(b"3".to_vec())), (b"b".to_vec(), None)]);
        assert_eq!(rows(Table::Pools), vec![(b"p".to_vec(), Some(b"x".to_vec()))]);
        assert!(tables[Table::Clients.index()].is_empty());
        let too_long = vec![put(Table::Users, &vec![0; crate::MAX_KEY_LEN + 1], b"")];
        let mut invalid = rows_of(writes.clone());
        invalid.extend(too_long);
        assert!(matches!(sorted(vec![rows_of(writes.clone()), invalid], KeyEncoding::Escaped), Err(StoreError::InvalidWrite(_))));
        let other = LoadRows::new(KeyEncoding::LengthPrefixed);
        assert!(matches!(sorted(vec![other], KeyEncoding::Escaped), Err(StoreError::InvalidWrite(_))), "rows encoded for another store");
    }

    fn rows_of(writes: Vec<Write>) -> LoadRows {
        let mut rows = LoadRows::new(KeyEncoding::Escaped);
        rows.extend(writes);
        rows
    }

    fn pk_of(key: &[u8]) -> Vec<u8> {
        let mut pk = Vec::new();
        crate::fjall_store::keys::split_key(key, &mut pk).unwrap();
        pk
    }
}
