//! Streamed responses over real sockets: the request ends when its body
//! does. A response streamed for two seconds is recorded as two seconds; a
//! client that leaves mid-stream is recorded as `cancelled`; a body that
//! fails is a failed request; bodies the server never sends (HEAD, 204) or
//! whose length is reached end the request, not cancel it.

use crate::support;

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use futures_util::stream;
use obskit::http::HttpLayer;
use obskit::reqwest;
use obskit::slo::Slo;
use obskit_test_receiver::{ReceivedSpan, Receiver, StatusCode as SpanStatus};
use obskit_test_support::prom;
use support::{Harness, config, harness};

const DURATION: &str = "http_server_request_duration_seconds";
const LOG_WAIT: Duration = Duration::from_secs(5);
const SPAN_WAIT: Duration = Duration::from_secs(10);
/// One chunk every `TICK`, `CHUNKS` of them: a two-second response.
const TICK: Duration = Duration::from_millis(200);
const CHUNKS: u32 = 10;

/// A service exporting its spans to `rx`.
fn traced(name: &str, rx: &Receiver) -> Harness {
    harness(config(&[
        ("OTEL_SERVICE_NAME", name),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
    ]))
}

/// `count` server-sent events, one every `tick`; endless when `count` is `None`.
fn events(count: Option<u32>, tick: Duration) -> Body {
    let s = stream::unfold(0u32, move |n| async move {
        if count.is_some_and(|c| n >= c) {
            return None;
        }
        tokio::time::sleep(tick).await;
        let event = Bytes::from(format!("data: {n}\n\n"));
        Some((Ok::<_, Infallible>(event), n + 1))
    });
    Body::from_stream(s)
}

fn sse(body: Body) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/event-stream")], body)
}

fn app(h: &Harness, slos: Vec<Slo>) -> Router {
    let layer = HttpLayer::new(&h.telemetry).slos(slos).unwrap();
    Router::new()
        .route("/events", get(|| async { sse(events(Some(CHUNKS), TICK)) }))
        .route("/feed", get(|| async { sse(events(None, TICK / 4)) }))
        .route(
            "/broken",
            get(|| async {
                // One event, then the source fails (after the headers are out).
                let s = stream::unfold(0u32, |n| async move {
                    tokio::time::sleep(TICK / 4).await;
                    let item = match n {
                        0 => Ok(Bytes::from_static(b"data: first\n\n")),
                        1 => Err(std::io::Error::other("the source went away")),
                        _ => return None,
                    };
                    Some((item, n + 1))
                });
                sse(Body::from_stream(s))
            }),
        )
        .route(
            "/sized",
            get(|| async {
                // A stream with a declared length: hyper stops polling once
                // the promised bytes are out and drops the body unfinished.
                let s = stream::iter([
                    Ok::<_, Infallible>(Bytes::from_static(b"hello ")),
                    Ok(Bytes::from_static(b"world")),
                ]);
                ([(header::CONTENT_LENGTH, "11")], Body::from_stream(s))
            }),
        )
        .route("/empty", get(|| async { StatusCode::NO_CONTENT }))
        .layer(layer)
}

fn span_named<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name}: {spans:#?}"))
}

fn access_line(h: &Harness, message: &str) -> serde_json::Value {
    h.logs
        .wait_for(LOG_WAIT, |l| {
            l["target"] == "obskit::access" && l["message"] == message
        })
        .unwrap_or_else(|| panic!("no access line {message:?}: {:#?}", h.logs.lines()))
}

