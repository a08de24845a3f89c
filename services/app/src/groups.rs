//! Groups (admin credential checked by the adapters): CreateGroup … ListUsersInGroup, group
//! membership (AdminAddUserToGroup / AdminRemoveUserFromGroup / AdminListGroupsForUser), and the
//! `cognito:groups` of issued tokens.
//!
//! A group is its own aggregate (`group/<pool>/<name>`); membership lives on the user and names
//! the group's incarnation id. A membership whose incarnation is not the group's current one
//! (the group was deleted, perhaps re-created) is not a membership: it is skipped by every read
//! here and replaced when the user is added again.

use std::collections::BTreeSet;

use idp_domain::group::{self, GroupCommand};
use idp_domain::keys::AggregateKey;
use idp_domain::pb::{GroupSettings, GroupState, UserState};
use idp_domain::user_admin::AdminUserCommand;
use idp_domain::{AggregateState, DomainError};
use idp_projector::group_rows;
use idp_store::Table;

use crate::exec::decider;
use crate::{App, AppError};

fn group_of(state: Option<&AggregateState>) -> Option<&GroupState> {
    match state {
        Some(AggregateState::Group(g)) => Some(g),
        _ => None,
    }
}

fn not_found() -> AppError {
    DomainError::ResourceNotFound("Group not found.".into()).into()
}

/// UpdateGroup's members; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct GroupPatch {
    pub description: Option<String>,
    pub precedence: Option<u32>,
    pub role_arn: Option<String>,
}

impl App {
    /// A group, read after catching up its partition; `None` when it does not exist.
    pub async fn find_group(&self, pool_id: &str, group_name: &str) -> Result<Option<GroupState>, AppError> {
        group::validate_group_name(group_name)?;
        let key = AggregateKey::group(pool_id, group_name);
        self.catch_up(&key).await?;
        Ok(group_of(self.load(&key).await?.as_ref()).cloned())
    }

    async fn group_command(
        &self,
        pool_id: &str,
        group_name: &str,
        request_id: &str,
        make: impl Fn() -> GroupCommand + Send + Sync + 'static,
    ) -> Result<Option<GroupState>, AppError> {
        group::validate_group_name(group_name)?;
        let committed =
            self.execute(&AggregateKey::group(pool_id, group_name), request_id, decider(move |state, ctx| group::decide(group_of(state), make(), ctx))).await?;
        Ok(group_of(committed.state.as_ref()).cloned())
    }

    pub async fn create_group(&self, pool_id: &str, group_name: &str, settings: GroupSettings, request_id: &str) -> Result<GroupState, AppError> {
        let pool = self.pool(pool_id).await?;
        let name = group_name.to_string();
        self.group_command(pool_id, group_name, request_id, move || GroupCommand::Create {
            pool: Some(pool.clone()),
            group_name: name.clone(),
            settings: settings.clone(),
        })
        .await?
        .ok_or_else(|| AppError::Internal("group missing after CreateGroup".into()))
    }

    pub async fn get_group(&self, pool_id: &str, group_name: &str) -> Result<GroupState, AppError> {
        self.pool(pool_id).await?;
        self.find_group(pool_id, group_name).await?.ok_or_else(not_found)
    }

    pub async fn update_group(&self, pool_id: &str, group_name: &str, patch: GroupPatch, request_id: &str) -> Result<GroupState, AppError> {
        self.pool(pool_id).await?;
        self.group_command(pool_id, group_name, request_id, move || GroupCommand::Update {
            description: patch.description.clone(),
            precedence: patch.precedence,
            role_arn: patch.role_arn.clone(),
        })
        .await?
        .ok_or_else(not_found)
    }

    pub async fn delete_group(&self, pool_id: &str, group_name: &str, request_id: &str) -> Result<(), AppError> {
        self.pool(pool_id).await?;
        self.group_command(pool_id, group_name, request_id, || GroupCommand::Delete).await?;
        Ok(())
    }

