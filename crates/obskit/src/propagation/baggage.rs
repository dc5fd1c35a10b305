//! The `baggage` header of W3C Baggage: several headers combined as one
//! list (RFC 9110), at most 8192 bytes in all, parsed by the SDK's
//! propagator (which keeps at most 64 members, the minimum W3C Baggage
//! asks implementations to propagate).

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::BaggagePropagator;

/// The header name.
pub(crate) const HEADER: &str = "baggage";

/// Longest combined `baggage` read (W3C Baggage: 8192 bytes).
pub(crate) const MAX_BAGGAGE: usize = 8192;

/// Adds the baggage of every `baggage` header to `cx`; a combined value
/// over [`MAX_BAGGAGE`] is ignored whole.
pub(crate) fn extract(cx: &Context, extractor: &dyn Extractor) -> Context {
    let Some(values) = extractor.get_all(HEADER) else {
        return cx.clone();
    };
    let total: usize = values.iter().map(|v| v.len() + 1).sum::<usize>() - 1;
    if total > MAX_BAGGAGE {
        return cx.clone();
    }
    let combined = Combined(values.join(","));
    BaggagePropagator::new().extract_with_context(cx, &combined)
}

/// Writes the context's baggage, if it has any.
pub(crate) fn inject(cx: &Context, injector: &mut dyn Injector) {
    BaggagePropagator::new().inject_context(cx, injector);
}

/// The combined value, seen by the SDK's propagator as one header.
struct Combined(String);

impl Extractor for Combined {
    fn get(&self, key: &str) -> Option<&str> {
        key.eq_ignore_ascii_case(HEADER).then_some(self.0.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        vec![HEADER]
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use opentelemetry::baggage::BaggageExt;

    use super::*;
    use crate::propagation::carrier::HeaderExtractor;

    fn headers(values: &[&str]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for v in values {
            h.append(HEADER, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn several_headers_are_combined() {
        let h = headers(&["a=1,b=2", "c=3"]);
        let cx = extract(&Context::new(), &HeaderExtractor(&h));
        let b = cx.baggage();
        assert_eq!(b.len(), 3);
        assert_eq!(b.get("c").map(ToString::to_string).as_deref(), Some("3"));
    }

    #[test]
    fn over_8192_bytes_in_all_is_ignored() {
        let half = format!("k={}", "v".repeat(4200));
        let h = headers(&[&half, &half.replace("k=", "j=")]);
        let cx = extract(&Context::new(), &HeaderExtractor(&h));
        assert_eq!(cx.baggage().len(), 0);
        let h = headers(&[&half]);
        assert_eq!(
            extract(&Context::new(), &HeaderExtractor(&h))
                .baggage()
                .len(),
            1
        );
    }

    #[test]
    fn members_are_capped() {
        let many: Vec<String> = (0..500).map(|i| format!("k{i}=v")).collect();
        let h = headers(&[&many.join(",")]);
        let cx = extract(&Context::new(), &HeaderExtractor(&h));
        assert!(
            (1..=180).contains(&cx.baggage().len()),
            "{}",
            cx.baggage().len()
        );
    }

    #[test]
    fn nothing_is_written_without_baggage() {
        let mut out = HashMap::new();
        inject(&Context::new(), &mut out);
        assert!(out.is_empty());
    }
}
