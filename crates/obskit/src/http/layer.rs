//! The server layer: one span, RED metrics, SLO counters, a request id and
//! an access log line for every request.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, ready};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath};
use http::{HeaderName, HeaderValue, Request, Response};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::Tracer;
use tower_layer::Layer;
use tower_service::Service;
use tracing::Level;

use super::carrier::{HeaderExtractor, has_context};
use super::labels;
use super::red::ServerMetrics;
use crate::Telemetry;
use crate::metrics::names::{METHOD_OTHER, ROUTE_UNMATCHED};
use crate::request_id::RequestId;
use crate::slo::{Slo, SloError, SloSet};

/// The request id header read and written by the layer.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

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
/// ```no_run
/// # async fn demo(telemetry: obskit::Telemetry) -> Result<(), obskit::slo::SloError> {
/// use axum::{Router, routing::get};
/// use obskit::{http::ObskitLayer, slo::Slo};
///
/// let app: Router = Router::new()
///     .route("/users/{id}", get(|| async { "user" }))
///     .layer(ObskitLayer::new(&telemetry).with_slos([Slo::availability("availability", 0.999)?])?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ObskitLayer {
    shared: Arc<Shared>,
}

#[derive(Clone)]
struct Shared {
    tracer: Tracer,
    propagator: Arc<dyn TextMapPropagator + Send + Sync>,
    metrics: Arc<ServerMetrics>,
    metrics_handle: crate::metrics::MetricsHandle,
    slos: SloSet,
    excluded: Vec<String>,
    access_log: Option<Level>,
    recorded_headers: Vec<(HeaderName, opentelemetry::Key)>,
    scheme: &'static str,
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
    /// default exclusions and the access log at the configured level
    /// (`OBSKIT_ACCESS_LOG`, default `INFO`).
    pub fn new(telemetry: &Telemetry) -> Self {
        let metrics_handle = telemetry.metrics_handle();
        Self {
            shared: Arc::new(Shared {
                tracer: telemetry.tracer(),
                propagator: telemetry.propagator(),
                metrics: Arc::new(ServerMetrics::new(metrics_handle.clone())),
                metrics_handle,
                slos: SloSet::default(),
                excluded: DEFAULT_EXCLUDED_PATHS
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
                access_log: telemetry.access_log,
                recorded_headers: Vec::new(),
                scheme: "http",
            }),
        }
    }

    fn shared_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.shared)
    }

    /// Declares the service's SLOs; every request is classified against each.
    pub fn with_slos(mut self, slos: impl IntoIterator<Item = Slo>) -> Result<Self, SloError> {
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
        self.shared_mut().access_log = level;
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
        ObskitService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service [`ObskitLayer`] wraps around each route.
#[derive(Clone)]
pub struct ObskitService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for ObskitService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObskitService").finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ObskitService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let shared = &self.shared;
        let matched = req.extensions().get::<MatchedPath>().cloned();
        let excluded = {
            let path = matched
                .as_ref()
                .map_or(req.uri().path(), MatchedPath::as_str);
            shared.excluded.iter().any(|p| p == path)
        };
        if excluded {
            return ResponseFuture {
                inner: self.inner.call(req),
                state: None,
            };
        }
        let start = Instant::now();
        let method = labels::method(req.method());
        let request_id = req
            .headers()
            .get(&X_REQUEST_ID)
            .and_then(|v| RequestId::parse(v.as_bytes()))
            .unwrap_or_else(RequestId::generate);

        let parent = if has_context(req.headers()) {
            shared
                .propagator
                .extract_with_context(&Context::new(), &HeaderExtractor(req.headers()))
        } else {
            Context::new()
        };
        let route = matched.as_ref().map(MatchedPath::as_str);
        let span = start_span(shared, &req, method, route, &request_id, &parent);
        let cx = parent.with_span(span).with_value(request_id.clone());
        req.extensions_mut().insert(request_id.clone());

        let active = shared.metrics.active(method, shared.scheme);
        active.increment(1.0);
        let inner = {
            let _attached = cx.clone().attach();
            self.inner.call(req)
        };
        ResponseFuture {
            inner,
            state: Some(State {
                cx,
                start,
                method,
                route: matched,
                request_id,
                active,
                shared: Arc::clone(&self.shared),
            }),
        }
    }
}

