//! gRPC over a real socket on 127.0.0.1: the HTTP route that calls the Greeter, one trace
//! across HTTP and gRPC, the gRPC metrics, a server stream measured whole, a call past its
//! deadline, and the health service Kubernetes probes.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use obskit::grpc::{GrpcLayer, GrpcRoutes, LIVENESS_SERVICE, STARTUP_SERVICE};
use obskit::opentelemetry::trace::SpanKind;
use obskit::testing::{FinishedSpan, TestTelemetry};
use tokio_stream::StreamExt as _;
use tonic::{Request, Response, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use {{crate_name}}::greeter::pb::greeter_server::{Greeter, GreeterServer};
use {{crate_name}}::greeter::pb::{HelloReply, HelloRequest, HelloStreamRequest};
use {{crate_name}}::{Dependencies, Upstream, app, greeter};

mod common;

/// How long the service may take to start, and a shutdown to show.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Serves [`app`] on 127.0.0.1, its Greeter client calling this same server, and returns
/// its base URL.
async fn serve(telemetry: &TestTelemetry) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let deps = Dependencies {
        upstream: Upstream::new(obskit::reqwest::Client::new().into(), &base_url).unwrap(),
        greeter: greeter::client(telemetry, &base_url).unwrap(),
{%- if messaging != "none" %}
        broker: None,
{%- endif %}
{%- if postgres %}
        pool: None,
{%- endif %}
{%- if redis %}
        cache: None,
{%- endif %}
    };
    let app = app(telemetry, deps).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    base_url
}

