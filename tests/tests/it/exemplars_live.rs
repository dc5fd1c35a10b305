//! From a latency spike to the trace behind it, with a real Prometheus.
//!
//! Starts the OTLP test receiver, the `e2e-service` binary (a real obskit service) exporting
//! its traces to it, and Debian's Prometheus with `--enable-feature=exemplar-storage`
//! scraping the service every second (Prometheus asks for OpenMetrics by itself). Sends known
//! traffic: requests that are sampled (no `traceparent`: a new sampled trace each), requests
//! whose `traceparent` says "not sampled" (known trace ids), and one deliberately slow request
//! with a sampled `traceparent` whose trace id the test chose, followed by an unsampled slow
//! request that lands in the same bucket.
//!
//! Done when the slow request's trace id comes back from `/api/v1/query_exemplars` on the
//! latency histogram, in the bucket its duration falls in, with the span id of the server span
//! the receiver holds; and when every exemplar Prometheus stored names a trace the receiver
//! holds, none an unsampled one. The bad-latency SLO counter must carry the slow trace too.
//!
//! Without Prometheus the test prints a loud SKIPPED and passes, unless `CI` is set.
#![allow(clippy::print_stderr)]

use crate::support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use obskit_test_receiver::{Receiver, SpanKind};
use support::prometheus::{self, Prometheus, SeriesExemplar};
use support::service::{SERVICE_NAME, Service};

