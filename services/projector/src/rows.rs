//! The read-model layout: which table, partition key and clustering key each row has.
//!
//! | table        | pk                         | ck                  | value                    |
//! |--------------|----------------------------|---------------------|--------------------------|
//! | Pools        | pool id                    | ""                  | `PoolState`              |
//! | PoolIndex    | "all"                      | pool id             | pool name                |
//! | Clients      | client id                  | ""                  | `ClientState`            |
//! | ClientIndex  | pool id                    | client id           | client name              |
//! | Users        | pool id 0x00 username key  | ""                  | `UserState`              |
//! | Revocations  | origin jti                 | ""                  | expiry (ms, big endian)  |
//! | Requests     | aggregate key 0x00 req id  | ""                  | event id                 |
//! | Outbox       | partition (u32 BE)         | offset BE, index BE | `OutboxItem`             |
//! | TriggerQueue | partition (u32 BE)         | offset BE, index BE | `TriggerItem`            |
//! | UserSearch   | pool id 0x00 attribute     | value, username key | username key             |
//!
//! Groups and memberships (Groups, GroupIndex, GroupMembers): see [`crate::group_rows`].
//! `UserSearch` (ListUsers, with or without a filter) is laid out in [`crate::search`];
//! [`transition`] keeps it in step with every user state change. Its `sub` rows also answer
//! "which user has this sub", and its `username` rows list a pool's users. Two tables this
//! module once wrote are retired: `UsersBySub` had no reader (tokens name their user by
//! username and are checked against its sub), and `UserIndex` (pool, username key) listed
//! what the `username` rows list.

use idp_domain::keys::AggregateKey;
use idp_domain::pb::{ClientState, GroupState, PoolState, UserState};
use idp_domain::AggregateState;
use idp_store::{ProjectionStore, RowSink, StoreError, Table, Write};
use prost::Message;

use crate::search;

pub const POOL_INDEX_PK: &[u8] = b"all";

/// The version of the rows this crate derives from a log, recorded in the store
/// ([`ProjectionStore::set_layout`]). Bump it whenever the same log would give different rows
/// (a table added or retired, a key or a value encoded differently): `idp serve` rebuilds a
/// store recorded with another layout, or with none, before it serves from it.
///
/// - none: stores written before layouts were recorded (they wrote `UserIndex` rows and
///   search rows whose value was the username key);
/// - 2: `UserIndex` retired, search rows without a value.
pub const LAYOUT: u32 = 2;

/// Where an aggregate's state row lives.
pub fn state_row(key: &AggregateKey) -> (Table, Vec<u8>) {
    match key {
        AggregateKey::Pool { pool_id } => (Table::Pools, pool_id.as_bytes().to_vec()),
        AggregateKey::Client { client_id } => (Table::Clients, client_id.as_bytes().to_vec()),
        AggregateKey::User { pool_id, username_key } => (Table::Users, join(pool_id, username_key)),
        AggregateKey::Group { pool_id, group_name } => (Table::Groups, crate::group_rows::group_row(pool_id, group_name)),
    }
}

pub fn join(a: &str, b: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(a.len() + b.len() + 1);
    v.extend_from_slice(a.as_bytes());
    v.push(0);
    v.extend_from_slice(b.as_bytes());
    v
}

pub fn request_row(aggregate: &str, request_id: &str) -> Vec<u8> {
    join(aggregate, request_id)
}

pub fn outbox_pk(partition: u32) -> [u8; 4] {
    partition.to_be_bytes()
}

pub fn outbox_ck(offset: u64, index: u32) -> [u8; 12] {
    let mut v = [0u8; 12];
    let (o, i) = v.split_at_mut(8);
    o.copy_from_slice(&offset.to_be_bytes());
    i.copy_from_slice(&index.to_be_bytes());
    v
}

