//! Two real services over 127.0.0.1: A's handler calls B through obskit's
//! client. One trace must span A's server span, A's client span and B's
//! server span, with the right parentage, and the log lines of both
//! services must carry its trace id. A's client metrics must name the
//! server, never the path.
//!
//! Each service has its own `Telemetry` and its own subscriber. A
//! subscriber default is per thread, so B runs on a thread of its own with
//! its own current-thread runtime, as it would in a process of its own.

use crate::support;

use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use obskit::http::{HttpClientMiddleware, HttpLayer};
use obskit::reqwest;
use obskit::reqwest_middleware::ClientWithMiddleware;
use obskit_test_receiver::{ReceivedSpan, Receiver, SpanKind, refused_endpoint};
use obskit_test_support::prom;
use support::{Harness, LogCapture, config, harness};

/// Service B, running on its own thread until stopped.
struct ServiceB {
    base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<LogCapture>,
}

impl ServiceB {
    fn start(otlp_endpoint: String) -> Self {
        let (base_tx, base_rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("service-b".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("service B's runtime");
                runtime.block_on(async move {
                    let h = harness(config(&[
                        ("OTEL_SERVICE_NAME", "svc-b"),
                        ("OTEL_EXPORTER_OTLP_ENDPOINT", &otlp_endpoint),
                        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
                    ]));
                    let app = Router::new()
                        .route(
                            "/inventory/{sku}",
                            get(|Path(sku): Path<String>| async move {
                                tracing::info!(%sku, "checking stock");
                                format!("{sku}: 7 in stock")
                            }),
                        )
                        .layer(HttpLayer::new(&h.telemetry));
                    base_tx
                        .send(support::server::spawn(app).await)
                        .expect("the test waits for B");
                    let _ = stop_rx.await;
                    let logs = h.logs.clone();
                    let report = h.telemetry.shutdown().await;
                    assert_eq!(report.spans_dropped, 0, "B lost spans: {report:?}");
                    logs
                })
            })
            .expect("service B's thread");
        let base = base_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("service B started");
        Self { base, stop, thread }
    }

    /// Stops B, flushes its telemetry and returns its log lines.
    fn stop(self) -> LogCapture {
        let _ = self.stop.send(());
        self.thread.join().expect("service B panicked")
    }
}

#[derive(Clone)]
struct AState {
    client: ClientWithMiddleware,
    b: String,
}

async fn checkout(State(s): State<AState>, Path(id): Path<String>) -> (StatusCode, String) {
    tracing::info!(order = %id, "checking out");
    match s
        .client
        .get(format!("{}/inventory/{id}?token=secret-query", s.b))
        .send()
        .await
    {
        Ok(res) => {
            let status = res.status();
            let body = res.text().await.unwrap_or_default();
            (StatusCode::OK, format!("B said {status}: {body}"))
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()),
    }
}

fn one<'a>(spans: &'a [ReceivedSpan], service: &str, kind: SpanKind) -> &'a ReceivedSpan {
    let found: Vec<_> = spans
        .iter()
        .filter(|s| s.service_name() == Some(service) && s.kind == kind)
        .collect();
    assert_eq!(found.len(), 1, "{service} {kind:?}: {spans:#?}");
    found[0]
}

fn access_line(logs: &LogCapture, service: &str) -> serde_json::Value {
    let lines: Vec<_> = logs
        .lines()
        .into_iter()
        .filter(|l| l["target"] == "obskit::access")
        .collect();
    assert_eq!(lines.len(), 1, "{service}: {lines:#?}");
    assert_eq!(lines[0]["service_name"], service);
    lines[0].clone()
}

/// The count of A's `GET` calls to 127.0.0.1 with `outcome` (status and/or
/// error type) among the labels.
fn a_to_local_gets(metrics: &str, outcome: &[(&str, &str)]) -> Option<f64> {
    let mut labels = vec![
        ("service_name", "svc-a"),
        ("http_request_method", "GET"),
        ("server_address", "127.0.0.1"),
    ];
    labels.extend_from_slice(outcome);
    prom::exact(
        metrics,
        "http_client_request_duration_seconds_count",
        &labels,
    )
}

