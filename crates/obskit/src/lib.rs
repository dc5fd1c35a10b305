//! obskit: one line in `main` for production-grade observability.
//!
//! ```no_run
//! # async fn run() -> Result<(), obskit::InitError> {
//! let telemetry = obskit::init!()?; // JSON logs with trace ids, OTLP traces, Prometheus metrics
//! // ... build the router, serve ...
//! telemetry.shutdown().await;       // flushes within a bound (or just drop it)
//! # Ok(()) }
//! ```
//!
//! What you get:
//! - **Logs**: one JSON object per line with `trace_id` and `span_id` of the
//!   current OpenTelemetry span, filtered by `RUST_LOG`, written by a
//!   bounded non-blocking writer; with `OTEL_LOGS_EXPORTER=otlp`, also (or
//!   instead) OTLP log records.
//! - **Traces**: OpenTelemetry spans exported over OTLP (gRPC or HTTP),
//!   sampled and propagated as the `OTEL_*` variables say. Your own
//!   `tracing` spans (`#[tracing::instrument]`) become child spans through
//!   obskit's bridge, without the `busy_ns`, `idle_ns`, `thread.id` and
//!   `thread.name` attributes tracing-opentelemetry can add; one inside a
//!   trace that is not sampled builds no OpenTelemetry span and stays out
//!   of `tracing-subscriber`'s registry, yet is listed in the `spans` of
//!   the log lines written inside it.
//! - **Metrics**: a Prometheus registry with the semantic-convention
//!   histogram buckets, `process_*` series, a build-info series and
//!   `target_info`; with `OTEL_METRICS_EXPORTER=otlp`, also (or instead)
//!   pushed over OTLP with their exemplars.
//! - **Resource**: every signal names the service, its instance, host,
//!   process, container (`container.id` from the cgroup) and whatever
//!   `OTEL_RESOURCE_ATTRIBUTES` adds (a pod's `k8s.*` attributes).
//! - **HTTP**: [`http::HttpLayer`] gives every request a server span, RED
//!   metrics, SLO counters, a request id and an access line, recorded when
//!   the response body ends; [`serve()`] adds probes and a graceful drain.
//!
//! # The ladder
//!
//! From the most done for you to the most in your hands; each rung is the
//! one above with a step taken out:
//!
//! 1. [`init!()`](init!) reads the environment ([`Config::from_env`]),
//!    labels everything with the calling crate's name and version
//!    ([`build_info!`]) and installs it process-wide. The one line.
//! 2. [`Config::install`] installs a configuration you built with the
//!    setters: `Config::from_env()?.service_name("payments")?.install()?`.
//!    [`Config::install_with_writer`] writes the log lines elsewhere.
//! 3. [`Config::build_layer`] installs nothing: it returns the
//!    [`Telemetry`] and a `tracing` layer (filter, formatter, OpenTelemetry
//!    bridge) for a subscriber you compose yourself.
//!
//! # The layers
//!
//! Every protocol has the same parts, named the same way: the protocol's
//! name on what you construct, the role alone on what only appears in
//! signatures (as in tower-http).
//!
//! | | HTTP ([`http`]) | gRPC ([`grpc`], feature `grpc`) |
//! |---|---|---|
//! | server layer | [`http::HttpLayer`] | `grpc::GrpcLayer` |
//! | what it wraps, its future, its body | [`http::HttpService`], [`http::ResponseFuture`], [`http::ResponseBody`] | `grpc::GrpcService`, `grpc::ResponseFuture`, `grpc::ResponseBody` |
//! | outgoing calls | [`http::HttpClientMiddleware`] (reqwest) | `grpc::GrpcClientLayer` (tonic channels) |
//! | probes and `/metrics` | [`http::observability_routes`] | `grpc::HealthService` |
//! | serving with a graceful drain | [`serve()`], [`Server`] | `grpc::serve` |
//!
//! Messages ([`messaging`]) and datastore calls ([`db`]) get the same span,
//! RED and SLO figures. SLOs ([`slo::Slo`]) are declared on a layer with its
//! `slos` method. Each layer records a request when its response ends
//! (its body, for a stream):
//!
//! ```
//! use axum::{Router, body::Body, http::Request, routing::get};
//! use obskit::http::{HttpLayer, observability_routes};
//! use tower::ServiceExt as _;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let telemetry = obskit::testing::TestTelemetry::new(); // obskit::init!()? in main
//! let app = Router::new()
//!     .route("/hello", get(|| async { "hello" }))
//!     .merge(observability_routes(&telemetry))
//!     .layer(HttpLayer::new(&telemetry));
//!
//! let response = app.oneshot(Request::get("/hello").body(Body::empty())?).await?;
//! axum::body::to_bytes(response.into_body(), usize::MAX).await?;
//! let span = telemetry.span("GET /hello").expect("a server span");
//! assert_eq!(span.attribute("http.route").as_deref(), Some("/hello"));
//! # Ok(()) }
//! ```
//!
//! # Escape hatches
//!
//! - [`Telemetry::tracer`]: the SDK's tracer, for spans made by hand.
//! - [`SpanExt`]: the OpenTelemetry side of a `tracing` span (its ids, a
//!   parent taken from a message).
//! - `metrics::counter!` and its siblings in your own code land on the same
//!   `/metrics` ([`metrics`]).
//! - [`propagation::Propagator`]: the configured propagation formats, for
//!   any carrier.
//! - [`db`] and [`messaging`] carry calls of clients obskit does not wrap.
//! - [`Config::build_layer`]: your own subscriber (the ladder's last rung).
//! - `OBSKIT_SPAN_BRIDGE=tracing-opentelemetry`: tracing-opentelemetry's
//!   bridge, for code that needs its `OpenTelemetrySpanExt`.
//!
//! For tests, [`testing::TestTelemetry`] builds the same [`Telemetry`] with
//! nothing global and nothing on the network, keeping log lines and spans
//! in memory:
//!
//! ```
//! let telemetry = obskit::testing::TestTelemetry::new();
//! tracing::info!(answer = 42, "computed");
//! assert_eq!(telemetry.logs()[0]["answer"], 42);
//! ```

