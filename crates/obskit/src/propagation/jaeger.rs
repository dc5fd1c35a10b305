//! Jaeger's propagation format: `uber-trace-id` and baggage as
//! `uberctx-{key}` headers, as Jaeger's client-library documentation
//! describes them.
//!
//! `uber-trace-id: {trace-id}:{span-id}:{parent-span-id}:{flags}`, the
//! separators also accepted URL-encoded (`%3A`), as some Jaeger clients
//! send them. Ids are hex of either case: a trace id of 1 to 32 digits and
//! a span id of 1 to 16, shorter ones zero-padded on the left as receivers
//! must, neither zero; the deprecated parent span id (1 to 16 digits) is
//! checked and ignored; flags are one or two hex digits, `0x01` sampled
//! and `0x02` debug (which implies sampled). Anything else makes the
//! header invalid. Baggage is read only beside an `uber-trace-id`, at most
//! [`MAX_BAGGAGE_HEADERS`] headers, values URL-decoded; the limits of
//! OpenTelemetry baggage (64 entries, 8192 bytes) apply.
//!
//! Written: `{32 hex}:{16 hex}:0:{flags}` (a parent of `0`, as the other
//! OpenTelemetry Jaeger propagators write it), flags `01` or `00`, `03`
//! for a debug trace; each baggage entry as `uberctx-{key}`, its value
//! URL-encoded.

use opentelemetry::Context;
use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::trace::{SpanContext, SpanId, TraceId};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use super::baggage::merge;
use super::carrier::{Field, Read, Write};
use super::id::{ascii, non_zero_span, non_zero_trace, padded_hex, write_span_id, write_trace_id};

pub(crate) static UBER_TRACE_ID: Field = Field::new("uber-trace-id");

/// The prefix of baggage headers.
pub(crate) const BAGGAGE_PREFIX: &str = "uberctx-";

/// Most `uberctx-*` headers looked at (W3C Baggage's minimum of entries to
/// propagate, as the Python propagator bounds it too).
pub(crate) const MAX_BAGGAGE_HEADERS: usize = 180;

/// Longest `uber-trace-id` read: the longest valid value with every
/// separator URL-encoded and whitespace around it.
const MAX_HEADER: usize = 128;

const SAMPLED: u8 = 0x01;
const DEBUG: u8 = 0x02;

/// What an `uber-trace-id` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Uber {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) sampled: bool,
    pub(crate) debug: bool,
}

/// Parses one `uber-trace-id` value.
pub(crate) fn parse(value: &str) -> Option<Uber> {
    let value = value.trim_matches([' ', '\t']);
    if value.len() > MAX_HEADER {
        return None;
    }
    // `%3A` becomes `:`; any other escape is malformed.
    let mut buf = [0u8; MAX_HEADER];
    let mut len = 0;
    let mut bytes = value.as_bytes().iter();
    while let Some(&b) = bytes.next() {
        let b = if b == b'%' {
            match (bytes.next(), bytes.next()) {
                (Some(b'3'), Some(b'A' | b'a')) => b':',
                _ => return None,
            }
        } else {
            b
        };
        buf[len] = b;
        len += 1;
    }
    let mut fields = buf[..len].split(|&b| b == b':');
    let trace_id = non_zero_trace(TraceId::from_bytes(padded_hex::<16>(fields.next()?)?))?;
    let span_id = non_zero_span(SpanId::from_bytes(padded_hex::<8>(fields.next()?)?))?;
    padded_hex::<8>(fields.next()?)?;
    let [flags] = padded_hex::<1>(fields.next()?)?;
    if fields.next().is_some() {
        return None;
    }
    let debug = flags & DEBUG != 0;
    Some(Uber {
        trace_id,
        span_id,
        sampled: debug || flags & SAMPLED != 0,
        debug,
    })
}

/// Length of `{32}:{16}:0:{2}`.
const HEADER_LEN: usize = 54;

/// Writes `uber-trace-id` for a valid span context.
pub(crate) fn inject<W: Write + ?Sized>(span_context: &SpanContext, debug: bool, out: &mut W) {
    let mut buf = [0u8; HEADER_LEN];
    write_trace_id(&mut buf, span_context.trace_id());
    buf[32] = b':';
    write_span_id(&mut buf[33..], span_context.span_id());
    buf[49..52].copy_from_slice(b":0:");
    let flags = match (span_context.is_sampled(), debug) {
        (_, true) => b"03",
        (true, false) => b"01",
        (false, false) => b"00",
    };
    buf[52..].copy_from_slice(flags);
    out.put(&UBER_TRACE_ID, ascii(&buf));
}

/// Adds the baggage of the `uberctx-*` headers to `cx`; entries already in
/// `cx` keep their values.
pub(crate) fn extract_baggage<R: Read + ?Sized>(cx: Context, carrier: &R) -> Context {
    let mut found = Baggage::new();
    carrier.each_prefixed(BAGGAGE_PREFIX, MAX_BAGGAGE_HEADERS, &mut |key, value| {
        let Ok(value) = percent_decode_str(value).decode_utf8() else {
            return;
        };
        // The baggage checks the key and its own limits.
        let _ = found.insert(key.to_owned(), value.trim_matches([' ', '\t']).to_owned());
    });
    if found.is_empty() {
        cx
    } else {
        merge(cx, &found)
    }
}

/// What a baggage value keeps unencoded: RFC 3986's unreserved characters.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Writes each baggage entry of `cx` as an `uberctx-{key}` header.
pub(crate) fn inject_baggage<W: Write + ?Sized>(cx: &Context, out: &mut W) {
    let baggage = cx.baggage();
    if baggage.is_empty() {
        return;
    }
    for (key, (value, _)) in baggage {
        out.put_named(
            &format!("{BAGGAGE_PREFIX}{}", key.as_str()),
            utf8_percent_encode(value.as_str(), VALUE).to_string(),
        );
    }
}

#[cfg(test)]
mod tests;
