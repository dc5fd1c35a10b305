//! The server layer and its configuration: one span, RED metrics, SLO
//! counters, a request id and an access log line for every request.
//!
//! The layer makes an [`ObskitService`] around the inner service; the
//! service's [`ResponseFuture`](super::ResponseFuture) and the response's
//! [`ObskitBody`](super::ObskitBody) carry the request to its end, where
//! [`outcome`](super::outcome) records it.

use std::sync::Arc;

use http::HeaderName;
use opentelemetry_sdk::trace::Tracer;
use tower_layer::Layer;
use tracing::Level;

use super::red::ServerMetrics;
use super::service::ObskitService;
use crate::Telemetry;
use crate::slo::{Slo, SloError, SloSet};

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
/// use obskit::{http::ObskitLayer, slo::Slo};
/// use tower::ServiceExt as _;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let telemetry = obskit::testing::TestTelemetry::new(); // obskit::init!()? in main
/// let app: Router = Router::new()
///     .route("/users/{id}", get(|| async { "user" }))
///     .layer(ObskitLayer::new(&telemetry).slos([
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
#[derive(Clone)]
pub struct ObskitLayer {
    shared: Arc<Shared>,
}

/// The layer's configuration, shared by every request it instruments.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) tracer: Tracer,
    pub(crate) propagator: Arc<crate::propagation::Propagator>,
    pub(crate) metrics: Arc<ServerMetrics>,
    pub(crate) metrics_handle: crate::metrics::MetricsHandle,
    pub(crate) slos: SloSet,
    pub(crate) excluded: Vec<String>,
    pub(crate) access_log: crate::logs::AccessLog,
    /// What the sampler decides, as far as it can be told in advance.
    pub(crate) sampling: crate::traces::Sampling,
    pub(crate) recorded_headers: Vec<(HeaderName, opentelemetry::Key)>,
    pub(crate) scheme: &'static str,
}

impl Shared {
    /// Whether `path` (the matched template, else the raw path) is left out.
    pub(crate) fn is_excluded(&self, path: &str) -> bool {
        self.excluded.iter().any(|p| p == path)
    }
}

impl std::fmt::Debug for ObskitLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObskitLayer")
            .field("excluded", &self.shared.excluded)
            .field("access_log", &self.shared.access_log)
            .finish_non_exhaustive()
    }
}

impl ObskitLayer {
    /// A layer recording into `telemetry`'s tracer and metrics, with the
    /// default exclusions and the access log at the level `OBSKIT_ACCESS_LOG`
    /// says (default `INFO`; [`access_log`](Self::access_log) overrides it).
    pub fn new(telemetry: &Telemetry) -> Self {
        let metrics_handle = telemetry.metrics();
        Self {
            shared: Arc::new(Shared {
                tracer: telemetry.tracer(),
                propagator: Arc::clone(&telemetry.propagator),
                metrics: Arc::new(ServerMetrics::new(metrics_handle.clone())),
                metrics_handle,
                slos: SloSet::default(),
                excluded: DEFAULT_EXCLUDED_PATHS
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
                access_log: crate::logs::AccessLog::new(telemetry),
                sampling: telemetry.sampling(),
                recorded_headers: Vec::new(),
                scheme: "http",
            }),
        }
    }

    fn shared_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.shared)
    }

    /// Declares the service's SLOs; every request is classified against each.
    /// A request the client left before its end (`error.type=cancelled` in
    /// RED, like gRPC's CANCELLED) is neither good nor bad for availability,
    /// a client's choice rather than a server failure, and bad for latency
    /// only once it had outlived the threshold.
    pub fn slos(mut self, slos: impl IntoIterator<Item = Slo>) -> Result<Self, SloError> {
        let set = SloSet::new(slos.into_iter().collect(), &self.shared.metrics_handle)?;
        self.shared_mut().slos = set;
        Ok(self)
    }

    /// Replaces the paths left out of all figures (default [`DEFAULT_EXCLUDED_PATHS`]).
    #[must_use]
    pub fn excluded_paths<I, P>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.shared_mut().excluded = paths.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the access log level; `None` turns the access log off.
    #[must_use]
    pub fn access_log(mut self, level: Option<Level>) -> Self {
        self.shared_mut().access_log.level = level;
        self
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

impl<S> Layer<S> for ObskitLayer {
    type Service = ObskitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ObskitService::new(inner, Arc::clone(&self.shared))
    }
}
