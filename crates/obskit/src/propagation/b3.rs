//! B3 (openzipkin/b3-propagation): the single `b3` header and the
//! `X-B3-*` headers, read strictly and written as the OpenTelemetry
//! specification asks of a B3 propagator.
//!
//! Reading, either propagator tries `b3` first and the `X-B3-*` headers
//! when `b3` is absent or invalid. A context needs a trace id (16 or 32
//! lowercase hex digits; 16 are zero-padded to 128 bits) and a span id
//! (16), neither all zeros; a parent span id, when present, must be valid
//! too. Sampling is `1`, `0` or `d` (debug) in `b3`; `1` or `0` in
//! `X-B3-Sampled` (and `true`/`false`, which the specification lets
//! implementations accept from older tracers); `X-B3-Flags: 1` is debug,
//! which implies sampled. Anything else makes the whole context invalid.
//! A sampling decision without ids (`b3: 0`) names no parent, so a new
//! trace starts, as in the OpenTelemetry SDKs; an absent decision
//! ("defer") reads as not sampled, the only other state an OpenTelemetry
//! span context can hold.
//!
//! Writing: `b3: {trace}-{span}-{1|0|d}`, or `X-B3-TraceId`,
//! `X-B3-SpanId` and `X-B3-Sampled` (`X-B3-Flags: 1` instead of
//! `X-B3-Sampled` for a debug trace); never a parent span id, since the
//! server side of a call has a span id of its own.

use opentelemetry::trace::{SpanContext, SpanId, TraceId};

use super::carrier::{Field, Read, Write};
use super::id::{ascii, span_id_16, trace_id_16_or_32, write_span_id, write_trace_id};

pub(crate) static SINGLE: Field = Field::new("b3");
pub(crate) static TRACE_ID: Field = Field::new("x-b3-traceid");
pub(crate) static SPAN_ID: Field = Field::new("x-b3-spanid");
pub(crate) static PARENT_SPAN_ID: Field = Field::new("x-b3-parentspanid");
pub(crate) static SAMPLED: Field = Field::new("x-b3-sampled");
pub(crate) static FLAGS: Field = Field::new("x-b3-flags");

/// The fields each propagator writes.
pub(crate) const SINGLE_FIELDS: [&str; 1] = ["b3"];
pub(crate) const MULTI_FIELDS: [&str; 4] =
    ["x-b3-traceid", "x-b3-spanid", "x-b3-sampled", "x-b3-flags"];

/// A B3 sampling state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sampling {
    /// No decision sent: the receiver decides.
    Defer,
    /// Not sampled.
    Deny,
    /// Sampled.
    Accept,
    /// Sampled, and to be kept however the trace is sampled downstream.
    Debug,
}

impl Sampling {
    /// Whether the trace is sampled (debug implies it).
    pub(crate) fn sampled(self) -> bool {
        matches!(self, Self::Accept | Self::Debug)
    }
}

/// The parent a set of B3 headers names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct B3 {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) sampling: Sampling,
}

/// Reads `b3`, or the `X-B3-*` headers when it is absent or invalid. For
/// each header the first value wins, as the specification says.
pub(crate) fn extract<R: Read + ?Sized>(carrier: &R) -> Option<B3> {
    if let Some(found) = carrier.first(&SINGLE).and_then(parse_single) {
        return Some(found);
    }
    parse_multi(
        carrier.first(&TRACE_ID)?,
        carrier.first(&SPAN_ID)?,
        carrier.first(&PARENT_SPAN_ID),
        carrier.first(&SAMPLED),
        carrier.first(&FLAGS),
    )
}

fn trim(value: &str) -> &str {
    value.trim_matches([' ', '\t'])
}

/// One `b3` value: `{trace}-{span}[-{sampling}[-{parent}]]`.
pub(crate) fn parse_single(value: &str) -> Option<B3> {
    let mut parts = trim(value).split('-');
    let trace_id = trace_id_16_or_32(parts.next()?.as_bytes())?;
    // A lone field is a sampling decision without ids: no parent.
    let span_id = span_id_16(parts.next()?.as_bytes())?;
    let sampling = match parts.next() {
        None => Sampling::Defer,
        Some("0") => Sampling::Deny,
        Some("1") => Sampling::Accept,
        Some("d") => Sampling::Debug,
        Some(_) => return None,
    };
    if let Some(parent) = parts.next() {
        span_id_16(parent.as_bytes())?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(B3 {
        trace_id,
        span_id,
        sampling,
    })
}

/// The `X-B3-*` values (the first of each header).
pub(crate) fn parse_multi(
    trace_id: &str,
    span_id: &str,
    parent: Option<&str>,
    sampled: Option<&str>,
    flags: Option<&str>,
) -> Option<B3> {
    let trace_id = trace_id_16_or_32(trim(trace_id).as_bytes())?;
    let span_id = span_id_16(trim(span_id).as_bytes())?;
    // Absent is fine; empty or nonsense (`-`) is malformed.
    if let Some(parent) = parent {
        span_id_16(trim(parent).as_bytes())?;
    }
    let mut sampling = match sampled.map(trim) {
        None => Sampling::Defer,
        Some("0" | "false") => Sampling::Deny,
        Some("1" | "true") => Sampling::Accept,
        Some(_) => return None,
    };
    // "Absent or any other value can be ignored."
    if flags.map(trim) == Some("1") {
        sampling = Sampling::Debug;
    }
    Some(B3 {
        trace_id,
        span_id,
        sampling,
    })
}

/// The sampling state to send for a span: its decision, or debug.
fn outgoing(span_context: &SpanContext, debug: bool) -> Sampling {
    if debug {
        Sampling::Debug
    } else if span_context.is_sampled() {
        Sampling::Accept
    } else {
        Sampling::Deny
    }
}

/// Length of `{32}-{16}-{1}`.
const SINGLE_LEN: usize = 51;

/// Writes `b3` for a valid span context.
pub(crate) fn inject_single<W: Write + ?Sized>(
    span_context: &SpanContext,
    debug: bool,
    out: &mut W,
) {
    let mut buf = [0u8; SINGLE_LEN];
    write_trace_id(&mut buf, span_context.trace_id());
    buf[32] = b'-';
    write_span_id(&mut buf[33..], span_context.span_id());
    buf[49] = b'-';
    buf[50] = match outgoing(span_context, debug) {
        Sampling::Debug => b'd',
        Sampling::Accept => b'1',
        Sampling::Deny | Sampling::Defer => b'0',
    };
    out.put(&SINGLE, ascii(&buf));
}

/// Writes `X-B3-TraceId`, `X-B3-SpanId` and `X-B3-Sampled` (or
/// `X-B3-Flags: 1`) for a valid span context.
pub(crate) fn inject_multi<W: Write + ?Sized>(
    span_context: &SpanContext,
    debug: bool,
    out: &mut W,
) {
    let mut buf = [0u8; 32];
    write_trace_id(&mut buf, span_context.trace_id());
    out.put(&TRACE_ID, ascii(&buf));
    write_span_id(&mut buf, span_context.span_id());
    out.put(&SPAN_ID, ascii(&buf[..16]));
    match outgoing(span_context, debug) {
        // Debug implies sampled: the specification says not to send both.
        Sampling::Debug => out.put(&FLAGS, "1"),
        Sampling::Accept => out.put(&SAMPLED, "1"),
        Sampling::Deny | Sampling::Defer => out.put(&SAMPLED, "0"),
    }
}

#[cfg(test)]
mod tests;