#[tokio::test]
async fn a_response_streamed_for_two_seconds_is_recorded_as_two_seconds() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("streamed", &rx);
    let base = support::server::spawn(app(&h, Vec::new())).await;

    let started = std::time::Instant::now();
    let res = reqwest::get(format!("{base}/events")).await.unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let whole = started.elapsed();
    assert_eq!(text.matches("data: ").count(), 10, "{text}");
    assert!(whole >= TICK * CHUNKS, "{whole:?}");

    let exposition = h.telemetry.metrics().render();
    let route = [
        ("http_route", "/events"),
        ("http_response_status_code", "200"),
    ];
    let count = prom::value(&exposition, &format!("{DURATION}_count"), &route);
    let sum = prom::value(&exposition, &format!("{DURATION}_sum"), &route).unwrap();
    assert_eq!(count, Some(1.0), "{exposition}");
    assert!(
        (2.0..30.0).contains(&sum),
        "the histogram holds the whole stream, {sum} s\n{exposition}"
    );
    let over_one = prom::value(
        &exposition,
        &format!("{DURATION}_bucket"),
        &[("http_route", "/events"), ("le", "1")],
    );
    assert_eq!(
        over_one,
        Some(0.0),
        "not in a bucket under 1 s\n{exposition}"
    );

    let line = access_line(&h, "GET /events 200");
    let ms = line["duration_ms"].as_f64().unwrap();
    assert!((2000.0..30_000.0).contains(&ms), "{line}");

    let spans = rx.wait_for_spans(1, SPAN_WAIT).await;
    let span = span_named(&spans, "GET /events");
    let span_secs = (span.end_time_unix_nano - span.start_time_unix_nano) as f64 / 1e9;
    assert!(
        (2.0..30.0).contains(&span_secs),
        "span lasted {span_secs} s"
    );
    assert_eq!(span.status_code, SpanStatus::Unset);
    assert_eq!(span.attributes["http.response.status_code"], 200);
}

#[tokio::test]
async fn a_client_that_leaves_mid_stream_is_recorded_as_cancelled() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("left", &rx);
    let slo = Slo::latency("fast", Duration::from_millis(100), 0.99).unwrap();
    let available = Slo::availability("available", 0.99).unwrap();
    let base = support::server::spawn(app(&h, vec![slo, available])).await;

    let mut res = reqwest::get(format!("{base}/feed")).await.unwrap();
    assert_eq!(res.status(), 200);
    let first = res.chunk().await.unwrap().expect("a first event");
    assert!(first.starts_with(b"data: 0"), "{first:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(res);

    let spans = rx.wait_for_spans(1, SPAN_WAIT).await;
    let span = span_named(&spans, "GET /feed");
    assert_eq!(span.attributes["error.type"], "cancelled");
    assert_eq!(span.attributes["http.response.status_code"], 200);
    assert_eq!(span.status_code, SpanStatus::Error);
    let span_secs = (span.end_time_unix_nano - span.start_time_unix_nano) as f64 / 1e9;
    assert!(
        span_secs >= 0.3,
        "the span ends when the client left: {span_secs} s"
    );

    let line = access_line(&h, "GET /feed 200 cancelled");
    assert_eq!(line["error.type"], "cancelled");

    let text = h.telemetry.metrics().render();
    assert_eq!(
        prom::value(
            &text,
            "http_server_active_requests",
            &[("http_request_method", "GET")]
        ),
        Some(0.0),
        "{text}"
    );
    // In RED with how it ended (as gRPC's CANCELLED is), and the status
    // that was sent.
    assert_eq!(
        prom::value(
            &text,
            &format!("{DURATION}_count"),
            &[
                ("http_route", "/feed"),
                ("http_response_status_code", "200"),
                ("error_type", "cancelled")
            ]
        ),
        Some(1.0),
        "{text}"
    );
    let slo = |name: &str, result: &str| {
        prom::value(
            &text,
            "obskit_slo_requests_total",
            &[("slo", name), ("result", result)],
        )
    };
    assert_eq!(
        slo("fast", "bad"),
        Some(1.0),
        "past the threshold: bad\n{text}"
    );
    assert_eq!(slo("available", "bad"), Some(0.0), "{text}");
    assert_eq!(slo("available", "good"), Some(0.0), "{text}");
}

