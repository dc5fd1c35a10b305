//! One process serving HTTP routes and gRPC services on one port, as the
//! `obskit::grpc` docs show: each call counted once, by the layer of its
//! kind, and one drain for both (readiness 503 and NOT_SERVING together).

use crate::grpc_support;
use crate::support;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use grpc_support::{UNARY, channel, client, req};
use obskit::grpc::{GrpcLayer, GrpcRoutes, HealthService};
use obskit::http::{HttpLayer, observability_routes};
use obskit::slo::Slo;
use obskit_grpc_testing::EchoService;
use obskit_test_support::prom;
use support::{config, harness};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

#[tokio::test]
async fn http_and_grpc_on_one_port_are_counted_once_each_and_drain_together() {
    let h = harness(config(&[
        ("OTEL_SERVICE_NAME", "mixed"),
        ("OTEL_TRACES_EXPORTER", "none"),
    ]));
    let t = &h.telemetry;
    let slos = || [Slo::availability("availability", 0.99).unwrap()];
    let grpc = GrpcRoutes::new()
        .add_service(HealthService::new(t).into_server())
        .add_service(EchoService::new().server())
        .into_router()
        .layer(GrpcLayer::new(t).slos(slos()).unwrap());
    let app = Router::new()
        .route("/hello", get(|| async { "hello" }))
        .merge(observability_routes(t))
        .merge(grpc)
        .layer(HttpLayer::new(t).slos(slos()).unwrap());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let metrics = t.metrics();
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        obskit::Server::new(listener, app, h.telemetry)
            .drain_delay(Duration::from_millis(500))
            .shutdown_signal(async move {
                let _ = stop_rx.await;
            })
            .run(),
    );
    let web = obskit::reqwest::Client::new();
    let base = format!("http://{addr}");
    let mut ready = false;
    for _ in 0..200 {
        if let Ok(r) = web.get(format!("{base}/health/ready")).send().await
            && r.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(ready);

    for _ in 0..3 {
        assert_eq!(
            web.get(format!("{base}/hello"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let mut echo = client(addr).await;
    for _ in 0..2 {
        echo.unary(req("x", 0, 0)).await.expect("OK");
    }
    echo.unary(req("x", 14, 0)).await.unwrap_err();

    // A request ends when its response body has gone out, a moment after
    // the client has read it.
    let mut text = metrics.render();
    for _ in 0..500 {
        if prom::value(
            &text,
            "http_server_request_duration_seconds_count",
            &[("http_route", "/hello")],
        ) == Some(3.0)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        text = metrics.render();
    }
    assert_eq!(
        prom::value(
            &text,
            "http_server_request_duration_seconds_count",
            &[("http_route", "/hello")]
        ),
        Some(3.0),
        "gRPC calls are not HTTP requests here: {text}"
    );
    assert!(
        !prom::label_values(
            &text,
            "rpc_server_call_duration_seconds_count",
            "rpc_method"
        )
        .contains("_OTHER"),
        "the unknown HTTP path is not a gRPC call: {text}"
    );
    assert_eq!(
        prom::value(
            &text,
            "rpc_server_call_duration_seconds_count",
            &[("rpc_method", UNARY), ("rpc_status_code", "OK")]
        ),
        Some(2.0),
        "{text}"
    );
    let slo = |result: &str| {
        prom::exact(
            &text,
            "obskit_slo_requests_total",
            &[
                ("service_name", "mixed"),
                ("slo", "availability"),
                ("result", result),
            ],
        )
    };
    let good = slo("good").unwrap_or_default();
    assert!(
        (5.0..=6.0).contains(&good),
        "3 HTTP + 2 gRPC (+ the unknown HTTP path): {text}"
    );
    assert_eq!(slo("bad"), Some(1.0), "the UNAVAILABLE call: {text}");

    let mut health = HealthClient::new(channel(addr).await);
    stop.send(()).expect("the server waits");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let status = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("still served during the drain")
        .into_inner()
        .status();
    assert_eq!(status, ServingStatus::NotServing);
    assert_eq!(
        web.get(format!("{base}/health/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    let report = tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("stops in time")
        .expect("task")
        .expect("no serve error");
    assert!(!report.timed_out);
}
