//! obskit's registry pushed over OTLP (`OTEL_METRICS_EXPORTER=otlp`) to a
//! real receiver: the push holds every series `/metrics` has with the same
//! values after known traffic, histograms with their buckets and exemplars;
//! deltas add up to the totals; the last interval is pushed at shutdown;
//! a silent collector never holds the shutdown past its bound; `/metrics`
//! answers 404 when only OTLP is asked for.

use crate::support;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use obskit::http::HttpLayer;
use obskit_test_receiver::proto::metrics::v1::{Metric, metric::Data, number_data_point};
use obskit_test_receiver::{AttrValue, BlackHole, Protocol, ReceivedMetricsRequest, Receiver};
use obskit_test_support::prom;
use support::{config, harness};

/// A sample as the Prometheus text has it: name and labels, `le` as a number.
type Key = (String, BTreeMap<String, String>);

fn attrs(kvs: &[obskit_test_receiver::proto::common::v1::KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| {
            let v = kv
                .value
                .as_ref()
                .map(|v| AttrValue::from(v).to_string())
                .unwrap_or_default();
            (kv.key.clone(), v)
        })
        .collect()
}

/// `le` written the way both sides agree on: the float's shortest form.
fn le(bound: f64) -> String {
    if bound.is_infinite() {
        "+Inf".to_owned()
    } else {
        bound.to_string()
    }
}

/// The samples a Prometheus scrape of an OTLP metric would show.
fn samples_of(metric: &Metric) -> Vec<(Key, f64)> {
    let mut out = Vec::new();
    let name = metric.name.clone();
    match metric.data.as_ref().expect("metric data") {
        Data::Sum(sum) => {
            assert!(sum.is_monotonic, "{name}");
            for p in &sum.data_points {
                let v = match p.value {
                    Some(number_data_point::Value::AsInt(i)) => i as f64,
                    Some(number_data_point::Value::AsDouble(d)) => d,
                    None => panic!("{name} without a value"),
                };
                out.push(((name.clone(), attrs(&p.attributes)), v));
            }
        }
        Data::Gauge(g) => {
            for p in &g.data_points {
                let v = match p.value {
                    Some(number_data_point::Value::AsInt(i)) => i as f64,
                    Some(number_data_point::Value::AsDouble(d)) => d,
                    None => panic!("{name} without a value"),
                };
                out.push(((name.clone(), attrs(&p.attributes)), v));
            }
        }
        Data::Histogram(h) => {
            for p in &h.data_points {
                let labels = attrs(&p.attributes);
                assert_eq!(p.bucket_counts.len(), p.explicit_bounds.len() + 1, "{name}");
                let mut cumulative = 0;
                for (i, count) in p.bucket_counts.iter().enumerate() {
                    cumulative += count;
                    let bound = p.explicit_bounds.get(i).copied().unwrap_or(f64::INFINITY);
                    let mut l = labels.clone();
                    l.insert("le".into(), le(bound));
                    out.push(((format!("{name}_bucket"), l), cumulative as f64));
                }
                assert_eq!(cumulative, p.count, "{name}");
                out.push((
                    (format!("{name}_sum"), labels.clone()),
                    p.sum.unwrap_or_default(),
                ));
                out.push(((format!("{name}_count"), labels), p.count as f64));
            }
        }
        other => panic!("{name}: unexpected {other:?}"),
    }
    out
}

fn pushed(request: &ReceivedMetricsRequest) -> BTreeMap<Key, f64> {
    request
        .metrics()
        .into_iter()
        .flat_map(|(_, m)| samples_of(m))
        .collect()
}

fn scraped(text: &str) -> BTreeMap<Key, f64> {
    prom::parse(text)
        .into_iter()
        .map(|s| {
            let mut labels = s.labels;
            if let Some(l) = labels.get_mut("le") {
                *l = le(l.parse::<f64>().expect("numeric le"));
            }
            ((s.name, labels), s.value)
        })
        .collect()
}

fn app(layer: HttpLayer) -> Router {
    Router::new()
        .route("/items/{id}", get(|| async { "ok" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(30)).await;
                "slow"
            }),
        )
        .layer(layer)
}

async fn traffic(base: &str, paths: &[&str]) {
    let client = reqwest::Client::new();
    for path in paths {
        let r = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap();
    }
}

