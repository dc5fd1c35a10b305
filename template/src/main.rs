//! {{project-name}}: install telemetry, build the application (`src/lib.rs`), serve it.
//!
{%- if grpc %}
//! Run with `cargo run`, then `curl localhost:8080/hello/world` (HTTP) or
//! `curl localhost:8080/grpc-hello/world` (HTTP, answered through a gRPC call).
{%- else %}
//! Run with `cargo run`, then `curl localhost:8080/hello/world`.
{%- endif %}

use anyhow::Context as _;
{%- if grpc %}
use {{crate_name}}::greeter;
{%- endif %}
use {{crate_name}}::{Dependencies, Upstream, app, port_from_env};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs, traces and metrics, configured from the OTEL_* variables (see .env.example),
    // labelled with this crate's name and version.
    let telemetry = obskit::init!()?;

    let port = port_from_env()?;
    let deps = Dependencies {
        upstream: Upstream::from_env(&telemetry, port)?,
{%- if grpc %}
        greeter: greeter::client_from_env(&telemetry, port)?,
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
    obskit::serve(listener, app, telemetry).await?;
    Ok(())
}
