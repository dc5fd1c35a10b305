//! How an HTTP request starts: the core's [`Instrument`] service asks HTTP
//! whether the request is instrumented, and HTTP starts its span, clock and
//! in-flight count, to be handed to the [`ResponseFuture`](super::ResponseFuture).

use std::sync::Arc;

use axum::extract::MatchedPath;
use http::Request;

use super::attributes::describe;
use super::exchange::Exchange;
use super::future::Served;
use super::labels;
use super::state::HttpShared;
use crate::instrument::{Adapter, Finish, Instrument};

/// The service [`HttpLayer`](super::HttpLayer) wraps around each route.
pub type HttpService<S> = Instrument<HttpShared, S>;

impl Adapter for HttpShared {
    type Exchange = Served;

    const LAYER: &'static str = "HttpLayer";
    const SERVICE: &'static str = "HttpService";

    fn start<B>(shared: &Arc<Self>, req: &mut Request<B>) -> Option<Served> {
        let matched = req.extensions().get::<MatchedPath>().cloned();
        let path = matched
            .as_ref()
            .map_or(req.uri().path(), MatchedPath::as_str);
        // gRPC calls are measured by `obskit::grpc::GrpcLayer`, never twice.
        if shared.core.is_excluded(path) || is_grpc(req.headers()) {
            return None;
        }
        let method = labels::method(req.method());
        let route = matched.as_ref().map(MatchedPath::as_str);
        // obskit's samplers look at the trace id and the parent, never the
        // name or attributes: only a span that records gets its name and
        // attributes, so an unsampled request allocates nothing for them.
        let started = shared
            .core
            .start(req, labels::span_name(method), |req, request_id| {
                describe(shared, req, method, route, request_id)
            });
        let active = shared.metrics.active(method, shared.scheme);
        active.increment(1.0);
        let exchange = Exchange {
            method,
            route: matched,
            shared: Arc::clone(shared),
        };
        Some(Served {
            finish: Finish::new(started.cx, started.start, active, exchange),
            request_id: started.request_id,
        })
    }

    fn debug_fields(&self, f: &mut std::fmt::DebugStruct<'_, '_>) {
        self.core.debug_fields(f);
    }
}

/// Whether a request is a gRPC call (`content-type: application/grpc` or `application/grpc+…`).
pub(crate) fn is_grpc(headers: &http::HeaderMap) -> bool {
    crate::propagation::carrier::header(headers, &http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.strip_prefix("application/grpc")
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['+', ';']))
        })
}
