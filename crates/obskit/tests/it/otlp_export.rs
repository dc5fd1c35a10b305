//! Spans reach a real OTLP receiver over gRPC, HTTP/protobuf and HTTP/JSON,
//! with the configured resource and headers, correct parentage, and the
//! same trace id as the log lines written inside them.

use crate::support;

use std::time::Duration;

use obskit_test_receiver::{Protocol, Receiver};
use support::{config, harness};

async fn export_over(protocol: &str, endpoint_of: fn(&Receiver) -> String, expected: Protocol) {
    let rx = Receiver::start().await.unwrap();
    let endpoint = endpoint_of(&rx);
    let h = harness(config(&[
        ("OTEL_SERVICE_NAME", "checkout"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=test,team=payments",
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "x-api-key=s3cret%20value,x-tenant=acme",
        ),
    ]));

    {
        let parent = tracing::info_span!("place_order", order_id = 42);
        let _p = parent.enter();
        tracing::info!("validating");
        let child = tracing::info_span!("charge_card");
        let _c = child.enter();
        tracing::info!(amount = 10, "charging");
    }
    let report = h.telemetry.shutdown().await;
    assert_eq!(report.spans_exported, 2, "{report:?}");
    assert_eq!(report.spans_dropped, 0, "{report:?}");
    assert!(!report.timed_out);

    let spans = rx.wait_for_spans(2, Duration::from_secs(5)).await;
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let parent = spans.iter().find(|s| s.name == "place_order").unwrap();
    let child = spans.iter().find(|s| s.name == "charge_card").unwrap();
    assert_eq!(child.trace_id, parent.trace_id);
    assert_eq!(
        child.parent_span_id.as_deref(),
        Some(parent.span_id.as_str())
    );
    assert_eq!(parent.parent_span_id, None);
    assert_eq!(parent.protocol, expected);
    assert_eq!(parent.service_name(), Some("checkout"));
    let res = &parent.resource;
    assert_eq!(res["deployment.environment.name"], "test");
    assert_eq!(res["team"], "payments");
    assert_eq!(res["telemetry.sdk.language"], "rust");
    assert!(res.contains_key("service.instance.id"));
    assert!(res.contains_key("process.pid"));
    assert!(res.contains_key("host.arch"));
    assert_eq!(parent.attributes["order_id"], 42);

    let request = &rx.requests()[0];
    assert_eq!(request.header("x-api-key"), Some("s3cret value"));
    assert_eq!(request.header("x-tenant"), Some("acme"));

    let lines = h.logs.lines();
    let validating = lines.iter().find(|l| l["message"] == "validating").unwrap();
    assert_eq!(validating["trace_id"], parent.trace_id.as_str());
    assert_eq!(validating["span_id"], parent.span_id.as_str());
    assert_eq!(validating["service_name"], "checkout");
    let charging = lines.iter().find(|l| l["message"] == "charging").unwrap();
    assert_eq!(charging["trace_id"], child.trace_id.as_str());
    assert_eq!(charging["span_id"], child.span_id.as_str());
    assert_eq!(charging["spans"][0]["name"], "place_order");
    assert_eq!(charging["spans"][0]["order_id"], 42);
    assert_eq!(charging["spans"][1]["name"], "charge_card");
}

#[tokio::test]
async fn spans_reach_the_receiver_over_grpc() {
    export_over("grpc", Receiver::grpc_endpoint, Protocol::Grpc).await;
}

#[tokio::test]
async fn spans_reach_the_receiver_over_http_protobuf() {
    export_over("http/protobuf", Receiver::http_endpoint, Protocol::Http).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_the_receiver_from_a_multi_thread_runtime() {
    let rx = Receiver::start().await.unwrap();
    let h = harness(config(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.grpc_endpoint()),
    ]));
    for i in 0..100 {
        let _s = tracing::info_span!("work", i).entered();
    }
    let report = h.telemetry.shutdown().await;
    assert_eq!((report.spans_exported, report.spans_dropped), (100, 0));
    assert_eq!(rx.spans().len(), 100);
}

#[tokio::test]
async fn the_traces_endpoint_is_used_as_given() {
    let rx = Receiver::start().await.unwrap();
    let h = harness(config(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &rx.http_traces_url()),
    ]));
    drop(tracing::info_span!("one").entered());
    let report = h.telemetry.shutdown().await;
    assert_eq!(report.spans_exported, 1);
    assert_eq!(rx.spans()[0].name, "one");
}

