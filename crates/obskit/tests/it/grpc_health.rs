//! The `grpc.health.v1.Health` service over obskit's health registry, on
//! real servers on 127.0.0.1: Check and Watch follow start-up and drains,
//! health calls stay out of every figure, a `GrpcServer` drains like
//! `obskit::serve`, and Python's grpcio (a client from outside) agrees.

use crate::grpc_support;
use crate::support;

use std::time::Duration;

use futures_util::StreamExt;
use grpc_support::{UNARY, channel, client, req, spawn_tonic};
use obskit::grpc::{GrpcLayer, GrpcServer, HealthService, LIVENESS_SERVICE, STARTUP_SERVICE};
use obskit_grpc_testing::{EchoRequest, EchoServer, EchoService};
use obskit_test_receiver::Receiver;
use obskit_test_support::prom;
use support::{config, harness};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

async fn check(
    c: &mut HealthClient<tonic::transport::Channel>,
    service: &str,
) -> Result<ServingStatus, tonic::Code> {
    c.check(HealthCheckRequest {
        service: service.into(),
    })
    .await
    .map(|r| r.into_inner().status())
    .map_err(|s| s.code())
}

#[tokio::test]
async fn check_and_watch_follow_start_up_and_the_drain() {
    let rx = Receiver::start().await.expect("receiver");
    let h = harness(config(&[
        ("OTEL_SERVICE_NAME", "grpc-health"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
    ]));
    let health = HealthService::new(&h.telemetry).service::<EchoServer<EchoService>>();
    let addr = spawn_tonic(
        GrpcLayer::new(&h.telemetry),
        EchoService::new(),
        Some(health),
    )
    .await;
    let mut c = HealthClient::new(channel(addr).await);

    assert_eq!(
        check(&mut c, "").await,
        Ok(ServingStatus::NotServing),
        "starting"
    );
    let mut watch = c
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("watch")
        .into_inner();
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(10), watch.next())
            .await
            .expect("an update in time")
            .expect("the stream is open")
            .expect("a status")
            .status()
    };
    assert_eq!(next().await, ServingStatus::NotServing);
    // The probes' own names: alive from the start, started once started.
    assert_eq!(
        check(&mut c, LIVENESS_SERVICE).await,
        Ok(ServingStatus::Serving)
    );
    assert_eq!(
        check(&mut c, STARTUP_SERVICE).await,
        Ok(ServingStatus::NotServing)
    );
    let mut live = c
        .watch(HealthCheckRequest {
            service: LIVENESS_SERVICE.into(),
        })
        .await
        .expect("watch")
        .into_inner();

    h.telemetry.health().mark_started();
    assert_eq!(next().await, ServingStatus::Serving);
    assert_eq!(check(&mut c, "").await, Ok(ServingStatus::Serving));
    assert_eq!(
        check(&mut c, "obskit.test.v1.Echo").await,
        Ok(ServingStatus::Serving)
    );
    assert_eq!(check(&mut c, "no.Such").await, Err(tonic::Code::NotFound));
    assert_eq!(
        check(&mut c, STARTUP_SERVICE).await,
        Ok(ServingStatus::Serving)
    );
    let first = tokio::time::timeout(Duration::from_secs(10), live.next())
        .await
        .expect("a liveness status in time")
        .expect("the stream is open")
        .expect("a status");
    assert_eq!(first.status(), ServingStatus::Serving);

    h.telemetry.health().start_draining();
    assert_eq!(
        next().await,
        ServingStatus::NotServing,
        "from the first moment of the drain"
    );
    let end = tokio::time::timeout(Duration::from_secs(10), watch.next()).await;
    assert!(
        matches!(end, Ok(None)),
        "the watch ends after the drain is reported: {end:?}"
    );
    assert_eq!(check(&mut c, "").await, Ok(ServingStatus::NotServing));
    // A draining pod stays alive (no restart), and its liveness watch ends
    // with the drain instead of holding the shutdown open.
    assert_eq!(
        check(&mut c, LIVENESS_SERVICE).await,
        Ok(ServingStatus::Serving)
    );
    let end = tokio::time::timeout(Duration::from_secs(10), live.next()).await;
    assert!(
        matches!(end, Ok(None)),
        "the liveness watch ends with the drain: {end:?}"
    );

    let mut unknown = c
        .watch(HealthCheckRequest {
            service: "no.Such".into(),
        })
        .await
        .expect("watch")
        .into_inner();
    let first = unknown
        .next()
        .await
        .expect("one message")
        .expect("a status");
    assert_eq!(first.status(), ServingStatus::ServiceUnknown);

    // An Echo call is instrumented; the health calls are not.
    client(addr).await.unary(req("x", 0, 0)).await.expect("OK");
    let spans = rx.wait_for_spans(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let spans_after = rx.spans();
    assert_eq!(spans_after.len(), 1, "only the Echo call: {spans:#?}");
    assert_eq!(spans_after[0].name, UNARY);
    let text = h.telemetry.metrics().render();
    assert!(!text.contains("grpc.health"), "{text}");
    let access: Vec<_> = h
        .logs
        .lines()
        .into_iter()
        .filter(|l| l["target"] == "obskit::access")
        .collect();
    assert_eq!(access.len(), 1, "{access:#?}");
    assert_eq!(access[0]["rpc.method"], UNARY);
}