    /// Groups of a pool in name order after `after` (every partition caught up: groups live on
    /// all of them).
    pub async fn list_groups(&self, pool_id: &str, after: Option<&str>, limit: usize) -> Result<Vec<GroupState>, AppError> {
        self.catch_up_all().await?;
        self.pool(pool_id).await?;
        let rows = self.store.scan(Table::GroupIndex, pool_id.as_bytes(), after.map(str::as_bytes), limit).await?;
        let mut groups = Vec::with_capacity(rows.len());
        for row in rows {
            let name = String::from_utf8_lossy(&row.ck).into_owned();
            if let Some(g) = group_of(self.load(&AggregateKey::group(pool_id, &name)).await?.as_ref()) {
                groups.push(g.clone());
            }
        }
        Ok(groups)
    }

    pub async fn admin_add_user_to_group(&self, pool_id: &str, username: &str, group_name: &str, request_id: &str) -> Result<(), AppError> {
        let pool = self.pool(pool_id).await?;
        let group = self.find_group(pool_id, group_name).await?;
        let name = group_name.to_string();
        self.admin_user_command(&pool, username, request_id, move || AdminUserCommand::AddToGroup { group_name: name.clone(), group: group.clone() }).await?;
        Ok(())
    }

    pub async fn admin_remove_user_from_group(&self, pool_id: &str, username: &str, group_name: &str, request_id: &str) -> Result<(), AppError> {
        let pool = self.pool(pool_id).await?;
        let group = self.find_group(pool_id, group_name).await?;
        let name = group_name.to_string();
        self.admin_user_command(&pool, username, request_id, move || AdminUserCommand::RemoveFromGroup { group_name: name.clone(), group: group.clone() })
            .await?;
        Ok(())
    }

    /// The groups `user` currently belongs to (memberships of the groups' current incarnations),
    /// in name order. Each group's partition is caught up first, so a group changed a moment
    /// ago on another front is seen as it is now.
    pub async fn groups_of(&self, user: &UserState) -> Result<Vec<GroupState>, AppError> {
        let mut caught_up = BTreeSet::new();
        let mut groups = Vec::with_capacity(user.groups.len());
        for m in &user.groups {
            let key = AggregateKey::group(&user.pool_id, &m.group_name);
            if caught_up.insert(self.partition_of(&key)) {
                self.catch_up(&key).await?;
            }
            if let Some(g) = group_of(self.load(&key).await?.as_ref()) {
                if g.group_id == m.group_id {
                    groups.push(g.clone());
                }
            }
        }
        Ok(groups)
    }

    /// AdminListGroupsForUser: the user's groups in name order after `after`.
    pub async fn admin_list_groups_for_user(&self, pool_id: &str, username: &str, after: Option<&str>, limit: usize) -> Result<Vec<GroupState>, AppError> {
        let user = self.admin_get_user(pool_id, username).await?;
        let groups = self.groups_of(&user).await?;
        Ok(groups.into_iter().filter(|g| after.is_none_or(|a| g.group_name.as_str() > a)).take(limit).collect())
    }

    /// ListUsersInGroup: members of the group's current incarnation in username-key order after
    /// `after`, from the membership index (no scan of the pool's users).
    pub async fn list_users_in_group(&self, pool_id: &str, group_name: &str, after: Option<&str>, limit: usize) -> Result<Vec<(String, UserState)>, AppError> {
        // Memberships live on the users' partitions: catch them all up.
        self.catch_up_all().await?;
        let pool = self.pool(pool_id).await?;
        let group = self.find_group(pool_id, group_name).await?.ok_or_else(not_found)?;
        let pk = group_rows::members_pk(pool_id, &group.group_id);
        let rows = self.store.scan(Table::GroupMembers, &pk, after.map(str::as_bytes), limit).await?;
        let mut users = Vec::with_capacity(rows.len());
        for row in rows {
            let username_key = String::from_utf8_lossy(&row.ck).into_owned();
            if let Some(AggregateState::User(u)) = self.load(&AggregateKey::user(&pool.pool_id, &username_key)).await? {
                users.push((username_key, u));
            }
        }
        Ok(users)
    }

    /// `cognito:groups` for a token: the user's groups by precedence, then name.
    pub(crate) async fn token_groups(&self, user: &UserState) -> Result<Vec<String>, AppError> {
        if user.groups.is_empty() {
            return Ok(vec![]);
        }
        let mut groups = self.groups_of(user).await?;
        group::token_order(&mut groups);
        Ok(groups.into_iter().map(|g| g.group_name).collect())
    }
}
