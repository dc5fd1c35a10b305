//! The observability endpoints: health probes and `/metrics`.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::Telemetry;
use crate::health::{Health, Report};
use crate::metrics::MetricsHandle;

/// The Prometheus text exposition content type.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `/health/live`, `/health/ready`, `/health/startup` and `/metrics`.
///
/// Merge them into the application's router (one port, simplest), or serve
/// them on a separate admin listener with [`Server::admin`](crate::serve::Server::admin)
/// (metrics and probes stay off the public port, and stay reachable when
/// the application's port is saturated).
pub fn observability_routes<S>(telemetry: &Telemetry) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    health_routes(telemetry.health()).merge(metrics_route(telemetry.metrics()))
}

/// The three probe routes alone.
pub fn health_routes<S>(health: Health) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let live = health.clone();
    let startup = health.clone();
    let ready = health;
    Router::new()
        .route(
            "/health/live",
            get(move || async move { report(&live.liveness()) }),
        )
        .route(
            "/health/startup",
            get(move || async move { report(&startup.startup()) }),
        )
        .route(
            "/health/ready",
            get(move || {
                let ready = ready.clone();
                async move { report(&ready.readiness().await) }
            }),
        )
}

/// The `/metrics` route alone.
pub fn metrics_route<S>(metrics: MetricsHandle) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
                    metrics.render(),
                )
            }
        }),
    )
}

fn report(report: &Report) -> Response {
    (
        report.http_status(),
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        report.to_json(),
    )
        .into_response()
}