#[tokio::test]
async fn a_grpc_server_drains_like_obskit_serve() {
    let h = harness(config(&[
        ("OTEL_SERVICE_NAME", "grpc-drain"),
        ("OTEL_TRACES_EXPORTER", "none"),
    ]));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let routes = tonic::service::Routes::new(HealthService::new(&h.telemetry).into_server())
        .add_service(EchoService::new().server());
    let metrics = h.telemetry.metrics();
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (telemetry, logs) = (h.telemetry, h.logs);
    let server = tokio::spawn(
        GrpcServer::new(listener, routes, telemetry)
            .drain_delay(Duration::from_millis(600))
            .inflight_timeout(Duration::from_secs(10))
            .shutdown_signal(async move {
                let _ = stop_rx.await;
            })
            .run(),
    );
    let mut health = HealthClient::new(channel(addr).await);
    let mut echo = client(addr).await;
    let mut ready = false;
    for _ in 0..200 {
        if check(&mut health, "").await == Ok(ServingStatus::Serving) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(ready, "SERVING once listening");

    // A stream in flight when the signal comes finishes, and is counted.
    let in_flight = echo
        .server_stream(EchoRequest {
            message: "s".into(),
            code: 0,
            delay_ms: 200,
            count: 4,
        })
        .await
        .expect("stream")
        .into_inner();
    let in_flight = tokio::spawn(in_flight.collect::<Vec<_>>());
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.send(()).expect("the server waits for the signal");
    tokio::time::sleep(Duration::from_millis(20)).await;

    assert_eq!(
        check(&mut health, "").await,
        Ok(ServingStatus::NotServing),
        "NOT_SERVING from the first moment of the drain"
    );
    echo.unary(req("during the drain", 0, 0))
        .await
        .expect("calls are still served during the drain delay");

    let replies = in_flight.await.expect("the stream task");
    assert_eq!(replies.len(), 4);
    assert!(replies.iter().all(Result::is_ok), "{replies:?}");
    let report = tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("the server stops within its bounds")
        .expect("the server task")
        .expect("no serve error");
    assert!(!report.timed_out);

    let text = metrics.render();
    let ok = |method: &str| {
        prom::exact(
            &text,
            "rpc_server_call_duration_seconds_count",
            &[
                ("service_name", "grpc-drain"),
                ("rpc_system_name", "grpc"),
                ("rpc_method", method),
                ("rpc_status_code", "OK"),
            ],
        )
    };
    assert_eq!(ok("obskit.test.v1.Echo/ServerStream"), Some(1.0), "{text}");
    assert_eq!(ok(UNARY), Some(1.0), "{text}");
    assert!(
        logs.lines().iter().any(|l| l["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("shutdown signal received"))),
        "the drain is logged"
    );
}

/// Python's grpcio and its `grpc.health.v1` stubs, if installed.
fn python_with_grpc() -> Option<&'static str> {
    obskit_test_support::python3_with(
        "grpc, grpc_health.v1.health_pb2_grpc",
        "pip install grpcio grpcio-health-checking",
    )
    .then_some("python3")
}

const PY_CHECK: &str = r#"
import sys, grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
channel = grpc.insecure_channel(sys.argv[1])
stub = health_pb2_grpc.HealthStub(channel)
try:
    r = stub.Check(health_pb2.HealthCheckRequest(service=sys.argv[2]), timeout=10)
    print(health_pb2.HealthCheckResponse.ServingStatus.Name(r.status))
except grpc.RpcError as e:
    print(e.code().name)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_grpcio_sees_serving_then_not_serving() {
    let Some(python) = python_with_grpc() else {
        return;
    };
    let (telemetry, _layer) = config(&[
        ("OTEL_SERVICE_NAME", "grpc-python"),
        ("OTEL_TRACES_EXPORTER", "none"),
    ])
    .build_layer_with_writer::<obskit::tracing_subscriber::Registry>(std::io::sink())
    .expect("telemetry builds");
    let health = telemetry.health();
    let service = HealthService::new(&telemetry).services(["obskit.test.v1.Echo"]);
    let addr = spawn_tonic(
        GrpcLayer::new(&telemetry),
        EchoService::new(),
        Some(service),
    )
    .await;
    health.mark_started();
    let ask = |service: &'static str| {
        let target = addr.to_string();
        tokio::task::spawn_blocking(move || {
            let out = std::process::Command::new(python)
                .args(["-c", PY_CHECK, &target, service])
                .output()
                .expect("python3 runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout)
                .expect("utf-8")
                .trim()
                .to_owned()
        })
    };
    assert_eq!(ask("").await.unwrap(), "SERVING");
    assert_eq!(ask("obskit.test.v1.Echo").await.unwrap(), "SERVING");
    assert_eq!(ask("no.Such").await.unwrap(), "NOT_FOUND");
    health.start_draining();
    assert_eq!(ask("").await.unwrap(), "NOT_SERVING");
}
