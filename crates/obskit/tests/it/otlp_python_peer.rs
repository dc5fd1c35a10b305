//! The official OpenTelemetry Python SDK as a peer: a Python program
//! exports a log record and two metrics to the test receiver, obskit
//! exports the same, and the receiver decodes both the same way: severity,
//! body, typed attributes, trace context, event name and scope of the
//! record; kind, temporality, values, buckets and attributes of the metrics.
//!
//! Needs `python3` with `opentelemetry-sdk` and the OTLP exporters
//! (`.ci/run` installs them); skipped, saying why, when they are missing,
//! unless `CI` is set.

use crate::support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use obskit::opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use obskit_test_receiver::proto::metrics::v1::metric::Data;
use obskit_test_receiver::proto::metrics::v1::{Metric, number_data_point};
use obskit_test_receiver::{AttrValue, Protocol, ReceivedLog, Receiver};
use support::{config, harness};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_ID: &str = "00f067aa0ba902b7";

/// Whether the Python peer can run; panics in CI when it cannot.
fn python_ready() -> bool {
    obskit_test_support::python3_with(
        "opentelemetry.sdk, opentelemetry.exporter.otlp.proto.grpc, opentelemetry.exporter.otlp.proto.http",
        "pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-grpc opentelemetry-exporter-otlp-proto-http",
    )
}

fn run_python(protocol: &str, endpoint: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/peer/otlp_peer.py");
    let out = Command::new("python3")
        .arg(script)
        .args([protocol, endpoint, TRACE_ID, SPAN_ID])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the Python peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What two exporters must agree on for one record.
fn record_view(log: &ReceivedLog) -> impl std::fmt::Debug + PartialEq {
    (
        log.scope_name.clone(),
        log.severity_number,
        log.severity_text.clone(),
        log.body.clone(),
        log.attributes.clone(),
        log.trace_id.clone(),
        log.span_id.clone(),
        log.flags & 0xff,
        log.event_name.clone(),
        log.time_unix_nano > 0,
        log.observed_time_unix_nano > 0,
    )
}

/// What two exporters must agree on for one metric: kind, temporality,
/// monotonicity and every point's attributes and values (obskit's own
/// `service_name` attribute aside: it is the resource's `service.name`).
fn metric_view(metric: &Metric) -> String {
    let attrs = |kvs: &[obskit_test_receiver::proto::common::v1::KeyValue]| {
        kvs.iter()
            .filter(|kv| kv.key != "service_name")
            .map(|kv| {
                let v = kv
                    .value
                    .as_ref()
                    .map(AttrValue::from)
                    .unwrap_or(AttrValue::Empty);
                (kv.key.clone(), v)
            })
            .collect::<BTreeMap<_, _>>()
    };
    let mut out = format!("{} unit={:?} ", metric.name, metric.unit);
    match metric.data.as_ref().expect("data") {
        Data::Sum(s) => {
            out += &format!(
                "sum monotonic={} temporality={} ",
                s.is_monotonic, s.aggregation_temporality
            );
            for p in &s.data_points {
                let v = match p.value {
                    Some(number_data_point::Value::AsInt(i)) => format!("int {i}"),
                    Some(number_data_point::Value::AsDouble(d)) => format!("double {d}"),
                    None => "none".into(),
                };
                out += &format!(
                    "[{:?} {v} started={}]",
                    attrs(&p.attributes),
                    p.start_time_unix_nano > 0
                );
            }
        }
        Data::Histogram(h) => {
            out += &format!("histogram temporality={} ", h.aggregation_temporality);
            for p in &h.data_points {
                out += &format!(
                    "[{:?} count={} sum={:?} bounds={:?} buckets={:?} started={}]",
                    attrs(&p.attributes),
                    p.count,
                    p.sum,
                    p.explicit_bounds,
                    p.bucket_counts,
                    p.start_time_unix_nano > 0
                );
            }
        }
        other => out += &format!("{other:?}"),
    }
    out
}

async fn peer(protocol: &str, expected: Protocol) {
    if !python_ready() {
        return;
    }
    let python = Receiver::start().await.unwrap();
    let endpoint = |rx: &Receiver| {
        if expected == Protocol::Grpc {
            rx.grpc_endpoint()
        } else {
            rx.http_endpoint()
        }
    };
    run_python(protocol, &endpoint(&python));

    let ours = Receiver::start().await.unwrap();
    let h = harness(config(&[
        ("OTEL_SERVICE_NAME", "obskit-peer"),
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "otlp"),
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "3600000"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint(&ours)),
    ]));
    {
        let parent = SpanContext::new(
            TraceId::from_hex(TRACE_ID).unwrap(),
            SpanId::from_hex(SPAN_ID).unwrap(),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let _cx = obskit::opentelemetry::Context::new()
            .with_remote_span_context(parent)
            .attach();
        tracing::warn!(
            name: "order.charge",
            target: "peer_scope",
            amount = 10.5,
            declined = true,
            code = -3,
            card = "4111",
            "charging failed"
        );
    }
    let metrics = h.telemetry.metrics();
    metrics
        .counter(
            "jobs_total",
            vec![obskit::metrics::Label::new("queue", "a")],
        )
        .increment(7);
    let work = metrics.histogram(
        "work_duration_seconds",
        vec![obskit::metrics::Label::new("kind", "x")],
    );
    work.record(0.3);
    work.record(2.0);
    let report = h.telemetry.shutdown().await;
    assert!(!report.timed_out, "{report:?}");

    let theirs = python.wait_for_logs(1, Duration::from_secs(30)).await;
    let mine = ours.wait_for_logs(1, Duration::from_secs(30)).await;
    let mine: Vec<_> = mine
        .iter()
        .filter(|l| l.scope_name == "peer_scope")
        .collect();
    assert_eq!((theirs.len(), mine.len()), (1, 1), "{theirs:#?} {mine:#?}");
    assert_eq!(theirs[0].protocol, expected);
    assert_eq!(mine[0].protocol, expected);
    assert_eq!(record_view(mine[0]), record_view(&theirs[0]));
    assert_eq!(theirs[0].resource["service.name"], "python-peer");
    assert_eq!(mine[0].resource["service.name"], "obskit-peer");

    let python_metrics = python.wait_for_metrics(1, Duration::from_secs(30)).await;
    let our_metrics = ours.wait_for_metrics(1, Duration::from_secs(30)).await;
    for name in ["jobs_total", "work_duration_seconds"] {
        let find = |requests: &[obskit_test_receiver::ReceivedMetricsRequest]| {
            requests
                .iter()
                .flat_map(|r| r.metrics())
                .find(|(_, m)| m.name == name)
                .map(|(_, m)| metric_view(m))
                .unwrap_or_else(|| panic!("no {name} in {requests:#?}"))
        };
        assert_eq!(find(&our_metrics), find(&python_metrics), "{name}");
    }
}

#[tokio::test]
async fn obskit_and_the_python_sdk_export_alike_over_grpc() {
    peer("grpc", Protocol::Grpc).await;
}

#[tokio::test]
async fn obskit_and_the_python_sdk_export_alike_over_http_protobuf() {
    peer("http/protobuf", Protocol::Http).await;
}
