//! What the layer's test modules share: the test service, its harnesses,
//! and the calls that drive it.

use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{any, get, post};
use obskit::http::{HttpLayer, observability_routes};
use obskit::reqwest;
use obskit_test_receiver::{ReceivedSpan, Receiver};

use crate::support::{Harness, config, harness};

/// The request duration histogram's count series.
pub(super) const DURATION_COUNT: &str = "http_server_request_duration_seconds_count";
/// How long to wait for a log line.
pub(super) const LOG_WAIT: Duration = Duration::from_secs(5);
/// How long to wait for exported spans.
pub(super) const SPAN_WAIT: Duration = Duration::from_secs(10);

/// A service without span export (figures only).
pub(super) fn metrics_only(name: &str) -> Harness {
    harness(config(&[
        ("OTEL_SERVICE_NAME", name),
        ("OTEL_TRACES_EXPORTER", "none"),
    ]))
}

/// A service exporting its spans to `rx`.
pub(super) fn traced(name: &str, rx: &Receiver) -> Harness {
    harness(config(&[
        ("OTEL_SERVICE_NAME", name),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
    ]))
}

/// The test application: plain, created, failing, nested, slow and
/// any-method routes, a handler that logs, and the observability routes.
pub(super) fn app(h: &Harness, layer: HttpLayer) -> Router {
    let items = Router::new().route(
        "/items/{id}",
        get(|Path(id): Path<String>| async move { format!("item {id}") }),
    );
    Router::new()
        .route(
            "/users/{id}",
            get(|Path(id): Path<String>| async move {
                tracing::info!(user = %id, "loading user");
                format!("user {id}")
            }),
        )
        .route(
            "/users",
            post(|| async { (StatusCode::CREATED, "created") }),
        )
        .route(
            "/boom",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route("/fast", get(|| async { "fast" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(120)).await;
                "slow"
            }),
        )
        .route("/cache/{key}", any(|| async { "done" }))
        .nest("/api/v1", items)
        .merge(observability_routes(&h.telemetry))
        .layer(layer)
}

/// Sends `method url` with `headers`; panics when no response arrives.
pub(super) async fn call(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = client.request(
        reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
        url,
    );
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// The status code of `method url`.
pub(super) async fn status_of(client: &reqwest::Client, method: &str, url: &str) -> u16 {
    call(client, method, url, &[]).await.status().as_u16()
}

/// The span of the request whose `x-request-id` was `id`.
pub(super) fn span_with_request_id<'a>(spans: &'a [ReceivedSpan], id: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|s| {
            s.attr("http.request.header.x-request-id")
                .and_then(|v| v.as_str())
                == Some(id)
        })
        .unwrap_or_else(|| panic!("no span for request {id}: {spans:#?}"))
}

/// Whether `s` is 32 lowercase hex digits (a generated id, a trace id).
pub(super) fn is_hex32(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}
