//! Context propagation: obskit's own W3C Trace Context (Level 2), W3C
//! Baggage, B3 (single and multiple headers) and Jaeger, for HTTP headers
//! and gRPC metadata alike.
//!
//! ```
//! use obskit::opentelemetry::trace::TraceContextExt;
//! use obskit::propagation::Propagator;
//!
//! let propagator = Propagator::default();
//! let mut incoming = http::HeaderMap::new();
//! incoming.insert(
//!     "traceparent",
//!     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03".parse().unwrap(),
//! );
//! incoming.append("tracestate", "congo=t61rcWkgMzE".parse().unwrap());
//! incoming.append("tracestate", "rojo=00f067aa0ba902b7".parse().unwrap());
//! let cx = propagator.extract(&incoming);
//! assert!(cx.span().span_context().is_remote());
//!
//! let mut outgoing = http::HeaderMap::new();
//! propagator.inject(&cx, &mut outgoing);
//! assert_eq!(
//!     outgoing["traceparent"],
//!     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03"
//! );
//! assert_eq!(outgoing["tracestate"], "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
//! ```
//!
//! Several formats at once, as `OTEL_PROPAGATORS=tracecontext,b3multi,jaeger`
//! selects them: the first listed that finds a valid parent in the
//! headers gives it, and every one is written.
//!
//! ```
//! use obskit::config::PropagationFormat as Kind;
//! use obskit::opentelemetry::trace::TraceContextExt;
//! use obskit::propagation::Propagator;
//!
//! let propagator = Propagator::new(&[Kind::TraceContext, Kind::B3Multi, Kind::Jaeger]);
//! let mut incoming = http::HeaderMap::new();
//! incoming.insert("x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7".parse().unwrap());
//! incoming.insert("x-b3-spanid", "e457b5a2e4d86bd1".parse().unwrap());
//! incoming.insert("x-b3-sampled", "1".parse().unwrap());
//! let cx = propagator.extract(&incoming);
//! assert_eq!(
//!     cx.span().span_context().trace_id().to_string(),
//!     "80f198ee56343ba864fe8b2a57d3eff7"
//! );
//!
//! let mut outgoing = http::HeaderMap::new();
//! propagator.inject(&cx, &mut outgoing);
//! assert_eq!(
//!     outgoing["traceparent"],
//!     "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-01"
//! );
//! assert_eq!(outgoing["x-b3-spanid"], "e457b5a2e4d86bd1");
//! assert_eq!(
//!     outgoing["uber-trace-id"],
//!     "80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:01"
//! );
//! ```
//!
//! What W3C Trace Context does here that the SDK's `TraceContextPropagator`
//! does not:
//! - a repeated `traceparent` restarts the trace; several `tracestate`
//!   headers are combined in order (RFC 9110 §5.3);
//! - `tracestate` keys and values follow the current grammar
//!   (`foo@bar@baz`, 256-character keys); an empty value, an invalid member
//!   or more than 32 members discards the whole list;
//! - the outgoing `tracestate` is cut to 512 characters by whole entries,
//!   longest (over 128) first, then from the end, and never sent empty;
//! - future `traceparent` versions are read leniently up to 4 KiB;
//! - the random flag (`0x02`) of the incoming `traceparent` is carried to
//!   every outgoing one, unsampled spans included (the SDK clears the flags
//!   of a span it drops); a trace obskit starts itself has a random trace
//!   id and is sent with the flag set.
//!
//! The incoming `tracestate`, flags and B3 or Jaeger debug flag travel in
//! the OpenTelemetry [`Context`] next to the remote span context; they
//! apply to every span of that trace created from the context. How B3 and
//! Jaeger headers are read and written is told in the modules that do it:
//! B3 by the rules of openzipkin/b3-propagation and the OpenTelemetry
//! specification (both variants read `b3` first, then `X-B3-*`; the debug
//! flag is kept and implies sampled; no parent span id is sent), Jaeger
//! by its client-library documentation (`uber-trace-id`, baggage as
//! `uberctx-*` headers, URL-encoded).

pub(crate) mod b3;
pub(crate) mod baggage;
pub(crate) mod carrier;
pub(crate) mod id;
pub(crate) mod jaeger;
pub(crate) mod tracecontext;
pub(crate) mod traceparent;
pub(crate) mod tracestate;

use opentelemetry::Context;
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState as SdkState,
};

