//! The cases of the B3 specification (openzipkin/b3-propagation, README),
//! each example in its text and each rule it states, as tables.

use opentelemetry::trace::{SpanContext, TraceFlags, TraceState};

use super::*;
use crate::propagation::test_support::headers;

/// What a case expects: `None` for no parent, or the trace id (32 hex
/// digits), the span id and the sampling state.
type Expected = Option<(&'static str, &'static str, Sampling)>;

fn check(case: &[(&str, &str)], expected: Expected) {
    let got = extract(&headers(case)).map(|b| {
        (
            format!("{:032x}", b.trace_id),
            format!("{:016x}", b.span_id),
            b.sampling,
        )
    });
    let expected = expected.map(|(t, s, d)| (t.to_owned(), s.to_owned(), d));
    assert_eq!(got, expected, "{case:?}");
}

const T128: &str = "80f198ee56343ba864fe8b2a57d3eff7";
const SPAN: &str = "e457b5a2e4d86bd1";
const PARENT: &str = "05e3ac9a4f6e3b90";

#[test]
fn the_single_header_examples() {
    use Sampling::{Accept, Debug, Defer, Deny};
    let cases: &[(&str, Expected)] = &[
        // "b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90"
        (
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90",
            Some((T128, SPAN, Accept)),
        ),
        (
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1",
            Some((T128, SPAN, Accept)),
        ),
        // "a debug trace could look like this"
        (
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-d",
            Some((T128, SPAN, Debug)),
        ),
        (
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0",
            Some((T128, SPAN, Deny)),
        ),
        // "the last two fields are optional": no sampling field is defer.
        (
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1",
            Some((T128, SPAN, Defer)),
        ),
        // "The first position ... is the 32 or 16 lower-hex character TraceId"
        (
            "a3ce929d0e0e4736-e457b5a2e4d86bd1-1",
            Some(("0000000000000000a3ce929d0e0e4736", SPAN, Accept)),
        ),
        (
            "  80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1\t",
            Some((T128, SPAN, Accept)),
        ),
        // "A deny decision may omit identifiers": a decision, but no parent.
        ("0", None),
        ("1", None),
        ("d", None),
        // Malformed: every field is checked.
        ("", None),
        ("-", None),
        ("80f198ee56343ba864fe8b2a57d3eff7", None),
        ("80f198ee56343ba864fe8b2a57d3eff7-", None),
        ("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-", None),
        ("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-2", None),
        ("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-D", None),
        (
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-true",
            None,
        ),
        ("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-01", None),
        ("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-", None),
        (
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1--",
            None,
        ),
        (
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b9",
            None,
        ),
        (
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-0000000000000000",
            None,
        ),
        (
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90-1",
            None,
        ),
        // "lower-hex": upper case, non-hex, and the wrong lengths are refused.
        ("80F198EE56343BA864FE8B2A57D3EFF7-e457b5a2e4d86bd1-1", None),
        ("80f198ee56343ba864fe8b2a57d3eff7-E457B5A2E4D86BD1-1", None),
        ("80f198ee56343ba864fe8b2a57d3effg-e457b5a2e4d86bd1-1", None),
        ("80f198ee56343ba864fe8b2a57d3eff-e457b5a2e4d86bd1-1", None),
        ("80f198ee56343ba864fe8b2a57d3eff71-e457b5a2e4d86bd1-1", None),
        ("80f198ee56343ba8641-e457b5a2e4d86bd1-1", None),
        ("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd-1", None),
        ("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd10-1", None),
        // All-zero ids are not ids.
        ("00000000000000000000000000000000-e457b5a2e4d86bd1-1", None),
        ("0000000000000000-e457b5a2e4d86bd1-1", None),
        ("80f198ee56343ba864fe8b2a57d3eff7-0000000000000000-1", None),
    ];
    for (value, expected) in cases {
        check(&[("b3", value)], *expected);
    }
}

