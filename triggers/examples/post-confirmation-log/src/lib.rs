//! Post-confirmation: logs each confirmation with its idempotency key (a real trigger would
//! use the key to make its side effect happen once, e.g. as the id of a welcome message).

use idp_trigger_sdk::post_confirmation::*;

struct LogConfirmation;

impl Guest for LogConfirmation {
    fn handle(event: PostConfirmationEvent) -> Result<(), String> {
        let email = attr(&event.request.user_attributes, "email").unwrap_or("-");
        info(&format!("confirmed user={} email={email} source={} key={}", event.user_name, event.trigger_source, event.request.idempotency_key));
        Ok(())
    }
}

export!(LogConfirmation);
