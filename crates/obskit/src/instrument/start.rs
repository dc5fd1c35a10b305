//! The start of an exchange: one path for every served request, one for
//! every outgoing call.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use http::{HeaderMap, Request};
use opentelemetry::trace::SpanKind;
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::Tracer;

use super::state::LayerState;
use crate::propagation::Propagator;
use crate::request_id::{RequestId, X_REQUEST_ID};
use crate::traces::{Described, OwnSpans, Sampling};

/// A served exchange, started: its context (the server span and the
/// request id), its request id and its clock.
pub(crate) struct Started {
    pub(crate) cx: Context,
    pub(crate) request_id: RequestId,
    pub(crate) start: Instant,
}

impl LayerState {
    /// Starts a served exchange: the clock, the request id (the caller's
    /// `x-request-id`, or a new one, also put in the request's extensions
    /// for handlers), the parent extracted from the headers, and the server
    /// span. `bare_name` names the span while the sampler's decision is
    /// unknown; `describe` gives the name and attributes of a span that
    /// records, so an unsampled exchange builds nothing for them.
    pub(crate) fn start<B>(
        &self,
        req: &mut Request<B>,
        bare_name: &'static str,
        describe: impl FnOnce(&Request<B>, &RequestId) -> (Cow<'static, str>, Described),
    ) -> Started {
        let start = Instant::now();
        let request_id = RequestId::from_headers(req.headers());
        // The request id rides in the value extraction adds anyway: one
        // map of context values per request.
        let parent = self
            .propagator
            .extract_request(req.headers(), request_id.header_value().clone());
        let cx = crate::traces::start_described(
            &self.tracer,
            &self.own,
            self.sampling,
            &parent,
            SpanKind::Server,
            bare_name,
            || describe(req, &request_id),
        );
        req.extensions_mut().insert(request_id.clone());
        Started {
            cx,
            request_id,
            start,
        }
    }
}

/// Sends the request id back in the response's `x-request-id` (sharing
/// its text, not copying it).
pub(crate) fn answer_request_id(headers: &mut HeaderMap, request_id: &RequestId) {
    headers.insert(X_REQUEST_ID.clone(), request_id.header_value().clone());
}

/// What starts the spans of outgoing calls: obskit's own span when the
/// sampler is known to sample it, just a span context when it is known not
/// to, the SDK's tracer otherwise.
#[derive(Clone, Debug)]
pub(crate) struct ClientTracer {
    tracer: Tracer,
    own: Arc<OwnSpans>,
    sampling: Sampling,
}

impl ClientTracer {
    /// Starting spans into `telemetry`.
    pub(crate) fn new(telemetry: &crate::Telemetry) -> Self {
        Self {
            tracer: telemetry.tracer(),
            own: telemetry.own_spans(),
            sampling: telemetry.sampling(),
        }
    }
}

/// Starts an outgoing call: a client span, a child of the current context,
/// and the propagation headers for it written into `headers`.
pub(crate) fn start_client(
    tracer: &ClientTracer,
    propagator: &Propagator,
    name: &'static str,
    attributes: Vec<KeyValue>,
    headers: &mut HeaderMap,
) -> Context {
    let parent = Context::current();
    let cx = crate::traces::start_described(
        &tracer.tracer,
        &tracer.own,
        tracer.sampling,
        &parent,
        SpanKind::Client,
        name,
        || (Cow::Borrowed(name), Described::List(attributes)),
    );
    propagator.inject(&cx, headers);
    cx
}
