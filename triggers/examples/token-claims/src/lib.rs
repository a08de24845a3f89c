//! Pre-token-generation: adds custom claims to the ID token and a group to both tokens.
//!
//! Configuration (JSON): `{"claims": {"tenant": "acme"}, "group": "beta-testers",
//! "suppress": ["phone_number"]}` (every key optional).

use std::collections::BTreeMap;

use idp_trigger_sdk::pre_token_generation::*;

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Config {
    claims: BTreeMap<String, String>,
    group: Option<String>,
    suppress: Vec<String>,
}

struct TokenClaims;

impl Guest for TokenClaims {
    fn handle(event: PreTokenGenerationEvent) -> Result<PreTokenGenerationResponse, String> {
        let config: Config = if config().trim().is_empty() { Config::default() } else { config_json()? };
        let mut response = event.response;
        response.claims_to_add_or_override.extend(config.claims);
        response.claims_to_suppress.extend(config.suppress);
        if let Some(group) = config.group {
            let mut groups = event.request.group_configuration;
            if !groups.groups_to_override.contains(&group) {
                groups.groups_to_override.push(group);
            }
            response.group_override_details = Some(groups);
        }
        Ok(response)
    }
}

export!(TokenClaims);
