//! Header carriers for context propagation, with size limits so a hostile
//! header costs nothing and is never echoed.

use http::HeaderMap;
use opentelemetry::propagation::{Extractor, Injector};

/// Longest `traceparent` / `tracestate` considered (W3C: tracestate ≤ 512 bytes).
const MAX_TRACE_HEADER: usize = 512;
/// Longest `baggage` considered (W3C: 8192 bytes).
const MAX_BAGGAGE: usize = 8192;

/// Reads propagation headers, ignoring oversized or non-ASCII values.
pub(crate) struct HeaderExtractor<'a>(pub(crate) &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        let limit = if key.eq_ignore_ascii_case("baggage") {
            MAX_BAGGAGE
        } else {
            MAX_TRACE_HEADER
        };
        let value = self.0.get(key)?;
        if value.len() > limit {
            return None;
        }
        value.to_str().ok()
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Whether the request carries anything a propagator would read.
pub(crate) fn has_context(headers: &HeaderMap) -> bool {
    headers.contains_key("traceparent") || headers.contains_key("baggage")
}

/// Writes propagation headers into an outgoing request.
pub(crate) struct HeaderInjector<'a>(pub(crate) &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}