#[test]
fn the_multiple_header_examples() {
    use Sampling::{Accept, Debug, Defer, Deny};
    // "the following state encoded in multiple headers" (and its `b3` twin).
    let example = [
        ("X-B3-TraceId", T128),
        ("X-B3-ParentSpanId", PARENT),
        ("X-B3-SpanId", SPAN),
        ("X-B3-Sampled", "1"),
    ];
    check(&example, Some((T128, SPAN, Accept)));
    let t: &str = "463ac35c9f6413ad48485a3953bb6124";
    let s: &str = "a2fb4a1d1a96d312";
    let cases: &[(&[(&str, &str)], Expected)] = &[
        // TraceId and SpanId "can be sent alone": defer.
        (
            &[("X-B3-TraceId", t), ("X-B3-SpanId", s)],
            Some((t, s, Defer)),
        ),
        (
            &[
                ("X-B3-TraceId", t),
                ("X-B3-SpanId", s),
                ("X-B3-Sampled", "0"),
            ],
            Some((t, s, Deny)),
        ),
        (
            &[
                ("x-b3-traceid", t),
                ("x-b3-spanid", s),
                ("x-b3-parentspanid", "0020000000000001"),
            ],
            Some((t, s, Defer)),
        ),
        // 64-bit trace ids, padded.
        (
            &[
                ("X-B3-TraceId", "48485a3953bb6124"),
                ("X-B3-SpanId", s),
                ("X-B3-Sampled", "1"),
            ],
            Some(("000000000000000048485a3953bb6124", s, Accept)),
        ),
        // "Debug is encoded as X-B3-Flags: 1 ... Debug implies an accept decision"
        (
            &[("X-B3-TraceId", t), ("X-B3-SpanId", s), ("X-B3-Flags", "1")],
            Some((t, s, Debug)),
        ),
        (
            &[
                ("X-B3-TraceId", t),
                ("X-B3-SpanId", s),
                ("X-B3-Flags", "1"),
                ("X-B3-Sampled", "0"),
            ],
            Some((t, s, Debug)),
        ),
        // "Absent or any other value can be ignored."
        (
            &[
                ("X-B3-TraceId", t),
                ("X-B3-SpanId", s),
                ("X-B3-Flags", "0"),
                ("X-B3-Sampled", "1"),
            ],
            Some((t, s, Accept)),
        ),
        (
            &[
                ("X-B3-TraceId", t),
                ("X-B3-SpanId", s),
                ("X-B3-Flags", "yes"),
            ],
            Some((t, s, Defer)),
        ),
        // "a lenient implementation may accept" true and false.
        (
            &[
                ("X-B3-TraceId", t),
                ("X-B3-SpanId", s),
                ("X-B3-Sampled", "true"),
            ],
            Some((t, s, Accept)),
        ),
        (
            &[
                ("X-B3-TraceId", t),
                ("X-B3-SpanId", s),
                ("X-B3-Sampled", "false"),
            ],
            Some((t, s, Deny)),
        ),
        // "When extracting state headers, the first value wins."
        (
            &[
                ("X-B3-TraceId", t),
                ("X-B3-TraceId", T128),
                ("X-B3-SpanId", s),
                ("X-B3-Sampled", "1"),
                ("X-B3-Sampled", "0"),
            ],
            Some((t, s, Accept)),
        ),
        // "a deny decision X-B3-Sampled: 0" alone: a decision, no parent.
        (&[("X-B3-Sampled", "0")], None),
        (&[("X-B3-Sampled", "1")], None),
        (&[("X-B3-Flags", "1")], None),
        // "Unless propagating only the Sampling State, ... is required."
        (&[("X-B3-TraceId", t), ("X-B3-Sampled", "1")], None),
        (&[("X-B3-SpanId", s), ("X-B3-Sampled", "1")], None),
        // "An empty header (ex. X-B3-Sampled: ) or an arbitrary nonsense
        // value (ex X-B3-ParentSpanId: -) are examples of malformed data."
        (
            &[
                ("X-B3-TraceId", t),
                ("X-B3-SpanId", s),
                ("X-B3-Sampled", ""),
            ],
            None,
        ),
        (
            &[
                ("X-B3-TraceId", t),
                ("X-B3-SpanId", s),
                ("X-B3-ParentSpanId", "-"),
            ],
            None,
        ),
        (
            &[
                ("X-B3-TraceId", t),
                ("X-B3-SpanId", s),
                ("X-B3-ParentSpanId", ""),
            ],
            None,
        ),
        (
            &[
                ("X-B3-TraceId", t),
                ("X-B3-SpanId", s),
                ("X-B3-Sampled", "d"),
            ],
            None,
        ),
        (
            &[
                ("X-B3-TraceId", t),
                ("X-B3-SpanId", s),
                ("X-B3-Sampled", "2"),
            ],
            None,
        ),
        (
            &[
                ("X-B3-TraceId", t),
                ("X-B3-SpanId", s),
                ("X-B3-Sampled", "True"),
            ],
            None,
        ),
        // Lengths, case, hex and zeros, as in `b3`.
        (&[("X-B3-TraceId", &t[1..]), ("X-B3-SpanId", s)], None),
        (&[("X-B3-TraceId", t), ("X-B3-SpanId", &s[1..])], None),
        (
            &[
                ("X-B3-TraceId", "463AC35C9F6413AD48485A3953BB6124"),
                ("X-B3-SpanId", s),
            ],
            None,
        ),
        (
            &[("X-B3-TraceId", t), ("X-B3-SpanId", "a2fb4a1d1a96d31z")],
            None,
        ),
        (
            &[
                ("X-B3-TraceId", "00000000000000000000000000000000"),
                ("X-B3-SpanId", s),
            ],
            None,
        ),
        (
            &[("X-B3-TraceId", t), ("X-B3-SpanId", "0000000000000000")],
            None,
        ),
    ];
    for (case, expected) in cases {
        check(case, *expected);
    }
}