async fn the_push_agrees_with_metrics(protocol: &str, expected: Protocol, compression: &str) {
    let rx = Receiver::start().await.unwrap();
    let endpoint = if expected == Protocol::Grpc {
        rx.grpc_endpoint()
    } else {
        rx.http_endpoint()
    };
    let h = harness(config(&[
        ("OTEL_SERVICE_NAME", "agree"),
        ("OTEL_RESOURCE_ATTRIBUTES", "k8s.pod.name=agree-0"),
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_METRICS_EXPORTER", "otlp,prometheus"),
        // One push, at shutdown: nothing changes between the scrape and it.
        ("OTEL_METRIC_EXPORT_INTERVAL", "3600000"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-metrics=yes"),
        ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", compression),
    ]));
    let counter = h.telemetry.metrics().counter("jobs_total", vec![]);
    counter.increment(7);
    h.telemetry
        .metrics()
        .gauge(
            "queue_depth",
            vec![obskit::metrics::Label::new("queue", "a \"b\"")],
        )
        .set(2.5);
    let base = support::server::spawn(app(HttpLayer::new(&h.telemetry))).await;
    traffic(&base, &["/items/1", "/items/2", "/slow", "/items/3"]).await;
    let metrics = h.telemetry.metrics();
    let text = metrics.render();
    let openmetrics = metrics.render_as(obskit::metrics::Format::OpenMetrics);
    let report = h.telemetry.shutdown().await;
    assert!(!report.timed_out, "{report:?}");

    let requests = rx.wait_for_metrics(1, Duration::from_secs(30)).await;
    assert_eq!(requests.len(), 1, "one push, at shutdown: {requests:#?}");
    let request = &requests[0];
    assert_eq!(request.protocol, expected);
    assert_eq!(request.header("x-metrics"), Some("yes"));
    if expected != Protocol::Grpc {
        let gzip = (compression == "gzip").then_some("gzip");
        assert_eq!(request.header("content-encoding"), gzip);
    }
    let ours = pushed(request);
    let theirs = scraped(&text);
    let keys = |m: &BTreeMap<Key, f64>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&ours), keys(&theirs), "the same series on both sides");
    for (key, value) in &theirs {
        // Process figures move on their own; every other value is the scrape's.
        if key.0.starts_with("process_") {
            continue;
        }
        assert_eq!(ours[key], *value, "{key:?}");
    }
    let count = |path: &str| {
        ours[&(
            "http_server_request_duration_seconds_count".to_owned(),
            BTreeMap::from([
                ("service_name".to_owned(), "agree".to_owned()),
                ("http_request_method".to_owned(), "GET".to_owned()),
                ("http_route".to_owned(), path.to_owned()),
                ("http_response_status_code".to_owned(), "200".to_owned()),
            ]),
        )]
    };
    assert_eq!(count("/items/{id}"), 3.0);
    assert_eq!(count("/slow"), 1.0);

    // Kinds, temporality, units, descriptions, the resource, exemplars.
    let metrics = request.metrics();
    let find = |name: &str| {
        metrics
            .iter()
            .find(|(_, m)| m.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let (resource, duration) = find("http_server_request_duration_seconds");
    assert_eq!(resource["service.name"], "agree");
    assert_eq!(resource["k8s.pod.name"], "agree-0");
    assert_eq!(duration.unit, "s");
    assert_eq!(duration.description, "Duration of HTTP server requests.");
    let Some(Data::Histogram(hist)) = &duration.data else {
        panic!("{duration:?}")
    };
    assert_eq!(hist.aggregation_temporality, 2, "cumulative");
    assert_eq!(
        hist.data_points[0].explicit_bounds,
        obskit::metrics::names::HTTP_DURATION_BUCKETS
    );
    let exemplars: Vec<_> = hist.data_points.iter().flat_map(|p| &p.exemplars).collect();
    assert!(!exemplars.is_empty(), "sampled requests leave exemplars");
    for e in &exemplars {
        assert_eq!(e.trace_id.len(), 16);
        assert_eq!(e.span_id.len(), 8);
        let trace = e
            .trace_id
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        assert!(
            openmetrics.contains(&format!("trace_id=\"{trace}\"")),
            "the exemplar {trace} is /metrics' too"
        );
    }
    let (_, jobs) = find("jobs_total");
    let Some(Data::Sum(sum)) = &jobs.data else {
        panic!("{jobs:?}")
    };
    assert!(sum.is_monotonic);
    assert_eq!(sum.aggregation_temporality, 2);
    assert_eq!(
        sum.data_points[0].value,
        Some(number_data_point::Value::AsInt(7))
    );
    let (_, info) = find("target_info");
    assert!(matches!(info.data, Some(Data::Gauge(_))), "{info:?}");
}

#[tokio::test]
async fn the_push_agrees_with_metrics_over_grpc() {
    the_push_agrees_with_metrics("grpc", Protocol::Grpc, "none").await;
}

#[tokio::test]
async fn the_push_agrees_with_metrics_over_http_protobuf() {
    the_push_agrees_with_metrics("http/protobuf", Protocol::Http, "none").await;
}

#[tokio::test]
async fn the_push_agrees_with_metrics_over_http_json() {
    the_push_agrees_with_metrics("http/json", Protocol::HttpJson, "none").await;
}

#[tokio::test]
async fn the_push_agrees_with_metrics_over_gzipped_http_json() {
    the_push_agrees_with_metrics("http/json", Protocol::HttpJson, "gzip").await;
}

/// The request count of `/items/{id}` in one push, and the push's time window.
fn items_in(request: &ReceivedMetricsRequest) -> (u64, u64, u64) {
    for (_, m) in request.metrics() {
        if m.name != "http_server_request_duration_seconds" {
            continue;
        }
        let Some(Data::Histogram(h)) = &m.data else {
            panic!("{m:?}")
        };
        assert_eq!(h.aggregation_temporality, 1, "delta");
        for p in &h.data_points {
            if attrs(&p.attributes)["http_route"] == "/items/{id}" {
                return (p.count, p.start_time_unix_nano, p.time_unix_nano);
            }
        }
    }
    (0, 0, 0)
}

#[tokio::test]
async fn delta_pushes_add_up_to_the_totals() {
    let rx = Receiver::start().await.unwrap();
    let h = harness(config(&[
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "100"),
        ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            &rx.http_metrics_url(),
        ),
    ]));
    let jobs = h.telemetry.metrics().counter("jobs_total", vec![]);
    let base = support::server::spawn(app(HttpLayer::new(&h.telemetry))).await;
    traffic(&base, &["/items/1", "/items/2", "/items/3"]).await;
    jobs.increment(2);
    // Wait for a push that saw the first three, then send two more.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while rx
        .metrics_requests()
        .iter()
        .map(items_in)
        .map(|c| c.0)
        .sum::<u64>()
        < 3
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no push saw the requests"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    traffic(&base, &["/items/4", "/items/5"]).await;
    jobs.increment(3);
    let report = h.telemetry.shutdown().await;
    assert!(!report.timed_out, "{report:?}");

    let requests = rx.metrics_requests();
    assert!(requests.len() >= 2, "{requests:#?}");
    let windows: Vec<(u64, u64, u64)> = requests.iter().map(items_in).collect();
    assert_eq!(windows.iter().map(|w| w.0).sum::<u64>(), 5, "{windows:?}");
    let jobs_total: i64 = requests
        .iter()
        .flat_map(|r| r.metrics())
        .filter(|(_, m)| m.name == "jobs_total")
        .map(|(_, m)| match &m.data {
            Some(Data::Sum(s)) => {
                assert_eq!(s.aggregation_temporality, 1);
                match s.data_points[0].value {
                    Some(number_data_point::Value::AsInt(i)) => i,
                    other => panic!("{other:?}"),
                }
            }
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(jobs_total, 5);
    // Each window starts where the previous one ended.
    let spans: Vec<_> = windows.iter().filter(|w| w.2 != 0).collect();
    for pair in spans.windows(2) {
        assert!(pair[0].2 <= pair[1].1, "{pair:?}");
    }
}

#[tokio::test]
async fn shutdown_pushes_the_last_interval() {
    let rx = Receiver::start().await.unwrap();
    let h = harness(config(&[
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "3600000"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.grpc_endpoint()),
    ]));
    h.telemetry
        .metrics()
        .counter("last_total", vec![])
        .increment(11);
    assert!(
        rx.metrics_requests().is_empty(),
        "nothing before the interval"
    );
    let report = h.telemetry.shutdown().await;
    assert!(!report.timed_out, "{report:?}");
    let requests = rx.metrics_requests();
    assert_eq!(requests.len(), 1);
    let last = pushed(&requests[0]);
    let service = requests[0].metrics()[0].0["service.name"].to_string();
    let key = (
        "last_total".to_owned(),
        BTreeMap::from([("service_name".to_owned(), service)]),
    );
    assert_eq!(last[&key], 11.0);
}

