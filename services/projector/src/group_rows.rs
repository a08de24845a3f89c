//! Rows of groups and group memberships (kept apart from `rows.rs` so the layouts stay small):
//!
//! | table         | pk                        | ck            | value        |
//! |---------------|---------------------------|---------------|--------------|
//! | Groups        | pool id 0x00 group name   | ""            | `GroupState` |
//! | GroupIndex    | pool id                   | group name    | group id     |
//! | GroupMembers  | pool id 0x00 group id     | username key  | sub          |
//!
//! `GroupMembers` is derived from the user's memberships (`UserState.groups`) on the user's
//! partition, keyed by the group's incarnation id: a deleted and re-created group has a new id,
//! so its member list starts empty even though rows of the old incarnation remain until their
//! users change (nothing reads them).

use std::collections::BTreeMap;

use idp_domain::keys::AggregateKey;
use idp_domain::pb::{GroupState, UserState};
use idp_domain::AggregateState;
use idp_store::{Table, Write};

use crate::rows::join;

pub fn group_row(pool_id: &str, group_name: &str) -> Vec<u8> {
    join(pool_id, group_name)
}

pub fn members_pk(pool_id: &str, group_id: &str) -> Vec<u8> {
    join(pool_id, group_id)
}

fn index_put(g: &GroupState) -> Write {
    Write::Put {
        table: Table::GroupIndex,
        pk: g.pool_id.as_bytes().to_vec(),
        ck: g.group_name.as_bytes().to_vec(),
        value: g.group_id.as_bytes().to_vec().into(),
    }
}

/// The index writes of a group going from `old` to `new` (the state row is written by the
/// caller).
pub fn group_index(old: Option<&GroupState>, new: Option<&GroupState>) -> Vec<Write> {
    match (old, new) {
        (_, Some(g)) => vec![index_put(g)],
        (Some(g), None) => vec![Write::Delete { table: Table::GroupIndex, pk: g.pool_id.as_bytes().to_vec(), ck: g.group_name.as_bytes().to_vec() }],
        (None, None) => vec![],
    }
}

/// The membership-index writes of a user going from `old` to `new`: a row per (group
/// incarnation, user) for every membership, removed when the membership or the user goes.
pub fn membership_index(key: &AggregateKey, old: Option<&UserState>, new: Option<&UserState>) -> Vec<Write> {
    let AggregateKey::User { username_key, .. } = key else { return vec![] };
    if old.is_none_or(|u| u.groups.is_empty()) && new.is_none_or(|u| u.groups.is_empty()) {
        return vec![];
    }
    let rows = |u: Option<&UserState>| -> BTreeMap<Vec<u8>, Vec<u8>> {
        u.map(|u| u.groups.iter().map(|m| (members_pk(&u.pool_id, &m.group_id), u.sub.as_bytes().to_vec())).collect()).unwrap_or_default()
    };
    let (before, after) = (rows(old), rows(new));
    let ck = username_key.as_bytes().to_vec();
    let mut writes = Vec::new();
    for pk in before.keys().filter(|pk| !after.contains_key(*pk)) {
        writes.push(Write::Delete { table: Table::GroupMembers, pk: pk.clone(), ck: ck.clone() });
    }
    for (pk, sub) in &after {
        if before.get(pk) != Some(sub) {
            writes.push(Write::Put { table: Table::GroupMembers, pk: pk.clone(), ck: ck.clone(), value: sub.clone().into() });
        }
    }
    writes
}

/// The group- and membership-derived writes of any aggregate's transition.
pub fn transition(key: &AggregateKey, old: Option<&AggregateState>, new: Option<&AggregateState>) -> Vec<Write> {
    fn group(s: Option<&AggregateState>) -> Option<&GroupState> {
        match s {
            Some(AggregateState::Group(g)) => Some(g),
            _ => None,
        }
    }
    fn user(s: Option<&AggregateState>) -> Option<&UserState> {
        match s {
            Some(AggregateState::User(u)) => Some(u),
            _ => None,
        }
    }
    match key {
        AggregateKey::Group { .. } => group_index(group(old), group(new)),
        AggregateKey::User { .. } => membership_index(key, user(old), user(new)),
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idp_domain::pb::GroupMembership;

    fn user(groups: &[&str]) -> UserState {
        UserState {
            pool_id: "p_1".into(),
            sub: "s".into(),
            groups: groups.iter().map(|g| GroupMembership { group_name: format!("n-{g}"), group_id: g.to_string() }).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn membership_rows_follow_the_memberships() {
        let key = AggregateKey::user("p_1", "alice");
        let added = membership_index(&key, Some(&user(&["a"])), Some(&user(&["a", "b"])));
        assert_eq!(
            added,
            vec![Write::Put { table: Table::GroupMembers, pk: members_pk("p_1", "b"), ck: b"alice".to_vec(), value: idp_store::Bytes::from_static(b"s") }]
        );
        let removed = membership_index(&key, Some(&user(&["a", "b"])), Some(&user(&["b"])));
        assert_eq!(removed, vec![Write::Delete { table: Table::GroupMembers, pk: members_pk("p_1", "a"), ck: b"alice".to_vec() }]);
        assert_eq!(membership_index(&key, Some(&user(&["a", "b"])), None).len(), 2, "a deleted user leaves every group");
        assert!(membership_index(&key, Some(&user(&["a"])), Some(&user(&["a"]))).is_empty());
    }
}