/// The bytes of an outbox row: exactly `OutboxItem { event_id: "<event id>/<index>", pool_id,
/// username, code, recorded_at_ms }.encode_to_vec()`, written from borrowed fields and the
/// code's own encoding (`code`: `CodeIssued::encode_to_vec`), so that replay copies neither
/// the code nor the names into an item. `outbox_item_is_the_message_encoding` pins the
/// equality.
pub fn outbox_item(event_id: &str, index: usize, pool_id: &str, username: &str, code: &[u8], recorded_at_ms: i64) -> Vec<u8> {
    use prost::encoding::{encode_key, encode_varint, encoded_len_varint, int64, key_len, WireType};
    let mut digits = [0u8; 20];
    let index = decimal(index, &mut digits);
    let id_len = event_id.len() + 1 + index.len();
    // proto3: empty strings and zero are not written.
    let str_len = |tag: u32, len: usize| if len == 0 { 0 } else { key_len(tag) + encoded_len_varint(len as u64) + len };
    let len = str_len(1, id_len)
        + str_len(2, pool_id.len())
        + str_len(3, username.len())
        + key_len(4)
        + encoded_len_varint(code.len() as u64)
        + code.len()
        + if recorded_at_ms == 0 { 0 } else { int64::encoded_len(5, &recorded_at_ms) };
    let mut out = Vec::with_capacity(len);
    encode_key(1, WireType::LengthDelimited, &mut out);
    encode_varint(id_len as u64, &mut out);
    out.extend_from_slice(event_id.as_bytes());
    out.push(b'/');
    out.extend_from_slice(index);
    for (tag, text) in [(2, pool_id), (3, username)] {
        if !text.is_empty() {
            encode_key(tag, WireType::LengthDelimited, &mut out);
            encode_varint(text.len() as u64, &mut out);
            out.extend_from_slice(text.as_bytes());
        }
    }
    // A message field is written even when empty (prost does the same).
    encode_key(4, WireType::LengthDelimited, &mut out);
    encode_varint(code.len() as u64, &mut out);
    out.extend_from_slice(code);
    if recorded_at_ms != 0 {
        int64::encode(5, &recorded_at_ms, &mut out);
    }
    out
}

/// `n` in decimal, written at the end of `buf`.
fn decimal(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        if let Some(d) = buf.get_mut(at) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    buf.get(at..).unwrap_or_default()
}

/// Decodes a state row for the aggregate kind the key names.
pub fn decode_state(key: &AggregateKey, bytes: &[u8]) -> Result<AggregateState, prost::DecodeError> {
    Ok(match key {
        AggregateKey::Pool { .. } => AggregateState::Pool(PoolState::decode(bytes)?),
        AggregateKey::Client { .. } => AggregateState::Client(ClientState::decode(bytes)?),
        AggregateKey::User { .. } => AggregateState::User(UserState::decode(bytes)?),
        AggregateKey::Group { .. } => AggregateState::Group(GroupState::decode(bytes)?),
    })
}

/// The aggregate's state row as the store holds it now (`None`: no such aggregate).
pub async fn load_state(store: &dyn ProjectionStore, key: &AggregateKey) -> Result<Option<AggregateState>, StoreError> {
    let (table, pk) = state_row(key);
    match store.get(table, &pk, &[]).await? {
        Some(bytes) => decode_state(key, &bytes).map(Some).map_err(|e| StoreError::Corrupt(format!("state row {}: {e}", key.encode()))),
        None => Ok(None),
    }
}

pub fn encode_state(state: &AggregateState) -> Vec<u8> {
    match state {
        AggregateState::Pool(s) => s.encode_to_vec(),
        AggregateState::Client(s) => s.encode_to_vec(),
        AggregateState::User(s) => s.encode_to_vec(),
        AggregateState::Group(s) => s.encode_to_vec(),
    }
}

/// The writes that take the secondary indexes of one aggregate from `old` to `new`. Its state
/// row is not among them: the arbiter writes each state row a batch changed once, after the
/// batch's other writes.
pub fn transition(key: &AggregateKey, old: Option<&AggregateState>, new: Option<&AggregateState>) -> Vec<Write> {
    let mut writes = Vec::new();
    transition_into(key, old, new, &mut writes);
    writes
}

