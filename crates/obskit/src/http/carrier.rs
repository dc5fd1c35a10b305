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
        let value = value.to_str().ok()?;
        if key.eq_ignore_ascii_case("traceparent") && !valid_traceparent(value) {
            return None;
        }
        Some(value)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Checks a `traceparent` strictly against W3C Trace Context: lowercase
/// hex fields of exactly 2-32-16-2 digits, version not `ff`, ids not all
/// zero, and for version `00` nothing after the flags. (The SDK's parser
/// accepts, for example, a 30-digit trace id.)
pub(crate) fn valid_traceparent(value: &str) -> bool {
    let b = value.as_bytes();
    if b.len() < 55 {
        return false;
    }
    let hex = |s: &[u8]| {
        s.iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
    };
    let (version, trace, span, flags) = (&b[0..2], &b[3..35], &b[36..52], &b[53..55]);
    if b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
        return false;
    }
    if !(hex(version) && hex(trace) && hex(span) && hex(flags)) || version == b"ff" {
        return false;
    }
    if trace.iter().all(|c| *c == b'0') || span.iter().all(|c| *c == b'0') {
        return false;
    }
    match version {
        b"00" => b.len() == 55,
        _ => b.len() == 55 || b[55] == b'-',
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

#[cfg(test)]
mod tests {
    use super::valid_traceparent;

    #[test]
    fn traceparent_validation_follows_the_w3c_grammar() {
        let ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert!(valid_traceparent(ok));
        assert!(valid_traceparent(
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"
        ));
        for bad in [
            "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
            "garbage",
            "",
        ] {
            assert!(!valid_traceparent(bad), "{bad}");
        }
    }
}
