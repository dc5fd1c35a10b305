//! The observability endpoints: health probes and `/metrics`.

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::Telemetry;
use crate::health::{Health, Report};
use crate::metrics::{Format, MetricsHandle};

/// The Prometheus text exposition content type, what `/metrics` answers by
/// default.
pub const METRICS_CONTENT_TYPE: &str = crate::metrics::PROMETHEUS_CONTENT_TYPE;

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
///
/// It negotiates the format on `Accept` ([`Format::from_accept`]):
/// OpenMetrics 1.0 with exemplars (`application/openmetrics-text;
/// version=1.0.0; charset=utf-8`) for a scraper that asks for it, as
/// Prometheus does; the Prometheus text format 0.0.4
/// ([`METRICS_CONTENT_TYPE`]) for everyone else. Both carry `Vary: Accept`.
/// When `OTEL_METRICS_EXPORTER` lists no `prometheus` (`otlp` or `none`
/// alone), it answers 404 with a line saying so.
pub fn metrics_route<S>(metrics: MetricsHandle) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new().route(
        "/metrics",
        get(move |headers: HeaderMap| {
            let metrics = metrics.clone();
            async move {
                if !metrics.serves_prometheus() {
                    return (
                        StatusCode::NOT_FOUND,
                        [
                            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                            (header::VARY, "accept"),
                        ],
                        "metrics are not served here: OTEL_METRICS_EXPORTER lists no prometheus (they are pushed over OTLP when it lists otlp); add prometheus to it to serve /metrics\n".as_bytes().to_vec(),
                    );
                }
                let format = Format::from_accept(accept(&headers).as_deref());
                (
                    StatusCode::OK,
                    [
                        (header::CONTENT_TYPE, format.content_type()),
                        (header::VARY, "accept"),
                    ],
                    metrics.render_bytes(format),
                )
            }
        }),
    )
}

/// Every `Accept` header of a request, joined as one list; `None` without one.
fn accept(headers: &HeaderMap) -> Option<std::borrow::Cow<'_, str>> {
    let mut values = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok());
    let first = values.next()?;
    match values.next() {
        None => Some(first.into()),
        Some(second) => {
            let mut joined = format!("{first},{second}");
            for v in values {
                joined.push(',');
                joined.push_str(v);
            }
            Some(joined.into())
        }
    }
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
