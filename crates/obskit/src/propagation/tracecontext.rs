//! W3C Trace Context (Level 2): `traceparent` and `tracestate` read and
//! written as the specification's processing model says.

use opentelemetry::trace::{SpanContext, TraceFlags};

use super::Incoming;
use super::carrier::{Field, Read, Write};
use super::traceparent::{KNOWN_FLAGS, LEN_V00, RANDOM, SAMPLED, Traceparent};
use super::tracestate::TraceState;

pub(crate) static TRACEPARENT: Field = Field::new("traceparent");
pub(crate) static TRACESTATE: Field = Field::new("tracestate");

/// The remote parent of exactly one valid `traceparent`, with the
/// `tracestate` that belongs to it.
pub(crate) fn extract<R: Read + ?Sized>(carrier: &R) -> Option<(SpanContext, Incoming)> {
    // Two traceparents: which one is the parent cannot be known.
    let parent = Traceparent::parse(carrier.only(&TRACEPARENT)?)?;
    let state = TraceState::from_headers(carrier.values(&TRACESTATE));
    let span_context = SpanContext::new(
        parent.trace_id,
        parent.parent_id,
        TraceFlags::new(parent.flags & KNOWN_FLAGS),
        true,
        state.to_sdk(),
    );
    let incoming = Incoming {
        trace_id: parent.trace_id,
        random: parent.flags & RANDOM != 0,
        debug: false,
        state,
    };
    Some((span_context, incoming))
}

/// Writes `traceparent` and (when not empty) `tracestate` for a valid
/// span context; `incoming` is what extraction learnt about its trace.
pub(crate) fn inject<W: Write + ?Sized>(
    span_context: &SpanContext,
    incoming: Option<&Incoming>,
    out: &mut W,
) {
    let random = match incoming {
        Some(i) => i.random,
        // Extracted by some other propagator: trust its flags.
        None if span_context.is_remote() => span_context.trace_flags().to_u8() & RANDOM != 0,
        // Started here: the SDK's id generator draws random trace ids.
        None => true,
    };
    let flags = (span_context.trace_flags().to_u8() & SAMPLED) | if random { RANDOM } else { 0 };
    let header = Traceparent {
        trace_id: span_context.trace_id(),
        parent_id: span_context.span_id(),
        flags,
    };
    out.put(&TRACEPARENT, header.write(&mut [0; LEN_V00]));
    let state = match incoming {
        Some(i) => i.state.header(),
        None => TraceState::from_sdk(span_context.trace_state()).header(),
    };
    if let Some(state) = state {
        out.put_owned(&TRACESTATE, state);
    }
}