mod bridged;
pub mod config;
pub mod db;
mod digits;
pub mod error;
mod export;
#[cfg(feature = "grpc")]
pub mod grpc;
pub mod health;
mod hex;
pub mod http;
#[cfg(test)]
mod import_layers;
mod instrument;
mod logs;
pub mod messaging;
pub mod metrics;
pub mod propagation;
pub mod request_id;
mod resource;
pub mod serve;
pub mod slo;
mod span_context;
mod span_ext;
mod telemetry;
pub mod testing;
mod traces;

pub use config::{BuildInfo, Config};
pub use error::{ConfigError, InitError};
pub use serve::{ServeError, Server, serve};
pub use span_ext::{SetParentError, SpanExt};
pub use telemetry::{ShutdownReport, Telemetry};

// Crates whose types obskit's API takes or returns: re-exported so a user
// names them through obskit, at the versions obskit was built with, without
// a dependency of their own to keep in step.

/// `Context`, `KeyValue`, the propagation `Injector`/`Extractor` carriers
/// and the `trace` traits that [`SpanExt`], [`messaging`] and
/// [`propagation::Propagator`] take and return.
pub use opentelemetry;
/// The SDK's `Tracer`, which [`Telemetry::tracer`] returns for spans made
/// by hand.
pub use opentelemetry_sdk;
/// `reqwest::Client`, which [`http::HttpClientMiddleware::wrap`] takes.
pub use reqwest;
/// `ClientWithMiddleware`, which [`http::HttpClientMiddleware::wrap`]
/// returns, and `ClientBuilder` to compose the middleware with others.
pub use reqwest_middleware;
/// The `Level` of [`http::HttpLayer`]'s `access_log`, and the macros whose
/// events and spans obskit's logs and traces carry.
pub use tracing;
/// For code that uses tracing-opentelemetry's `OpenTelemetrySpanExt`: set
/// `OBSKIT_SPAN_BRIDGE=tracing-opentelemetry` so its layer bridges the spans
/// (obskit's own bridge answers [`SpanExt`] instead).
pub use tracing_opentelemetry;
/// The `Layer` and `Registry` of [`Config::build_layer`], for a subscriber
/// composed by hand.
pub use tracing_subscriber;
