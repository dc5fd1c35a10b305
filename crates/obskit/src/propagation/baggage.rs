//! The `baggage` header of W3C Baggage: several headers combined as one
//! list (RFC 9110), at most 8192 bytes in all, parsed by the SDK's
//! propagator (which keeps at most 64 members, the minimum W3C Baggage
//! asks implementations to propagate).

use opentelemetry::Context;
use opentelemetry::baggage::{Baggage, BaggageExt, KeyValueMetadata};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry_sdk::propagation::BaggagePropagator;

use super::carrier::{Field, FieldInjector, Read, Write};

/// The header.
pub(crate) static BAGGAGE: Field = Field::new("baggage");

/// Longest combined `baggage` read (W3C Baggage: 8192 bytes).
pub(crate) const MAX_BAGGAGE: usize = 8192;

/// Adds the baggage of every `baggage` header to `cx`; a combined value
/// over [`MAX_BAGGAGE`] is ignored whole. Entries already in `cx` (from a
/// propagator listed earlier) keep their values.
pub(crate) fn extract<R: Read + ?Sized>(cx: Context, carrier: &R) -> Context {
    let mut values = carrier.values(&BAGGAGE);
    let Some(first) = values.next() else {
        return cx;
    };
    let mut combined = String::from(first);
    for value in values {
        if combined.len() > MAX_BAGGAGE {
            break;
        }
        combined.push(',');
        combined.push_str(value);
    }
    if combined.len() > MAX_BAGGAGE {
        return cx;
    }
    let combined = Combined(combined);
    if cx.baggage().is_empty() {
        return BaggagePropagator::new().extract_with_context(&cx, &combined);
    }
    let found = BaggagePropagator::new().extract_with_context(&Context::new(), &combined);
    merge(cx, found.baggage())
}

/// Writes the context's baggage, if it has any.
pub(crate) fn inject<W: Write + ?Sized>(cx: &Context, out: &mut W) {
    if cx.baggage().is_empty() {
        return;
    }
    BaggagePropagator::new().inject_context(
        cx,
        &mut FieldInjector {
            field: &BAGGAGE,
            out,
        },
    );
}

/// `cx` with the entries of `found` added to its baggage; an entry already
/// there keeps its value.
pub(crate) fn merge(cx: Context, found: &Baggage) -> Context {
    if found.is_empty() {
        return cx;
    }
    let existing = cx.baggage();
    let entries: Vec<KeyValueMetadata> = existing
        .iter()
        .chain(
            found
                .iter()
                .filter(|(key, _)| existing.get(key.as_str()).is_none()),
        )
        .map(|(key, (value, metadata))| {
            KeyValueMetadata::new(key.clone(), value.clone(), metadata.clone())
        })
        .collect();
    cx.with_baggage(entries)
}

/// The combined value, seen by the SDK's propagator as one header.
struct Combined(String);

impl Extractor for Combined {
    fn get(&self, key: &str) -> Option<&str> {
        key.eq_ignore_ascii_case(BAGGAGE.name)
            .then_some(self.0.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        vec![BAGGAGE.name]
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use opentelemetry::baggage::BaggageExt;

    use super::*;

    fn headers(values: &[&str]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for v in values {
            h.append("baggage", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn several_headers_are_combined() {
        let h = headers(&["a=1,b=2", "c=3"]);
        let cx = extract(Context::new(), &h);
        let b = cx.baggage();
        assert_eq!(b.len(), 3);
        assert_eq!(b.get("c").map(ToString::to_string).as_deref(), Some("3"));
    }

    #[test]
    fn over_8192_bytes_in_all_is_ignored() {
        let half = format!("k={}", "v".repeat(4200));
        let h = headers(&[&half, &half.replace("k=", "j=")]);
        let cx = extract(Context::new(), &h);
        assert_eq!(cx.baggage().len(), 0);
        let h = headers(&[&half]);
        assert_eq!(extract(Context::new(), &h).baggage().len(), 1);
    }

    #[test]
    fn members_are_capped() {
        let many: Vec<String> = (0..500).map(|i| format!("k{i}=v")).collect();
        let h = headers(&[&many.join(",")]);
        let cx = extract(Context::new(), &h);
        assert!(
            (1..=180).contains(&cx.baggage().len()),
            "{}",
            cx.baggage().len()
        );
    }

    #[test]
    fn nothing_is_written_without_baggage() {
        let mut out = HashMap::new();
        inject(
            &Context::new(),
            &mut out as &mut dyn opentelemetry::propagation::Injector,
        );
        assert!(out.is_empty());
    }
}