/// Service A: exports to `rx`, quickly (50 ms batches), as `svc-a`.
fn service_a(rx: &Receiver) -> Harness {
    harness(config(&[
        ("OTEL_SERVICE_NAME", "svc-a"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
    ]))
}

#[tokio::test]
async fn one_trace_spans_both_services() {
    let rx = Receiver::start().await.unwrap();
    let b = ServiceB::start(rx.http_endpoint());

    let a = service_a(&rx);
    let state = AState {
        client: HttpClientMiddleware::new(&a.telemetry).wrap(reqwest::Client::new()),
        b: b.base.clone(),
    };
    let app = Router::new()
        .route("/checkout/{id}", get(checkout))
        .with_state(state)
        .layer(HttpLayer::new(&a.telemetry));
    let a_base = support::server::spawn(app).await;

    let res = reqwest::Client::new()
        .get(format!("{a_base}/checkout/sku-42"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.text().await.unwrap(),
        "B said 200 OK: sku-42: 7 in stock"
    );

    let metrics = a.telemetry.metrics().render();
    let a_logs = a.logs.clone();
    let report = a.telemetry.shutdown().await;
    assert_eq!(report.spans_dropped, 0, "{report:?}");
    let b_base = b.base.clone();
    let b_logs = b.stop();

    let spans = rx.wait_for_spans(3, Duration::from_secs(10)).await;
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let a_server = one(&spans, "svc-a", SpanKind::Server);
    let a_client = one(&spans, "svc-a", SpanKind::Client);
    let b_server = one(&spans, "svc-b", SpanKind::Server);

    // One trace, parented server → client → server.
    let trace = a_server.trace_id.as_str();
    assert_eq!(a_client.trace_id, trace);
    assert_eq!(b_server.trace_id, trace);
    assert_eq!(a_server.parent_span_id, None);
    assert_eq!(
        a_client.parent_span_id.as_deref(),
        Some(a_server.span_id.as_str())
    );
    assert_eq!(
        b_server.parent_span_id.as_deref(),
        Some(a_client.span_id.as_str())
    );

    assert_eq!(a_server.name, "GET /checkout/{id}");
    assert_eq!(b_server.name, "GET /inventory/{sku}");
    assert_eq!(a_client.name, "GET");
    let c = &a_client.attributes;
    assert_eq!(c["http.request.method"], "GET");
    assert_eq!(c["server.address"], "127.0.0.1");
    let b_port: i64 = b_base.rsplit(':').next().unwrap().parse().unwrap();
    assert_eq!(c["server.port"], b_port);
    assert_eq!(c["http.response.status_code"], 200);
    assert_eq!(
        c["url.full"],
        format!("{b_base}/inventory/sku-42").as_str(),
        "the query string is left out"
    );
    // The client span lies within A's server span, B's within the client's.
    assert!(a_client.start_time_unix_nano >= a_server.start_time_unix_nano);
    assert!(a_client.end_time_unix_nano <= a_server.end_time_unix_nano);
    assert!(b_server.start_time_unix_nano >= a_client.start_time_unix_nano);

    // The log lines of both services carry the trace id.
    let a_access = access_line(&a_logs, "svc-a");
    assert_eq!(a_access["trace_id"], trace);
    assert_eq!(a_access["span_id"], a_server.span_id.as_str());
    let b_access = access_line(&b_logs, "svc-b");
    assert_eq!(b_access["trace_id"], trace);
    assert_eq!(b_access["span_id"], b_server.span_id.as_str());
    let a_own = a_logs
        .lines()
        .into_iter()
        .find(|l| l["message"] == "checking out")
        .expect("A's handler line");
    assert_eq!(a_own["trace_id"], trace);
    let b_own = b_logs
        .lines()
        .into_iter()
        .find(|l| l["message"] == "checking stock")
        .expect("B's handler line");
    assert_eq!(b_own["trace_id"], trace);

    // A's client metrics: the server's address, never the path.
    assert_eq!(
        a_to_local_gets(&metrics, &[("http_response_status_code", "200")]),
        Some(1.0),
        "{metrics}"
    );
    assert_client_labels_are_bounded(&metrics);
}

/// Every client series uses only the low-cardinality labels.
fn assert_client_labels_are_bounded(metrics: &str) {
    let allowed = [
        "service_name",
        "http_request_method",
        "server_address",
        "http_response_status_code",
        "error_type",
        "le",
    ];
    let samples: Vec<_> = prom::parse(metrics)
        .into_iter()
        .filter(|s| s.name.starts_with("http_client_"))
        .collect();
    assert!(!samples.is_empty());
    for s in samples {
        for (k, v) in &s.labels {
            assert!(allowed.contains(&k.as_str()), "label {k} on {}", s.name);
            assert!(
                !v.contains('/') && !v.contains("secret"),
                "{k}={v} on {}",
                s.name
            );
        }
    }
}

#[tokio::test]
async fn client_errors_are_classified_without_paths() {
    let rx = Receiver::start().await.unwrap();
    let b = ServiceB::start(rx.http_endpoint());
    let a = service_a(&rx);
    let client = HttpClientMiddleware::new(&a.telemetry).wrap(reqwest::Client::new());

    // Outside any server span: the client span is a root.
    for path in ["/missing/1", "/missing/2"] {
        let res = client
            .get(format!("{}{path}", b.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
    }
    let refused = refused_endpoint().unwrap();
    let err = client.get(format!("{refused}/x")).send().await;
    assert!(err.is_err());

    let metrics = a.telemetry.metrics().render();
    assert_eq!(
        a_to_local_gets(
            &metrics,
            &[("http_response_status_code", "404"), ("error_type", "404")]
        ),
        Some(2.0),
        "{metrics}"
    );
    assert_eq!(
        a_to_local_gets(&metrics, &[("error_type", "connect")]),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        prom::value(
            &metrics,
            "http_client_active_requests",
            &[
                ("http_request_method", "GET"),
                ("server_address", "127.0.0.1")
            ]
        ),
        Some(0.0)
    );
    assert_client_labels_are_bounded(&metrics);

    a.telemetry.shutdown().await;
    b.stop();
    let spans = rx.wait_for_spans(5, Duration::from_secs(10)).await;
    let clients: Vec<_> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Client)
        .collect();
    assert_eq!(clients.len(), 3, "{spans:#?}");
    for c in &clients {
        assert_eq!(c.parent_span_id, None);
        assert_eq!(
            c.status_code,
            obskit_test_receiver::StatusCode::Error,
            "{c:#?}"
        );
    }
    let types: std::collections::BTreeSet<_> = clients
        .iter()
        .map(|c| c.attributes["error.type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types.into_iter().collect::<Vec<_>>(), ["404", "connect"]);
    // B continued each 404 call's trace.
    for c in clients
        .iter()
        .filter(|c| c.attributes["error.type"] == "404")
    {
        let server = spans
            .iter()
            .find(|s| s.parent_span_id.as_deref() == Some(c.span_id.as_str()))
            .unwrap_or_else(|| panic!("no server child of {c:#?}"));
        assert_eq!(server.service_name(), Some("svc-b"));
        assert_eq!(server.trace_id, c.trace_id);
    }
}

/// Callers commonly bound a call with `tokio::time::timeout` or `select!`,
/// which drops the request future mid-flight. The active-requests gauge
/// must not keep counting a call nobody is waiting for any more.
#[tokio::test]
async fn an_abandoned_call_leaves_no_active_request() {
    let a = harness(config(&[
        ("OTEL_SERVICE_NAME", "svc-a"),
        ("OTEL_TRACES_EXPORTER", "none"),
    ]));
    let (never_tx, never_rx) = tokio::sync::oneshot::channel::<()>();
    let never_rx = std::sync::Arc::new(tokio::sync::Mutex::new(Some(never_rx)));
    let slow = Router::new().route(
        "/slow",
        get(move || {
            let rx = std::sync::Arc::clone(&never_rx);
            async move {
                if let Some(rx) = rx.lock().await.take() {
                    let _ = rx.await;
                }
                "late"
            }
        }),
    );
    let base = support::server::spawn(slow).await;
    let client = HttpClientMiddleware::new(&a.telemetry).wrap(reqwest::Client::new());
    let abandoned = tokio::time::timeout(
        Duration::from_millis(200),
        client.get(format!("{base}/slow")).send(),
    )
    .await;
    assert!(abandoned.is_err(), "the call was expected to time out");
    let metrics = a.telemetry.metrics().render();
    drop(never_tx);
    assert_eq!(
        prom::value(
            &metrics,
            "http_client_active_requests",
            &[
                ("http_request_method", "GET"),
                ("server_address", "127.0.0.1")
            ]
        ),
        Some(0.0),
        "an abandoned call is still counted as active\n{metrics}"
    );
}
