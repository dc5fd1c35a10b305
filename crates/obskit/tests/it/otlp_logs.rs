//! Log events reach a real OTLP receiver as log records over gRPC and
//! HTTP/protobuf (`OTEL_LOGS_EXPORTER=otlp`): typed attributes, the spans'
//! fields, trace ids matching the exported spans and the JSON lines, the
//! resource, headers, the access line; a failing or silent collector never
//! blocks the service and every lost record is counted.

use crate::support;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use obskit::http::HttpLayer;
use obskit_test_receiver::{AttrValue, Behavior, BlackHole, Protocol, ReceivedLog, Receiver};
use obskit_test_support::prom;
use support::{config, harness};

/// The records of this test's own events (obskit's start and end lines aside).
fn own(logs: &[ReceivedLog]) -> Vec<&ReceivedLog> {
    logs.iter()
        .filter(|l| l.scope_name == module_path!())
        .collect()
}

async fn export_over(protocol: &str, expected: Protocol) {
    let rx = Receiver::start().await.unwrap();
    let endpoint = if expected == Protocol::Grpc {
        rx.grpc_endpoint()
    } else {
        rx.http_endpoint()
    };
    let h = harness(config(&[
        ("OTEL_SERVICE_NAME", "checkout"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "k8s.pod.name=checkout-7d9f8-x2x5k,k8s.namespace.name=shop",
        ),
        ("OTEL_LOGS_EXPORTER", "otlp,console"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-api-key=logs%20key"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=shared"),
    ]));

    {
        let parent = tracing::info_span!("place_order", order_id = 42_u64, customer = "c-1");
        let _p = parent.enter();
        tracing::info!("validating");
        let child = tracing::info_span!("charge_card", attempt = 1);
        let _c = child.enter();
        tracing::warn!(
            amount = 10.5,
            declined = true,
            code = -3,
            huge = u64::MAX,
            card = ?"4111…",
            "charging {}",
            "failed"
        );
    }
    tracing::error!(name: "order.abandoned", reason = "timeout", "gave up");
    // `/metrics` carries the same resource as `target_info`.
    let text = h.telemetry.metrics().render();
    assert_eq!(
        prom::value(
            &text,
            "target_info",
            &[
                ("service_name", "checkout"),
                ("k8s_pod_name", "checkout-7d9f8-x2x5k"),
                ("k8s_namespace_name", "shop"),
                ("telemetry_sdk_language", "rust"),
            ]
        ),
        Some(1.0),
        "{text}"
    );
    let report = h.telemetry.shutdown().await;
    assert_eq!(report.log_records_exported, 3, "{report:?}");
    assert_eq!(report.log_records_dropped, 0, "{report:?}");
    assert_eq!(report.spans_exported, 2, "{report:?}");

    let logs = rx.wait_for_logs(3, Duration::from_secs(30)).await;
    let logs = own(&logs);
    assert_eq!(logs.len(), 3, "{logs:#?}");
    let spans = rx.spans();
    let parent = spans.iter().find(|s| s.name == "place_order").unwrap();
    let child = spans.iter().find(|s| s.name == "charge_card").unwrap();

    let validating = logs[0];
    assert_eq!(validating.protocol, expected);
    assert_eq!(validating.body_str(), Some("validating"));
    assert_eq!(
        (
            validating.severity_number,
            validating.severity_text.as_str()
        ),
        (9, "INFO")
    );
    assert_eq!(
        validating.trace_id.as_deref(),
        Some(parent.trace_id.as_str())
    );
    assert_eq!(validating.span_id.as_deref(), Some(parent.span_id.as_str()));
    assert_eq!(validating.flags, 1, "sampled");
    assert_eq!(validating.event_name, "");
    assert!(validating.time_unix_nano > 0);
    assert_eq!(
        validating.time_unix_nano,
        validating.observed_time_unix_nano
    );
    let span_list = |log: &ReceivedLog| match log.attr("spans") {
        Some(AttrValue::Array(spans)) => spans.clone(),
        other => panic!("no spans attribute: {other:?}"),
    };
    let outer = span_list(validating);
    assert_eq!(outer.len(), 1);
    let AttrValue::Map(place) = &outer[0] else {
        panic!("{outer:?}")
    };
    assert_eq!(place["name"], "place_order");
    assert_eq!(place["order_id"], 42);
    assert_eq!(place["customer"], "c-1");

    let charging = logs[1];
    assert_eq!(charging.body_str(), Some("charging failed"));
    assert_eq!(
        (charging.severity_number, charging.severity_text.as_str()),
        (13, "WARN")
    );
    assert_eq!(charging.attributes["amount"], 10.5);
    assert_eq!(charging.attributes["declined"], true);
    assert_eq!(charging.attributes["code"], -3);
    assert_eq!(charging.attributes["huge"], "18446744073709551615");
    assert_eq!(charging.attributes["card"], "\"4111…\"");
    assert!(!charging.attributes.contains_key("message"));
    assert_eq!(charging.span_id.as_deref(), Some(child.span_id.as_str()));
    let both = span_list(charging);
    let AttrValue::Map(charge) = &both[1] else {
        panic!("{both:?}")
    };
    assert_eq!(charge["name"], "charge_card");
    assert_eq!(charge["attempt"], 1);

    let abandoned = logs[2];
    assert_eq!(abandoned.event_name, "order.abandoned");
    assert_eq!(
        (abandoned.severity_number, abandoned.severity_text.as_str()),
        (17, "ERROR")
    );
    assert_eq!(abandoned.trace_id, None, "outside any span");
    assert!(abandoned.attr("spans").is_none());

    // The same resource as the spans, Kubernetes attributes included.
    assert_eq!(validating.resource, parent.resource);
    assert_eq!(validating.resource["service.name"], "checkout");
    assert_eq!(validating.resource["k8s.pod.name"], "checkout-7d9f8-x2x5k");
    assert_eq!(validating.resource["k8s.namespace.name"], "shop");
    assert_eq!(rx.log_requests()[0].header("x-api-key"), Some("logs key"));
    assert_eq!(rx.requests()[0].header("x-api-key"), Some("shared"));

    // `console` keeps the JSON lines, with the same ids.
    let lines = h.logs.lines();
    let line = lines.iter().find(|l| l["message"] == "validating").unwrap();
    assert_eq!(line["trace_id"], parent.trace_id.as_str());
}

