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
//!   sampled and propagated as the `OTEL_*` variables say.
//! - **Metrics**: a Prometheus registry with the semantic-convention
//!   histogram buckets, `process_*` series, a build-info series and
//!   `target_info`; with `OTEL_METRICS_EXPORTER=otlp`, also (or instead)
//!   pushed over OTLP with their exemplars.
//! - **Resource**: every signal names the service, its instance, host,
//!   process, container (`container.id` from the cgroup) and whatever
//!   `OTEL_RESOURCE_ATTRIBUTES` adds (a pod's `k8s.*` attributes).
//! - **HTTP**: [`http::ObskitLayer`] gives every request a server span, RED
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
//! For tests, [`testing::TestTelemetry`] builds the same [`Telemetry`] with
//! nothing global and nothing on the network, keeping log lines and spans
//! in memory:
//!
//! ```
//! let telemetry = obskit::testing::TestTelemetry::new();
//! tracing::info!(answer = 42, "computed");
//! assert_eq!(telemetry.logs()[0]["answer"], 42);
//! ```

pub mod config;
pub mod db;
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
mod span_ext;
mod telemetry;
pub mod testing;
mod traces;

pub use config::{BuildInfo, Config};
pub use error::{ConfigError, InitError};
pub use serve::{ServeError, Server, serve};
pub use span_ext::{SetParentError, SpanExt};
pub use telemetry::{ShutdownReport, Telemetry};

pub use opentelemetry;
pub use opentelemetry_otlp;
pub use opentelemetry_sdk;
pub use reqwest;
pub use reqwest_middleware;
pub use tracing;
/// For code that uses tracing-opentelemetry's `OpenTelemetrySpanExt`: set
/// `OBSKIT_SPAN_BRIDGE=tracing-opentelemetry` so its layer bridges the spans
/// (obskit's own bridge answers [`SpanExt`] instead).
pub use tracing_opentelemetry;
pub use tracing_subscriber;
