//! The ListUsers search index (`Table::UserSearch`): one row per user and searchable attribute
//! that has a value, so a filter is a range scan of one partition, never a scan of the pool.
//!
//! | pk                             | ck                                      | value |
//! |--------------------------------|-----------------------------------------|-------|
//! | pool id 0x00 attribute name    | escape(value) 0x00 0x01 username key    | empty |
//!
//! `escape` doubles every 0x00 byte of the value as 0x00 0xFF, and 0x00 0x01 ends the value, so
//! the rows of one value are contiguous and sort before any longer value (bytewise order =
//! value order, then username key): `attr = "v"` is the range of ck prefix
//! `escape(v) 0x00 0x01`, `attr ^= "v"` that of `escape(v)`. The first 0x00 0x01 of a ck is
//! therefore its end of value, and [`username_key`] reads the user from the ck: the row needs
//! no value (rows written before held the username key there; nothing reads it). In Scylla
//! terms: partition key (pool, attribute), clustering key (value, username key).
//!
//! The `username` partition lists every user of a pool: ListUsers without a filter pages
//! through it (in (username, username key) order), so no other index of users is kept.
//!
//! [`entries`] derives a user's rows from its state alone and [`diff`] turns (old, new) into
//! writes, so every event that changes a user (sign-up, attributes, status, enabled, deletion,
//! and any later one) maintains the index without knowing it exists.

use std::collections::BTreeSet;

use idp_domain::pb::UserState;
use idp_domain::search::{Filter, MatchKind, SearchAttribute};
use idp_store::{Bytes, RowSink, Table};

const END_OF_VALUE: [u8; 2] = [0x00, 0x01];

/// The partition holding every value of `attribute` in a pool.
pub fn pk(pool_id: &str, attribute: SearchAttribute) -> Vec<u8> {
    let mut out = Vec::new();
    push_pk(pool_id, attribute, &mut out);
    out
}

/// [`pk`], into `out` (cleared first).
fn push_pk(pool_id: &str, attribute: SearchAttribute, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(pool_id.as_bytes());
    out.push(0);
    out.extend_from_slice(attribute.name().as_bytes());
}

fn escape(value: &str, out: &mut Vec<u8>) {
    let mut parts = value.as_bytes().split(|&b| b == 0);
    if let Some(first) = parts.next() {
        out.extend_from_slice(first);
    }
    for part in parts {
        out.extend_from_slice(&[0x00, 0xff]);
        out.extend_from_slice(part);
    }
}

/// The clustering key of a user (`username_key`) found under `value`.
pub fn ck(value: &str, username_key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + username_key.len() + 2);
    push_ck(value, username_key, &mut out);
    out
}

/// [`ck`], into `out` (cleared first).
fn push_ck(value: &str, username_key: &str, out: &mut Vec<u8>) {
    out.clear();
    escape(value, out);
    out.extend_from_slice(&END_OF_VALUE);
    out.extend_from_slice(username_key.as_bytes());
}

/// The username key of the user an index row (its clustering key) names; `None` for a ck
/// that [`ck`] did not make.
pub fn username_key(ck: &[u8]) -> Option<&[u8]> {
    let end = ck.windows(2).position(|w| w == END_OF_VALUE)?;
    ck.get(end + 2..)
}

/// The prefix every clustering key matching `filter` starts with (and only those). No row's
/// ck equals it, so it is also the exclusive start of the range.
pub fn prefix(filter: &Filter) -> Vec<u8> {
    let mut out = Vec::with_capacity(filter.value.len() + 2);
    escape(&filter.value, &mut out);
    if filter.kind == MatchKind::Exact {
        out.extend_from_slice(&END_OF_VALUE);
    }
    out
}

/// The (pk, ck) of every index row of `user`, whose username key is `username_key`.
pub fn entries(pool_id: &str, username_key: &str, user: &UserState) -> BTreeSet<(Vec<u8>, Vec<u8>)> {
    SearchAttribute::ALL.iter().filter_map(|&a| a.value_of(user).map(|v| (pk(pool_id, a), ck(&v, username_key)))).collect()
}

