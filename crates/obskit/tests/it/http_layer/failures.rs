//! Requests that end badly: abandoned by the client or panicking in the
//! handler, still counted and their spans ended.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use obskit::http::HttpLayer;
use obskit::reqwest;
use obskit::slo::Slo;
use obskit_test_receiver::{Receiver, StatusCode as SpanStatus};

use super::common::{DURATION_COUNT, SPAN_WAIT, span_with_request_id, traced};
use crate::support;
use obskit_test_support::prom;

#[tokio::test]
async fn a_request_the_client_abandons_ends_its_span_and_leaves_no_active_request() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("abandoned", &rx);
    let router = Router::new()
        .route("/forever", get(std::future::pending::<&'static str>))
        .layer(HttpLayer::new(&h.telemetry));
    let base = support::server::spawn(router).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = client
        .get(format!("{base}/forever"))
        .header("x-request-id", "gone-1")
        .send()
        .await
        .expect_err("the handler never answers");
    assert!(err.is_timeout(), "{err}");

    // The server notices the closed connection and drops the request.
    let active = || {
        prom::value(
            &h.telemetry.metrics().render(),
            "http_server_active_requests",
            &[("http_request_method", "GET")],
        )
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while active() != Some(0.0) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the abandoned request is still counted as active: {:?}",
            active()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // In RED with `error_type="cancelled"` and no status code: none was sent.
    let left = || {
        prom::exact(
            &h.telemetry.metrics().render(),
            "http_server_request_duration_seconds_count",
            &[
                ("service_name", "abandoned"),
                ("http_request_method", "GET"),
                ("http_route", "/forever"),
                ("error_type", "cancelled"),
            ],
        )
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while left().is_none() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(left(), Some(1.0), "{}", h.telemetry.metrics().render());
    let spans = rx.wait_for_spans(1, SPAN_WAIT).await;
    let span = span_with_request_id(&spans, "gone-1");
    assert_eq!(span.name, "GET /forever");
    assert_eq!(span.attributes["error.type"], "cancelled");
    assert_eq!(span.status_code, SpanStatus::Error);
}

/// A panicking handler is the classic availability failure. axum has no
/// panic handler of its own, so the panic unwinds through the layer's
/// future: it must still be counted as a failed request in RED and in the
/// availability SLO, and its span must say so.
#[tokio::test]
async fn a_panicking_handler_counts_as_a_failed_request() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("panics", &rx);
    let layer = HttpLayer::new(&h.telemetry)
        .slos([Slo::availability("availability", 0.99).unwrap()])
        .unwrap();
    let router = Router::new()
        .route(
            "/panic",
            get(|| async {
                if std::hint::black_box(true) {
                    panic!("handler bug (expected by the test)");
                }
                "unreachable"
            }),
        )
        .layer(layer);
    let base = support::server::spawn(router).await;
    let client = reqwest::Client::new();
    let res = client
        .get(format!("{base}/panic"))
        .header("x-request-id", "panic-1")
        .send()
        .await;
    assert!(res.is_err(), "the connection is dropped: {res:?}");

    let spans = rx.wait_for_spans(1, SPAN_WAIT).await;
    let span = span_with_request_id(&spans, "panic-1");
    assert_eq!(span.status_code, SpanStatus::Error);
    let text = h.telemetry.metrics().render();
    let counted: f64 = prom::matching(&text, DURATION_COUNT, &[("http_route", "/panic")])
        .iter()
        .map(|s| s.value)
        .sum();
    assert_eq!(
        counted, 1.0,
        "the panicked request is missing from RED\n{text}"
    );
    assert_eq!(
        prom::value(
            &text,
            "obskit_slo_requests_total",
            &[("slo", "availability"), ("result", "bad")]
        ),
        Some(1.0),
        "the panicked request is missing from the availability SLO"
    );
}
