//! {{project-name}}: an axum service with obskit telemetry: JSON logs with trace ids,
//! OTLP traces, Prometheus RED and SLO metrics, and Kubernetes probes.
//!
//! Run with `cargo run`, then `curl localhost:8080/hello/world`.

mod routes;
mod upstream;

use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use obskit::http::{ObskitLayer, observability_routes};
use obskit::slo::Slo;

use crate::upstream::Upstream;

/// Port the service listens on when `PORT` is not set.
const DEFAULT_PORT: u16 = 8080;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs, traces and metrics, configured from the OTEL_* variables (see .env.example),
    // labelled with this crate's name and version.
    let telemetry = obskit::Config::from_env()?
        .build_info(obskit::build_info!())
        .install()?;

    let port = port_from_env()?;
    let upstream = Upstream::from_env(&telemetry, port)?;
    let app = app(&telemetry, upstream)?;

    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port))
        .await
        .with_context(|| format!("could not listen on port {port}; set PORT to a free port"))?;
    obskit::tracing::info!(port, "listening");
    // Serves until SIGTERM or Ctrl-C: reports not-ready, drains, finishes in-flight
    // requests, then flushes telemetry, each step bounded (OBSKIT_* in .env.example).
    obskit::serve(listener, app, telemetry).await?;
    Ok(())
}

/// The whole application: the example routes, the probes and `/metrics`, all behind the
/// obskit layer (server spans, RED metrics, SLO counters, access log).
fn app(telemetry: &obskit::Telemetry, upstream: Upstream) -> anyhow::Result<Router> {
    // `/health/ready` reports this check; add one per dependency (database, queue, ...).
    telemetry.health().register(upstream.health_check())?;

    // The service's objectives. They are exported on `/metrics`, where the stock alert
    // rules in alerts/ find them: changing an objective is a code change, not a rule change.
    let slos = [
        Slo::availability("availability", 0.999)?,
        Slo::latency("latency", Duration::from_millis(300), 0.99)?,
    ];

    Ok(routes::router(upstream)
        .merge(observability_routes(telemetry))
        .layer(ObskitLayer::new(telemetry).with_slos(slos)?))
}

/// Reads the listening port from `PORT`, defaulting to [`DEFAULT_PORT`].
fn port_from_env() -> anyhow::Result<u16> {
    match std::env::var("PORT") {
        Ok(value) => parse_port(&value),
        Err(std::env::VarError::NotPresent) => Ok(DEFAULT_PORT),
        Err(err) => {
            Err(err).context("PORT is not valid unicode; set it to a port number such as 8080")
        }
    }
}

/// Parses a port number, naming the variable and the fix when it is not one.
fn parse_port(value: &str) -> anyhow::Result<u16> {
    value
        .trim()
        .parse()
        .with_context(|| format!("PORT is `{value}`; set it to a port number such as 8080"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_port_number() {
        assert_eq!(parse_port("8080").unwrap(), 8080);
        assert_eq!(parse_port(" 3000\n").unwrap(), 3000);
    }

    #[test]
    fn rejects_what_is_not_a_port_and_says_how_to_fix_it() {
        for bad in ["", "http", "65536", "-1"] {
            let message = format!("{:#}", parse_port(bad).unwrap_err());
            assert!(message.contains("set it to a port number"), "{message}");
        }
    }
}
