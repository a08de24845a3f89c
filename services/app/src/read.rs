//! Read-model lookups. Every read goes through the projection store; callers that need their
//! own or others' latest writes call [`App::catch_up`] first.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use idp_domain::keys::{normalize_username, AggregateKey};
use idp_domain::pb::{ClientState, PoolState, UserState};
use idp_domain::search::{parse_filter, SearchAttribute};
use idp_domain::{AggregateState, DomainError};
use idp_projector::{rows, search};
use idp_store::Table;

use crate::{App, AppError};

impl App {
    /// The state of any aggregate.
    pub async fn load(&self, key: &AggregateKey) -> Result<Option<AggregateState>, AppError> {
        Ok(rows::load_state(&*self.store, key).await?)
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

    pub(crate) async fn is_revoked(&self, origin_jti: &str) -> Result<bool, AppError> {
        Ok(self.store.get(Table::Revocations, origin_jti.as_bytes(), &[]).await?.is_some())
    }

    /// Pool ids and names, in id order, after `after` (every partition caught up first).
    pub async fn list_pools(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, String)>, AppError> {
        self.catch_up_all().await?;
        let rows = self.store.scan(Table::PoolIndex, rows::POOL_INDEX_PK, after.map(str::as_bytes), limit).await?;
        Ok(rows.into_iter().map(|r| (String::from_utf8_lossy(&r.ck).into_owned(), String::from_utf8_lossy(&r.value).into_owned())).collect())
    }

    /// A pool's client ids and names (every partition caught up first: clients live anywhere).
    pub async fn list_clients(&self, pool_id: &str, after: Option<&str>, limit: usize) -> Result<Vec<(String, String)>, AppError> {
        self.catch_up_all().await?;
        let rows = self.store.scan(Table::ClientIndex, pool_id.as_bytes(), after.map(str::as_bytes), limit).await?;
        Ok(rows.into_iter().map(|r| (String::from_utf8_lossy(&r.ck).into_owned(), String::from_utf8_lossy(&r.value).into_owned())).collect())
    }

    /// One page of ListUsers: the pool's users in (username, username key) order, or, with a
    /// filter (Cognito's grammar, [`idp_domain::search`]), those matching it in (value,
    /// username key) order, read by a range scan of the search index (its `username`
    /// partition without a filter). `pagination_token` is the opaque
    /// position after which the page starts: a page lists users in index order after it, so
    /// users added while a caller pages never make it miss or repeat one.
    pub async fn list_users(&self, pool_id: &str, filter: &str, pagination_token: Option<&str>, limit: usize) -> Result<UserPage, AppError> {
        let filter = parse_filter(filter)?;
        // Users live on every partition: catch them all up, as the pool index does for pools.
        self.catch_up_all().await?;
        let pool = self.pool(pool_id).await?;
        let (attribute, prefix) = match &filter {
            None => (SearchAttribute::Username, Vec::new()),
            Some(f) => (f.attribute, search::prefix(f)),
        };
        let pk = search::pk(&pool.pool_id, attribute);
        let after = match pagination_token {
            Some(token) => Some(page_position(attribute, &prefix, token)?),
            None => (!prefix.is_empty()).then(|| prefix.clone()),
        };
        let limit = limit.max(1);
        // One row past the page says whether another page follows; rows past the prefix end
        // the range (it is contiguous), so at most one row outside it is read.
        let mut rows = self.store.scan(Table::UserSearch, &pk, after.as_deref(), limit + 1).await?;
        rows.retain(|r| r.ck.starts_with(&prefix));
        let next = (rows.len() > limit).then(|| position_token(attribute, &rows[limit - 1].ck));
        rows.truncate(limit);
        let mut users = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(username_key) = search::username_key(&row.ck) else {
                tracing::error!(pool = %pool.pool_id, "skipping a search index row without an end of value");
                continue;
            };
            let key = AggregateKey::user(&pool.pool_id, &String::from_utf8_lossy(username_key));
            // The state may have moved on since the index row was read: list it only if it
            // still exists and still matches.
            if let Some(AggregateState::User(u)) = self.load(&key).await? {
                if filter.as_ref().is_none_or(|f| f.matches(&u)) {
                    users.push(u);
                }
            }
        }
        Ok(UserPage { users, pagination_token: next })
    }
}

/// A page of [`App::list_users`].
#[derive(Debug, Clone, Default)]
pub struct UserPage {
    pub users: Vec<UserState>,
    /// Present when more users may follow: pass it back to get the next page.
    pub pagination_token: Option<String>,
}

/// The opaque token for "after this row": the search-index partition it belongs to (the
/// attribute's name, then 0x00) and the row's ck. (Tokens made before, when a listing
/// without a filter read another index, do not parse as one and are refused.)
fn position_token(attribute: SearchAttribute, ck: &[u8]) -> String {
    let name = attribute.name().as_bytes();
    let mut bytes = Vec::with_capacity(name.len() + 1 + ck.len());
    bytes.extend_from_slice(name);
    bytes.push(0);
    bytes.extend_from_slice(ck);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The ck a token points after; refused unless it was made for the same partition and filter.
fn page_position(attribute: SearchAttribute, prefix: &[u8], token: &str) -> Result<Vec<u8>, AppError> {
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid_token())?;
    let ck = bytes.strip_prefix(attribute.name().as_bytes()).and_then(|rest| rest.strip_prefix(&[0u8][..])).ok_or_else(invalid_token)?;
    if ck.starts_with(prefix) && ck.len() > prefix.len() {
        Ok(ck.to_vec())
    } else {
        Err(invalid_token())
    }
}

fn invalid_token() -> AppError {
    AppError::invalid("Invalid pagination token.")
}
