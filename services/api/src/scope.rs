//! Runs every request (gRPC and HTTP) in its own catch-up scope ([`idp_app::scope`]): the
//! request's state reads share one end-offset snapshot taken after it began.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A tower layer for the gRPC server.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestScopeLayer;

impl<S> tower::Layer<S> for RequestScopeLayer {
    type Service = RequestScope<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestScope { inner }
    }
}

/// The service [`RequestScopeLayer`] wraps around each request.
#[derive(Clone, Debug)]
pub struct RequestScope<S> {
    inner: S,
}

impl<S, R> tower::Service<R> for RequestScope<S>
where
    S: tower::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        Box::pin(idp_app::scope::request_scope(self.inner.call(request)))
    }
}

/// The same for the HTTP router (axum middleware).
pub async fn http_scope(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    idp_app::scope::request_scope(next.run(request)).await
}
