//! Several formats at once: which one gives the parent, what is written,
//! and what travels from one format to another.

use std::collections::HashMap;

use opentelemetry::KeyValue;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{SpanId, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

use super::test_support::headers;
use super::*;

const W3C_T: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const B3_T: &str = "80f198ee56343ba864fe8b2a57d3eff7";
const UBER_T: &str = "463ac35c9f6413ad48485a3953bb6124";
const SID: &str = "00f067aa0ba902b7";

fn all_three() -> Vec<(&'static str, String)> {
    vec![
        ("traceparent", format!("00-{W3C_T}-{SID}-01")),
        ("b3", format!("{B3_T}-{SID}-1")),
        ("uber-trace-id", format!("{UBER_T}:{SID}:0:1")),
    ]
}

fn trace_of(p: &Propagator, pairs: &[(&str, String)]) -> Option<String> {
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let cx = p.extract(&headers(&pairs));
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| format!("{:032x}", sc.trace_id()))
}

#[test]
fn the_first_listed_format_with_a_valid_parent_gives_it() {
    use Kind::{B3, B3Multi, Jaeger, TraceContext};
    let h = all_three();
    for (list, expected) in [
        (vec![TraceContext, B3, Jaeger], W3C_T),
        (vec![B3, TraceContext, Jaeger], B3_T),
        (vec![B3Multi, Jaeger, TraceContext], B3_T),
        (vec![Jaeger, B3, TraceContext], UBER_T),
    ] {
        assert_eq!(
            trace_of(&Propagator::new(&list), &h).as_deref(),
            Some(expected),
            "{list:?}"
        );
    }
    // An invalid header of the first format leaves the next one to decide.
    let broken = vec![
        ("traceparent", format!("00-{W3C_T}-{SID}-1")),
        ("b3", format!("{B3_T}-{SID}-x")),
        ("uber-trace-id", format!("{UBER_T}:{SID}:0:1")),
    ];
    assert_eq!(
        trace_of(&Propagator::new(&[TraceContext, B3, Jaeger]), &broken).as_deref(),
        Some(UBER_T)
    );
    // A format that is not listed is not read.
    assert_eq!(
        trace_of(&Propagator::new(&[TraceContext]), &broken[1..]),
        None
    );
    assert_eq!(trace_of(&Propagator::new(&[]), &h), None, "none");
}

#[test]
fn every_listed_format_is_written() {
    let p = Propagator::new(&[
        Kind::Jaeger,
        Kind::B3Multi,
        Kind::B3,
        Kind::TraceContext,
        Kind::Baggage,
    ]);
    let cx = p.extract(&headers(&[
        ("uber-trace-id", &format!("{UBER_T}:{SID}:0:1")),
        ("uberctx-user", "alice%20b"),
        ("baggage", "tenant=acme"),
    ]));
    let mut out = http::HeaderMap::new();
    p.inject(&cx, &mut out);
    assert_eq!(out["uber-trace-id"], format!("{UBER_T}:{SID}:0:01"));
    assert_eq!(out["x-b3-traceid"], UBER_T);
    assert_eq!(out["x-b3-spanid"], SID);
    assert_eq!(out["x-b3-sampled"], "1");
    assert_eq!(out["b3"], format!("{UBER_T}-{SID}-1"));
    assert_eq!(out["traceparent"], format!("00-{UBER_T}-{SID}-01"));
    assert!(out.get("tracestate").is_none());
    // Baggage from both formats, written in both.
    assert_eq!(out["uberctx-user"], "alice%20b");
    assert_eq!(out["uberctx-tenant"], "acme");
    let mut w3c: Vec<&str> = out["baggage"].to_str().unwrap().split(',').collect();
    w3c.sort_unstable();
    assert_eq!(w3c, ["tenant=acme", "user=alice%20b"]);
    let names: Vec<&str> = p.fields().collect();
    assert_eq!(
        names,
        [
            "uber-trace-id",
            "x-b3-traceid",
            "x-b3-spanid",
            "x-b3-sampled",
            "x-b3-flags",
            "b3",
            "traceparent",
            "tracestate",
            "baggage"
        ]
    );
}

