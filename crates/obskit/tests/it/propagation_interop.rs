//! B3 (single and multiple headers) and Jaeger against a peer not written
//! here: the official OpenTelemetry Python propagators from PyPI
//! (`opentelemetry-propagator-b3`, `opentelemetry-propagator-jaeger`).
//! Headers they inject are continued by an obskit service (one trace, the
//! parent exact, the sampling decision kept), and what obskit's clients
//! inject they extract to obskit's client span; over HTTP (`HttpLayer`
//! and the reqwest middleware) and gRPC (`GrpcLayer` and
//! `GrpcClientLayer`), on real sockets.
//!
//! Without Python or those packages the tests print why and pass, unless
//! `CI` is set (`.ci/run` installs them).

use crate::grpc_support;
use crate::support;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use grpc_support::{UNARY, req, spawn_tonic};
use obskit::Telemetry;
use obskit::grpc::{GrpcClientLayer, GrpcLayer};
use obskit::http::HttpLayer;
use obskit_grpc_testing::{EchoClient, EchoService, Forward};
use obskit_test_receiver::{ReceivedSpan, Receiver, SpanKind};
use serde_json::{Value, json};
use support::{config, harness};
use tower::Layer;

const SPAN_WAIT: Duration = Duration::from_secs(60);
const FORMATS: [&str; 3] = ["b3", "b3multi", "jaeger"];

type Seen = Arc<Mutex<Vec<http::HeaderMap>>>;

/// The Python peer, or `None` (after saying why) when it cannot run here.
fn python() -> Option<std::path::PathBuf> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/support/otel_propagators.py");
    obskit_test_support::python3_with(
        "opentelemetry.propagators.b3, opentelemetry.propagators.jaeger",
        "pip install opentelemetry-propagator-b3 opentelemetry-propagator-jaeger",
    )
    .then_some(script)
}

/// One request to the Python peer.
fn ask(script: &std::path::Path, request: &Value) -> Value {
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.to_string().as_bytes())
        .expect("request written");
    let out = child.wait_with_output().expect("python3 finishes");
    assert!(
        out.status.success(),
        "{request}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON answer")
}

/// A parent made up for the Python side: random ids, as hex.
struct Parent {
    trace_id: String,
    span_id: String,
}

impl Parent {
    fn new() -> Self {
        Self {
            trace_id: format!("{:032x}", fastrand::u128(1..)),
            span_id: format!("{:016x}", fastrand::u64(1..)),
        }
    }
}

/// The headers the Python propagator `format` writes for `parent`.
fn python_inject(
    script: &std::path::Path,
    format: &str,
    parent: &Parent,
    sampled: bool,
) -> Vec<(String, String)> {
    let answer = ask(
        script,
        &json!({
            "op": "inject",
            "format": format,
            "trace_id": parent.trace_id,
            "span_id": parent.span_id,
            "sampled": sampled,
            "baggage": {"user": "alice smith/ops"},
        }),
    );
    let headers: Vec<(String, String)> = answer
        .as_object()
        .expect("headers")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("a string value").to_owned()))
        .collect();
    assert!(!headers.is_empty(), "{format}: nothing injected");
    headers
}

/// What the Python propagator `format` reads from `headers`.
fn python_extract(script: &std::path::Path, format: &str, headers: &http::HeaderMap) -> Value {
    let map: BTreeMap<&str, &str> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.to_str().expect("visible ASCII")))
        .collect();
    ask(
        script,
        &json!({"op": "extract", "format": format, "headers": map}),
    )
}

fn telemetry_config(format: &str, rx: &Receiver, name: &str) -> obskit::Config {
    config(&[
        ("OTEL_SERVICE_NAME", name),
        ("OTEL_PROPAGATORS", format),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY", "10"),
    ])
}

fn one<'a>(spans: &'a [ReceivedSpan], trace_id: &str, kind: SpanKind) -> &'a ReceivedSpan {
    let found: Vec<_> = spans
        .iter()
        .filter(|s| s.trace_id == trace_id && s.kind == kind)
        .collect();
    assert_eq!(found.len(), 1, "{kind:?} of {trace_id}: {spans:#?}");
    found[0]
}

/// Checks what Python read from obskit's outgoing headers: the trace it
/// started, obskit's client span as the parent, the decision, and (for
/// Jaeger) the baggage it was given.
fn assert_continued(
    format: &str,
    read: &Value,
    trace_id: &str,
    client_span: Option<&str>,
    sampled: bool,
) {
    assert_eq!(read["valid"], true, "{format}: {read}");
    assert_eq!(read["trace_id"], trace_id, "{format}: {read}");
    if let Some(span) = client_span {
        assert_eq!(
            read["span_id"], span,
            "{format}: the client span is the parent"
        );
    }
    assert_eq!(read["sampled"], sampled, "{format}: {read}");
    if format == "jaeger" {
        assert_eq!(
            read["baggage"]["user"], "alice smith/ops",
            "{format}: {read}"
        );
    }
}

/// An upstream that records the headers of each call.
async fn upstream() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    let app = Router::new().route(
        "/",
        get(move |headers: http::HeaderMap| {
            let record = Arc::clone(&record);
            async move {
                record.lock().unwrap().push(headers);
                "ok"
            }
        }),
    );
    (support::server::spawn(app).await, seen)
}

