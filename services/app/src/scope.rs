//! Request-scoped catch-up: one end-offset read per request.
//!
//! Read-your-writes needs each state read to wait until the local projection has applied its
//! partition up to an end offset read *after the request began*. A request usually reads
//! several aggregates in turn (the app client, then its pool, then the user), each possibly on
//! another partition. Outside a scope every catch-up reads its partition's end offset (one
//! broker round trip each on Kafka). Inside [`request_scope`] the first catch-up reads every
//! partition's end offset at once ([`idp_eventlog::EventLog::end_offsets`], one ListOffsets
//! request) and later catch-ups of the same request reuse that snapshot: still read after the
//! request began, so it covers every write acknowledged before it, which is what a caller may
//! expect to read. The adapters (gRPC and Cognito JSON) run each request in a scope; background
//! work (dispatchers, trigger runners) runs outside one.

use std::future::Future;
use std::sync::Arc;

use idp_eventlog::Offset;

tokio::task_local! {
    static SNAPSHOT: Arc<tokio::sync::OnceCell<Vec<Offset>>>;
}

/// Runs `fut` (one API request) with its own end-offset snapshot.
pub async fn request_scope<F: Future>(fut: F) -> F::Output {
    SNAPSHOT.scope(Arc::new(tokio::sync::OnceCell::new()), fut).await
}

/// The current request's snapshot cell, if the caller runs inside [`request_scope`].
pub(crate) fn current() -> Option<Arc<tokio::sync::OnceCell<Vec<Offset>>>> {
    SNAPSHOT.try_with(Arc::clone).ok()
}
