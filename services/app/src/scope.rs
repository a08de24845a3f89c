//! The request scope: per-request context the adapters set up around each call.
//!
//! **One end-offset read per request.** Read-your-writes needs each state read to wait until the
//! local projection has applied its partition up to an end offset read *after the request
//! began*. A request usually reads several aggregates in turn (the app client, then its pool,
//! then the user), each possibly on another partition. Outside a scope every catch-up reads its
//! partition's end offset (one broker round trip each on Kafka). Inside [`request_scope`] the
//! first catch-up reads every partition's end offset at once
//! ([`idp_eventlog::EventLog::end_offsets`], one ListOffsets request) and later catch-ups of the
//! same request reuse that snapshot: still read after the request began, so it covers every
//! write acknowledged before it, which is what a caller may expect to read.
//!
//! **The caller's ClientMetadata.** Cognito hands the `ClientMetadata` of a call to every trigger
//! the call runs (PreAuthentication, Define/Create/VerifyAuthChallenge, PreTokenGeneration,
//! UserMigration). The adapter records it once per request
//! ([`set_client_metadata`]) and the trigger calls read it ([`client_metadata`]), instead of
//! threading it through every sign-in step. It is a trigger input only: never in the log.
//!
//! The adapters (gRPC and Cognito JSON) run each request in a scope; background work
//! (dispatchers, the post-* trigger runner) runs outside one.

use std::future::Future;
use std::sync::{Arc, Mutex};

use idp_eventlog::Offset;

/// What one request carries through the command path.
#[derive(Default)]
struct RequestContext {
    ends: tokio::sync::OnceCell<Vec<Offset>>,
    client_metadata: Mutex<Vec<(String, String)>>,
}

tokio::task_local! {
    static REQUEST: Arc<RequestContext>;
}

/// Runs `fut` (one API request) with its own request context.
pub async fn request_scope<F: Future>(fut: F) -> F::Output {
    REQUEST.scope(Arc::new(RequestContext::default()), fut).await
}

/// The current request's end-offset snapshot, if the caller runs inside [`request_scope`].
pub(crate) async fn end_offsets<F, Fut>(read: F) -> Option<Result<Vec<Offset>, idp_eventlog::LogError>>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Vec<Offset>, idp_eventlog::LogError>>,
{
    let ctx = REQUEST.try_with(Arc::clone).ok()?;
    Some(ctx.ends.get_or_try_init(read).await.cloned())
}

/// Records the request's ClientMetadata for the triggers it runs (no-op outside a scope).
pub fn set_client_metadata(metadata: impl IntoIterator<Item = (String, String)>) {
    let _ = REQUEST.try_with(|ctx| {
        if let Ok(mut m) = ctx.client_metadata.lock() {
            *m = metadata.into_iter().collect();
        }
    });
}

/// The request's ClientMetadata (empty outside a scope or when the caller sent none).
pub fn client_metadata() -> Vec<(String, String)> {
    REQUEST.try_with(|ctx| ctx.client_metadata.lock().map(|m| m.clone()).unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn client_metadata_lives_in_its_request_only() {
        let seen = request_scope(async {
            set_client_metadata(vec![("locale".to_string(), "fr".to_string())]);
            tokio::task::yield_now().await;
            client_metadata()
        })
        .await;
        assert_eq!(seen, vec![("locale".to_string(), "fr".to_string())]);
        assert!(request_scope(async { client_metadata() }).await.is_empty(), "a new request starts empty");
        set_client_metadata(vec![("x".to_string(), "y".to_string())]);
        assert!(client_metadata().is_empty(), "outside a scope nothing is kept");
    }
}
