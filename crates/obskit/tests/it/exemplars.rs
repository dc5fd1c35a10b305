//! `/metrics` over a real socket: format negotiation on `Accept`, and the
//! exemplars OpenMetrics scrapes carry — from sampled requests only, on the
//! server and client duration histograms, the bad SLO counter and a user's
//! own histogram recorded in a handler — each pointing at a span the OTLP
//! receiver got.

use crate::support;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use obskit::http::{HttpLayer, observability_routes};
use obskit::reqwest;
use obskit::slo::Slo;
use obskit_test_receiver::{Receiver, SpanKind};
use support::{Harness, config, harness};

/// What Prometheus 2.x sends on every scrape.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
const SPAN_WAIT: Duration = Duration::from_secs(10);

/// A sampled and an unsampled parent for the requests the test makes.
const SLOW_TRACE: &str = "5107a0000000000000000000000000a1";
const WORK_TRACE: &str = "3033c0000000000000000000000000b2";
const CALL_TRACE: &str = "ca11c0000000000000000000000000c3";
const UNSAMPLED_TRACE: &str = "0a5a3000000000000000000000000dd4";
const PARENT_SPAN: &str = "00f067aa0ba902b7";

fn traced(name: &str, rx: &Receiver) -> Harness {
    harness(config(&[
        ("OTEL_SERVICE_NAME", name),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
    ]))
}

/// `/slow` (above the 50 ms latency SLO), `/work` (records a user
/// histogram), `/call` (an outgoing call to `/fast` through the obskit
/// client), `/fast`, and the observability routes.
fn app(h: &Harness, base: &str) -> Router {
    let client = obskit::http::HttpClientMiddleware::new(&h.telemetry).wrap(reqwest::Client::new());
    let fast = format!("{base}/fast");
    // A user's own histogram in obskit's registry (what `metrics::histogram!`
    // lands in once `install()` made obskit the global recorder).
    let work = h.telemetry.metrics().histogram(
        "work_step_seconds",
        vec![obskit::metrics::Label::new("step", "parse")],
    );
    Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(80)).await;
                "slow"
            }),
        )
        .route(
            "/work",
            get(move || {
                let work = work.clone();
                async move {
                    work.record(0.3);
                    "worked"
                }
            }),
        )
        .route("/fast", get(|| async { "fast" }))
        .route(
            "/call",
            get(move || {
                let client = client.clone();
                let fast = fast.clone();
                async move {
                    let r = client.get(&fast).send().await;
                    if r.is_ok_and(|r| r.status().is_success()) {
                        (StatusCode::OK, "called")
                    } else {
                        (StatusCode::BAD_GATEWAY, "call failed")
                    }
                }
            }),
        )
        .merge(observability_routes(&h.telemetry))
        .layer(
            HttpLayer::new(&h.telemetry)
                .slos([Slo::latency("fast", Duration::from_millis(50), 0.99).expect("a valid SLO")])
                .expect("valid SLOs"),
        )
}

async fn fetch(
    client: &reqwest::Client,
    url: &str,
    headers: &[(&str, String)],
) -> reqwest::Response {
    let mut req = client.get(url);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

fn traceparent(trace: &str, sampled: bool) -> Vec<(&'static str, String)> {
    let flags = if sampled { "01" } else { "00" };
    vec![("traceparent", format!("00-{trace}-{PARENT_SPAN}-{flags}"))]
}

/// One exemplar as the OpenMetrics text shows it.
#[derive(Debug, Clone, PartialEq)]
struct Exemplar {
    trace_id: String,
    span_id: String,
    value: f64,
}

/// The exemplars of `text` by the sample they are attached to (the sample
/// name with its label set, exactly as written).
fn exemplars(text: &str) -> BTreeMap<String, Exemplar> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((sample, exemplar)) = line.split_once(" # ") else {
            continue;
        };
        let sample = sample.rsplit_once(' ').expect("a sample has a value").0;
        let (labels, rest) = exemplar
            .strip_prefix('{')
            .and_then(|e| e.split_once("} "))
            .unwrap_or_else(|| panic!("malformed exemplar: {line}"));
        let label = |name: &str| {
            labels
                .split(',')
                .find_map(|kv| kv.strip_prefix(&format!("{name}=\"")))
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or_else(|| panic!("no {name} in {line}"))
                .to_owned()
        };
        let (value, timestamp) = rest
            .split_once(' ')
            .unwrap_or_else(|| panic!("an exemplar without a timestamp: {line}"));
        let timestamp: f64 = timestamp.parse().expect("a numeric timestamp");
        assert!(timestamp > 1.7e9, "timestamp in seconds: {line}");
        out.insert(
            sample.to_owned(),
            Exemplar {
                trace_id: label("trace_id"),
                span_id: label("span_id"),
                value: value.parse().expect("a numeric exemplar value"),
            },
        );
    }
    out
}

