//! `http::HeaderMap` carriers for propagation: the same map type holds HTTP
//! request headers and gRPC metadata, so both layers share them.

use http::HeaderMap;
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};

/// Stands in for a header value that is not visible ASCII: invalid in every
/// propagation grammar, so such a header is refused, and still counted
/// (a second, unreadable `traceparent` still makes two).
const UNREADABLE: &str = "\u{0}";

/// Reads propagation headers from a request's headers (or gRPC metadata).
/// Every value of a repeated header is available through
/// [`Extractor::get_all`], in the order received.
#[derive(Debug)]
pub(crate) struct HeaderExtractor<'a>(pub(crate) &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        let value = self.0.get(key)?;
        Some(value.to_str().unwrap_or(UNREADABLE))
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .0
            .get_all(key)
            .iter()
            .map(|v| v.to_str().unwrap_or(UNREADABLE))
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

/// Writes propagation headers into an outgoing request, replacing any
/// value already there.
#[derive(Debug)]
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

/// Whether the headers carry anything a propagator would read.
/// Header names made once: looking a `&str` up in a `HeaderMap` parses it
/// into a name first, on every request.
static TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");
static BAGGAGE: http::HeaderName = http::HeaderName::from_static("baggage");

fn has_context(headers: &HeaderMap) -> bool {
    headers.contains_key(&TRACEPARENT) || headers.contains_key(&BAGGAGE)
}

/// The remote context an incoming request (HTTP headers or gRPC metadata)
/// carries, or an empty one; the propagator is not asked when there is
/// nothing for it to read.
pub(crate) fn extract_parent(propagator: &dyn TextMapPropagator, headers: &HeaderMap) -> Context {
    if has_context(headers) {
        propagator.extract_with_context(&Context::new(), &HeaderExtractor(headers))
    } else {
        Context::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_of_a_repeated_header_is_read_in_order() {
        let mut h = HeaderMap::new();
        h.append("tracestate", "a=1".parse().unwrap());
        h.append("TraceState", "b=2".parse().unwrap());
        h.append(
            "tracestate",
            http::HeaderValue::from_bytes(b"c=\xff").unwrap(),
        );
        let e = HeaderExtractor(&h);
        assert_eq!(e.get("tracestate"), Some("a=1"));
        assert_eq!(
            e.get_all("tracestate").unwrap(),
            vec!["a=1", "b=2", UNREADABLE]
        );
        assert_eq!(e.get_all("traceparent"), None);
    }

    #[test]
    fn injection_replaces_and_skips_invalid_values() {
        let mut h = HeaderMap::new();
        h.insert("traceparent", "old".parse().unwrap());
        let mut i = HeaderInjector(&mut h);
        i.set("traceparent", "new".into());
        i.set("baggage", "bad\nvalue".into());
        assert_eq!(h.get_all("traceparent").iter().count(), 1);
        assert_eq!(h["traceparent"], "new");
        assert!(h.get("baggage").is_none());
    }
}