#[tokio::test]
async fn python_b3_and_jaeger_headers_continue_over_http_and_back() {
    let Some(script) = python() else { return };
    for format in FORMATS {
        let rx = Receiver::start().await.expect("receiver");
        let h = harness(telemetry_config(format, &rx, "relay"));
        let (upstream, seen) = upstream().await;
        let client =
            obskit::http::HttpClientMiddleware::new(&h.telemetry).wrap(reqwest::Client::new());
        let app = Router::new()
            .route(
                "/relay",
                get(move || {
                    let client = client.clone();
                    let upstream = upstream.clone();
                    async move {
                        client.get(&upstream).send().await.unwrap();
                        "relayed"
                    }
                }),
            )
            .layer(HttpLayer::new(&h.telemetry));
        let base = support::server::spawn(app).await;

        // A sampled and an unsampled trace, as Python sends them.
        let sampled = Parent::new();
        let unsampled = Parent::new();
        for (parent, decision) in [(&sampled, true), (&unsampled, false)] {
            let mut request = reqwest::Client::new().get(format!("{base}/relay"));
            for (k, v) in python_inject(&script, format, parent, decision) {
                request = request.header(k, v);
            }
            let status = request.send().await.expect("relay answers").status();
            assert!(status.is_success(), "{format}: {status}");
        }

        let report = h.telemetry.shutdown().await;
        assert_eq!(
            report.spans_exported, 2,
            "{format}: the sampled trace only: {report:?}"
        );
        let spans = rx.wait_for_spans(2, SPAN_WAIT).await;
        let server = one(&spans, &sampled.trace_id, SpanKind::Server);
        let client = one(&spans, &sampled.trace_id, SpanKind::Client);
        assert_eq!(
            server.parent_span_id.as_deref(),
            Some(sampled.span_id.as_str()),
            "{format}: the server span's parent is Python's span"
        );
        assert_eq!(
            client.parent_span_id.as_deref(),
            Some(server.span_id.as_str()),
            "{format}"
        );

        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "{format}");
        let read = python_extract(&script, format, &seen[0]);
        assert_continued(
            format,
            &read,
            &sampled.trace_id,
            Some(&client.span_id),
            true,
        );
        let read = python_extract(&script, format, &seen[1]);
        assert_continued(format, &read, &unsampled.trace_id, None, false);
        assert_ne!(
            read["span_id"], unsampled.span_id,
            "{format}: a span of obskit's own"
        );
        // Only the configured format is written.
        for other in ["traceparent", "b3", "x-b3-traceid", "uber-trace-id"] {
            let expected = match format {
                "b3" => other == "b3",
                "b3multi" => other == "x-b3-traceid",
                _ => other == "uber-trace-id",
            };
            assert_eq!(
                seen[0].contains_key(other),
                expected,
                "{format}: {other}: {:?}",
                seen[0]
            );
        }
    }
}

/// A tonic server of the test service with no obskit on it, recording the
/// metadata of each call.
async fn recording_backend() -> (std::net::SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let recorder = tower::util::MapRequestLayer::new(move |r: http::Request<tonic::body::Body>| {
        record.lock().unwrap().push(r.headers().clone());
        r
    });
    let router = tonic::transport::Server::builder()
        .layer(recorder)
        .add_service(EchoService::new().server());
    tokio::spawn(router.serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)));
    (addr, seen)
}

#[tokio::test]
async fn python_b3_and_jaeger_metadata_continue_over_grpc_and_back() {
    let Some(script) = python() else { return };
    for format in FORMATS {
        let rx = Receiver::start().await.expect("receiver");
        let (backend, seen) = recording_backend().await;
        let a = harness(telemetry_config(format, &rx, "grpc-front"));
        let channel = grpc_support::channel(backend).await;
        let traced = EchoClient::new(
            GrpcClientLayer::new(&a.telemetry)
                .target(&format!("http://{backend}"))
                .layer(channel),
        );
        let forward: Forward = Arc::new(move |r| {
            let mut c = traced.clone();
            Box::pin(async move { c.unary(r).await.map(tonic::Response::into_inner) })
        });
        let front = spawn_tonic(
            GrpcLayer::new(&a.telemetry),
            EchoService::forwarding(forward),
            None,
        )
        .await;

        let parent = Parent::new();
        let mut call = tonic::Request::new(req("forward:hello", 0, 0));
        for (k, v) in python_inject(&script, format, &parent, true) {
            call.metadata_mut().insert(
                tonic::metadata::MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes())
                    .expect("a metadata key"),
                v.parse().expect("a metadata value"),
            );
        }
        let reply = grpc_support::client(front)
            .await
            .unary(call)
            .await
            .expect("OK")
            .into_inner();
        assert_eq!(reply.message, "hello", "{format}");

        let report = Telemetry::shutdown(a.telemetry).await;
        assert_eq!(report.spans_exported, 2, "{format}: {report:?}");
        let spans = rx.wait_for_spans(2, SPAN_WAIT).await;
        let server = one(&spans, &parent.trace_id, SpanKind::Server);
        let client = one(&spans, &parent.trace_id, SpanKind::Client);
        assert_eq!(server.name, UNARY);
        assert_eq!(
            server.parent_span_id.as_deref(),
            Some(parent.span_id.as_str()),
            "{format}: the server span's parent is Python's span"
        );
        assert_eq!(
            client.parent_span_id.as_deref(),
            Some(server.span_id.as_str())
        );

        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1, "{format}");
        let read = python_extract(&script, format, &seen[0]);
        assert_continued(format, &read, &parent.trace_id, Some(&client.span_id), true);
    }
}