/// The exemplars of samples whose text contains every one of `parts`.
fn exemplars_where<'a>(
    all: &'a BTreeMap<String, Exemplar>,
    parts: &[&str],
) -> Vec<(&'a str, &'a Exemplar)> {
    all.iter()
        .filter(|(sample, _)| parts.iter().all(|p| sample.contains(p)))
        .map(|(s, e)| (s.as_str(), e))
        .collect()
}

#[tokio::test]
async fn openmetrics_scrapes_carry_exemplars_of_sampled_requests_only() {
    let rx = Receiver::start().await.expect("the receiver starts");
    let h = traced("exemplars", &rx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let router = app(&h, &base);
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();

    // Unsampled first, on every route: none of it may leave an exemplar.
    for path in ["/slow", "/work", "/call"] {
        let r = fetch(
            &client,
            &format!("{base}{path}"),
            &traceparent(UNSAMPLED_TRACE, false),
        )
        .await;
        assert_eq!(r.status(), 200, "{path}");
    }
    for (path, trace) in [
        ("/slow", SLOW_TRACE),
        ("/work", WORK_TRACE),
        ("/call", CALL_TRACE),
    ] {
        let r = fetch(&client, &format!("{base}{path}"), &traceparent(trace, true)).await;
        assert_eq!(r.status(), 200, "{path}");
    }

    // The Prometheus text format: unchanged, no exemplars.
    let plain = fetch(&client, &format!("{base}/metrics"), &[]).await;
    assert_eq!(plain.headers()["content-type"], PROMETHEUS_TEXT);
    assert_eq!(plain.headers()["vary"], "accept");
    let plain = plain.text().await.expect("a body");
    assert!(
        !plain.contains("trace_id") && !plain.contains("# EOF"),
        "{plain}"
    );

    let om = fetch(
        &client,
        &format!("{base}/metrics"),
        &[("accept", PROMETHEUS_ACCEPT.to_owned())],
    )
    .await;
    assert_eq!(om.headers()["content-type"], OPENMETRICS);
    assert_eq!(om.headers()["vary"], "accept");
    let om = om.text().await.expect("a body");
    assert!(om.ends_with("\n# EOF\n"), "{om}");
    assert!(
        !om.contains(UNSAMPLED_TRACE),
        "an unsampled request left an exemplar:\n{om}"
    );
    let all = exemplars(&om);

    // Every exemplar names a span the receiver got, by trace and span id.
    let ids: std::collections::BTreeSet<_> = all
        .values()
        .map(|e| (e.trace_id.clone(), e.span_id.clone()))
        .collect();
    let spans = rx.wait_for_spans(5, SPAN_WAIT).await;
    for (trace_id, span_id) in &ids {
        assert!(
            spans
                .iter()
                .any(|s| &s.trace_id == trace_id && &s.span_id == span_id),
            "exemplar {trace_id}/{span_id} names no exported span: {spans:#?}"
        );
    }
    let span = |e: &Exemplar| {
        spans
            .iter()
            .find(|s| s.trace_id == e.trace_id && s.span_id == e.span_id)
            .expect("checked above")
    };

    // The slow request: its server duration bucket and the bad SLO counter.
    let slow = exemplars_where(
        &all,
        &[
            "http_server_request_duration_seconds_bucket{",
            "http_route=\"/slow\"",
        ],
    );
    assert_eq!(
        slow.len(),
        1,
        "one bucket holds the slow request: {slow:#?}\n{om}"
    );
    let (bucket, e) = slow[0];
    assert_eq!(e.trace_id, SLOW_TRACE);
    let le: f64 = bucket
        .split("le=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .and_then(|v| v.parse().ok())
        .expect("a numeric le");
    assert!(e.value >= 0.08 && e.value <= le, "{bucket} {e:?}");
    assert_eq!(span(e).name, "GET /slow");
    assert_eq!(span(e).kind, SpanKind::Server);
    let bad = exemplars_where(&all, &["obskit_slo_requests_total{", "result=\"bad\""]);
    assert_eq!(bad.len(), 1, "{om}");
    assert_eq!(
        bad[0].1.trace_id, SLOW_TRACE,
        "the only request above 50 ms"
    );
    assert_eq!(bad[0].1.value, 1.0);
    assert!(
        exemplars_where(&all, &["result=\"good\""]).is_empty(),
        "{om}"
    );

    // A user histogram recorded inside the handler.
    let work = exemplars_where(&all, &["work_step_seconds_bucket{", "le=\"0.5\""]);
    assert_eq!(work.len(), 1, "{om}");
    assert_eq!(work[0].1.trace_id, WORK_TRACE);
    assert_eq!(work[0].1.value, 0.3);
    assert_eq!(span(work[0].1).name, "GET /work");

    // The outgoing call: the client histogram points at the client span,
    // the server histogram of /fast at the server span of the same trace.
    let client_side = exemplars_where(&all, &["http_client_request_duration_seconds_bucket{"]);
    assert_eq!(client_side.len(), 1, "{om}");
    assert_eq!(client_side[0].1.trace_id, CALL_TRACE);
    assert_eq!(span(client_side[0].1).kind, SpanKind::Client);
    let fast = exemplars_where(
        &all,
        &[
            "http_server_request_duration_seconds_bucket{",
            "http_route=\"/fast\"",
        ],
    );
    assert_eq!(fast.len(), 1, "{om}");
    assert_eq!(fast[0].1.trace_id, CALL_TRACE);
    assert_eq!(span(fast[0].1).name, "GET /fast");
    assert_eq!(span(fast[0].1).kind, SpanKind::Server);
}

#[tokio::test]
async fn a_scraper_that_does_not_ask_for_openmetrics_gets_the_prometheus_text() {
    let h = harness(config(&[
        ("OTEL_SERVICE_NAME", "negotiation"),
        ("OTEL_TRACES_EXPORTER", "none"),
    ]));
    let base = support::server::spawn(observability_routes(&h.telemetry)).await;
    let client = reqwest::Client::new();
    for (accept, expected) in [
        (None, PROMETHEUS_TEXT),
        (Some("*/*"), PROMETHEUS_TEXT),
        (Some("text/plain;version=0.0.4"), PROMETHEUS_TEXT),
        (
            Some("application/openmetrics-text;version=0.0.1"),
            PROMETHEUS_TEXT,
        ),
        (Some("application/openmetrics-text"), OPENMETRICS),
        (Some(PROMETHEUS_ACCEPT), OPENMETRICS),
    ] {
        let headers: Vec<_> = accept
            .map(|a| ("accept", a.to_owned()))
            .into_iter()
            .collect();
        let r = fetch(&client, &format!("{base}/metrics"), &headers).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], expected, "Accept: {accept:?}");
        let body = r.text().await.expect("a body");
        assert_eq!(
            body.ends_with("# EOF\n"),
            expected == OPENMETRICS,
            "Accept: {accept:?}"
        );
        assert!(body.contains("obskit_build_info{"), "{body}");
    }
}
