//! The rules of Jaeger's propagation-format documentation, as tables.

use std::collections::HashMap;

use super::*;

const T: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const S: &str = "00f067aa0ba902b7";

/// `(trace id, span id, sampled, debug)` as hex, or `None`.
type Expected = Option<(&'static str, &'static str, bool, bool)>;

#[test]
fn the_documented_trace_and_span_identity() {
    let cases: &[(&str, Expected)] = &[
        // `{trace-id}:{span-id}:{parent-span-id}:{flags}`
        (
            "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1",
            Some((T, S, true, false)),
        ),
        (
            "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:53ce929d0e0e4736:01",
            Some((T, S, true, false)),
        ),
        (
            "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:00",
            Some((T, S, false, false)),
        ),
        // "Receivers MUST accept hex-strings shorter than 32 characters and
        // 0-pad them on the left"; the same for span ids.
        (
            "a3ce929d0e0e4736:f067aa0ba902b7:0:1",
            Some(("0000000000000000a3ce929d0e0e4736", S, true, false)),
        ),
        (
            "1:1:0:1",
            Some((
                "00000000000000000000000000000001",
                "0000000000000001",
                true,
                false,
            )),
        ),
        // "base16": either case.
        (
            "4BF92F3577B34DA6A3CE929D0E0E4736:00F067AA0BA902B7:0:1",
            Some((T, S, true, false)),
        ),
        // "Debug flag should only be set when the sampled flag is set":
        // debug implies sampled.
        (
            "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:3",
            Some((T, S, true, true)),
        ),
        (
            "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:02",
            Some((T, S, true, true)),
        ),
        // The firehose bit (0x08) and unused bits change nothing else.
        (
            "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:09",
            Some((T, S, true, false)),
        ),
        (
            "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:f0",
            Some((T, S, false, false)),
        ),
        // URL-encoded separators.
        (
            "4bf92f3577b34da6a3ce929d0e0e4736%3A00f067aa0ba902b7%3A0%3A1",
            Some((T, S, true, false)),
        ),
        (
            "4bf92f3577b34da6a3ce929d0e0e4736%3a00f067aa0ba902b7%3a0%3a1",
            Some((T, S, true, false)),
        ),
        (
            " 4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1 ",
            Some((T, S, true, false)),
        ),
        // "Value of 0 is not valid", for either id.
        ("0:00f067aa0ba902b7:0:1", None),
        (
            "00000000000000000000000000000000:00f067aa0ba902b7:0:1",
            None,
        ),
        ("4bf92f3577b34da6a3ce929d0e0e4736:0:0:1", None),
        (
            "4bf92f3577b34da6a3ce929d0e0e4736:0000000000000000:0:1",
            None,
        ),
        // Lengths: at most 32, 16, 16 digits and two flag digits; none empty.
        (
            "14bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1",
            None,
        ),
        (
            "4bf92f3577b34da6a3ce929d0e0e4736:100f067aa0ba902b7:0:1",
            None,
        ),
        (
            "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:10000000000000000:1",
            None,
        ),
        (
            "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:001",
            None,
        ),
        (":00f067aa0ba902b7:0:1", None),
        ("4bf92f3577b34da6a3ce929d0e0e4736::0:1", None),
        ("4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7::1", None),
        ("4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:", None),
        // Four fields, hex only.
        ("4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:1", None),
        (
            "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1:1",
            None,
        ),
        (
            "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:0x01",
            None,
        ),
        (
            "4bf92f3577b34da6a3ce929d0e0e473g:00f067aa0ba902b7:0:1",
            None,
        ),
        (
            "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:-1:1",
            None,
        ),
        (
            "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0-1",
            None,
        ),
        // Escapes other than `%3A`.
        (
            "4bf92f3577b34da6a3ce929d0e0e4736%3B00f067aa0ba902b7%3A0%3A1",
            None,
        ),
        (
            "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1%",
            None,
        ),
        ("", None),
    ];
    for (value, expected) in cases {
        let got = parse(value).map(|u| {
            (
                format!("{:032x}", u.trace_id),
                format!("{:016x}", u.span_id),
                u.sampled,
                u.debug,
            )
        });
        let expected = expected.map(|(t, s, a, d)| (t.to_owned(), s.to_owned(), a, d));
        assert_eq!(got, expected, "{value:?}");
    }
    assert!(
        parse(&format!("{}:{S}:0:1", "0".repeat(200))).is_none(),
        "bounded"
    );
}

