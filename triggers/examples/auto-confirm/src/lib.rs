//! Pre-sign-up: auto-confirms users whose email domain is listed in the trigger's configuration,
//! and marks their email verified. Everyone else signs up as usual (confirmation code).
//!
//! Configuration (JSON): `{"domains": ["example.com", "corp.example"]}`.

use idp_trigger_sdk::pre_sign_up::*;

#[derive(serde::Deserialize)]
struct Config {
    domains: Vec<String>,
}

struct AutoConfirm;

impl Guest for AutoConfirm {
    fn handle(event: PreSignUpEvent) -> Result<PreSignUpResponse, String> {
        let config: Config = config_json()?;
        let mut response = event.response;
        let domain = attr(&event.request.user_attributes, "email").and_then(email_domain);
        if let Some(domain) = domain {
            if config.domains.iter().any(|d| d.eq_ignore_ascii_case(&domain)) {
                info(&format!("auto-confirming {} ({domain})", event.user_name));
                response.auto_confirm_user = true;
                response.auto_verify_email = true;
            }
        }
        Ok(response)
    }
}

export!(AutoConfirm);