/// Waits until `telemetry` has recorded a span named `name` of `kind` (a server span ends
/// when its response has been sent, which may be just after the client has read it).
async fn wait_for_span(telemetry: &TestTelemetry, name: &str, kind: SpanKind) -> FinishedSpan {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(span) = telemetry
            .spans()
            .into_iter()
            .find(|s| s.name() == name && s.kind() == kind)
        {
            return span;
        }
        assert!(Instant::now() < deadline, "no {kind:?} span `{name}`");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_http_request_and_the_grpc_call_it_makes_share_one_trace() {
    let telemetry = TestTelemetry::new();
    let base_url = serve(&telemetry).await;
    let web = obskit::reqwest::Client::new();

    let response = web
        .get(format!("{base_url}/grpc-hello/ada"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"message":"hello, ada"}"#
    );

    // HTTP server span → gRPC client span → gRPC server span, in one trace.
    let http = wait_for_span(&telemetry, "GET /grpc-hello/{name}", SpanKind::Server).await;
    let method = "greeter.v1.Greeter/SayHello";
    let client = wait_for_span(&telemetry, method, SpanKind::Client).await;
    let server = wait_for_span(&telemetry, method, SpanKind::Server).await;
    assert_eq!(client.trace_id(), http.trace_id());
    assert_eq!(server.trace_id(), http.trace_id());
    assert_eq!(client.parent_span_id(), Some(http.span_id()));
    assert_eq!(server.parent_span_id(), Some(client.span_id()));
    assert_eq!(server.attribute("rpc.status_code").as_deref(), Some("OK"));

    let metrics = web
        .get(format!("{base_url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let has_line = |parts: &[&str]| {
        metrics
            .lines()
            .any(|line| parts.iter().all(|part| line.contains(part)))
    };
    for side in [
        "rpc_server_call_duration_seconds_count",
        "rpc_client_call_duration_seconds_count",
    ] {
        assert!(
            has_line(&[side, r#"rpc_method="greeter.v1.Greeter/SayHello""#, "} 1"]),
            "{metrics}"
        );
    }
    // The gRPC call counts against the service's objectives, as HTTP requests do.
    assert!(
        has_line(&[
            "obskit_slo_requests_total",
            r#"slo="availability""#,
            r#"result="good""#
        ]),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_failed_grpc_call_answers_502_and_is_recorded_with_its_status() {
    let telemetry = TestTelemetry::new();
    let base_url = serve(&telemetry).await;
    let mut client = greeter::client(&telemetry, &base_url).unwrap();

    let status = client
        .say_hello(greeter::pb::HelloRequest {
            name: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let server = wait_for_span(&telemetry, "greeter.v1.Greeter/SayHello", SpanKind::Server).await;
    assert_eq!(
        server.attribute("rpc.status_code").as_deref(),
        Some("INVALID_ARGUMENT")
    );
}

#[tokio::test]
async fn a_server_stream_is_measured_from_its_first_to_its_last_message() {
    let telemetry = TestTelemetry::new();
    let base_url = serve(&telemetry).await;
    let mut client = greeter::client(&telemetry, &base_url).unwrap();

    let request = HelloStreamRequest {
        name: "ada".into(),
        count: 5,
    };
    let stream = client.say_hello_stream(request).await.unwrap().into_inner();
    let messages: Vec<String> = stream.map(|reply| reply.unwrap().message).collect().await;
    assert_eq!(messages.len(), 5);
    assert_eq!(messages[4], "hello, ada (5/5)");

    let method = "greeter.v1.Greeter/SayHelloStream";
    let server = wait_for_span(&telemetry, method, SpanKind::Server).await;
    assert_eq!(server.attribute("rpc.status_code").as_deref(), Some("OK"));
    // The span ends with the stream, not when the handler returns it: five messages,
    // each after a pause.
    let duration = server.duration();
    assert!(duration >= Duration::from_millis(50), "{duration:?}");
    let client_span = wait_for_span(&telemetry, method, SpanKind::Client).await;
    assert_eq!(server.parent_span_id(), Some(client_span.span_id()));

    let metrics = obskit::reqwest::get(format!("{base_url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.lines().any(
            |line| line.starts_with("rpc_server_call_duration_seconds_count")
                && line.contains(r#"rpc_method="greeter.v1.Greeter/SayHelloStream""#)
                && line.contains(r#"rpc_status_code="OK""#)
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn server_reflection_lists_the_services() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let telemetry = TestTelemetry::new();
    let base_url = serve(&telemetry).await;
    let channel = tonic::transport::Endpoint::from_shared(base_url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut replies = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let reply = replies.message().await.unwrap().expect("one reply");
    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("not a service list: {reply:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for wanted in ["greeter.v1.Greeter", "grpc.health.v1.Health"] {
        assert!(names.iter().any(|n| n == wanted), "{names:?}");
    }
    // Reflection stays out of the figures, as health checks do.
    let metrics = obskit::reqwest::get(format!("{base_url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!metrics.contains("grpc.reflection"), "{metrics}");
}

/// A Greeter that answers `fast` at once and everyone else too late.
struct SlowGreeter;

#[tonic::async_trait]
impl Greeter for SlowGreeter {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        if request.into_inner().name != "fast" {
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
        Ok(Response::new(HelloReply {
            message: "hello".into(),
        }))
    }

    type SayHelloStreamStream = <greeter::GreeterService as Greeter>::SayHelloStreamStream;

    async fn say_hello_stream(
        &self,
        _: Request<HelloStreamRequest>,
    ) -> Result<Response<Self::SayHelloStreamStream>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
}

#[tokio::test]
async fn a_call_past_its_deadline_is_deadline_exceeded_on_both_sides() {
    let telemetry = TestTelemetry::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let slow = GrpcRoutes::new()
        .add_service(GreeterServer::new(SlowGreeter))
        .into_router()
        .layer(GrpcLayer::new(&telemetry));
    tokio::spawn(async move { axum::serve(listener, slow).await });

    // Long enough that the server has the call well before the client gives up on it:
    // the server counts a call reset within the last tenth of its deadline as late.
    let deadline = Duration::from_secs(3);
    let mut client = greeter::client_with_deadline(&telemetry, &url, deadline).unwrap();
    // Connect first, so the deadline covers the call alone; and a method becomes known to
    // obskit's server layer by answering (until then it is recorded as `_OTHER`).
    client
        .say_hello(HelloRequest {
            name: "fast".into(),
        })
        .await
        .unwrap();
    let started = Instant::now();
    let status = client
        .say_hello(HelloRequest { name: "ada".into() })
        .await
        .unwrap_err();
    // The client gave up at its deadline instead of waiting for the answer. tonic tells
    // the caller CANCELLED ("Timeout expired"); obskit records DEADLINE_EXCEEDED.
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        matches!(
            status.code(),
            tonic::Code::Cancelled | tonic::Code::DeadlineExceeded
        ),
        "{status:?}"
    );
    // The server sees the call end when the client resets it, at the deadline.
    let method = "greeter.v1.Greeter/SayHello";
    for kind in [SpanKind::Client, SpanKind::Server] {
        let deadline = Instant::now() + TIMEOUT;
        while !telemetry.spans().iter().any(|s| {
            s.name() == method
                && s.kind() == kind
                && s.attribute("rpc.status_code").as_deref() == Some("DEADLINE_EXCEEDED")
        }) {
            assert!(
                Instant::now() < deadline,
                "no {kind:?} span of {method} with DEADLINE_EXCEEDED"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn a_hung_upstream_fails_the_route_at_the_deadline_with_504() {
    let telemetry = TestTelemetry::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let slow = GrpcRoutes::new()
        .add_service(GreeterServer::new(SlowGreeter))
        .into_router();
    tokio::spawn(async move { axum::serve(listener, slow).await });

    let client =
        greeter::client_with_deadline(&telemetry, &url, Duration::from_millis(300)).unwrap();
    let front = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front_url = format!("http://{}", front.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(front, greeter::router(client)).await });

    let started = Instant::now();
    let response = obskit::reqwest::get(format!("{front_url}/grpc-hello/ada"))
        .await
        .unwrap();
    assert_eq!(response.status(), 504);
    // The route gave up at its deadline, not when the upstream answered (10 s).
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// The service binary on a free port; killed when dropped.
struct Service {
    child: Child,
    port: u16,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Service {
    /// Starts the binary; `None` (the test skips) when a server the service connects to
    /// at start is not running here.
    fn start() -> Option<Self> {
        if !common::servers_running() {
            return None;
        }
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_{{project-name}}"))
            .env("PORT", port.to_string())
            // A shutdown stays visible this long before the server stops listening.
            .env("OBSKIT_DRAIN_DELAY", "10s")
            .env("OTEL_TRACES_EXPORTER", "none")
            .env("OTEL_METRICS_EXPORTER", "none")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the service binary starts");
        Some(Self { child, port })
    }

    /// The health status of the whole server (`service = ""`), or `None` while it does
    /// not answer.
    async fn health(&self) -> Option<ServingStatus> {
        self.health_of("").await
    }

    /// The health status of `service`, or `None` while it does not answer.
    async fn health_of(&self, service: &str) -> Option<ServingStatus> {
        let channel =
            tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{}", self.port))
                .unwrap()
                .connect()
                .await
                .ok()?;
        let request = HealthCheckRequest {
            service: service.to_owned(),
        };
        let response = HealthClient::new(channel).check(request).await.ok()?;
        Some(response.into_inner().status())
    }

    async fn wait_for_health(&self, wanted: ServingStatus) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let status = self.health().await;
            if status == Some(wanted) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "health is {status:?}, not {wanted:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A port on 127.0.0.1 that nothing listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn grpc_health_answers_serving_then_not_serving_on_sigterm() {
    let Some(mut service) = Service::start() else {
        return;
    };
    service.wait_for_health(ServingStatus::Serving).await;
    // The Greeter by name, and the names the liveness and startup probes ask for.
    for name in ["greeter.v1.Greeter", LIVENESS_SERVICE, STARTUP_SERVICE] {
        assert_eq!(
            service.health_of(name).await,
            Some(ServingStatus::Serving),
            "{name}"
        );
    }

    let pid = service.child.id().to_string();
    let kill = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(kill.success());
    // Draining: still listening, no longer serving, so load balancers move away; still
    // alive, so Kubernetes does not restart it.
    service.wait_for_health(ServingStatus::NotServing).await;
    assert_eq!(
        service.health_of(LIVENESS_SERVICE).await,
        Some(ServingStatus::Serving)
    );

    let deadline = Instant::now() + TIMEOUT;
    while service.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(service.child.wait().unwrap().success());
}