#[test]
fn baggage_of_the_format_listed_first_wins_a_shared_key() {
    let h = headers(&[
        ("uber-trace-id", &format!("{UBER_T}:{SID}:0:1")),
        ("uberctx-k", "jaeger"),
        ("baggage", "k=w3c"),
    ]);
    for (list, expected) in [
        (vec![Kind::Jaeger, Kind::Baggage], "jaeger"),
        (vec![Kind::Baggage, Kind::Jaeger], "w3c"),
    ] {
        let cx = Propagator::new(&list).extract(&h);
        assert_eq!(cx.baggage().len(), 1);
        assert_eq!(
            cx.baggage()
                .get("k")
                .map(|v| v.as_str().to_owned())
                .as_deref(),
            Some(expected),
            "{list:?}"
        );
    }
    // Jaeger baggage comes only with an `uber-trace-id`; W3C baggage alone.
    let cx = Propagator::new(&[Kind::Jaeger]).extract(&headers(&[("uberctx-k", "v")]));
    assert!(cx.baggage().is_empty());
    // Even an invalid one: the baggage is still the caller's.
    let cx = Propagator::new(&[Kind::Jaeger]).extract(&headers(&[
        ("uber-trace-id", "0:0:0:0"),
        ("uberctx-k", "v"),
    ]));
    assert_eq!(cx.baggage().len(), 1);
    assert!(!cx.span().span_context().is_valid());
}

/// A child span the SDK makes under what `p` extracts from `incoming`,
/// and what `p` then writes.
fn continue_with(
    p: &Propagator,
    incoming: &[(&str, &str)],
    sampler: Sampler,
) -> (SpanId, http::HeaderMap) {
    let provider = SdkTracerProvider::builder().with_sampler(sampler).build();
    let tracer = provider.tracer("t");
    let parent = p.extract(&headers(incoming));
    let span = tracer.start_with_context("child", &parent);
    let cx = parent.with_span(span);
    let span_id = cx.span().span_context().span_id();
    let mut out = http::HeaderMap::new();
    p.inject(&cx, &mut out);
    (span_id, out)
}

fn parent_based() -> Sampler {
    Sampler::ParentBased(Box::new(Sampler::AlwaysOn))
}

#[test]
fn a_debug_trace_stays_debug_in_every_format_and_sampled() {
    let p = Propagator::new(&[Kind::B3, Kind::B3Multi, Kind::Jaeger, Kind::TraceContext]);
    for incoming in [
        vec![("b3", format!("{B3_T}-{SID}-d"))],
        vec![
            ("x-b3-traceid", B3_T.to_owned()),
            ("x-b3-spanid", SID.to_owned()),
            ("x-b3-flags", "1".to_owned()),
        ],
        vec![("uber-trace-id", format!("{B3_T}:{SID}:0:3"))],
    ] {
        let pairs: Vec<(&str, &str)> = incoming.iter().map(|(k, v)| (*k, v.as_str())).collect();
        // A parent-based sampler that would drop a new trace still keeps it.
        let (span, out) = continue_with(
            &p,
            &pairs,
            Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        );
        let span = format!("{span:016x}");
        assert_ne!(span, SID, "a new span id");
        assert_eq!(out["b3"], format!("{B3_T}-{span}-d"), "{incoming:?}");
        assert_eq!(out["x-b3-flags"], "1");
        assert!(out.get("x-b3-sampled").is_none());
        assert_eq!(out["uber-trace-id"], format!("{B3_T}:{span}:0:03"));
        assert_eq!(out["traceparent"], format!("00-{B3_T}-{span}-01"));
    }
    // Not debug: the decision as made.
    let (span, out) = continue_with(&p, &[("b3", &format!("{B3_T}-{SID}-0"))], parent_based());
    assert_eq!(out["b3"], format!("{B3_T}-{span:016x}-0"));
    assert_eq!(out["x-b3-sampled"], "0");
    assert_eq!(out["uber-trace-id"], format!("{B3_T}:{span:016x}:0:00"));
}

#[test]
fn a_deferred_or_id_less_decision_follows_the_specification_of_each_sdk() {
    let p = Propagator::new(&[Kind::B3Multi]);
    // Defer reads as not sampled: a parent-based sampler follows it.
    let (_, out) = continue_with(
        &p,
        &[("x-b3-traceid", B3_T), ("x-b3-spanid", SID)],
        parent_based(),
    );
    assert_eq!(out["x-b3-traceid"], B3_T);
    assert_eq!(out["x-b3-sampled"], "0");
    // A decision without ids names no parent: a new trace.
    let (_, out) = continue_with(&p, &[("x-b3-sampled", "1")], parent_based());
    assert_ne!(out["x-b3-traceid"], B3_T);
    assert_eq!(out["x-b3-sampled"], "1");
}

