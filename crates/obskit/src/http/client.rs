//! Outgoing calls: a `reqwest` client that opens a client span, injects
//! `traceparent` and `baggage`, and records `http_client_*` metrics with
//! low-cardinality labels (method, server address, status; never the path).
//!
//! ```
//! use obskit::http::ClientMiddleware;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let inventory = format!("http://{}", listener.local_addr()?);
//! # let items = axum::Router::new().route("/items/{id}", axum::routing::get(|| async { "item" }));
//! # tokio::spawn(async move { axum::serve(listener, items).await });
//! let telemetry = obskit::testing::TestTelemetry::new(); // or obskit::init!()?
//! let client = ClientMiddleware::new(&telemetry).wrap(reqwest::Client::new());
//! let body = client.get(format!("{inventory}/items/42")).send().await?.text().await?;
//! assert_eq!(body, "item");
//!
//! let span = telemetry.span("GET").expect("a client span");
//! assert_eq!(span.attribute("http.response.status_code").as_deref(), Some("200"));
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Instant;

use http::Extensions;
use metrics::Label;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::Tracer;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};

use super::labels;
use crate::Telemetry;
use crate::metrics::{MetricsHandle, names};

/// obskit's `reqwest` middleware: a client span, propagation headers and
/// the `http_client_*` RED series for every outgoing call.
///
/// [`wrap`](Self::wrap) gives a client with it alone; add it with
/// `reqwest_middleware::ClientBuilder::with` to compose it with others.
#[derive(Clone)]
pub struct ClientMiddleware {
    tracer: Tracer,
    propagator: Arc<crate::propagation::Propagator>,
    metrics: MetricsHandle,
}

impl std::fmt::Debug for ClientMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientMiddleware").finish_non_exhaustive()
    }
}

impl ClientMiddleware {
    /// Records into `telemetry`'s tracer and metrics.
    pub fn new(telemetry: &Telemetry) -> Self {
        Self {
            tracer: telemetry.tracer(),
            propagator: Arc::clone(&telemetry.propagator),
            metrics: telemetry.metrics(),
        }
    }

    /// `client` with this middleware alone.
    pub fn wrap(self, client: reqwest::Client) -> ClientWithMiddleware {
        ClientBuilder::new(client).with(self).build()
    }
}

#[async_trait::async_trait]
impl Middleware for ClientMiddleware {
    async fn handle(
        &self,
        mut req: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let start = Instant::now();
        let method = labels::method(req.method());
        let host = req.url().host_str().unwrap_or("").to_owned();
        let port = req.url().port_or_known_default();
        let mut full = req.url().clone();
        full.set_query(None);
        full.set_fragment(None);
        let _ = full.set_username("");
        let _ = full.set_password(None);

        let mut attributes = vec![
            KeyValue::new("http.request.method", method),
            KeyValue::new("server.address", host.clone()),
            KeyValue::new("url.full", full.to_string()),
        ];
        if let Some(p) = port {
            attributes.push(KeyValue::new("server.port", i64::from(p)));
        }
        let parent = Context::current();
        let span = self.tracer.build_with_context(
            self.tracer
                .span_builder(labels::span_name(method))
                .with_kind(SpanKind::Client)
                .with_attributes(attributes),
            &parent,
        );
        let cx = parent.with_span(span);
        self.propagator.inject(&cx, req.headers_mut());

        let active = self.metrics.gauge(
            names::HTTP_CLIENT_ACTIVE_REQUESTS,
            vec![
                Label::new(names::HTTP_REQUEST_METHOD, method),
                Label::new(names::SERVER_ADDRESS, host.clone()),
            ],
        );
        active.increment(1.0);
        // Dropped with the future too, so a caller's timeout cannot leak it.
        let in_flight = InFlight {
            active,
            cx: cx.clone(),
            done: false,
        };
        let result = next.run(req, extensions).await;
        let mut in_flight = in_flight;
        in_flight.done = true;
        drop(in_flight);

        let span = cx.span();
        let mut labels = vec![
            Label::new(names::HTTP_REQUEST_METHOD, method),
            Label::new(names::SERVER_ADDRESS, host),
        ];
        match &result {
            Ok(response) => {
                let code = response.status().as_u16();
                span.set_attribute(KeyValue::new("http.response.status_code", i64::from(code)));
                labels.push(Label::new(
                    names::HTTP_RESPONSE_STATUS_CODE,
                    labels::status_str(code),
                ));
                if let Some(e) = labels::client_error_type(code) {
                    span.set_attribute(KeyValue::new("error.type", e));
                    span.set_status(Status::error(""));
                    labels.push(Label::new(names::ERROR_TYPE, e));
                }
            }
            Err(e) => {
                let kind = error_kind(e);
                span.set_attribute(KeyValue::new("error.type", kind));
                span.set_status(Status::error(e.to_string()));
                labels.push(Label::new(names::ERROR_TYPE, kind));
            }
        }
        {
            // The client span's context: a sampled call leaves its exemplar.
            let _attached = cx.clone().attach();
            self.metrics
                .histogram(names::HTTP_CLIENT_REQUEST_DURATION, labels)
                .record(start.elapsed().as_secs_f64());
        }
        span.end();
        result
    }
}

/// Decrements the active-requests gauge however the call ends, and marks
/// the span of a call its caller abandoned.
struct InFlight {
    active: metrics::Gauge,
    cx: Context,
    done: bool,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.active.decrement(1.0);
        if !self.done {
            let span = self.cx.span();
            span.set_attribute(KeyValue::new("error.type", "cancelled"));
            span.set_status(Status::error("the caller abandoned the request"));
            span.end();
        }
    }
}

/// A low-cardinality class for a transport error.
fn error_kind(e: &reqwest_middleware::Error) -> &'static str {
    match e {
        reqwest_middleware::Error::Reqwest(e) if e.is_timeout() => "timeout",
        reqwest_middleware::Error::Reqwest(e) if e.is_connect() => "connect",
        reqwest_middleware::Error::Reqwest(e) if e.is_request() => "request",
        reqwest_middleware::Error::Reqwest(e) if e.is_body() || e.is_decode() => "body",
        _ => "_OTHER",
    }
}
