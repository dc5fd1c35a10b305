//! Incoming trace context: a valid `traceparent` is continued, hostile or
//! non-canonical headers start a fresh trace, and `OTEL_PROPAGATORS`
//! decides what is read.

use obskit::http::HttpLayer;
use obskit::reqwest;
use obskit_test_receiver::Receiver;

use super::common::{
    DURATION_COUNT, LOG_WAIT, SPAN_WAIT, app, call, is_hex32, span_with_request_id, traced,
};
use crate::support;
use crate::support::{config, harness};
use obskit_test_support::prom;

#[tokio::test]
async fn hostile_propagation_headers_start_a_fresh_trace() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("hostile", &rx);
    let base = support::server::spawn(app(&h, HttpLayer::new(&h.telemetry))).await;
    let client = reqwest::Client::new();
    let tid = "4bf92f3577b34da6a3ce929d0e0e4736";
    let sid = "00f067aa0ba902b7";
    let zero = "00000000000000000000000000000000";
    let long_traceparent = format!("00-{tid}-{sid}-01-{}", "a".repeat(10 * 1024));
    let future_version_oversized = format!("cc-{tid}-{sid}-01-{}", "b".repeat(10 * 1024));
    let huge_baggage = format!("k={}", "v".repeat(100 * 1024));
    let many_members = (0..5000)
        .map(|i| format!("k{i}=v{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("garbage", vec![("traceparent", "garbage".into())]),
        (
            "wrong-version",
            vec![("traceparent", format!("ff-{tid}-{sid}-01"))],
        ),
        (
            "zero-trace",
            vec![("traceparent", format!("00-{zero}-{sid}-01"))],
        ),
        (
            "zero-span",
            vec![("traceparent", format!("00-{tid}-0000000000000000-01"))],
        ),
        (
            "uppercase",
            vec![("traceparent", format!("00-{}-{sid}-01", tid.to_uppercase()))],
        ),
        ("oversized", vec![("traceparent", long_traceparent)]),
        (
            "future-oversized",
            vec![("traceparent", future_version_oversized)],
        ),
        ("baggage-huge", vec![("baggage", huge_baggage)]),
        (
            "baggage-garbage",
            vec![("baggage", "=;=;,,%%%zz;;=,k=%ZZ,=v".into())],
        ),
        ("baggage-many", vec![("baggage", many_members)]),
        (
            "both-bad",
            vec![("traceparent", "00-xyz".into()), ("baggage", ",,,".into())],
        ),
    ];
    for (id, headers) in &cases {
        let mut all: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.push(("x-request-id", id));
        let res = call(&client, "GET", &format!("{base}/users/1"), &all).await;
        assert_eq!(res.status(), 200, "{id}");
        assert_eq!(res.headers()["x-request-id"], *id);
        for (name, _) in headers {
            assert!(res.headers().get(*name).is_none(), "{id}: {name} echoed");
        }
    }
    h.telemetry.shutdown().await;
    let spans = rx.wait_for_spans(cases.len(), SPAN_WAIT).await;
    let mut trace_ids = std::collections::HashSet::new();
    for (id, _) in &cases {
        let span = span_with_request_id(&spans, id);
        assert_eq!(span.parent_span_id, None, "{id}: a fresh root span");
        assert!(is_hex32(&span.trace_id) && span.trace_id != zero, "{id}");
        assert_ne!(span.trace_id, tid, "{id}: the header's trace was continued");
        assert!(
            trace_ids.insert(span.trace_id.clone()),
            "{id}: trace id reused"
        );
        for (k, v) in &span.attributes {
            let v = format!("{v:?}");
            assert!(v.len() < 1024, "{id}: {k} holds {} bytes", v.len());
        }
    }
}