#[test]
fn the_w3c_random_flag_and_state_do_not_leak_into_other_formats() {
    let p = Propagator::new(&[Kind::TraceContext, Kind::B3, Kind::Jaeger]);
    let (span, out) = continue_with(
        &p,
        &[
            ("traceparent", &format!("00-{W3C_T}-{SID}-03")),
            ("tracestate", "rojo=1"),
        ],
        parent_based(),
    );
    assert_eq!(out["traceparent"], format!("00-{W3C_T}-{span:016x}-03"));
    assert_eq!(out["tracestate"], "rojo=1");
    assert_eq!(out["b3"], format!("{W3C_T}-{span:016x}-1"));
    assert_eq!(out["uber-trace-id"], format!("{W3C_T}:{span:016x}:0:01"));
    // And a trace continued from B3 has no random flag and no state.
    let (span, out) = continue_with(&p, &[("b3", &format!("{B3_T}-{SID}-1"))], parent_based());
    assert_eq!(out["traceparent"], format!("00-{B3_T}-{span:016x}-01"));
    assert!(out.get("tracestate").is_none());
}

#[test]
fn any_carrier_reads_and_writes_every_format() {
    let p = Propagator::new(&[Kind::B3Multi, Kind::Jaeger]);
    let mut map = HashMap::new();
    map.insert(
        "uber-trace-id".to_owned(),
        format!("{UBER_T}%3A{SID}%3A0%3A1"),
    );
    map.insert("uberctx-k".to_owned(), "a%2Fb".to_owned());
    let cx = p.extract_with_context(&Context::new(), &map);
    assert_eq!(
        format!("{:032x}", cx.span().span_context().trace_id()),
        UBER_T
    );
    assert_eq!(
        cx.baggage()
            .get("k")
            .map(|v| v.as_str().to_owned())
            .as_deref(),
        Some("a/b")
    );
    let mut out: HashMap<String, String> = HashMap::new();
    p.inject_context(&cx, &mut out);
    assert_eq!(out["x-b3-traceid"], UBER_T);
    assert_eq!(out["x-b3-sampled"], "1");
    assert_eq!(out["uber-trace-id"], format!("{UBER_T}:{SID}:0:01"));
    assert_eq!(out["uberctx-k"], "a%2Fb");
    // The context given to extraction is kept under what is found.
    let base = Context::new().with_baggage([KeyValue::new("mine", "1")]);
    let cx = p.extract_with_context(&base, &map);
    assert_eq!(cx.baggage().len(), 2);
}

#[test]
fn no_header_is_looked_up_by_a_format_that_is_not_listed() {
    // W3C only: B3 and Jaeger headers change nothing.
    let p = Propagator::default();
    let cx = p.extract(&headers(&[
        ("b3", &format!("{B3_T}-{SID}-1")),
        ("uber-trace-id", &format!("{UBER_T}:{SID}:0:1")),
        ("uberctx-k", "v"),
    ]));
    assert!(!cx.span().span_context().is_valid());
    assert!(cx.baggage().is_empty());
    let mut out = http::HeaderMap::new();
    p.inject(
        &Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from_hex(B3_T).unwrap(),
            SpanId::from_hex(SID).unwrap(),
            TraceFlags::SAMPLED,
            true,
            SdkState::NONE,
        )),
        &mut out,
    );
    let names: Vec<&str> = out.keys().map(http::HeaderName::as_str).collect();
    assert_eq!(names, ["traceparent"]);
}

#[test]
fn random_headers_of_every_format_never_panic() {
    let p = Propagator::new(&[
        Kind::B3,
        Kind::B3Multi,
        Kind::Jaeger,
        Kind::TraceContext,
        Kind::Baggage,
    ]);
    let names = [
        "b3",
        "x-b3-traceid",
        "x-b3-spanid",
        "x-b3-parentspanid",
        "x-b3-sampled",
        "x-b3-flags",
        "uber-trace-id",
        "uberctx-k",
        "traceparent",
        "baggage",
    ];
    let pieces = [
        B3_T.to_owned(),
        SID.to_owned(),
        "-".to_owned(),
        ":".to_owned(),
        "%3A".to_owned(),
        "%".to_owned(),
        "1".to_owned(),
        "d".to_owned(),
        "0".to_owned(),
    ];
    super::test_support::random_headers(17, &names, &pieces, 6, 5_000, |h| {
        let cx = p.extract(h);
        let mut out = http::HeaderMap::new();
        p.inject(&cx, &mut out);
        if cx.span().span_context().is_valid() {
            // Whatever was accepted is written so that it reads back.
            let back = Propagator::new(&[Kind::B3]).extract(&out);
            assert_eq!(
                back.span().span_context().trace_id(),
                cx.span().span_context().trace_id()
            );
            let back = Propagator::new(&[Kind::Jaeger]).extract(&out);
            assert_eq!(
                back.span().span_context().span_id(),
                cx.span().span_context().span_id()
            );
        } else {
            assert!(out.get("b3").is_none() && out.get("uber-trace-id").is_none());
        }
    });
}