/// The scrape job's name.
const JOB: &str = "obskit-exemplars";
/// The trace the slow request belongs to, sampled by its parent.
const SLOW_TRACE: &str = "5107a0000000000000000000000e0001";
/// Trace ids of requests whose parent says "not sampled": never an exemplar.
const UNSAMPLED_TRACES: [&str; 3] = [
    "0a5a3000000000000000000000000001",
    "0a5a3000000000000000000000000002",
    "0a5a3000000000000000000000000003",
];
/// The parent span id every `traceparent` of the test names.
const PARENT_SPAN: &str = "00f067aa0ba902b7";
/// How long the slow route takes (`e2e-service`'s `/slow`).
const SLOW_SECONDS: f64 = 0.4;
/// How long Prometheus may take to scrape and store what the traffic left.
const SETTLE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_requests_trace_is_found_through_query_exemplars() {
    let Some(binary) = prometheus::binary_or_skip("the exemplars") else {
        return;
    };
    let started = Instant::now();
    let receiver = Receiver::start().await.expect("the OTLP receiver starts");
    let endpoint = receiver.http_endpoint();
    let service = Service::start_with(&[
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_TRACES_SAMPLER", "parentbased_always_on"),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ]);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        prometheus::config(JOB, &format!("127.0.0.1:{}", service.port), &[]),
    )
    .expect("write prometheus.yml");
    let prom =
        Prometheus::start_with_features(&binary, &config, dir.path(), &["exemplar-storage"]).await;
    let from = unix_now() - 5.0;

    let client = obskit::reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client");
    let get = |path: &str, traceparent: Option<(&str, bool)>| {
        let mut request = client.get(service.url(path));
        if let Some((trace, sampled)) = traceparent {
            let flags = if sampled { "01" } else { "00" };
            request = request.header("traceparent", format!("00-{trace}-{PARENT_SPAN}-{flags}"));
        }
        async move {
            let response = request.send().await.expect("the service answers");
            let status = response.status().as_u16();
            let _ = response.bytes().await;
            status
        }
    };
    for unsampled in UNSAMPLED_TRACES {
        assert_eq!(get("/ok", None).await, 200);
        assert_eq!(get("/users/7", None).await, 200);
        assert_eq!(get("/fail", None).await, 500);
        assert_eq!(get("/ok", Some((unsampled, false))).await, 200);
        assert_eq!(get("/fail", Some((unsampled, false))).await, 500);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The deliberately slow request, sampled, then an unsampled one in the same bucket: with
    // "newest wins" it would take the exemplar's place if unsampled requests counted.
    assert_eq!(get("/slow", Some((SLOW_TRACE, true))).await, 200);
    assert_eq!(get("/slow", Some((UNSAMPLED_TRACES[0], false))).await, 200);

    let slow_selector = format!(
        "http_server_request_duration_seconds_bucket{{service_name=\"{SERVICE_NAME}\", http_route=\"/slow\"}}"
    );
    let slow = wait_for_exemplar(&prom, &slow_selector, from, SLOW_TRACE).await;
    let le: f64 = slow.series["le"].parse().expect("a numeric le");
    assert!(
        slow.value >= SLOW_SECONDS && slow.value <= le,
        "the slow request's exemplar {slow:?} must hold its duration and lie in its bucket"
    );
    assert!(
        (from..=unix_now()).contains(&slow.timestamp),
        "exemplar time {} outside the test's window",
        slow.timestamp
    );

    // The trace behind it is the one the receiver holds: same trace, same server span.
    let spans = receiver.wait_for_spans(1, SETTLE).await;
    let deadline = Instant::now() + SETTLE;
    let server_span = loop {
        let spans = receiver.spans();
        if let Some(span) = spans
            .iter()
            .find(|s| s.trace_id == SLOW_TRACE && s.kind == SpanKind::Server)
        {
            break span.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the receiver holds no server span of trace {SLOW_TRACE}; it has {} spans: {spans:#?}",
            spans.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(server_span.name, "GET /slow");
    assert_eq!(
        slow.labels["span_id"], server_span.span_id,
        "the exemplar names the server span"
    );
    drop(spans);

    // The latency SLO's bad counter: the slow request is its only sampled bad request.
    let bad_selector = format!(
        "obskit_slo_requests_total{{service_name=\"{SERVICE_NAME}\", slo=\"latency\", result=\"bad\"}}"
    );
    let bad = wait_for_exemplar(&prom, &bad_selector, from, SLOW_TRACE).await;
    assert_eq!(bad.value, 1.0, "{bad:?}");

    // Every exemplar Prometheus stored for the service names a trace the receiver holds, and
    // none names an unsampled request.
    let all = prom
        .query_exemplars(
            &format!("{{service_name=\"{SERVICE_NAME}\"}}"),
            from,
            unix_now() + 5.0,
        )
        .await
        .expect("query_exemplars answers");
    let traces: BTreeSet<&str> = all.iter().map(|e| e.labels["trace_id"].as_str()).collect();
    assert!(
        traces.len() >= 4,
        "sampled traffic on /ok, /users, /fail and /slow leaves several exemplars: {all:#?}"
    );
    for unsampled in UNSAMPLED_TRACES {
        assert!(
            !traces.contains(unsampled),
            "unsampled {unsampled} in {all:#?}"
        );
    }
    let deadline = Instant::now() + SETTLE;
    loop {
        let held: BTreeSet<String> = receiver.spans().into_iter().map(|s| s.trace_id).collect();
        let missing: Vec<&&str> = traces.iter().filter(|t| !held.contains(**t)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "exemplar trace ids the receiver never got: {missing:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let families: BTreeSet<&str> = all.iter().map(|e| e.series["__name__"].as_str()).collect();
    eprintln!(
        "live exemplars: {} exemplars of {} traces on {families:?}, slow request found in {:.1?}",
        all.len(),
        traces.len(),
        started.elapsed()
    );
}

/// Polls `/api/v1/query_exemplars` for `selector` until an exemplar of `trace` appears.
async fn wait_for_exemplar(
    prom: &Prometheus,
    selector: &str,
    from: f64,
    trace: &str,
) -> SeriesExemplar {
    let deadline = Instant::now() + SETTLE;
    loop {
        let found = prom
            .query_exemplars(selector, from, unix_now() + 5.0)
            .await
            .unwrap_or_else(|e| panic!("query_exemplars({selector}) failed: {e}"));
        if let Some(e) = found
            .iter()
            .find(|e| e.labels.get("trace_id").map(String::as_str) == Some(trace))
        {
            return e.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no exemplar of trace {trace} on {selector} within {SETTLE:?}; Prometheus has: {found:#?}\n{}",
            prom.process.tail(15)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs_f64()
}

/// The repository root (this crate lives in `tests/`).
fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
}

/// The Grafana provisioning example links exemplars to traces with the label obskit writes,
/// through a data source the file defines (the file for a local Grafana; a cluster gets the
/// data-source ConfigMap in `deploy/`, checked with the other Kubernetes objects).
#[test]
fn the_grafana_provisioning_example_links_trace_id_to_a_defined_trace_data_source() {
    let root = repo_root();
    let docs = std::fs::read_to_string(root.join("docs/grafana/datasources.yaml"))
        .expect("docs/grafana/datasources.yaml");
    let file: yaml_serde::Value = yaml_serde::from_str(&docs).expect("valid YAML");
    assert_eq!(file["apiVersion"].as_u64(), Some(1));
    let sources = file["datasources"]
        .as_sequence()
        .expect("a datasources list");
    let uid_of = |kind: &str| {
        sources
            .iter()
            .filter(|s| s["type"].as_str() == Some(kind))
            .filter_map(|s| s["uid"].as_str())
            .collect::<Vec<_>>()
    };
    let prometheus = sources
        .iter()
        .find(|s| s["type"].as_str() == Some("prometheus"))
        .expect("a Prometheus data source");
    let destinations = prometheus["jsonData"]["exemplarTraceIdDestinations"]
        .as_sequence()
        .expect("exemplarTraceIdDestinations");
    assert!(!destinations.is_empty());
    for d in destinations {
        assert_eq!(
            d["name"].as_str(),
            Some("trace_id"),
            "the exemplar label obskit writes"
        );
        let target = d["datasourceUid"].as_str().expect("an internal link");
        assert!(
            uid_of("tempo").contains(&target) || uid_of("jaeger").contains(&target),
            "datasourceUid {target} is not a Tempo or Jaeger data source of the file"
        );
    }
}