/// [`transition`], into `writes` (the arbiter's batch or a rebuild's load).
pub fn transition_into(key: &AggregateKey, old: Option<&AggregateState>, new: Option<&AggregateState>, writes: &mut impl RowSink) {
    for write in crate::group_rows::transition(key, old, new) {
        writes.write(write);
    }
    match (old, new) {
        (_, Some(AggregateState::Pool(p))) => writes.put(
            Table::PoolIndex,
            POOL_INDEX_PK,
            p.pool_id.as_bytes(),
            p.settings.as_ref().map(|s| s.name.clone()).unwrap_or_default().into_bytes().into(),
        ),
        (Some(AggregateState::Pool(p)), None) => writes.delete(Table::PoolIndex, POOL_INDEX_PK, p.pool_id.as_bytes()),
        (_, Some(AggregateState::Client(c))) => writes.put(
            Table::ClientIndex,
            c.pool_id.as_bytes(),
            c.client_id.as_bytes(),
            c.settings.as_ref().map(|s| s.name.clone()).unwrap_or_default().into_bytes().into(),
        ),
        (Some(AggregateState::Client(c)), None) => writes.delete(Table::ClientIndex, c.pool_id.as_bytes(), c.client_id.as_bytes()),
        _ => {}
    }
    if let AggregateKey::User { pool_id, username_key } = key {
        search::diff(pool_id, username_key, user_state(old), user_state(new), writes);
    }
}

fn user_state(state: Option<&AggregateState>) -> Option<&UserState> {
    match state {
        Some(AggregateState::User(u)) => Some(u),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table the projector reads single rows of must be one the store keeps point-read
    /// structures for (fjall builds bloom filters only for those).
    #[test]
    fn the_rows_read_by_key_are_in_point_read_tables() {
        let keys = [AggregateKey::pool("p"), AggregateKey::client("c"), AggregateKey::user("p", "u"), AggregateKey::group("p", "g")];
        for key in &keys {
            let (table, _) = state_row(key);
            assert!(table.is_point_read(), "{table:?} holds states read by key");
        }
        assert!(Table::Requests.is_point_read() && Table::Revocations.is_point_read());
        assert!(!Table::UserSearch.is_point_read() && !Table::Outbox.is_point_read() && !Table::TriggerQueue.is_point_read());
    }

    #[test]
    fn outbox_item_is_the_message_encoding() {
        use idp_domain::pb::{Attribute, CodeIssued, OutboxItem};
        let full = CodeIssued {
            purpose: "SIGN_UP".into(),
            attribute: "email".into(),
            channel: "EMAIL".into(),
            destination: "a@example.com".into(),
            salt: vec![1; 16].into(),
            hash: vec![2; 32].into(),
            sealed: vec![3; 300].into(),
            expires_at_ms: 1_700_000_000_000,
            client_id: "client".into(),
            trigger_source: "CustomMessage_SignUp".into(),
            client_metadata: vec![Attribute { name: "k".into(), value: "v".into() }],
        };
        let long = "x".repeat(200);
        let cases = [
            ("ev-1", 0, "pool", "alice", full.clone(), 1_700_000_000_000),
            ("ev-2", 1, "", "", CodeIssued::default(), 0),
            ("", 1_234_567, long.as_str(), "b", full, -5),
        ];
        for (event_id, index, pool_id, username, code, at) in cases {
            let expected = OutboxItem {
                event_id: format!("{event_id}/{index}"),
                pool_id: pool_id.into(),
                username: username.into(),
                code: Some(code.clone()),
                recorded_at_ms: at,
            }
            .encode_to_vec();
            assert_eq!(outbox_item(event_id, index, pool_id, username, &code.encode_to_vec(), at), expected, "{event_id}/{index}");
        }
    }
}
