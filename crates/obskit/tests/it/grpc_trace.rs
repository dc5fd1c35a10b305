//! One trace across real services on 127.0.0.1: gRPC → gRPC and
//! HTTP → gRPC, through obskit's client layer on a tonic `Channel`, with
//! the right parentage; and the client's RED figures by method and status,
//! never by peer.

use crate::grpc_support;
use crate::support;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use grpc_support::{UNARY, client, req, spawn_tonic};
use obskit::Telemetry;
use obskit::grpc::{GrpcClient, GrpcClientLayer, GrpcLayer};
use obskit::http::HttpLayer;
use obskit_grpc_testing::{EchoClient, EchoService, Forward};
use obskit_test_receiver::{ReceivedSpan, Receiver, SpanKind};
use obskit_test_support::prom;
use support::{config, harness};
use tonic::transport::Channel;
use tower::Layer;

const SPAN_WAIT: Duration = Duration::from_secs(10);
const CLIENT_COUNT: &str = "rpc_client_call_duration_seconds_count";

/// Telemetry for a second service in this process: its spans exported to
/// `rx` under its own name (its log lines are not needed here).
fn second_service(name: &str, rx: &Receiver) -> Telemetry {
    let (telemetry, _layer) = config(&[
        ("OTEL_SERVICE_NAME", name),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
    ])
    .build_layer_with_writer::<obskit::tracing_subscriber::Registry>(std::io::sink())
    .expect("telemetry builds");
    telemetry
}

/// An instrumented client of the Echo service at `addr`.
async fn traced_client(
    t: &Telemetry,
    addr: std::net::SocketAddr,
) -> EchoClient<GrpcClient<Channel>> {
    let channel = grpc_support::channel(addr).await;
    let layer = GrpcClientLayer::new(t).target(&format!("http://{addr}"));
    EchoClient::new(layer.layer(channel))
}

fn one<'a>(spans: &'a [ReceivedSpan], service: &str, kind: SpanKind) -> &'a ReceivedSpan {
    let found: Vec<_> = spans
        .iter()
        .filter(|s| s.service_name() == Some(service) && s.kind == kind)
        .collect();
    assert_eq!(found.len(), 1, "{service} {kind:?}: {spans:#?}");
    found[0]
}

#[tokio::test]
async fn one_trace_spans_a_grpc_call_and_the_grpc_call_it_makes() {
    let rx = Receiver::start().await.expect("receiver");
    let b = second_service("grpc-b", &rx);
    let b_addr = spawn_tonic(GrpcLayer::new(&b), EchoService::new(), None).await;

    let a = harness(config(&[
        ("OTEL_SERVICE_NAME", "grpc-a"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
    ]));
    let downstream = traced_client(&a.telemetry, b_addr).await;
    let forward: Forward = Arc::new(move |r| {
        let mut c = downstream.clone();
        Box::pin(async move { c.unary(r).await.map(tonic::Response::into_inner) })
    });
    let a_addr = spawn_tonic(
        GrpcLayer::new(&a.telemetry),
        EchoService::forwarding(forward),
        None,
    )
    .await;

    let reply = client(a_addr)
        .await
        .unary(req("forward:hello", 0, 0))
        .await
        .expect("OK")
        .into_inner();
    assert_eq!(reply.message, "hello");

    // A forwarded error comes back as the caller's status.
    let e = client(a_addr)
        .await
        .unary(req("forward:missing", 5, 0))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound);

    let spans = rx.wait_for_spans(6, SPAN_WAIT).await;
    let trace: Vec<_> = spans
        .iter()
        .filter(|s| s.trace_id == reply.trace_id)
        .cloned()
        .collect();
    let a_server = one(&trace, "grpc-a", SpanKind::Server);
    let a_client = one(&trace, "grpc-a", SpanKind::Client);
    let b_server = one(&trace, "grpc-b", SpanKind::Server);
    assert_eq!(a_server.parent_span_id, None);
    assert_eq!(
        a_client.parent_span_id.as_deref(),
        Some(a_server.span_id.as_str())
    );
    assert_eq!(
        b_server.parent_span_id.as_deref(),
        Some(a_client.span_id.as_str())
    );
    for s in [a_server, a_client, b_server] {
        assert_eq!(s.name, UNARY, "{s:#?}");
        assert_eq!(
            s.attr("rpc.status_code").and_then(|v| v.as_str()),
            Some("OK")
        );
    }
    assert_eq!(
        a_client.attr("server.address").and_then(|v| v.as_str()),
        Some("127.0.0.1")
    );
    assert_eq!(
        a_client.attr("server.port").and_then(|v| v.as_i64()),
        Some(i64::from(b_addr.port()))
    );

    let text = a.telemetry.metrics().render();
    let client_calls = |code: &str, error: Option<&str>| {
        let mut labels = vec![
            ("service_name", "grpc-a"),
            ("rpc_system_name", "grpc"),
            ("rpc_method", UNARY),
            ("rpc_status_code", code),
        ];
        if let Some(e) = error {
            labels.push(("error_type", e));
        }
        prom::exact(&text, CLIENT_COUNT, &labels)
    };
    assert_eq!(client_calls("OK", None), Some(1.0), "{text}");
    // On the client side every status but OK is an error.
    assert_eq!(
        client_calls("NOT_FOUND", Some("NOT_FOUND")),
        Some(1.0),
        "{text}"
    );
    assert!(
        prom::label_values(&text, CLIENT_COUNT, "server_address").is_empty(),
        "never by peer: {text}"
    );
    assert_eq!(
        prom::value(
            &text,
            "obskit_rpc_client_active_calls",
            &[("rpc_method", UNARY)]
        ),
        Some(0.0),
        "{text}"
    );
    assert_eq!(b.shutdown().await.spans_dropped, 0);
    assert_eq!(a.telemetry.shutdown().await.spans_dropped, 0);
}