fn span_context(sampled: bool) -> SpanContext {
    crate::propagation::test_support::span_context(T, S, sampled)
}

#[test]
fn the_header_is_written_at_full_width_with_a_zero_parent() {
    for (sampled, debug, flags) in [
        (true, false, "01"),
        (false, false, "00"),
        (true, true, "03"),
    ] {
        let mut out = http::HeaderMap::new();
        inject(&span_context(sampled), debug, &mut out);
        assert_eq!(out["uber-trace-id"], format!("{T}:{S}:0:{flags}"));
        let back = parse(out["uber-trace-id"].to_str().unwrap()).unwrap();
        assert_eq!((back.sampled, back.debug), (sampled, debug));
    }
}

#[test]
fn the_documented_baggage_headers() {
    // "uberctx-key1: value1", and the URL-encoded "value 1 / blah".
    let mut h = http::HeaderMap::new();
    h.insert("uberctx-key1", "value%201%20%2F%20blah".parse().unwrap());
    h.insert("uberctx-key2", "value2".parse().unwrap());
    h.insert("uberctx-bad", "%ff%fe".parse().unwrap());
    h.insert("uberctx-", "no key".parse().unwrap());
    let cx = extract_baggage(Context::new(), &h);
    let b = cx.baggage();
    assert_eq!(b.len(), 2, "{b:?}");
    assert_eq!(
        b.get("key1").map(|v| v.as_str().to_owned()).as_deref(),
        Some("value 1 / blah")
    );
    assert_eq!(
        b.get("key2").map(|v| v.as_str().to_owned()).as_deref(),
        Some("value2")
    );

    let mut out = http::HeaderMap::new();
    inject_baggage(&cx, &mut out);
    assert_eq!(out["uberctx-key1"], "value%201%20%2F%20blah");
    assert_eq!(out["uberctx-key2"], "value2");
    assert_eq!(out.len(), 2);
}

#[test]
fn baggage_already_there_keeps_its_value_and_limits_hold() {
    let cx = Context::new().with_baggage([opentelemetry::KeyValue::new("key1", "first")]);
    let mut h = http::HeaderMap::new();
    h.insert("uberctx-key1", "second".parse().unwrap());
    h.insert("uberctx-key3", "third".parse().unwrap());
    let cx = extract_baggage(cx, &h);
    assert_eq!(
        cx.baggage()
            .get("key1")
            .map(|v| v.as_str().to_owned())
            .as_deref(),
        Some("first")
    );
    assert_eq!(cx.baggage().len(), 2);

    let mut many = HashMap::new();
    for i in 0..500 {
        many.insert(format!("uberctx-k{i}"), "v".to_owned());
    }
    let cx = extract_baggage(
        Context::new(),
        &many as &dyn opentelemetry::propagation::Extractor,
    );
    assert!(
        (1..=64).contains(&cx.baggage().len()),
        "{}",
        cx.baggage().len()
    );
}

#[test]
fn random_values_never_panic() {
    let alphabet = b"0123456789abcdefABCDEF:%3A \t";
    let valid = format!("{T}:{S}:0:1");
    crate::propagation::test_support::edited_values(5, &valid, alphabet, 20_000, |s| {
        if let Some(u) = parse(s) {
            assert_ne!(u.trace_id, TraceId::INVALID, "{s}");
            assert_ne!(u.span_id, SpanId::INVALID, "{s}");
        }
    });
}
