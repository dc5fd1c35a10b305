//! e2e-service: a real obskit service for the cross-artifact tests, set up the way the
//! template sets one up (configuration from the environment, build info, SLOs, a health
//! check, the observability routes, `obskit::serve`), with routes that make every kind of
//! series the stock dashboards and rules read: successes, a parameterised route, server
//! errors, slow requests that break the latency SLO, and an outgoing call. It also serves
//! gRPC on the same port (the test service `obskit.test.v1.Echo` and `grpc.health.v1`,
//! behind obskit's gRPC layer with the same SLOs), and `GET /grpc/{ok,fail}` makes one gRPC
//! call to itself through obskit's gRPC client, answered OK or UNAVAILABLE. With the
//! variables `dependencies` names, it also publishes to and consumes from a RabbitMQ queue and a
//! NATS JetStream stream, and queries PostgreSQL and Redis.
//!
//! Run with `PORT=0 OTEL_TRACES_EXPORTER=none cargo run -p obskit-e2e --bin e2e-service`;
//! it listens on 127.0.0.1 and prints `PORT=<n>` on stderr once bound.

mod dependencies;
mod gate;
mod nats;

use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use obskit::grpc::{GrpcClient, GrpcClientLayer, GrpcLayer, GrpcRoutes, HealthService};
use obskit::health::Check;
use obskit::http::{HttpLayer, observability_routes};
use obskit::slo::Slo;
use obskit_grpc_testing::{EchoClient, EchoRequest, EchoService};
use tonic::transport::{Channel, Endpoint};

/// How long `GET /slow` takes: above the 300 ms latency SLO.
const SLOW: Duration = Duration::from_millis(400);
/// How long the outgoing call of `GET /call` may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let telemetry = obskit::init!()?;

    let port = port_from_env()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| {
            format!("could not listen on 127.0.0.1:{port}; set PORT to a free port or 0")
        })?;
    let port = listener
        .local_addr()
        .context("the listener has no local address")?
        .port();
    let app = app(&telemetry, port).await?;
    announce(port);
    obskit::serve(listener, app, telemetry).await?;
    Ok(())
}

/// Tells the parent process which port was bound (useful with `PORT=0`).
#[allow(clippy::print_stderr)]
fn announce(port: u16) {
    eprintln!("PORT={port}");
}

/// The routes, the probes and `/metrics`, behind the obskit layer with two SLOs.
async fn app(telemetry: &obskit::Telemetry, port: u16) -> anyhow::Result<Router> {
    telemetry.health().register(
        Check::new("self", || async { Ok::<(), String>(()) }).timeout(Duration::from_secs(1)),
    )?;
    let slos = || -> anyhow::Result<[Slo; 2]> {
        Ok([
            Slo::availability("availability", 0.999)?,
            Slo::latency("latency", Duration::from_millis(300), 0.99)?,
        ])
    };
    let channel = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .context("the gRPC endpoint")?
        .connect_lazy();
    let grpc_client = EchoClient::new(
        GrpcClientLayer::new(telemetry)
            .target(&format!("127.0.0.1:{port}"))
            .wrap(channel),
    );
    let own = SelfCall {
        client: obskit::http::HttpClientMiddleware::new(telemetry).wrap(
            obskit::reqwest::Client::builder()
                .timeout(CALL_TIMEOUT)
                .build()
                .context("could not build the HTTP client")?,
        ),
        ok_url: format!("http://127.0.0.1:{port}/ok"),
        grpc: grpc_client,
    };
    let grpc = GrpcRoutes::new()
        .add_service(EchoService::new().server())
        .add_service(HealthService::new(telemetry).into_server())
        .into_router()
        .layer(GrpcLayer::new(telemetry).slos(slos()?)?);
    Ok(Router::new()
        .route("/ok", get(|| async { "ok" }))
        .route("/users/{id}", get(user))
        .route(
            "/fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "failed on purpose") }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(SLOW).await;
                "slow"
            }),
        )
        .route("/call", get(call))
        .route("/grpc/{outcome}", get(grpc_call))
        .with_state(own)
        .merge(dependencies::routes(telemetry).await?)
        .merge(observability_routes(telemetry))
        .merge(grpc)
        .layer(HttpLayer::new(telemetry).slos(slos()?)?))
}

/// `GET /users/{id}`: a route template with a parameter.
async fn user(Path(id): Path<String>) -> String {
    format!("user {id}")
}

/// The instrumented client and the URL `GET /call` calls: this service's own `/ok`.
#[derive(Clone)]
struct SelfCall {
    client: obskit::reqwest_middleware::ClientWithMiddleware,
    ok_url: String,
    grpc: EchoClient<GrpcClient<Channel>>,
}

/// `GET /grpc/{ok,fail}`: one gRPC call to this service's own Echo, answered OK or
/// UNAVAILABLE; the HTTP answer is 200 either way, with the gRPC outcome in the body.
async fn grpc_call(
    State(own): State<SelfCall>,
    Path(outcome): Path<String>,
) -> Result<String, (StatusCode, String)> {
    let code = match outcome.as_str() {
        "ok" => 0,
        "fail" => 14,
        other => {
            return Err((
                StatusCode::NOT_FOUND,
                format!("no outcome {other:?}; use ok or fail"),
            ));
        }
    };
    let mut client = own.grpc.clone();
    let request = EchoRequest {
        message: "e2e".into(),
        code,
        delay_ms: 0,
        count: 0,
    };
    Ok(match client.unary(request).await {
        Ok(reply) => format!("gRPC OK: {}", reply.into_inner().message),
        Err(status) => format!("gRPC {:?}: {}", status.code(), status.message()),
    })
}

/// `GET /call`: one outgoing call through the obskit client; 502 when it fails.
async fn call(State(own): State<SelfCall>) -> Result<String, (StatusCode, String)> {
    let response = own.client.get(&own.ok_url).send().await.map_err(|e| {
        (
            StatusCode::BAD_GATEWAY,
            format!("the call to {} failed: {e}", own.ok_url),
        )
    })?;
    let status = response.status();
    let body = response.text().await.map_err(|e| {
        (
            StatusCode::BAD_GATEWAY,
            format!("reading {} failed: {e}", own.ok_url),
        )
    })?;
    Ok(format!("called /ok: {status} {body}"))
}

/// Reads `PORT` (0 picks a free port), defaulting to 0.
fn port_from_env() -> anyhow::Result<u16> {
    match std::env::var("PORT") {
        Ok(value) => value.trim().parse().with_context(|| {
            format!("PORT is `{value}`; set it to a port number, or 0 for any free port")
        }),
        Err(std::env::VarError::NotPresent) => Ok(0),
        Err(err) => Err(err).context("PORT is not valid unicode; set it to a port number"),
    }
}