#[tokio::test]
async fn a_silent_collector_never_holds_shutdown_past_its_bound() {
    let hole = BlackHole::start().unwrap();
    let h = harness(config(&[
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "3600000"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "120000"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "120000"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &hole.endpoint()),
        ("OBSKIT_SHUTDOWN_TIMEOUT", "300ms"),
    ]));
    let base = support::server::spawn(app(HttpLayer::new(&h.telemetry))).await;
    traffic(&base, &["/items/1"]).await;
    let report = h.telemetry.shutdown().await;
    assert!(report.timed_out, "{report:?}");
    // The push reached the collector, which never answered.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while hole.connections() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the push never connected"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn metrics_answers_404_when_only_otlp_is_asked_for() {
    for (exporters, served) in [("otlp", false), ("none", false), ("prometheus", true)] {
        let h = harness(config(&[
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_METRICS_EXPORTER", exporters),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "3600000"),
        ]));
        let base = support::server::spawn(obskit::http::observability_routes(&h.telemetry)).await;
        let r = reqwest::get(format!("{base}/metrics")).await.unwrap();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        if served {
            assert_eq!(status, 200);
            assert!(body.contains("target_info{"), "{body}");
        } else {
            assert_eq!(status, 404, "{exporters}");
            assert!(body.contains("OTEL_METRICS_EXPORTER"), "{body}");
        }
        assert_eq!(h.telemetry.metrics().serves_prometheus(), served);
    }
}