#[test]
fn the_single_header_takes_precedence() {
    let t = "463ac35c9f6413ad48485a3953bb6124";
    let s = "a2fb4a1d1a96d312";
    // "The single-header variant takes precedence over the multiple header one"
    check(
        &[
            ("b3", &format!("{T128}-{SPAN}-1")),
            ("X-B3-TraceId", t),
            ("X-B3-SpanId", s),
            ("X-B3-Sampled", "0"),
        ],
        Some((T128, SPAN, Sampling::Accept)),
    );
    // An invalid (or id-less) `b3` leaves the multiple headers to decide.
    for single in ["0", "garbage", &format!("{T128}-{SPAN}-x")] {
        check(
            &[
                ("b3", single),
                ("X-B3-TraceId", t),
                ("X-B3-SpanId", s),
                ("X-B3-Sampled", "0"),
            ],
            Some((t, s, Sampling::Deny)),
        );
    }
    // The first `b3` wins.
    check(
        &[
            ("b3", &format!("{T128}-{SPAN}-d")),
            ("b3", &format!("{t}-{s}-0")),
        ],
        Some((T128, SPAN, Sampling::Debug)),
    );
}

fn span_context(sampled: bool) -> SpanContext {
    crate::propagation::test_support::span_context(T128, SPAN, sampled)
}

#[test]
fn the_single_header_is_written_without_a_parent() {
    for (sampled, debug, expected) in [(true, false, "1"), (false, false, "0"), (true, true, "d")] {
        let mut out = http::HeaderMap::new();
        inject_single(&span_context(sampled), debug, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out["b3"], format!("{T128}-{SPAN}-{expected}"));
        // What is written reads back as written.
        let back = parse_single(out["b3"].to_str().unwrap()).unwrap();
        assert_eq!(back.sampling.sampled(), sampled);
    }
}

#[test]
fn the_multiple_headers_are_written_with_flags_instead_of_sampled_for_debug() {
    let mut out = http::HeaderMap::new();
    inject_multi(&span_context(true), false, &mut out);
    assert_eq!(out["x-b3-traceid"], T128);
    assert_eq!(out["x-b3-spanid"], SPAN);
    assert_eq!(out["x-b3-sampled"], "1");
    assert!(out.get("x-b3-flags").is_none());
    assert!(out.get("x-b3-parentspanid").is_none());

    let mut out = http::HeaderMap::new();
    inject_multi(&span_context(false), false, &mut out);
    assert_eq!(out["x-b3-sampled"], "0");

    let mut out = http::HeaderMap::new();
    inject_multi(&span_context(true), true, &mut out);
    assert_eq!(out["x-b3-flags"], "1");
    assert!(out.get("x-b3-sampled").is_none(), "debug implies sampled");
    assert_eq!(extract(&out).unwrap().sampling, Sampling::Debug);
}

#[test]
fn sixty_four_bit_trace_ids_are_written_as_128() {
    let mut out = http::HeaderMap::new();
    let b = parse_single(&format!("a3ce929d0e0e4736-{SPAN}-1")).unwrap();
    let sc = SpanContext::new(
        b.trace_id,
        b.span_id,
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    inject_single(&sc, false, &mut out);
    assert_eq!(
        out["b3"],
        format!("0000000000000000a3ce929d0e0e4736-{SPAN}-1")
    );
}

#[test]
fn random_values_never_panic() {
    let alphabet = b"0123456789abcdefABCDEF-d \t";
    let valid = format!("{T128}-{SPAN}-1-{PARENT}");
    crate::propagation::test_support::edited_values(11, &valid, alphabet, 20_000, |s| {
        if let Some(b) = parse_single(s) {
            assert_ne!(b.trace_id, TraceId::INVALID, "{s}");
            assert_ne!(b.span_id, SpanId::INVALID, "{s}");
        }
        let _ = parse_multi(s, s, Some(s), Some(s), Some(s));
    });
}