/// W3C trace context: trace-id is exactly 32 and parent-id exactly 16
/// lowercase hex digits, trace-flags exactly 2; anything else is invalid
/// and must start a fresh trace. The SDK's propagator parses the fields
/// with `from_str_radix`, which accepts shorter fields and a leading `+`.
#[tokio::test]
async fn a_traceparent_with_non_canonical_fields_starts_a_fresh_trace() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("canonical", &rx);
    let base = support::server::spawn(app(&h, HttpLayer::new(&h.telemetry))).await;
    let client = reqwest::Client::new();
    let tid = "4bf92f3577b34da6a3ce929d0e0e4736";
    let sid = "00f067aa0ba902b7";
    let cases = [
        ("short-trace-id", format!("00-{}-{sid}-01", &tid[..30])),
        ("short-span-id", format!("00-{tid}-{}-01", &sid[..10])),
        ("plus-trace-id", format!("00-+{}-{sid}-01", &tid[1..])),
        ("plus-span-id", format!("00-{tid}-+{}-01", &sid[1..])),
        ("one-digit-flags", format!("00-{tid}-{sid}-1")),
        ("one-digit-version", format!("0-{tid}-{sid}-01")),
    ];
    for (id, traceparent) in &cases {
        let res = call(
            &client,
            "GET",
            &format!("{base}/users/1"),
            &[("traceparent", traceparent), ("x-request-id", id)],
        )
        .await;
        assert_eq!(res.status(), 200, "{id}");
    }
    h.telemetry.shutdown().await;
    let spans = rx.wait_for_spans(cases.len(), SPAN_WAIT).await;
    let continued: Vec<_> = cases
        .iter()
        .filter(|(id, _)| span_with_request_id(&spans, id).parent_span_id.is_some())
        .map(|(id, tp)| format!("{id}: {tp}"))
        .collect();
    assert!(
        continued.is_empty(),
        "invalid traceparents were continued: {continued:#?}"
    );
}

#[tokio::test]
async fn a_valid_traceparent_is_continued() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("continue", &rx);
    let base = support::server::spawn(app(&h, HttpLayer::new(&h.telemetry))).await;
    let client = reqwest::Client::new();
    let tid = "4bf92f3577b34da6a3ce929d0e0e4736";
    let sid = "00f067aa0ba902b7";
    let res = call(
        &client,
        "GET",
        &format!("{base}/users/3"),
        &[
            ("traceparent", &format!("00-{tid}-{sid}-01")),
            ("baggage", "tenant=acme,region=eu"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    let spans = rx.wait_for_spans(1, SPAN_WAIT).await;
    assert_eq!(spans[0].trace_id, tid);
    assert_eq!(spans[0].parent_span_id.as_deref(), Some(sid));
    let access = h
        .logs
        .wait_for(LOG_WAIT, |l| l["target"] == "obskit::access")
        .expect("an access line");
    assert_eq!(access["trace_id"], tid);

    // The caller decided not to sample: the trace is continued in the logs
    // and counted in the metrics, but no span is exported.
    let unsampled = "0af7651916cd43dd8448eb211c80319c";
    let res = call(
        &client,
        "GET",
        &format!("{base}/users/4"),
        &[(
            "traceparent",
            &format!("00-{unsampled}-b7ad6b7169203331-00"),
        )],
    )
    .await;
    assert_eq!(res.status(), 200);
    let line = h
        .logs
        .wait_for(LOG_WAIT, |l| {
            l["target"] == "obskit::access" && l["trace_id"] == unsampled
        })
        .expect("the unsampled request's access line carries its trace id");
    assert_eq!(line["http.response.status_code"], 200);
    let text = h.telemetry.metrics().render();
    assert_eq!(
        prom::value(&text, DURATION_COUNT, &[("http_route", "/users/{id}")]),
        Some(2.0)
    );
    let report = h.telemetry.shutdown().await;
    assert_eq!(report.spans_exported, 1, "{report:?}");
    assert!(rx.spans().iter().all(|s| s.trace_id != unsampled));
}

/// `OTEL_PROPAGATORS=none`: an incoming `traceparent` is ignored (a new
/// trace starts); `baggage` alone keeps the trace context out too.
#[tokio::test]
async fn propagators_from_the_environment_decide_what_is_read() {
    let rx = Receiver::start().await.unwrap();
    let tid = "4bf92f3577b34da6a3ce929d0e0e4736";
    let sid = "00f067aa0ba902b7";
    let traceparent = format!("00-{tid}-{sid}-01");
    for (propagators, continued) in [("none", false), ("baggage", false), ("tracecontext", true)] {
        rx.clear();
        let h = harness(config(&[
            ("OTEL_SERVICE_NAME", "propagators"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
            ("OTEL_PROPAGATORS", propagators),
        ]));
        let base = support::server::spawn(app(&h, HttpLayer::new(&h.telemetry))).await;
        let res = call(
            &reqwest::Client::new(),
            "GET",
            &format!("{base}/users/1"),
            &[("traceparent", &traceparent)],
        )
        .await;
        assert_eq!(res.status(), 200);
        let report = h.telemetry.shutdown().await;
        assert_eq!(report.spans_exported, 1, "{propagators}: {report:?}");
        let span = &rx.spans()[0];
        assert_eq!(span.trace_id == tid, continued, "{propagators}: {span:#?}");
        assert_eq!(span.parent_span_id.is_some(), continued, "{propagators}");
    }
}
