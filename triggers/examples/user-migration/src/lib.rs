//! User migration: moves users from a legacy store into the pool the first time they sign in
//! (or ask for a password reset). The "legacy store" here is a fixed table in the
//! configuration; a real one would be compiled in or passed the same way.
//!
//! Configuration (JSON): `{"users": {"legacy-bob": {"password": "...", "attributes":
//! {"email": "bob@example.com", "email_verified": "true"}}}}`.

use std::collections::BTreeMap;

use idp_trigger_sdk::user_migration::*;

#[derive(serde::Deserialize)]
struct LegacyUser {
    password: String,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

#[derive(serde::Deserialize)]
struct Config {
    users: BTreeMap<String, LegacyUser>,
}

struct Migrate;

impl Guest for Migrate {
    fn handle(event: UserMigrationEvent) -> Result<UserMigrationResponse, String> {
        let config: Config = config_json()?;
        let Some(user) = config.users.get(&event.user_name) else {
            return Err("User does not exist in the legacy store.".into());
        };
        let mut response = event.response;
        match event.trigger_source.as_str() {
            "UserMigration_Authentication" => {
                if user.password != event.request.password {
                    return Err("Incorrect legacy password.".into());
                }
                response.final_user_status = FinalUserStatus::Confirmed;
            }
            _ => response.final_user_status = FinalUserStatus::ResetRequired,
        }
        response.user_attributes = user.attributes.clone().into_iter().collect();
        response.message_action = Some(MessageAction::Suppress);
        info(&format!("migrated {}", event.user_name));
        Ok(response)
    }
}

export!(Migrate);