/// Appends to `writes` the writes taking the index rows of one user from `old` to `new`
/// (either may be absent): for each attribute whose value changed, the delete of its old row,
/// then the put of its new one.
pub fn diff(pool_id: &str, username_key: &str, old: Option<&UserState>, new: Option<&UserState>, writes: &mut impl RowSink) {
    // Each attribute has at most one row per user (one value), under a pk of its own: the
    // rows to change are those of the attributes whose value changed, nothing to build.
    // Keys are built in two buffers reused for every row.
    let (mut pk_buf, mut ck_buf) = (Vec::new(), Vec::new());
    for &a in SearchAttribute::ALL {
        let (before, after) = (old.and_then(|u| a.value_ref(u)), new.and_then(|u| a.value_ref(u)));
        if before == after {
            continue;
        }
        push_pk(pool_id, a, &mut pk_buf);
        if let Some(v) = before {
            push_ck(&v, username_key, &mut ck_buf);
            writes.delete(Table::UserSearch, &pk_buf, &ck_buf);
        }
        if let Some(v) = after {
            push_ck(&v, username_key, &mut ck_buf);
            writes.put(Table::UserSearch, &pk_buf, &ck_buf, Bytes::new());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idp_domain::search::parse_filter;
    use idp_store::Write;

    fn filter(text: &str) -> Filter {
        match parse_filter(text) {
            Ok(Some(f)) => f,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn starts(f: &str, value: &str) -> bool {
        ck(value, "k").starts_with(&prefix(&filter(f)))
    }

    #[test]
    fn prefixes_select_exactly_the_matching_values() {
        assert!(starts(r#"name = "a""#, "a"));
        assert!(!starts(r#"name = "a""#, "ab"));
        assert!(!starts(r#"name = "a""#, "a\0b"), "an escaped NUL is not the end of the value");
        assert!(!starts(r#"name = "a""#, "a\u{1}"));
        assert!(starts(r#"name ^= "a""#, "a"));
        assert!(starts(r#"name ^= "a""#, "a\0b"));
        assert!(starts(r#"name ^= "a""#, "abc"));
        assert!(!starts(r#"name ^= "ab""#, "a"));
        assert!(starts("name ^= \"a\0\"", "a\0b"));
        assert!(!starts("name ^= \"a\0\"", "a"));
        assert!(starts(r#"name = """#, ""));
        assert!(!starts(r#"name = """#, "a"));
        assert!(starts(r#"name ^= """#, "anything"));
        assert!(starts(r#"cognito:user_status = "confirmed""#, "CONFIRMED"));
    }

    #[test]
    fn the_username_key_is_read_back_from_the_ck() {
        for value in ["", "a", "a\0", "\0\u{1}", "x\0\0\u{1}y", "\u{1}"] {
            for key in ["alice", "b\u{1}", "\u{1}\0"] {
                assert_eq!(username_key(&ck(value, key)), Some(key.as_bytes()), "{value:?} {key:?}");
            }
        }
        assert_eq!(username_key(b"no end of value"), None);
    }

    #[test]
    fn order_is_value_then_username_key() {
        let mut cks = vec![ck("b", "a"), ck("a", "z"), ck("a\0", "a"), ck("ab", "a"), ck("a", "b"), ck("", "q")];
        cks.sort();
        assert_eq!(cks, vec![ck("", "q"), ck("a", "b"), ck("a", "z"), ck("a\0", "a"), ck("ab", "a"), ck("b", "a")]);
        // No ck equals a prefix, so the prefix is an exclusive range start.
        assert!(cks.iter().all(|c| *c != prefix(&filter(r#"name = "a""#)) && *c != prefix(&filter(r#"name ^= "a""#))));
    }

    fn user(email: Option<&str>, status: &str, enabled: bool) -> UserState {
        let mut u = UserState { pool_id: "p".into(), username: "Alice".into(), sub: "s1".into(), status: status.into(), enabled, ..Default::default() };
        if let Some(e) = email {
            u.attributes.insert("email".into(), e.into());
        }
        u.attributes.insert("custom:x".into(), "not searchable".into());
        u
    }

    #[test]
    fn entries_cover_every_searchable_value_and_nothing_else() {
        let rows = entries("p", "alice", &user(Some("a@x.io"), "UNCONFIRMED", true));
        let names: Vec<_> = rows.iter().map(|(pk, _)| String::from_utf8_lossy(&pk[2..]).into_owned()).collect();
        assert_eq!(names, ["cognito:user_status", "email", "status", "sub", "username"]);
        assert!(rows.contains(&(pk("p", SearchAttribute::Username), ck("Alice", "alice"))));
        assert!(rows.contains(&(pk("p", SearchAttribute::Status), ck("Enabled", "alice"))));
    }

    #[test]
    fn diff_touches_only_what_changed() {
        let diff = |old: Option<&UserState>, new: Option<&UserState>| {
            let mut writes = vec![Write::Delete { table: Table::Users, pk: b"kept".to_vec(), ck: vec![] }];
            super::diff("p", "alice", old, new, &mut writes);
            assert_eq!(writes.remove(0), Write::Delete { table: Table::Users, pk: b"kept".to_vec(), ck: vec![] }, "diff appends");
            writes
        };
        let a = user(Some("a@x.io"), "UNCONFIRMED", true);
        let b = user(Some("b@x.io"), "CONFIRMED", false);
        let created = diff(None, Some(&a));
        assert_eq!(created.len(), 5);
        assert!(created.iter().all(|w| matches!(w, Write::Put { ck, value, .. } if value.is_empty() && username_key(ck) == Some(&b"alice"[..]))));
        let changed = diff(Some(&a), Some(&b));
        assert_eq!(changed.iter().filter(|w| matches!(w, Write::Delete { .. })).count(), 3, "{changed:?}");
        assert_eq!(changed.iter().filter(|w| matches!(w, Write::Put { .. })).count(), 3, "{changed:?}");
        assert!(diff(Some(&a), Some(&a)).is_empty());
        let removed = diff(Some(&b), Some(&user(None, "CONFIRMED", false)));
        assert_eq!(removed, vec![Write::Delete { table: Table::UserSearch, pk: pk("p", SearchAttribute::Email), ck: ck("b@x.io", "alice") }]);
        let deleted = diff(Some(&b), None);
        assert_eq!(deleted.len(), 5);
        assert!(deleted.iter().all(|w| matches!(w, Write::Delete { .. })));
    }
}
