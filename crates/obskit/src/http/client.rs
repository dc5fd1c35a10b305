//! Outgoing calls: a `reqwest` client that opens a client span, injects
//! `traceparent` and `baggage`, and records `http_client_*` metrics with
//! low-cardinality labels (method, server address, status; never the path).
//!
//! ```
//! use obskit::http::HttpClientMiddleware;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let inventory = format!("http://{}", listener.local_addr()?);
//! # let items = axum::Router::new().route("/items/{id}", axum::routing::get(|| async { "item" }));
//! # tokio::spawn(async move { axum::serve(listener, items).await });
//! let telemetry = obskit::testing::TestTelemetry::new(); // or obskit::init!()?
//! let client = HttpClientMiddleware::new(&telemetry).wrap(reqwest::Client::new());
//! let body = client.get(format!("{inventory}/items/42")).send().await?.text().await?;
//! assert_eq!(body, "item");
//!
//! let span = telemetry.span("GET").expect("a client span");
//! assert_eq!(span.attribute("http.response.status_code").as_deref(), Some("200"));
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Extensions;
use metrics::Label;
use opentelemetry::KeyValue;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};

use super::labels;
use crate::Telemetry;
use crate::instrument::{Finish, Outcome, Protocol, start_client};
use crate::metrics::{MetricsHandle, names};
use crate::slo::SloSet;

/// obskit's `reqwest` middleware: a client span, propagation headers and
/// the `http_client_*` RED series for every outgoing call.
///
/// [`wrap`](Self::wrap) gives a client with it alone; add it with
/// `reqwest_middleware::ClientBuilder::with` to compose it with others.
#[derive(Clone)]
pub struct HttpClientMiddleware {
    shared: Arc<ClientShared>,
}

/// What every outgoing call records into.
struct ClientShared {
    tracer: crate::instrument::ClientTracer,
    propagator: Arc<crate::propagation::Propagator>,
    metrics: MetricsHandle,
    /// Outgoing calls count against no SLO of this service.
    slos: SloSet,
}

impl std::fmt::Debug for HttpClientMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClientMiddleware")
            .finish_non_exhaustive()
    }
}

impl HttpClientMiddleware {
    /// Records into `telemetry`'s tracer and metrics.
    pub fn new(telemetry: &Telemetry) -> Self {
        Self {
            shared: Arc::new(ClientShared {
                tracer: crate::instrument::ClientTracer::new(telemetry),
                propagator: Arc::clone(&telemetry.propagator),
                metrics: telemetry.metrics(),
                slos: SloSet::default(),
            }),
        }
    }

    /// `client` with this middleware alone.
    pub fn wrap(self, client: reqwest::Client) -> ClientWithMiddleware {
        ClientBuilder::new(client).with(self).build()
    }
}

#[async_trait::async_trait]
impl Middleware for HttpClientMiddleware {
    async fn handle(
        &self,
        mut req: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let shared = &self.shared;
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
        let cx = start_client(
            &shared.tracer,
            &shared.propagator,
            labels::span_name(method),
            attributes,
            req.headers_mut(),
        );

        let active = shared.metrics.gauge(
            names::HTTP_CLIENT_ACTIVE_REQUESTS,
            vec![
                Label::new(names::HTTP_REQUEST_METHOD, method),
                Label::new(names::SERVER_ADDRESS, host.clone()),
            ],
        );
        active.increment(1.0);
        let call = OutgoingCall {
            method,
            host,
            error: None,
            shared: Arc::clone(shared),
        };
        // Ends the call however the future ends: a caller's timeout that
        // drops it ends it as cancelled.
        let mut in_flight = InFlight(Some(Finish::new(cx, start, active, call)));
        let result = next.run(req, extensions).await;
        if let Some(mut finish) = in_flight.0.take() {
            let answer = match &result {
                Ok(response) => Answer::Status(response.status().as_u16()),
                Err(e) => {
                    finish.protocol_mut().error = Some(e.to_string());
                    Answer::Transport(error_kind(e))
                }
            };
            finish.finish(Outcome::Completed(answer));
        }
        result
    }
}

/// What an outgoing call got back.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// A response with this status.
    Status(u16),
    /// No response: the transport failed, in this class.
    Transport(&'static str),
}

/// One outgoing call as its end needs it: the [`Protocol`] of the client.
struct OutgoingCall {
    method: &'static str,
    host: String,
    /// The transport error, for the span's status.
    error: Option<String>,
    shared: Arc<ClientShared>,
}

impl Protocol for OutgoingCall {
    type Status = Answer;

    fn slo_key(&self) -> (&str, &str) {
        (self.method, "")
    }

    fn slos(&self) -> &SloSet {
        &self.shared.slos
    }

    fn error_type(&self, answer: Answer) -> Option<&'static str> {
        match answer {
            Answer::Status(code) => labels::client_error_type(code),
            Answer::Transport(kind) => Some(kind),
        }
    }

    fn failure_description(&self, outcome: Outcome<Answer>) -> &'static str {
        match outcome {
            Outcome::Cancelled(_) => "the caller abandoned the request",
            Outcome::Completed(_) | Outcome::Failed(_) => "",
        }
    }

    fn failure_message(&self) -> Option<&str> {
        self.error.as_deref()
    }

    fn status_attribute(&self, answer: Answer) -> Option<KeyValue> {
        match answer {
            Answer::Status(code) => {
                Some(KeyValue::new("http.response.status_code", i64::from(code)))
            }
            Answer::Transport(_) => None,
        }
    }

    fn record_duration(&self, answer: Option<Answer>, _failed: bool, elapsed: Duration) {
        let mut labels = vec![
            Label::new(names::HTTP_REQUEST_METHOD, self.method),
            Label::new(names::SERVER_ADDRESS, self.host.clone()),
        ];
        match answer {
            Some(Answer::Status(code)) => {
                labels.push(Label::new(
                    names::HTTP_RESPONSE_STATUS_CODE,
                    labels::status_str(code),
                ));
                if let Some(e) = labels::client_error_type(code) {
                    labels.push(Label::new(names::ERROR_TYPE, e));
                }
            }
            Some(Answer::Transport(kind)) => labels.push(Label::new(names::ERROR_TYPE, kind)),
            None => {}
        }
        self.shared
            .metrics
            .histogram(names::HTTP_CLIENT_REQUEST_DURATION, labels)
            .record(elapsed.as_secs_f64());
    }
}

/// Ends a call its caller abandoned (the future dropped before its end).
struct InFlight(Option<Finish<OutgoingCall>>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(finish) = self.0.take() {
            finish.finish(Outcome::Cancelled(None));
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