#[tokio::test]
async fn log_records_reach_the_receiver_over_grpc() {
    export_over("grpc", Protocol::Grpc).await;
}

#[tokio::test]
async fn log_records_reach_the_receiver_over_http_protobuf() {
    export_over("http/protobuf", Protocol::Http).await;
}

#[tokio::test]
async fn log_records_reach_the_receiver_over_http_json() {
    export_over("http/json", Protocol::HttpJson).await;
}

#[tokio::test]
async fn the_logs_endpoint_is_used_as_given_and_otlp_alone_writes_no_lines() {
    let rx = Receiver::start().await.unwrap();
    let h = harness(config(&[
        ("OTEL_LOGS_EXPORTER", "otlp"),
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1"),
        ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", &rx.http_logs_url()),
    ]));
    tracing::info!(n = 1, "one");
    let report = h.telemetry.shutdown().await;
    assert_eq!(report.log_records_exported, 1, "{report:?}");
    let logs = rx.logs();
    assert_eq!(own(&logs)[0].body_str(), Some("one"));
    assert!(h.logs.lines().is_empty(), "{:?}", h.logs.lines());
}

#[tokio::test]
async fn the_access_line_is_a_log_record() {
    let rx = Receiver::start().await.unwrap();
    let h = harness(config(&[
        ("OTEL_SERVICE_NAME", "shop"),
        ("OTEL_LOGS_EXPORTER", "otlp,console"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.grpc_endpoint()),
    ]));
    let app = Router::new()
        .route("/items/{id}", get(|| async { "ok" }))
        .layer(HttpLayer::new(&h.telemetry));
    let base = support::server::spawn(app).await;
    let response = reqwest::get(format!("{base}/items/7")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
    let report = h.telemetry.shutdown().await;
    assert_eq!(report.log_records_dropped, 0, "{report:?}");

    let logs = rx.wait_for_logs(1, Duration::from_secs(30)).await;
    let access = logs
        .iter()
        .find(|l| l.scope_name == "obskit::access")
        .unwrap_or_else(|| panic!("no access record in {logs:#?}"));
    assert_eq!(access.body_str(), Some("GET /items/{id} 200"));
    assert_eq!(access.attributes["http.request.method"], "GET");
    assert_eq!(access.attributes["http.route"], "/items/{id}");
    assert_eq!(access.attributes["http.response.status_code"], 200);
    assert!(access.attributes["duration_ms"].as_f64().is_some());
    let server = rx
        .spans()
        .into_iter()
        .find(|s| s.name == "GET /items/{id}")
        .expect("the server span");
    assert_eq!(access.trace_id.as_deref(), Some(server.trace_id.as_str()));
    assert_eq!(access.span_id.as_deref(), Some(server.span_id.as_str()));
    let line = h
        .logs
        .lines()
        .into_iter()
        .find(|l| l["target"] == "obskit::access")
        .expect("the JSON access line");
    assert_eq!(line["trace_id"], server.trace_id.as_str());
}

#[tokio::test]
async fn a_failing_collector_loses_records_counted_and_never_blocks() {
    let rx = Receiver::start_with(Behavior::Error).await.unwrap();
    let h = harness(config(&[
        ("OTEL_LOGS_EXPORTER", "otlp"),
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_BLRP_SCHEDULE_DELAY", "50"),
        ("OTEL_BLRP_EXPORT_TIMEOUT", "20000"),
    ]));
    for i in 0..20 {
        tracing::info!(i, "lost");
    }
    let metrics = h.telemetry.metrics();
    // Every export is refused (after its retries): wait until all 20 are counted.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let text = metrics.render();
        if text.contains("obskit_log_records_dropped_total{service_name=\"")
            && prom::value(&text, "obskit_log_records_dropped_total", &[]) == Some(20.0)
        {
            assert_eq!(
                prom::value(&text, "obskit_log_records_exported_total", &[]),
                Some(0.0)
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not all 20 records counted dropped: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!rx.log_requests().is_empty());
    assert!(rx.logs().is_empty());
    let report = h.telemetry.shutdown().await;
    assert_eq!(report.log_records_exported, 0, "{report:?}");
    assert_eq!(report.log_records_dropped, 20, "{report:?}");
}

#[tokio::test]
async fn a_silent_collector_fills_the_queue_and_drops_are_counted() {
    let hole = BlackHole::start().unwrap();
    let h = harness(config(&[
        ("OTEL_LOGS_EXPORTER", "otlp"),
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &hole.endpoint()),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "120000"),
        ("OTEL_BLRP_EXPORT_TIMEOUT", "120000"),
        ("OTEL_BLRP_MAX_QUEUE_SIZE", "10"),
        ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "10"),
        ("OBSKIT_SHUTDOWN_TIMEOUT", "500ms"),
    ]));
    for i in 0..1000 {
        tracing::info!(i, "queued or dropped");
    }
    // At most one batch in the hanging export and one full queue got in.
    let text = h.telemetry.metrics().render();
    let dropped = prom::value(&text, "obskit_log_records_dropped_total", &[]).unwrap();
    assert!(dropped >= 980.0, "{text}");
    let report = h.telemetry.shutdown().await;
    assert!(report.timed_out, "{report:?}");
    assert_eq!(report.log_records_exported, 0, "{report:?}");
    assert_eq!(report.log_records_dropped, 1000, "{report:?}");
}