#[tokio::test]
async fn unsampled_spans_are_not_exported_but_logs_keep_their_ids() {
    let rx = Receiver::start().await.unwrap();
    let h = harness(config(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_TRACES_SAMPLER", "always_off"),
    ]));
    {
        let _s = tracing::info_span!("quiet").entered();
        tracing::info!("inside an unsampled span");
    }
    let report = h.telemetry.shutdown().await;
    assert_eq!(report.spans_exported, 0);
    assert!(rx.spans().is_empty());
    let line = h
        .logs
        .lines()
        .into_iter()
        .find(|l| l["message"] == "inside an unsampled span")
        .unwrap();
    assert_eq!(line["trace_id"].as_str().unwrap().len(), 32, "{line}");
    assert_eq!(line["span_id"].as_str().unwrap().len(), 16, "{line}");
}

#[tokio::test]
async fn trace_id_ratio_sampling_keeps_about_that_share() {
    let rx = Receiver::start().await.unwrap();
    let h = harness(config(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_TRACES_SAMPLER", "traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
    ]));
    for _ in 0..2000 {
        drop(tracing::info_span!("root").entered());
    }
    let report = h.telemetry.shutdown().await;
    // Binomial(2000, 0.25): mean 500, sd ~19; 400..600 is over 5 sd each side.
    assert!((400..600).contains(&report.spans_exported), "{report:?}");
}

#[tokio::test]
async fn sdk_disabled_exports_nothing_while_logs_stay() {
    let rx = Receiver::start().await.unwrap();
    let h = harness(config(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_SDK_DISABLED", "true"),
    ]));
    {
        let _s = tracing::info_span!("ignored").entered();
        tracing::info!("still logged");
    }
    let report = h.telemetry.shutdown().await;
    assert_eq!(report.spans_exported, 0);
    assert!(rx.requests().is_empty());
    assert!(
        h.logs
            .lines()
            .iter()
            .any(|l| l["message"] == "still logged")
    );
}

#[tokio::test]
async fn exporter_none_keeps_trace_ids_in_logs() {
    let h = harness(config(&[("OTEL_TRACES_EXPORTER", "none")]));
    {
        let _s = tracing::info_span!("local").entered();
        tracing::info!("has ids");
    }
    let report = h.telemetry.shutdown().await;
    assert_eq!(report.spans_exported, 0);
    let line = h
        .logs
        .lines()
        .into_iter()
        .find(|l| l["message"] == "has ids")
        .unwrap();
    assert!(line["trace_id"].is_string(), "{line}");
}

#[tokio::test]
async fn http_json_reaches_the_receiver() {
    let rx = Receiver::start().await.unwrap();
    let h = harness(config(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
    ]));
    drop(tracing::info_span!("as_json").entered());
    let report = h.telemetry.shutdown().await;
    assert_eq!(
        (report.spans_exported, report.spans_dropped),
        (1, 0),
        "{report:?}"
    );
    let spans = rx.spans();
    assert_eq!(spans[0].name, "as_json");
    assert_eq!(spans[0].protocol, Protocol::HttpJson);
}

#[test]
fn rendered_metrics_pass_promtool() {
    let h = harness(config(&[
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_SERVICE_NAME", "svc"),
    ]));
    let text = h.telemetry.metrics().render();
    assert!(text.contains("obskit_build_info{"), "{text}");
    assert!(text.contains("process_resident_memory_bytes{"), "{text}");
    obskit_test_support::assert_promtool_accepts(&text);
}

/// With the default `tls` feature, `https://` endpoints are accepted and
/// spoken to over TLS: against a plain-text receiver the handshake fails,
/// which is counted as a failed export, never a configuration error.
#[tokio::test]
async fn https_endpoints_are_spoken_to_over_tls() {
    let rx = Receiver::start().await.unwrap();
    for (protocol, endpoint) in [
        ("http/protobuf", rx.http_endpoint()),
        ("grpc", rx.grpc_endpoint()),
    ] {
        let https = endpoint.replacen("http://", "https://", 1);
        let h = harness(config(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &https),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "500"),
        ]));
        drop(tracing::info_span!("secure").entered());
        let report = h.telemetry.shutdown().await;
        assert_eq!(
            (report.spans_exported, report.spans_dropped),
            (0, 1),
            "{protocol}: {report:?}"
        );
    }
    assert!(
        rx.spans().is_empty(),
        "a TLS handshake is not an OTLP request"
    );
}
