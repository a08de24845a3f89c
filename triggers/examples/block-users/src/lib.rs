//! Pre-authentication: refuses sign-in to the usernames listed in the configuration (one per
//! line or comma-separated), e.g. accounts under investigation.

use idp_trigger_sdk::pre_authentication::*;

struct BlockUsers;

impl Guest for BlockUsers {
    fn handle(event: PreAuthenticationEvent) -> Result<(), String> {
        let blocked = config();
        if blocked.split([',', '\n']).map(str::trim).any(|u| !u.is_empty() && u == event.user_name) {
            return Err(format!("User {} is blocked from signing in.", event.user_name));
        }
        Ok(())
    }
}

export!(BlockUsers);