/// Without the `tls` feature an `https://` endpoint is refused at start for
/// every signal (spans, log records, metrics), naming the variable that set
/// it. Runs in a build without the feature:
/// `cargo test -p obskit --no-default-features --features grpc --test it otlp_logs`.
#[cfg(not(feature = "tls"))]
#[test]
fn https_without_the_tls_feature_is_refused_for_every_signal() {
    let start = |vars: &'static [(&'static str, &'static str)]| {
        obskit::Config::from_env_with(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap()
        .build_layer_with_writer::<tracing_subscriber::Registry>(std::io::sink())
        .map(|_| ())
        .unwrap_err()
        .to_string()
    };
    let err = start(&[(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "https://collector:4318/v1/traces",
    )]);
    assert!(
        err.starts_with("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="),
        "{err}"
    );
    assert!(err.contains("`tls` feature"), "{err}");
    let err = start(&[
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "otlp"),
        (
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            "https://collector:4318/v1/logs",
        ),
    ]);
    assert!(
        err.starts_with("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT="),
        "{err}"
    );
    assert!(err.contains("`tls` feature"), "{err}");
    let err = start(&[
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318"),
    ]);
    assert!(err.starts_with("OTEL_EXPORTER_OTLP_ENDPOINT="), "{err}");
    let err = start(&[
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_METRICS_EXPORTER", "otlp"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "https://collector:4318/v1/metrics",
        ),
    ]);
    assert!(
        err.starts_with("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT="),
        "{err}"
    );
    assert!(err.contains("`tls` feature"), "{err}");
}

/// A collector slower than the service makes log records: the records
/// refused at the full queue are warned about while the service runs,
/// naming the signal, the cause and the count.
#[tokio::test]
async fn a_slow_collector_warns_about_log_records_dropped_at_a_full_queue() {
    let rx = Receiver::start_with(Behavior::Slow(Duration::from_secs(2)))
        .await
        .unwrap();
    let h = harness(config(&[
        ("OTEL_LOGS_EXPORTER", "otlp,console"),
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_BLRP_MAX_QUEUE_SIZE", "10"),
        ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "10"),
        ("OTEL_BLRP_SCHEDULE_DELAY", "50"),
    ]));
    h.telemetry
        .set_diagnostics_dispatch(tracing::dispatcher::get_default(Clone::clone));
    for i in 0..200 {
        tracing::info!(i, "busy");
    }
    let warning = h
        .logs
        .wait_for(Duration::from_secs(60), |l| {
            l["target"] == "obskit::export" && l["cause"] == "queue_full"
        })
        .unwrap_or_else(|| panic!("no queue-full warning in {:#?}", h.logs.lines()));
    assert_eq!(warning["level"], "WARN");
    assert_eq!(warning["signal"], "logs");
    assert_eq!(warning["queue_size"], 10);
    assert!(
        warning["dropped_queue_full"].as_u64().unwrap() >= 1,
        "{warning}"
    );
    let message = warning["message"].as_str().unwrap();
    assert!(message.starts_with("log records dropped"), "{message}");
    assert!(message.contains("OTEL_BLRP_MAX_QUEUE_SIZE"), "{message}");
    let report = h.telemetry.shutdown().await;
    assert!(report.log_records_dropped >= 1, "{report:?}");
}
