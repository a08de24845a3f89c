//! The data model shared by every implementation: tables, writes, rows, export entries and limits.

use crate::StoreError;
use bytes::Bytes;

/// Longest partition key or clustering key accepted, in bytes.
///
/// Scylla/Cassandra accept 64 KiB per key component; the embedded store (fjall) keeps the
/// whole row key, with the pk escaped, in at most 64 KiB (worst case 2 × 16 KiB + 2 + 16 KiB).
/// Every implementation enforces this one limit, so a batch one accepts every other accepts.
pub const MAX_KEY_LEN: usize = 16_384;

/// Largest value accepted, in bytes (8 MiB).
///
/// Scylla rejects a mutation larger than half its commit log segment (32 MiB by default) and a
/// logged batch is one mutation per partition, so values well below that keep `commit` portable.
pub const MAX_VALUE_LEN: usize = 8 * 1024 * 1024;

/// Declares [`Table`], [`Table::ALL`] and [`Table::name`] from one list, so the three cannot
/// drift apart.
macro_rules! tables {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// The read-model tables. Adding a table = adding a variant (keep `ALL` and `name()` in sync).
        ///
        /// (Here that is one line in the `tables!` list, which generates all three.)
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Table {
            $($(#[$doc])* $variant,)*
        }

        impl Table {
            /// Every table, in declaration order. This is also the canonical table order used
            /// by `export` and `fingerprint`.
            pub const ALL: &'static [Table] = &[$(Table::$variant,)*];

            /// Stable storage name (redb table name, future Scylla table name). Never rename
            /// one: existing stores would silently lose the table.
            pub fn name(self) -> &'static str {
                match self {
                    $(Table::$variant => $name,)*
                }
            }
        }
    };
}

tables! {
    /// Pool aggregate state, pk = pool id.
    Pools => "pools",
    /// Listing of pools (one partition, ck = pool id, value = name).
    PoolIndex => "pool_index",
    /// App client aggregate state, pk = client id.
    Clients => "clients",
    /// Clients of a pool (pk = pool id, ck = client id, value = name).
    ClientIndex => "client_index",
    /// User aggregate state, pk = pool id + username key.
    Users => "users",
    /// `sub` → username key, pk = pool id + sub. Retired: the projector no longer writes it
    /// (nothing read it; the search index's `sub` rows answer a lookup by sub). It stays a
    /// table so that a store written by an earlier version drops its rows at the next clear.
    UsersBySub => "users_by_sub",
    /// Revoked refresh-token families, pk = origin jti.
    Revocations => "revocations",
    /// Request ids already applied (idempotency), pk = aggregate + request id.
    Requests => "requests",
    /// Store-wide metadata.
    Meta => "meta",
    /// Messages to deliver, written by projectors (pk = log partition, ck = offset + index);
    /// senders keep their progress outside the projection.
    Outbox => "outbox",
    /// Retired: users of a pool in username-key order (pk = pool id, ck = username key, value
    /// = sub). The search index's `username` rows list a pool's users; like `UsersBySub`, it
    /// stays a table so that a store written by an earlier version drops its rows at the next
    /// clear.
    UserIndex => "user_index",
    /// Group aggregate state, pk = pool id + group name.
    Groups => "groups",
    /// Groups of a pool in name order (pk = pool id, ck = group name, value = group id).
    GroupIndex => "group_index",
    /// Members of a group incarnation (pk = pool id + group id, ck = username key, value =
    /// sub), written from the user's memberships: ListUsersInGroup without scanning users.
    GroupMembers => "group_members",
    /// Post-* trigger calls to make (PostConfirmation, PostAuthentication), written by
    /// projectors like the outbox (pk = log partition, ck = offset + index); the trigger runner
    /// keeps its progress outside the projection.
    TriggerQueue => "trigger_queue",
    /// ListUsers search index (pk = pool id + 0x00 + attribute name, ck = escaped value + 0x00 +
    /// username key, value = username key): a filter is a range scan of one partition.
    UserSearch => "user_search",
}

impl Table {
    /// Position of the table in [`Table::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether the service reads single rows of the table by key ([`get`]): the aggregate
    /// states, request ids, revocations and metadata. The other tables are only scanned a
    /// partition at a time, so a store may skip what only speeds up point reads for them
    /// (fjall: bloom filters). `get` still answers on every table.
    ///
    /// [`get`]: crate::ProjectionStore::get
    pub fn is_point_read(self) -> bool {
        matches!(self, Table::Pools | Table::Clients | Table::Users | Table::Groups | Table::Requests | Table::Revocations | Table::Meta)
    }
}

/// One mutation of a projector batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// `value` is shared bytes: the projector keeps the state rows it writes in its cache,
    /// and a clone of a `Bytes` is not a copy.
    Put {
        table: Table,
        pk: Vec<u8>,
        ck: Vec<u8>,
        value: Bytes,
    },
    Delete {
        table: Table,
        pk: Vec<u8>,
        ck: Vec<u8>,
    },
}

/// Checks a row's keys and value length against [`MAX_KEY_LEN`] and [`MAX_VALUE_LEN`].
pub(crate) fn check_row(pk: &[u8], ck: &[u8], value_len: usize) -> Result<(), StoreError> {
    if pk.len() > MAX_KEY_LEN {
        return Err(StoreError::InvalidWrite(format!("partition key is {} bytes, the limit is {MAX_KEY_LEN}", pk.len())));
    }
    if ck.len() > MAX_KEY_LEN {
        return Err(StoreError::InvalidWrite(format!("clustering key is {} bytes, the limit is {MAX_KEY_LEN}", ck.len())));
    }
    if value_len > MAX_VALUE_LEN {
        return Err(StoreError::InvalidWrite(format!("value is {value_len} bytes, the limit is {MAX_VALUE_LEN}")));
    }
    Ok(())
}

