//! The service [`HttpLayer`](super::HttpLayer) wraps around the router:
//! it starts the request's span and clock, then hands them to the
//! [`ResponseFuture`].

use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use axum::extract::MatchedPath;
use http::{Request, Response};
use tower_service::Service;

use super::attributes::describe;
use super::body::ResponseBody;
use super::exchange::Exchange;
use super::future::{ResponseFuture, Served};
use super::labels;
use super::state::Shared;
use crate::instrument::Finish;

/// The service [`HttpLayer`](super::HttpLayer) wraps around each route.
#[derive(Clone)]
pub struct HttpService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> HttpService<S> {
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> Self {
        Self { inner, shared }
    }
}

impl<S> std::fmt::Debug for HttpService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpService").finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HttpService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: http_body::Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let shared = &self.shared;
        let matched = req.extensions().get::<MatchedPath>().cloned();
        let path = matched
            .as_ref()
            .map_or(req.uri().path(), MatchedPath::as_str);
        // gRPC calls are measured by `obskit::grpc::GrpcLayer`, never twice.
        if shared.core.is_excluded(path) || is_grpc(req.headers()) {
            return ResponseFuture::untracked(self.inner.call(req));
        }
        let method = labels::method(req.method());
        let route = matched.as_ref().map(MatchedPath::as_str);
        // obskit's samplers look at the trace id and the parent, never the
        // name or attributes: only a span that records gets its name and
        // attributes, so an unsampled request allocates nothing for them.
        let started = shared
            .core
            .start(&mut req, labels::span_name(method), |req, request_id| {
                describe(shared, req, method, route, request_id)
            });

        let active = shared.metrics.active(method, shared.scheme);
        active.increment(1.0);
        let inner = started.in_context(|| self.inner.call(req));
        let exchange = Exchange {
            method,
            route: matched,
            shared: Arc::clone(&self.shared),
        };
        let finish = Finish::new(started.cx, started.start, active, exchange);
        ResponseFuture::new(
            inner,
            Served {
                finish,
                request_id: started.request_id,
            },
        )
    }
}

/// Whether a request is a gRPC call (`content-type: application/grpc` or `application/grpc+…`).
pub(crate) fn is_grpc(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.strip_prefix("application/grpc")
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['+', ';']))
        })
}
