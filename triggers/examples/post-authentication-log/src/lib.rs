//! Post-authentication: an audit line per sign-in, with its idempotency key (a real trigger
//! would write it to an audit store keyed by it, so a repeated call changes nothing).
//! Configured with `fail`, it refuses every call instead (to see the host retry it).

use idp_trigger_sdk::post_authentication::*;

struct AuditSignIn;

impl Guest for AuditSignIn {
    fn handle(event: PostAuthenticationEvent) -> Result<(), String> {
        let key = &event.request.idempotency_key;
        if config().trim() == "fail" {
            log(Level::Warn, &format!("failing on purpose user={} key={key}", event.user_name));
            return Err("failing on purpose".into());
        }
        let sub = attr(&event.request.user_attributes, "sub").unwrap_or("-");
        log(
            Level::Warn,
            &format!("signed in user={} sub={sub} source={} client={} key={key}", event.user_name, event.trigger_source, event.caller_context.client_id),
        );
        Ok(())
    }
}

export!(AuditSignIn);