#[test]
fn bad_metrics_settings_name_their_variable() {
    for (var, value) in [
        ("OTEL_METRICS_EXPORTER", "statsd"),
        ("OTEL_METRICS_EXPORTER", "none,otlp"),
        ("OTEL_METRICS_EXPORTER", "console"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "0"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "1m"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "soon"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "sometimes",
        ),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "collector:4318"),
    ] {
        let err = obskit::Config::from_env_with(|name| match name {
            "OTEL_METRICS_EXPORTER" if var != "OTEL_METRICS_EXPORTER" => Some("otlp".into()),
            n if n == var => Some(value.into()),
            _ => None,
        })
        .expect_err(var)
        .to_string();
        assert!(err.starts_with(var), "{var}={value}: {err}");
    }
}

#[tokio::test]
async fn lowmemory_keeps_observed_counters_cumulative() {
    let rx = Receiver::start().await.unwrap();
    let h = harness(config(&[
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "3600000"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "lowmemory",
        ),
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            &rx.http_metrics_url(),
        ),
    ]));
    h.telemetry
        .metrics()
        .counter("jobs_total", vec![])
        .increment(1);
    let base = support::server::spawn(app(HttpLayer::new(&h.telemetry))).await;
    traffic(&base, &["/items/1"]).await;
    let report = h.telemetry.shutdown().await;
    assert!(!report.timed_out, "{report:?}");
    let requests = rx.metrics_requests();
    assert_eq!(requests.len(), 1);
    let temporality = |name: &str| {
        let metrics = requests[0].metrics();
        let (_, m) = metrics
            .iter()
            .find(|(_, m)| m.name == name)
            .unwrap_or_else(|| panic!("no {name}"));
        match &m.data {
            Some(Data::Sum(s)) => s.aggregation_temporality,
            Some(Data::Histogram(h)) => h.aggregation_temporality,
            other => panic!("{name}: {other:?}"),
        }
    };
    assert_eq!(temporality("jobs_total"), 1, "a recorded counter: delta");
    assert_eq!(temporality("http_server_request_duration_seconds"), 1);
    assert_eq!(
        temporality("obskit_spans_exported_total"),
        2,
        "an observed counter stays cumulative"
    );
    assert_eq!(temporality("process_cpu_seconds_total"), 2);
}
