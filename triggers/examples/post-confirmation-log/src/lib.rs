//! Post-confirmation: logs each confirmation with the request's ClientMetadata and its
//! idempotency key (a real trigger would use the key to make its side effect happen once,
//! e.g. as the id of a welcome message).
//! Configured with `fail`, it refuses every call instead (to see the host retry it).

use idp_trigger_sdk::post_confirmation::*;

struct LogConfirmation;

impl Guest for LogConfirmation {
    fn handle(event: PostConfirmationEvent) -> Result<(), String> {
        let key = &event.request.idempotency_key;
        if config().trim() == "fail" {
            log(Level::Warn, &format!("failing on purpose user={} key={key}", event.user_name));
            return Err("failing on purpose".into());
        }
        let email = attr(&event.request.user_attributes, "email").unwrap_or("-");
        let meta: Vec<String> = event.request.client_metadata.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        log(
            Level::Warn,
            &format!(
                "confirmed user={} email={email} source={} client={} meta={} key={key}",
                event.user_name,
                event.trigger_source,
                event.caller_context.client_id,
                meta.join(",")
            ),
        );
        Ok(())
    }
}

export!(LogConfirmation);
