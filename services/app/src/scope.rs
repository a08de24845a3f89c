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
//! **Where the time went.** The password work of a request (Argon2id hash and SRP verifier:
//! [`hashing_meter`], filled by the decision context) is summed per request, and
//! [`timed_request_scope`] returns it with the request's total, so the adapters can answer with
//! a `server-timing` header (`hash;dur=…, app;dur=…`, in ms). Load tools subtract the hash
//! from each call's latency to measure the write path with password hashing excluded.
//!
//! The adapters (gRPC and Cognito JSON) run each request in a scope; background work
//! (dispatchers, the post-* trigger runner) runs outside one.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use idp_eventlog::Offset;

/// What one request carries through the command path.
#[derive(Default)]
struct RequestContext {
    ends: tokio::sync::OnceCell<Vec<Offset>>,
    client_metadata: Mutex<Vec<(String, String)>>,
    /// Nanoseconds of password hashing (shared with the blocking decision that does it).
    hashing_ns: Arc<AtomicU64>,
}

/// Where a request's time went (see [`timed_request_scope`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timing {
    /// The whole request, as the scope saw it.
    pub total: Duration,
    /// Password hashing within it (Argon2id and SRP verifier derivation).
    pub hashing: Duration,
}

impl Timing {
    /// The value of a `server-timing` response header (durations in ms, per the W3C format).
    pub fn header_value(&self) -> String {
        format!("hash;dur={:.3}, app;dur={:.3}", self.hashing.as_secs_f64() * 1e3, self.total.as_secs_f64() * 1e3)
    }
}

tokio::task_local! {
    static REQUEST: Arc<RequestContext>;
}

/// Runs `fut` (one API request) with its own request context.
pub async fn request_scope<F: Future>(fut: F) -> F::Output {
    timed_request_scope(fut).await.0
}

/// Like [`request_scope`], and also tells where the request's time went.
pub async fn timed_request_scope<F: Future>(fut: F) -> (F::Output, Timing) {
    let ctx = Arc::new(RequestContext::default());
    let started = Instant::now();
    let out = REQUEST.scope(Arc::clone(&ctx), fut).await;
    let hashing = Duration::from_nanos(ctx.hashing_ns.load(Ordering::Relaxed));
    (out, Timing { total: started.elapsed(), hashing })
}

/// The current request's password-hashing counter (nanoseconds), to be carried into the
/// blocking decision that hashes (task-locals do not reach the blocking pool). None outside a
/// scope.
pub fn hashing_meter() -> Option<Arc<AtomicU64>> {
    REQUEST.try_with(|ctx| Arc::clone(&ctx.hashing_ns)).ok()
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

    #[tokio::test]
    async fn timing_sums_the_hashing_recorded_through_the_meter() {
        let ((), timing) = timed_request_scope(async {
            let meter = hashing_meter().expect("inside a scope");
            // As the decision context does, from another thread.
            std::thread::spawn(move || meter.fetch_add(1_500_000, Ordering::Relaxed)).join().expect("join");
            tokio::time::sleep(Duration::from_millis(5)).await;
        })
        .await;
        assert_eq!(timing.hashing, Duration::from_micros(1500));
        assert!(timing.total >= Duration::from_millis(5));
        assert!(timing.header_value().starts_with("hash;dur=1.500, app;dur="), "{}", timing.header_value());
        assert!(hashing_meter().is_none(), "no meter outside a scope");
    }
}
