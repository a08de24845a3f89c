//! Pre-sign-up: rejects sign-ups from disposable email domains (and sign-ups without an email).
//!
//! Configuration: extra disposable domains, one per line or comma-separated (optional).

use idp_trigger_sdk::pre_sign_up::*;

const BUILT_IN: &[&str] = &["mailinator.com", "guerrillamail.com", "10minutemail.com", "trashmail.com", "yopmail.com"];

struct RejectDisposable;

impl Guest for RejectDisposable {
    fn handle(event: PreSignUpEvent) -> Result<PreSignUpResponse, String> {
        let Some(domain) = attr(&event.request.user_attributes, "email").and_then(email_domain) else {
            return Err("An email address is required.".into());
        };
        let extra = config();
        let listed = BUILT_IN.iter().copied().chain(extra.split([',', '\n']).map(str::trim)).any(|d| !d.is_empty() && d.eq_ignore_ascii_case(&domain));
        if listed {
            return Err(format!("Sign-ups from disposable email domains ({domain}) are not allowed."));
        }
        Ok(event.response)
    }
}

export!(RejectDisposable);