#[tokio::test]
async fn a_body_that_fails_is_a_failed_request() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("broken", &rx);
    let available = Slo::availability("available", 0.99).unwrap();
    let base = support::server::spawn(app(&h, vec![available])).await;

    let res = reqwest::get(format!("{base}/broken")).await.unwrap();
    assert_eq!(
        res.status(),
        200,
        "the status went out before the body failed"
    );
    assert!(res.text().await.is_err(), "the body is cut short");

    let spans = rx.wait_for_spans(1, SPAN_WAIT).await;
    let span = span_named(&spans, "GET /broken");
    assert_eq!(span.attributes["error.type"], "_OTHER");
    assert_eq!(span.status_code, SpanStatus::Error);
    access_line(&h, "GET /broken 200 failed");
    let text = h.telemetry.metrics().render();
    assert_eq!(
        prom::exact(
            &text,
            &format!("{DURATION}_count"),
            &[
                ("service_name", "broken"),
                ("http_request_method", "GET"),
                ("http_route", "/broken"),
                ("http_response_status_code", "200"),
                ("error_type", "_OTHER"),
            ]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        prom::value(
            &text,
            "obskit_slo_requests_total",
            &[("slo", "available"), ("result", "bad")]
        ),
        Some(1.0),
        "{text}"
    );
}

/// hyper drops some bodies without reading them to their end: a HEAD
/// response's, a 204's, a stream whose `Content-Length` is reached. Each is
/// a complete request, not a cancelled one.
#[tokio::test]
async fn bodies_the_server_does_not_read_to_the_end_are_complete() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("unread", &rx);
    let base = support::server::spawn(app(&h, Vec::new())).await;
    let client = reqwest::Client::new();

    let sized = client.get(format!("{base}/sized")).send().await.unwrap();
    assert_eq!(sized.text().await.unwrap(), "hello world");
    let empty = client.get(format!("{base}/empty")).send().await.unwrap();
    assert_eq!(empty.status(), 204);
    let head = client.head(format!("{base}/sized")).send().await.unwrap();
    assert_eq!(head.status(), 200);

    let spans = rx.wait_for_spans(3, SPAN_WAIT).await;
    for span in &spans {
        assert!(
            !span.attributes.contains_key("error.type"),
            "{} was not cancelled: {span:#?}",
            span.name
        );
    }
    let text = h.telemetry.metrics().render();
    for (method, route, status) in [
        ("GET", "/sized", "200"),
        ("GET", "/empty", "204"),
        ("HEAD", "/sized", "200"),
    ] {
        assert_eq!(
            prom::exact(
                &text,
                &format!("{DURATION}_count"),
                &[
                    ("service_name", "unread"),
                    ("http_request_method", method),
                    ("http_route", route),
                    ("http_response_status_code", status),
                ]
            ),
            Some(1.0),
            "{method} {route}\n{text}"
        );
    }
}

/// Log lines say `0.322`, not `0.32178799999999996`.
#[tokio::test]
async fn access_line_durations_are_rounded_to_the_microsecond() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("rounded", &rx);
    let base = support::server::spawn(app(&h, Vec::new())).await;
    let client = reqwest::Client::new();
    for _ in 0..20 {
        client.get(format!("{base}/empty")).send().await.unwrap();
    }
    let access = || -> Vec<serde_json::Value> {
        h.logs
            .lines()
            .into_iter()
            .filter(|l| l["target"] == "obskit::access")
            .collect()
    };
    let deadline = std::time::Instant::now() + LOG_WAIT;
    while access().len() < 20 {
        assert!(std::time::Instant::now() < deadline, "{:#?}", access());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for line in access() {
        let shown = line["duration_ms"].to_string();
        let decimals = shown.split_once('.').map_or(0, |(_, d)| d.len());
        assert!(decimals <= 3, "{shown} is finer than a microsecond");
    }
}
