//! Runs every request (gRPC and HTTP) in its own catch-up scope ([`idp_app::scope`]): the
//! request's state reads share one end-offset snapshot taken after it began. Every response
//! carries a `server-timing` header (`hash;dur=…, app;dur=…`, ms): the request's password
//! hashing and its whole time in the service, so a client can tell the two apart.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::http::{HeaderMap, HeaderValue, Response};
use idp_app::scope::Timing;

/// The response header naming where the time went (W3C Server Timing syntax).
pub const SERVER_TIMING: &str = "server-timing";

fn add_timing(headers: &mut HeaderMap, timing: Timing) {
    if let Ok(value) = HeaderValue::from_str(&timing.header_value()) {
        headers.insert(SERVER_TIMING, value);
    }
}

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

impl<S, R, B> tower::Service<R> for RequestScope<S>
where
    S: tower::Service<R, Response = Response<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let call = self.inner.call(request);
        Box::pin(async move {
            let (result, timing) = idp_app::scope::timed_request_scope(call).await;
            result.map(|mut response| {
                add_timing(response.headers_mut(), timing);
                response
            })
        })
    }
}

/// The same for the HTTP router (axum middleware).
pub async fn http_scope(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let (mut response, timing) = idp_app::scope::timed_request_scope(next.run(request)).await;
    add_timing(response.headers_mut(), timing);
    response
}