#[tokio::test]
async fn one_trace_spans_an_http_request_and_the_grpc_call_it_makes() {
    let rx = Receiver::start().await.expect("receiver");
    let b = second_service("grpc-backend", &rx);
    let b_addr = spawn_tonic(GrpcLayer::new(&b), EchoService::new(), None).await;

    let h = harness(config(&[
        ("OTEL_SERVICE_NAME", "http-front"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
    ]));
    let backend = traced_client(&h.telemetry, b_addr).await;
    let app = Router::new()
        .route(
            "/echo",
            get(
                |State(mut c): State<EchoClient<GrpcClient<Channel>>>| async move {
                    match c.unary(req("from http", 0, 0)).await {
                        Ok(r) => r.into_inner().trace_id,
                        Err(e) => e.to_string(),
                    }
                },
            ),
        )
        .with_state(backend)
        .layer(HttpLayer::new(&h.telemetry));
    let base = support::server::spawn(app).await;
    let incoming = "4bf92f3577b34da6a3ce929d0e0e4736";
    let seen_by_backend = obskit::reqwest::Client::new()
        .get(format!("{base}/echo"))
        .header("traceparent", format!("00-{incoming}-00f067aa0ba902b7-01"))
        .send()
        .await
        .expect("GET /echo")
        .text()
        .await
        .expect("body");
    assert_eq!(
        seen_by_backend, incoming,
        "the backend's handler ran in the caller's trace"
    );

    let spans = rx.wait_for_spans(3, SPAN_WAIT).await;
    let http_server = one(&spans, "http-front", SpanKind::Server);
    let grpc_client = one(&spans, "http-front", SpanKind::Client);
    let grpc_server = one(&spans, "grpc-backend", SpanKind::Server);
    assert!(spans.iter().all(|s| s.trace_id == incoming), "{spans:#?}");
    assert_eq!(
        http_server.parent_span_id.as_deref(),
        Some("00f067aa0ba902b7")
    );
    assert_eq!(
        grpc_client.parent_span_id.as_deref(),
        Some(http_server.span_id.as_str())
    );
    assert_eq!(
        grpc_server.parent_span_id.as_deref(),
        Some(grpc_client.span_id.as_str())
    );
    assert_eq!(grpc_client.name, UNARY);
    assert_eq!(http_server.name, "GET /echo");
    assert_eq!(b.shutdown().await.spans_dropped, 0);
    assert_eq!(h.telemetry.shutdown().await.spans_dropped, 0);
}

/// A call past its deadline is DEADLINE_EXCEEDED on both sides: tonic's
/// channel gives up on it (telling the caller CANCELLED, "Timeout expired"),
/// the client layer records what happened, and the server sees the stream
/// reset after the `grpc-timeout` it was sent.
#[tokio::test]
async fn a_call_past_its_deadline_is_deadline_exceeded_on_both_sides() {
    let rx = Receiver::start().await.expect("receiver");
    let server = second_service("grpc-slow", &rx);
    let addr = spawn_tonic(GrpcLayer::new(&server), EchoService::new(), None).await;
    let h = harness(config(&[
        ("OTEL_SERVICE_NAME", "grpc-caller"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
    ]));
    // The deadline set on every call by an interceptor around the instrumented channel.
    let channel = grpc_support::channel(addr).await;
    let traced = GrpcClientLayer::new(&h.telemetry).wrap(channel);
    let mut c = EchoClient::with_interceptor(traced, |mut call: tonic::Request<()>| {
        // Long enough that the server has the call well before the client gives up on
        // it: the server counts a call reset within the last tenth of its deadline as late.
        call.set_timeout(Duration::from_secs(2));
        Ok(call)
    });
    // A method becomes known to the server by answering.
    c.unary(req("first", 0, 0)).await.expect("OK");

    let e = c.unary(req("late", 0, 5000)).await.unwrap_err();
    assert!(
        matches!(
            e.code(),
            tonic::Code::DeadlineExceeded | tonic::Code::Cancelled
        ),
        "{e:?}"
    );

    let spans = rx.wait_for_spans(4, SPAN_WAIT).await;
    let late: Vec<_> = spans
        .iter()
        .filter(|s| s.attr("rpc.status_code").and_then(|v| v.as_str()) != Some("OK"))
        .collect();
    assert_eq!(late.len(), 2, "{spans:#?}");
    for s in late {
        assert_eq!(
            s.attr("rpc.status_code").and_then(|v| v.as_str()),
            Some("DEADLINE_EXCEEDED"),
            "{s:#?}"
        );
    }
    let text = h.telemetry.metrics().render();
    let labels = [
        ("service_name", "grpc-caller"),
        ("rpc_system_name", "grpc"),
        ("rpc_method", UNARY),
        ("rpc_status_code", "DEADLINE_EXCEEDED"),
        ("error_type", "DEADLINE_EXCEEDED"),
    ];
    assert_eq!(
        prom::exact(&text, CLIENT_COUNT, &labels),
        Some(1.0),
        "{text}"
    );
    let server_text = server.metrics().render();
    assert_eq!(
        prom::value(
            &server_text,
            "rpc_server_call_duration_seconds_count",
            &[
                ("rpc_method", UNARY),
                ("rpc_status_code", "DEADLINE_EXCEEDED")
            ]
        ),
        Some(1.0),
        "{server_text}"
    );
}
