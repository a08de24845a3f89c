//! Aggregate keys (the log's record keys, and so its partitioning) and username normalisation.

/// Which aggregate a key names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AggregateKey {
    Pool {
        pool_id: String,
    },
    Client {
        client_id: String,
    },
    User {
        pool_id: String,
        username_key: String,
    },
    /// A group of a pool; group names are case sensitive (as in Cognito).
    Group {
        pool_id: String,
        group_name: String,
    },
}

impl AggregateKey {
    pub fn pool(pool_id: &str) -> Self {
        AggregateKey::Pool { pool_id: pool_id.to_string() }
    }
    pub fn client(client_id: &str) -> Self {
        AggregateKey::Client { client_id: client_id.to_string() }
    }
    /// `username_key` must already be normalised with [`normalize_username`].
    pub fn user(pool_id: &str, username_key: &str) -> Self {
        AggregateKey::User { pool_id: pool_id.to_string(), username_key: username_key.to_string() }
    }

    pub fn group(pool_id: &str, group_name: &str) -> Self {
        AggregateKey::Group { pool_id: pool_id.to_string(), group_name: group_name.to_string() }
    }

    /// The canonical text form, used as the log record key.
    pub fn encode(&self) -> String {
        match self {
            AggregateKey::Pool { pool_id } => format!("pool/{pool_id}"),
            AggregateKey::Client { client_id } => format!("client/{client_id}"),
            AggregateKey::User { pool_id, username_key } => format!("user/{pool_id}/{username_key}"),
            AggregateKey::Group { pool_id, group_name } => format!("group/{pool_id}/{group_name}"),
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        let (kind, rest) = text.split_once('/')?;
        match kind {
            "pool" if !rest.is_empty() => Some(AggregateKey::pool(rest)),
            "client" if !rest.is_empty() => Some(AggregateKey::client(rest)),
            "user" | "group" => {
                let (pool_id, name) = rest.split_once('/')?;
                if pool_id.is_empty() || name.is_empty() {
                    return None;
                }
                Some(if kind == "user" { AggregateKey::user(pool_id, name) } else { AggregateKey::group(pool_id, name) })
            }
            _ => None,
        }
    }
}

/// The key a username is unique under in its pool: lower-cased (Unicode) unless the pool is
/// case sensitive.
pub fn normalize_username(username: &str, case_sensitive: bool) -> String {
    if case_sensitive {
        username.to_string()
    } else {
        username.to_lowercase()
    }
}

/// SRP's "pool name": the part of the pool id after the region and `_`.
pub fn pool_name(pool_id: &str) -> &str {
    pool_id.split_once('_').map(|(_, name)| name).unwrap_or(pool_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for key in [
            AggregateKey::pool("us-east-1_abc"),
            AggregateKey::client("abc123"),
            AggregateKey::user("us-east-1_abc", "alice/with/slash"),
            AggregateKey::group("us-east-1_abc", "Admins/EU"),
        ] {
            assert_eq!(AggregateKey::parse(&key.encode()), Some(key));
        }
        assert_eq!(AggregateKey::parse("user/only"), None);
        assert_eq!(AggregateKey::parse("pool/"), None);
        assert_eq!(AggregateKey::parse("thing/x"), None);
        assert_eq!(AggregateKey::parse("group/us-east-1_abc"), None);
    }

    #[test]
    fn usernames_normalise_per_pool_setting() {
        assert_eq!(normalize_username("ÄliCe", false), "älice");
        assert_eq!(normalize_username("ÄliCe", true), "ÄliCe");
        assert_eq!(pool_name("eu-west-1_Abc123XYZ"), "Abc123XYZ");
    }
}
