//! The server layer and its configuration: one span, RED metrics, SLO
//! counters, a request id and an access log line for every request.
//!
//! The layer is the instrumentation core's, configured for HTTP: it makes
//! an [`HttpService`](super::HttpService) around the inner service; the
//! service's [`ResponseFuture`](super::ResponseFuture) and the response's
//! [`ResponseBody`](super::ResponseBody) carry the request to its end, where
//! the core's `Finish` records it. What only HTTP configures (paths left
//! out, headers recorded, the scheme) is here.

use std::sync::Arc;

use http::HeaderName;

use super::red::ServerMetrics;
use super::state::HttpShared;
use crate::Telemetry;
use crate::instrument::{InstrumentLayer, LayerState};

/// Paths left out of spans, the access log, RED and SLO figures by default.
pub const DEFAULT_EXCLUDED_PATHS: &[&str] = &[
    "/health/live",
    "/health/ready",
    "/health/startup",
    "/metrics",
];

/// Headers never recorded, whatever the allow-list says.
const NEVER_RECORDED: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

/// A header name that may not be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// Credentials and cookies are never recorded.
    #[error(
        "header {0:?} carries credentials and is never recorded; remove it from the allow-list"
    )]
    Sensitive(String),
    /// Not a valid header name.
    #[error("{0:?} is not a valid HTTP header name")]
    Invalid(String),
}

/// Instruments an axum router. Apply it with `Router::layer` so it sees the
/// matched route of every request, the fallback included.
///
/// ```
/// use std::time::Duration;
/// use axum::{Router, body::Body, http::Request, routing::get};
/// use obskit::{http::HttpLayer, slo::Slo};
/// use tower::ServiceExt as _;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let telemetry = obskit::testing::TestTelemetry::new(); // obskit::init!()? in main
/// let app: Router = Router::new()
///     .route("/users/{id}", get(|| async { "user" }))
///     .layer(HttpLayer::new(&telemetry).slos([
///         Slo::availability("availability", 0.999)?,
///         Slo::latency("latency", Duration::from_millis(300), 0.99)?,
///     ])?);
///
/// let response = app.oneshot(Request::get("/users/7").body(Body::empty())?).await?;
/// axum::body::to_bytes(response.into_body(), usize::MAX).await?; // the request ends with its body
///
/// let metrics = telemetry.metrics().render();
/// assert!(metrics.contains(r#"http_route="/users/{id}""#));
/// assert!(metrics.contains(r#"obskit_slo_requests_total{service_name="test",slo="availability",result="good"} 1"#));
/// # Ok(()) }
/// ```
pub type HttpLayer = InstrumentLayer<HttpShared>;

crate::instrument::server_layer_settings!(HttpLayer, "http::HttpLayer");

impl HttpLayer {
    /// A layer recording into `telemetry`'s tracer and metrics, with the
    /// default exclusions and the access log at the level `OBSKIT_ACCESS_LOG`
    /// says (default `INFO`; [`access_log`](Self::access_log) overrides it).
    pub fn new(telemetry: &Telemetry) -> Self {
        Self::from_shared(HttpShared {
            core: LayerState::new(telemetry, DEFAULT_EXCLUDED_PATHS),
            metrics: Arc::new(ServerMetrics::new(telemetry.metrics())),
            recorded_headers: Vec::new(),
            scheme: "http",
        })
    }

    /// Replaces the paths left out of all figures (default [`DEFAULT_EXCLUDED_PATHS`]).
    #[must_use]
    pub fn excluded_paths<I, P>(self, paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.set_excluded(paths)
    }

    /// Records this request header on the server span as
    /// `http.request.header.<name>`. Credentials and cookies are refused.
    pub fn record_header(mut self, name: &str) -> Result<Self, HeaderError> {
        let lower = name.to_ascii_lowercase();
        if NEVER_RECORDED.contains(&lower.as_str()) {
            return Err(HeaderError::Sensitive(name.to_owned()));
        }
        let header = HeaderName::from_bytes(lower.as_bytes())
            .map_err(|_| HeaderError::Invalid(name.to_owned()))?;
        let key = opentelemetry::Key::new(format!("http.request.header.{lower}"));
        self.shared_mut().recorded_headers.push((header, key));
        Ok(self)
    }

    /// Sets the `url.scheme` reported (default `http`; set `https` behind a
    /// TLS-terminating proxy if you want the outside view).
    #[must_use]
    pub fn scheme(mut self, scheme: &'static str) -> Self {
        self.shared_mut().scheme = scheme;
        self
    }
}