use crate::config::{self, PropagationFormat as Kind};
use carrier::{Read, Write};
use tracestate::TraceState;

/// The propagators `OTEL_PROPAGATORS` selects: W3C Trace Context, W3C
/// Baggage, B3 (single or multiple headers) and Jaeger, in any
/// combination. Extraction takes the parent from the first listed format
/// that finds a valid one (baggage from every baggage format, earlier
/// ones winning a key both send); injection writes every format.
///
/// It is a [`TextMapPropagator`], so it works with any OpenTelemetry
/// carrier; [`extract`](Self::extract) and [`inject`](Self::inject) take an
/// [`http::HeaderMap`] directly (HTTP headers or gRPC metadata) and look
/// headers up by names made once.
#[derive(Debug, Clone)]
pub struct Propagator {
    /// The formats, in the order listed, each once.
    list: Box<[Kind]>,
    fields: Vec<String>,
}

impl Default for Propagator {
    /// Trace context and baggage, the `OTEL_PROPAGATORS` default.
    fn default() -> Self {
        Self::new(&[Kind::TraceContext, Kind::Baggage])
    }
}

/// What extraction learnt about the incoming trace that the SDK's span
/// context cannot carry: the whole `tracestate`, the random flag and the
/// debug flag of B3 or Jaeger.
#[derive(Debug, Clone)]
pub(crate) struct Incoming {
    pub(crate) trace_id: TraceId,
    pub(crate) random: bool,
    pub(crate) debug: bool,
    pub(crate) state: TraceState,
}

/// What obskit keeps in an OpenTelemetry context beside its span and its
/// baggage, as one value: a served request's context is then built with
/// one map of values, not a map for each (every `Context::with_value`
/// copies the map it adds to). Read and written only here and through
/// [`RequestId`](crate::request_id::RequestId).
#[derive(Debug, Clone, Default)]
pub(crate) struct Carried {
    /// What extraction learnt about the incoming trace.
    pub(crate) incoming: Option<Incoming>,
    /// The request id's text (a `RequestId`'s header value).
    pub(crate) request_id: Option<http::HeaderValue>,
}

impl Carried {
    /// What `cx` carries, if anything.
    pub(crate) fn of(cx: &Context) -> Option<&Self> {
        cx.get::<Self>()
    }

    /// `cx` carrying `incoming` and `request_id` where they are given, and
    /// what it carried before where they are not.
    pub(crate) fn onto(
        cx: Context,
        incoming: Option<Incoming>,
        request_id: Option<http::HeaderValue>,
    ) -> Context {
        if incoming.is_none() && request_id.is_none() {
            return cx;
        }
        let carried = match Self::of(&cx) {
            // A served request's context: nothing before.
            None => Self {
                incoming,
                request_id,
            },
            Some(before) => Self {
                incoming: incoming.or_else(|| before.incoming.clone()),
                request_id: request_id.or_else(|| before.request_id.clone()),
            },
        };
        cx.with_value(carried)
    }
}

impl Propagator {
    /// The propagators in `list`, in its order (a repeated one counts
    /// once); an empty list propagates nothing.
    ///
    /// ```
    /// use obskit::config::PropagationFormat as Kind;
    /// let only_baggage = obskit::propagation::Propagator::new(&[Kind::Baggage]);
    /// # let _ = only_baggage;
    /// ```
    pub fn new(list: &[config::PropagationFormat]) -> Self {
        let mut unique: Vec<Kind> = Vec::with_capacity(list.len());
        for kind in list {
            if !unique.contains(kind) {
                unique.push(*kind);
            }
        }
        let mut fields: Vec<String> = Vec::new();
        for kind in &unique {
            let names: &[&str] = match kind {
                Kind::TraceContext => &[
                    tracecontext::TRACEPARENT.name,
                    tracecontext::TRACESTATE.name,
                ],
                Kind::Baggage => &[baggage::BAGGAGE.name],
                Kind::B3 => &b3::SINGLE_FIELDS,
                Kind::B3Multi => &b3::MULTI_FIELDS,
                // Baggage headers have no fixed names.
                Kind::Jaeger => &[jaeger::UBER_TRACE_ID.name],
            };
            fields.extend(names.iter().map(|n| (*n).to_owned()));
        }
        Self {
            list: unique.into(),
            fields,
        }
    }