fn start_span<B>(
    shared: &Shared,
    req: &Request<B>,
    method: &'static str,
    route: Option<&str>,
    request_id: &RequestId,
    parent: &Context,
) -> opentelemetry_sdk::trace::Span {
    // The sampler decides first, on the method alone (obskit's samplers look
    // at the trace id and the parent, never the name or attributes); only a
    // span that records gets its name and attributes, so an unsampled
    // request allocates nothing for them.
    let short_name = labels::span_name(method);
    let mut span = shared.tracer.build_with_context(
        shared
            .tracer
            .span_builder(short_name)
            .with_kind(SpanKind::Server),
        parent,
    );
    if !span.is_recording() {
        return span;
    }
    let (route, name): (Option<Arc<str>>, &'static str) = match (method, route) {
        (m, Some(r)) => {
            let (route, name) = shared.metrics.intern(m, r);
            (Some(route), name)
        }
        (m, None) => (None, labels::span_name(m)),
    };
    let mut attributes = Vec::with_capacity(8 + shared.recorded_headers.len());
    attributes.push(KeyValue::new("http.request.method", method));
    if method == METHOD_OTHER {
        attributes.push(KeyValue::new(
            "http.request.method_original",
            String::from_utf8_lossy(req.method().as_str().as_bytes()).into_owned(),
        ));
    }
    if let Some(r) = route {
        attributes.push(KeyValue::new(
            "http.route",
            opentelemetry::StringValue::from(r),
        ));
    }
    attributes.push(KeyValue::new("url.scheme", shared.scheme));
    attributes.push(KeyValue::new("url.path", req.uri().path().to_owned()));
    attributes.push(KeyValue::new(
        "network.protocol.version",
        match req.version() {
            http::Version::HTTP_09 => "0.9",
            http::Version::HTTP_10 => "1.0",
            http::Version::HTTP_2 => "2",
            http::Version::HTTP_3 => "3",
            _ => "1.1",
        },
    ));
    if let Some(ua) = req
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
    {
        attributes.push(KeyValue::new("user_agent.original", ua.to_owned()));
    }
    if let Some(ConnectInfo(addr)) = req.extensions().get::<ConnectInfo<SocketAddr>>() {
        attributes.push(KeyValue::new("client.address", addr.ip().to_string()));
        attributes.push(KeyValue::new("client.port", i64::from(addr.port())));
    }
    attributes.push(KeyValue::new(
        "http.request.header.x-request-id",
        opentelemetry::StringValue::from(request_id.as_arc()),
    ));
    for (header, key) in &shared.recorded_headers {
        if let Some(v) = req.headers().get(header).and_then(|v| v.to_str().ok()) {
            attributes.push(KeyValue::new(key.clone(), v.to_owned()));
        }
    }
    span.update_name(name);
    span.set_attributes(attributes);
    span
}

struct State {
    cx: Context,
    start: Instant,
    method: &'static str,
    route: Option<MatchedPath>,
    request_id: RequestId,
    active: metrics::Gauge,
    shared: Arc<Shared>,
}

impl State {
    /// Records the outcome: metrics, SLOs, span, access log.
    fn finish(self, status: Option<u16>) {
        let elapsed = self.start.elapsed();
        let _attached = self.cx.clone().attach(); // sampled requests leave exemplars
        self.active.decrement(1.0);
        let route = self
            .route
            .as_ref()
            .map_or(ROUTE_UNMATCHED, MatchedPath::as_str);
        let failed = status.is_none();
        let code = status.unwrap_or(500);
        self.shared
            .metrics
            .duration(self.method, route, code, failed)
            .record(elapsed.as_secs_f64());
        if !self.shared.slos.is_empty() {
            self.shared
                .slos
                .record(self.method, route, failed || code >= 500, elapsed);
        }
        let span = self.cx.span();
        span.set_attribute(KeyValue::new("http.response.status_code", i64::from(code)));
        if failed {
            span.set_attribute(KeyValue::new("error.type", "_OTHER"));
            span.set_status(Status::error("the handler failed"));
        } else if let Some(e) = labels::server_error_type(code) {
            span.set_attribute(KeyValue::new("error.type", e));
            span.set_status(Status::error(""));
        }
        if let Some(level) = self.shared.access_log {
            let _attached = self.cx.clone().attach();
            access_log(
                level,
                self.method,
                route,
                code,
                elapsed.as_secs_f64() * 1000.0,
            );
        }
        span.end();
    }

    /// The client went away (or the server gave up) before the response
    /// was ready. There is no status to record in RED; a latency SLO still
    /// counts the request bad once it has outlived the threshold.
    fn cancel(self) {
        let _attached = self.cx.clone().attach(); // sampled requests leave exemplars
        self.active.decrement(1.0);
        if !self.shared.slos.is_empty() {
            let route = self
                .route
                .as_ref()
                .map_or(ROUTE_UNMATCHED, MatchedPath::as_str);
            self.shared
                .slos
                .record_abandoned(self.method, route, self.start.elapsed());
        }
        let span = self.cx.span();
        span.set_attribute(KeyValue::new("error.type", "cancelled"));
        span.set_status(Status::error(
            "the request was cancelled before a response was sent",
        ));
        span.end();
    }
}

fn access_log(level: Level, method: &str, route: &str, status: u16, duration_ms: f64) {
    macro_rules! line {
        ($lvl:expr) => {
            tracing::event!(
                target: "obskit::access",
                $lvl,
                http.request.method = method,
                http.route = route,
                http.response.status_code = status,
                duration_ms,
                "{method} {route} {status}"
            )
        };
    }
    match level {
        Level::TRACE => line!(Level::TRACE),
        Level::DEBUG => line!(Level::DEBUG),
        Level::INFO => line!(Level::INFO),
        Level::WARN => line!(Level::WARN),
        Level::ERROR => line!(Level::ERROR),
    }
}

pin_project_lite::pin_project! {
    /// The future of [`ObskitService`]: polls the handler inside the
    /// request's OpenTelemetry context, then records the outcome.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        state: Option<State>,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(state) = this.project().state.take() {
                if std::thread::panicking() {
                    // The handler panicked: the most obvious failure there is.
                    state.finish(None);
                } else {
                    state.cancel();
                }
            }
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = match this.state.as_ref() {
            Some(state) => {
                let _attached = state.cx.clone().attach();
                ready!(this.inner.poll(cx))
            }
            None => return this.inner.poll(cx),
        };
        let Some(state) = this.state.take() else {
            return Poll::Ready(result);
        };
        match result {
            Ok(mut response) => {
                if let Ok(v) = HeaderValue::from_str(state.request_id.as_str()) {
                    response.headers_mut().insert(X_REQUEST_ID.clone(), v);
                }
                state.finish(Some(response.status().as_u16()));
                Poll::Ready(Ok(response))
            }
            Err(e) => {
                state.finish(None);
                Poll::Ready(Err(e))
            }
        }
    }
}
