//! {{project-name}}: install telemetry, build the application (`src/lib.rs`), serve it.
//!
{%- if grpc %}
//! Run with `cargo run`, then `curl localhost:8080/hello/world` (HTTP) or
//! `curl localhost:8080/grpc-hello/world` (HTTP, answered through a gRPC call).
{%- else %}
//! Run with `cargo run`, then `curl localhost:8080/hello/world`.
{%- endif %}

use anyhow::Context as _;
{%- if messaging != "none" %}
use {{crate_name}}::broker::Broker;
{%- endif %}
{%- if grpc %}
use {{crate_name}}::greeter;
{%- endif %}
{%- if messaging != "none" %}
use {{crate_name}}::worker::{self, Retry, Worker};
{%- endif %}
use {{crate_name}}::{Dependencies, Upstream, app, port_from_env};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs, traces and metrics, configured from the OTEL_* variables (see .env.example),
    // labelled with this crate's name and version.
    let telemetry = obskit::init!()?;

    let port = port_from_env()?;
{%- if messaging != "none" %}
    // The broker: `POST /tasks` publishes to it, the worker below consumes from it, and its
    // depth is polled for the stock alerts and for scaling (deploy/keda-scaledobject.yaml).
    let broker = Broker::from_env(&telemetry).await?;
    let _depth = broker.poll_depth(Default::default()).await?;
    let worker = Worker::start(
        broker.consume().await?,
        worker::processor(),
        Retry::default(),
    );
{%- endif %}
    let deps = Dependencies {
        upstream: Upstream::from_env(&telemetry, port)?,
{%- if grpc %}
        greeter: greeter::client_from_env(&telemetry, port)?,
{%- endif %}
{%- if messaging != "none" %}
        broker: Some(broker),
{%- endif %}
{%- if postgres %}
        pool: Some({{crate_name}}::store::from_env(&telemetry).await?),
{%- endif %}
{%- if redis %}
        cache: Some({{crate_name}}::cache::from_env(&telemetry).await?),
{%- endif %}
    };
    let app = app(&telemetry, deps)?;

    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port))
        .await
        .with_context(|| format!("could not listen on port {port}; set PORT to a free port"))?;
    tracing::info!(port, "listening");
{%- if grpc %}
    // HTTP and gRPC on one port. Serves until SIGTERM or Ctrl-C: reports not-ready (and
    // NOT_SERVING over gRPC), drains, finishes in-flight requests and calls, then flushes
    // telemetry, each step bounded (OBSKIT_* in .env.example).
{%- else %}
    // Serves until SIGTERM or Ctrl-C: reports not-ready, drains, finishes in-flight
    // requests, then flushes telemetry, each step bounded (OBSKIT_* in .env.example).
{%- endif %}
{%- if messaging != "none" %}
    // Before that, the worker stops taking tasks and lets those in flight settle, so
    // telemetry is flushed after the last one.
    let health = telemetry.health();
    obskit::Server::new(listener, app, telemetry)
        .shutdown_signal(async move {
            obskit::serve::shutdown_signal().await;
            health.start_draining();
            worker.stop().await;
        })
        .run()
        .await?;
{%- else %}
    obskit::serve(listener, app, telemetry).await?;
{%- endif %}
    Ok(())
}