    /// The context the headers carry (a remote parent, baggage), on top of
    /// an empty context. Only the listed formats' headers are looked up.
    pub fn extract(&self, headers: &http::HeaderMap) -> Context {
        self.extract_onto(Context::new(), headers, None)
    }

    /// [`extract`](Self::extract) for a served request whose id is
    /// `request_id`: the id goes into the same context value as what the
    /// headers say about the incoming trace.
    pub(crate) fn extract_request(
        &self,
        headers: &http::HeaderMap,
        request_id: http::HeaderValue,
    ) -> Context {
        self.extract_onto(Context::new(), headers, Some(request_id))
    }

    /// Writes the headers of every listed format for the span and baggage
    /// of `cx`, replacing values already there. Nothing is written for a
    /// context without a valid span (but baggage), and no empty header is
    /// written.
    pub fn inject(&self, cx: &Context, headers: &mut http::HeaderMap) {
        self.inject_into(cx, headers);
    }

    fn extract_onto<R: Read + ?Sized>(
        &self,
        mut cx: Context,
        carrier: &R,
        request_id: Option<http::HeaderValue>,
    ) -> Context {
        let mut parent = false;
        let mut incoming = None;
        for kind in &self.list {
            match kind {
                Kind::TraceContext if !parent => {
                    if let Some((span_context, found)) = tracecontext::extract(carrier) {
                        cx = cx.with_remote_span_context(span_context);
                        incoming = Some(found);
                        parent = true;
                    }
                }
                Kind::B3 | Kind::B3Multi if !parent => {
                    if let Some(found) = b3::extract(carrier) {
                        cx = remote(
                            cx,
                            &mut incoming,
                            found.trace_id,
                            found.span_id,
                            found.sampling.sampled(),
                            found.sampling == b3::Sampling::Debug,
                        );
                        parent = true;
                    }
                }
                Kind::Jaeger => {
                    // Baggage is read only beside an `uber-trace-id`.
                    if let Some(value) = carrier.first(&jaeger::UBER_TRACE_ID) {
                        if !parent && let Some(found) = jaeger::parse(value) {
                            cx = remote(
                                cx,
                                &mut incoming,
                                found.trace_id,
                                found.span_id,
                                found.sampled,
                                found.debug,
                            );
                            parent = true;
                        }
                        cx = jaeger::extract_baggage(cx, carrier);
                    }
                }
                Kind::Baggage => cx = baggage::extract(cx, carrier),
                Kind::TraceContext | Kind::B3 | Kind::B3Multi => {}
            }
        }
        Carried::onto(cx, incoming, request_id)
    }

    fn inject_into<W: Write + ?Sized>(&self, cx: &Context, out: &mut W) {
        let span = cx.span();
        let span_context = span.span_context();
        let valid = span_context.is_valid();
        let incoming = Carried::of(cx)
            .and_then(|c| c.incoming.as_ref())
            .filter(|i| i.trace_id == span_context.trace_id());
        let debug = incoming.is_some_and(|i| i.debug);
        for kind in &self.list {
            match kind {
                Kind::TraceContext if valid => tracecontext::inject(span_context, incoming, out),
                Kind::B3 if valid => b3::inject_single(span_context, debug, out),
                Kind::B3Multi if valid => b3::inject_multi(span_context, debug, out),
                Kind::Jaeger if valid => {
                    jaeger::inject(span_context, debug, out);
                    jaeger::inject_baggage(cx, out);
                }
                Kind::Baggage => baggage::inject(cx, out),
                Kind::TraceContext | Kind::B3 | Kind::B3Multi | Kind::Jaeger => {}
            }
        }
    }
}

/// `cx` with the remote parent a B3 or Jaeger header names, and what is
/// known of it in `incoming`. Its trace id is not known to be random, so
/// no W3C random flag is sent for it.
fn remote(
    cx: Context,
    incoming: &mut Option<Incoming>,
    trace_id: TraceId,
    span_id: SpanId,
    sampled: bool,
    debug: bool,
) -> Context {
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    *incoming = Some(Incoming {
        trace_id,
        random: false,
        debug,
        state: TraceState::default(),
    });
    cx.with_remote_span_context(SpanContext::new(
        trace_id,
        span_id,
        flags,
        true,
        SdkState::NONE,
    ))
}

impl TextMapPropagator for Propagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        self.inject_into(cx, injector);
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        self.extract_onto(cx.clone(), extractor, None)
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

#[cfg(test)]
mod multi_format_tests;
#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests;