/// Where a projector's rows go: a batch of [`Write`]s for [`commit`], or a bulk load's
/// [`LoadRows`](crate::LoadRows), which encodes each row's key as it comes (so the rows
/// code can hand over keys it built in a reused buffer: nothing is allocated per row).
///
/// [`commit`]: crate::ProjectionStore::commit
pub trait RowSink {
    fn put(&mut self, table: Table, pk: &[u8], ck: &[u8], value: Bytes);
    fn delete(&mut self, table: Table, pk: &[u8], ck: &[u8]);
    /// A row already built as a [`Write`].
    fn write(&mut self, write: Write) {
        match write {
            Write::Put { table, pk, ck, value } => self.put(table, &pk, &ck, value),
            Write::Delete { table, pk, ck } => self.delete(table, &pk, &ck),
        }
    }
}

impl RowSink for Vec<Write> {
    fn put(&mut self, table: Table, pk: &[u8], ck: &[u8], value: Bytes) {
        self.push(Write::Put { table, pk: pk.to_vec(), ck: ck.to_vec(), value });
    }

    fn delete(&mut self, table: Table, pk: &[u8], ck: &[u8]) {
        self.push(Write::Delete { table, pk: pk.to_vec(), ck: ck.to_vec() });
    }

    fn write(&mut self, write: Write) {
        self.push(write);
    }
}

impl Write {
    /// Checks the write against [`MAX_KEY_LEN`] and [`MAX_VALUE_LEN`].
    pub fn validate(&self) -> Result<(), StoreError> {
        match self {
            Write::Put { pk, ck, value, .. } => check_row(pk, ck, value.len()),
            Write::Delete { pk, ck, .. } => check_row(pk, ck, 0),
        }
    }

    /// The table the write goes to.
    pub fn table(&self) -> Table {
        match self {
            Write::Put { table, .. } | Write::Delete { table, .. } => *table,
        }
    }
}

/// One row of a partition, as returned by `scan`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub ck: Vec<u8>,
    pub value: Vec<u8>,
}

/// One item of an export, borrowed for the duration of the visitor call.
///
/// Canonical order: every row, by table (in [`Table::ALL`] order), then partition key, then
/// clustering key, both compared bytewise; then every offset, by ascending log partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry<'a> {
    Row { table: Table, pk: &'a [u8], ck: &'a [u8], value: &'a [u8] },
    Offset { log_partition: u32, offset: u64 },
}

impl Entry<'_> {
    /// An owned copy, handy for tests that collect an export.
    pub fn to_owned_entry(&self) -> OwnedEntry {
        match *self {
            Entry::Row { table, pk, ck, value } => OwnedEntry::Row { table, pk: pk.to_vec(), ck: ck.to_vec(), value: value.to_vec() },
            Entry::Offset { log_partition, offset } => OwnedEntry::Offset { log_partition, offset },
        }
    }
}

/// Owned form of [`Entry`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnedEntry {
    Row { table: Table, pk: Vec<u8>, ck: Vec<u8>, value: Vec<u8> },
    Offset { log_partition: u32, offset: u64 },
}

impl OwnedEntry {
    /// Borrowed view.
    pub fn as_entry(&self) -> Entry<'_> {
        match self {
            OwnedEntry::Row { table, pk, ck, value } => Entry::Row { table: *table, pk, ck, value },
            OwnedEntry::Offset { log_partition, offset } => Entry::Offset { log_partition: *log_partition, offset: *offset },
        }
    }
}

/// The callback `export` feeds; returning an error stops the export and is returned by it.
pub type Visitor<'v> = dyn for<'a> FnMut(Entry<'a>) -> Result<(), StoreError> + Send + 'v;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn all_lists_every_table_in_declaration_order_with_unique_names() {
        for (i, t) in Table::ALL.iter().enumerate() {
            assert_eq!(t.index(), i, "{t:?} is out of place in Table::ALL");
        }
        let names: HashSet<_> = Table::ALL.iter().map(|t| t.name()).collect();
        assert_eq!(names.len(), Table::ALL.len(), "duplicate table name");
    }

    #[test]
    fn validate_enforces_limits() {
        let ok = Write::Put { table: Table::Users, pk: vec![0; MAX_KEY_LEN], ck: vec![0; MAX_KEY_LEN], value: vec![0; MAX_VALUE_LEN].into() };
        assert!(ok.validate().is_ok());
        let long_pk = Write::Delete { table: Table::Users, pk: vec![0; MAX_KEY_LEN + 1], ck: vec![] };
        assert!(matches!(long_pk.validate(), Err(StoreError::InvalidWrite(_))));
        let long_ck = Write::Delete { table: Table::Users, pk: vec![], ck: vec![0; MAX_KEY_LEN + 1] };
        assert!(matches!(long_ck.validate(), Err(StoreError::InvalidWrite(_))));
        let big = Write::Put { table: Table::Users, pk: vec![], ck: vec![], value: vec![0; MAX_VALUE_LEN + 1].into() };
        assert!(matches!(big.validate(), Err(StoreError::InvalidWrite(_))));
    }
}
