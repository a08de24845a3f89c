//! Read-model lookups. Every read goes through the projection store; callers that need their
//! own or others' latest writes call [`App::catch_up`] first.

use idp_domain::keys::{normalize_username, AggregateKey};
use idp_domain::pb::{ClientState, PoolState, UserState};
use idp_domain::{AggregateState, DomainError};
use idp_projector::rows;
use idp_store::Table;

use crate::{App, AppError};

impl App {
    /// The state of any aggregate.
    pub async fn load(&self, key: &AggregateKey) -> Result<Option<AggregateState>, AppError> {
        let (table, pk) = rows::state_row(key);
        match self.store.get(table, &pk, &[]).await? {
            Some(bytes) => Ok(Some(
                rows::decode_state(key, &bytes).map_err(|e| AppError::Internal(format!("state row {}: {e}", key.encode())))?,
            )),
            None => Ok(None),
        }
    }

    pub(crate) async fn request_applied(&self, aggregate: &str, request_id: &str) -> Result<bool, AppError> {
        Ok(self.store.get(Table::Requests, &rows::request_row(aggregate, request_id), &[]).await?.is_some())
    }

    /// A pool, read after catching up its partition (every caller decides something with it).
    pub async fn pool(&self, pool_id: &str) -> Result<PoolState, AppError> {
        let key = AggregateKey::pool(pool_id);
        self.catch_up(&key).await?;
        match self.load(&key).await? {
            Some(AggregateState::Pool(p)) => Ok(p),
            _ => Err(DomainError::ResourceNotFound(format!("User pool {pool_id} does not exist.")).into()),
        }
    }

    /// An app client, which must belong to `pool_id` when one is given.
    pub async fn client(&self, client_id: &str) -> Result<ClientState, AppError> {
        if client_id.is_empty() || client_id.len() > 128 {
            return Err(AppError::invalid("ClientId is required and must be at most 128 characters."));
        }
        match self.load(&AggregateKey::client(client_id)).await? {
            Some(AggregateState::Client(c)) => Ok(c),
            _ => Err(DomainError::ResourceNotFound(format!("User pool client {client_id} does not exist.")).into()),
        }
    }

    /// The aggregate key of a username in a pool (normalised per the pool's case setting).
    pub fn user_key(pool: &PoolState, username: &str) -> AggregateKey {
        let case = pool.settings.as_ref().map(|s| s.username_case_sensitive).unwrap_or(false);
        AggregateKey::user(&pool.pool_id, &normalize_username(username, case))
    }

    pub async fn user(&self, pool: &PoolState, username: &str) -> Result<Option<UserState>, AppError> {
        match self.load(&App::user_key(pool, username)).await? {
            Some(AggregateState::User(u)) => Ok(Some(u)),
            _ => Ok(None),
        }
    }

    /// The username key of the user with `sub`, if any.
    pub async fn username_key_by_sub(&self, pool_id: &str, sub: &str) -> Result<Option<String>, AppError> {
        Ok(self
            .store
            .get(Table::UsersBySub, &rows::sub_row(pool_id, sub), &[])
            .await?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    pub(crate) async fn is_revoked(&self, origin_jti: &str) -> Result<bool, AppError> {
        Ok(self.store.get(Table::Revocations, origin_jti.as_bytes(), &[]).await?.is_some())
    }

    /// Pool ids and names, in id order, after `after` (every partition caught up first).
    pub async fn list_pools(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, String)>, AppError> {
        self.catch_up_all().await?;
        let rows = self.store.scan(Table::PoolIndex, rows::POOL_INDEX_PK, after.map(str::as_bytes), limit).await?;
        Ok(rows
            .into_iter()
            .map(|r| (String::from_utf8_lossy(&r.ck).into_owned(), String::from_utf8_lossy(&r.value).into_owned()))
            .collect())
    }

    /// A pool's client ids and names (every partition caught up first: clients live anywhere).
    pub async fn list_clients(&self, pool_id: &str, after: Option<&str>, limit: usize) -> Result<Vec<(String, String)>, AppError> {
        self.catch_up_all().await?;
        let rows = self.store.scan(Table::ClientIndex, pool_id.as_bytes(), after.map(str::as_bytes), limit).await?;
        Ok(rows
            .into_iter()
            .map(|r| (String::from_utf8_lossy(&r.ck).into_owned(), String::from_utf8_lossy(&r.value).into_owned()))
            .collect())
    }

    /// Users of a pool in username-key order after `after` (no filter: ListUsers' filters are
    /// a later addition), each with its current state.
    pub async fn list_users(&self, pool_id: &str, after: Option<&str>, limit: usize) -> Result<Vec<(String, UserState)>, AppError> {
        // Users live on every partition: catch them all up, as the pool index does for pools.
        self.catch_up_all().await?;
        let pool = self.pool(pool_id).await?;
        let rows = self.store.scan(Table::UserIndex, pool_id.as_bytes(), after.map(str::as_bytes), limit).await?;
        let mut users = Vec::with_capacity(rows.len());
        for row in rows {
            let username_key = String::from_utf8_lossy(&row.ck).into_owned();
            if let Some(AggregateState::User(u)) = self.load(&AggregateKey::user(&pool.pool_id, &username_key)).await? {
                users.push((username_key, u));
            }
        }
        Ok(users)
    }
}
