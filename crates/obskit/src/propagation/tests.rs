//! Tests of the propagator: W3C Trace Context and Baggage extraction and
//! injection, as the specification's rules say.

use std::collections::HashMap;

use opentelemetry::trace::{SpanId, TraceState as SdkState, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

use super::test_support::headers;
use super::*;
use traceparent::{RANDOM, SAMPLED, Traceparent};

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";
const TID: &str = "12345678901234567890123456789012";
const SID: &str = "1234567890123456";

/// What a service sends on after receiving `incoming`: a child span
/// made by the SDK with `sampler`, then injection.
fn round_trip(incoming: &[(&str, &str)], sampler: Sampler) -> http::HeaderMap {
    let provider = SdkTracerProvider::builder().with_sampler(sampler).build();
    let tracer = provider.tracer("t");
    let p = Propagator::default();
    let parent = p.extract(&headers(incoming));
    let span = tracer.start_with_context("child", &parent);
    let cx = parent.with_span(span);
    let mut out = http::HeaderMap::new();
    p.inject(&cx, &mut out);
    out
}

fn parent_based() -> Sampler {
    Sampler::ParentBased(Box::new(Sampler::AlwaysOn))
}

fn traceparent(out: &http::HeaderMap) -> Traceparent {
    assert_eq!(out.get_all(TRACEPARENT).iter().count(), 1);
    Traceparent::parse(out[TRACEPARENT].to_str().unwrap()).unwrap()
}

#[test]
fn a_valid_parent_is_continued_with_a_new_span_id() {
    let out = round_trip(
        &[(TRACEPARENT, &format!("00-{TID}-{SID}-01"))],
        parent_based(),
    );
    let tp = traceparent(&out);
    assert_eq!(format!("{:032x}", tp.trace_id), TID);
    assert_ne!(format!("{:016x}", tp.parent_id), SID);
    assert_eq!(tp.flags & SAMPLED, SAMPLED);
}

#[test]
fn a_repeated_traceparent_restarts_the_trace() {
    let same = format!("00-{TID}-{SID}-01");
    let out = round_trip(
        &[(TRACEPARENT, &same), (TRACEPARENT, &same)],
        parent_based(),
    );
    assert_ne!(format!("{:032x}", traceparent(&out).trace_id), TID);
    let p = Propagator::default();
    let cx = p.extract(&headers(&[(TRACEPARENT, &same), ("TraceParent", &same)]));
    assert!(!cx.span().span_context().is_valid());
}

#[test]
fn the_random_flag_survives_an_unsampled_span() {
    let out = round_trip(
        &[(TRACEPARENT, &format!("00-{TID}-{SID}-02"))],
        parent_based(),
    );
    let tp = traceparent(&out);
    assert_eq!(format!("{:032x}", tp.trace_id), TID);
    assert_eq!(tp.flags, RANDOM, "unsampled, random");
    let out = round_trip(
        &[(TRACEPARENT, &format!("00-{TID}-{SID}-03"))],
        parent_based(),
    );
    assert_eq!(traceparent(&out).flags, SAMPLED | RANDOM);
    let out = round_trip(
        &[(TRACEPARENT, &format!("00-{TID}-{SID}-01"))],
        parent_based(),
    );
    assert_eq!(traceparent(&out).flags, SAMPLED, "no random flag invented");
    let out = round_trip(
        &[(TRACEPARENT, &format!("00-{TID}-{SID}-ff"))],
        parent_based(),
    );
    assert_eq!(
        traceparent(&out).flags,
        SAMPLED | RANDOM,
        "reserved bits cleared"
    );
}

#[test]
fn a_trace_started_here_is_sent_with_the_random_flag() {
    let out = round_trip(&[], parent_based());
    assert_eq!(traceparent(&out).flags, SAMPLED | RANDOM);
    let out = round_trip(&[], Sampler::AlwaysOff);
    assert_eq!(traceparent(&out).flags, RANDOM);
}

#[test]
fn tracestate_is_carried_whole_and_combined() {
    let tp = format!("00-{TID}-{SID}-00");
    let out = round_trip(
        &[
            (TRACEPARENT, &tp),
            (TRACESTATE, "foo=1,foo@@bar=2"),
            ("TraceState", "rojo=1"),
            (TRACESTATE, ""),
        ],
        parent_based(),
    );
    assert_eq!(out[TRACESTATE], "foo=1,foo@@bar=2,rojo=1");
}

#[test]
fn no_tracestate_header_is_sent_empty() {
    let tp = format!("00-{TID}-{SID}-01");
    for incoming in [
        vec![(TRACEPARENT, tp.as_str())],
        vec![(TRACEPARENT, tp.as_str()), (TRACESTATE, "")],
        vec![(TRACEPARENT, tp.as_str()), (TRACESTATE, "foo=")],
        vec![(TRACESTATE, "foo=1")],
        vec![],
    ] {
        let out = round_trip(&incoming, parent_based());
        assert!(out.get(TRACESTATE).is_none(), "{incoming:?}: {out:?}");
    }
}

#[test]
fn tracestate_without_traceparent_is_ignored() {
    let cx = Propagator::default().extract(&headers(&[(TRACESTATE, "foo=1")]));
    assert!(Carried::of(&cx).is_none());
    assert!(!cx.span().span_context().is_valid());
}

#[test]
fn a_long_tracestate_is_cut_by_whole_entries() {
    let tp = format!("00-{TID}-{SID}-01");
    let members: Vec<String> = (0..20)
        .map(|i| format!("k{i:02}={}", "v".repeat(40)))
        .collect();
    let all = members.join(",");
    assert!(all.len() > 512);
    let out = round_trip(&[(TRACEPARENT, &tp), (TRACESTATE, &all)], parent_based());
    let sent = out[TRACESTATE].to_str().unwrap();
    assert!(sent.len() <= 512);
    assert!(all.starts_with(sent), "a prefix of whole entries: {sent}");
    assert!(sent.split(',').all(|e| members.contains(&e.to_owned())));
}

#[test]
fn the_sdk_span_context_keeps_what_the_sdk_accepts() {
    let tp = format!("00-{TID}-{SID}-01");
    let cx = Propagator::default().extract(&headers(&[
        (TRACEPARENT, &tp),
        (TRACESTATE, "foo=1,foo@@bar=2"),
    ]));
    let span = cx.span();
    assert_eq!(span.span_context().trace_state().header(), "foo=1");
}

#[test]
fn a_span_of_another_trace_uses_its_own_state() {
    let p = Propagator::default();
    let cx = p.extract(&headers(&[
        (TRACEPARENT, &format!("00-{TID}-{SID}-03")),
        (TRACESTATE, "foo=1"),
    ]));
    let other = SpanContext::new(
        TraceId::from_bytes([7; 16]),
        SpanId::from_bytes([7; 8]),
        TraceFlags::SAMPLED,
        true,
        SdkState::from_key_value([("own", "x")]).unwrap(),
    );
    let cx = cx.with_remote_span_context(other);
    let mut out = http::HeaderMap::new();
    p.inject(&cx, &mut out);
    assert_eq!(
        out[TRACEPARENT],
        format!("00-{}-{}-01", "07".repeat(16), "07".repeat(8))
    );
    assert_eq!(out[TRACESTATE], "own=x");
}

#[test]
fn the_propagator_list_decides_what_is_read_and_written() {
    let incoming = headers(&[
        (TRACEPARENT, &format!("00-{TID}-{SID}-01")),
        ("baggage", "k=v"),
    ]);
    for (list, trace, bag) in [
        (vec![], false, false),
        (vec![config::PropagationFormat::Baggage], false, true),
        (vec![config::PropagationFormat::TraceContext], true, false),
    ] {
        let p = Propagator::new(&list);
        let cx = p.extract(&incoming);
        let mut out = http::HeaderMap::new();
        Propagator::default().inject(&cx, &mut out);
        assert_eq!(out.contains_key(TRACEPARENT), trace, "{list:?}");
        assert_eq!(out.contains_key("baggage"), bag, "{list:?}");
        assert_eq!(
            p.fields().count(),
            usize::from(trace) * 2 + usize::from(bag)
        );
    }
}

#[test]
fn works_with_any_carrier() {
    let mut map = HashMap::new();
    map.insert(TRACEPARENT.to_owned(), format!("00-{TID}-{SID}-01"));
    let cx = Propagator::default().extract_with_context(&Context::new(), &map);
    let mut out: HashMap<String, String> = HashMap::new();
    Propagator::default().inject_context(&cx, &mut out);
    assert_eq!(out[TRACEPARENT], format!("00-{TID}-{SID}-01"));
}

#[test]
fn random_headers_never_panic() {
    let p = Propagator::default();
    let names = [TRACEPARENT, TRACESTATE, "baggage"];
    let pieces = [
        format!("00-{TID}-{SID}-01"),
        "foo=1".to_owned(),
        ",".to_owned(),
        "@".to_owned(),
        " ".to_owned(),
        "=".to_owned(),
        "ff".to_owned(),
    ];
    super::test_support::random_headers(3, &names, &pieces, 5, 5_000, |h| {
        let cx = p.extract(h);
        let mut out = http::HeaderMap::new();
        p.inject(&cx, &mut out);
        if let Some(tp) = out.get(TRACEPARENT) {
            assert!(traceparent::valid(tp.to_str().unwrap()));
        }
        if let Some(ts) = out.get(TRACESTATE) {
            assert!(!ts.is_empty() && ts.len() <= 512);
        }
    });
}

#[test]
fn a_served_requests_id_rides_in_the_value_extraction_adds() {
    let tp = format!("00-{TID}-{SID}-01");
    let id = http::HeaderValue::from_static("req-9");
    let propagator = Propagator::default();
    let cx = propagator.extract_request(
        &headers(&[(TRACEPARENT, tp.as_str()), (TRACESTATE, "foo=1")]),
        id.clone(),
    );
    let carried = Carried::of(&cx).expect("the request's value");
    assert_eq!(carried.request_id.as_ref(), Some(&id));
    let incoming = carried.incoming.as_ref().expect("the incoming trace");
    assert_eq!(incoming.trace_id, cx.span().span_context().trace_id());
    assert_eq!(
        crate::request_id::RequestId::from_context(&cx).map(|r| r.to_string()),
        Some("req-9".to_owned())
    );

    // A trace extracted later onto the same context keeps its request id
    // and replaces what was known of the incoming trace.
    let other = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let carrier = HashMap::from([(TRACEPARENT.to_owned(), other.to_owned())]);
    let again = propagator.extract_with_context(&cx, &carrier);
    let carried = Carried::of(&again).expect("the value, replaced");
    assert_eq!(carried.request_id.as_ref(), Some(&id));
    assert_eq!(
        carried.incoming.as_ref().map(|i| i.trace_id),
        Some(again.span().span_context().trace_id())
    );
    assert_ne!(again.span().span_context().trace_id(), incoming.trace_id);

    // Headers with no trace leave a context without a request id alone.
    let bare = propagator.extract(&headers(&[]));
    assert!(Carried::of(&bare).is_none());
}
