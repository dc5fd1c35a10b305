//! obskit: one line in `main` for production-grade observability.
//!
//! ```no_run
//! # async fn run() -> Result<(), obskit::InitError> {
//! let telemetry = obskit::init()?; // JSON logs with trace ids, OTLP traces, Prometheus metrics
//! // ... build the router, serve ...
//! telemetry.shutdown().await;      // flushes within a bound (or just drop it)
//! # Ok(()) }
//! ```
//!
//! What you get:
//! - **Logs**: one JSON object per line with `trace_id` and `span_id` of the
//!   current OpenTelemetry span, filtered by `RUST_LOG`, written by a
//!   bounded non-blocking writer.
//! - **Traces**: OpenTelemetry spans exported over OTLP (gRPC or HTTP),
//!   sampled and propagated as the `OTEL_*` variables say.
//! - **Metrics**: a Prometheus registry with the semantic-convention
//!   histogram buckets, `process_*` series and a build-info series.
//!
//! The ladder: [`init`] reads the environment and installs everything;
//! [`Config::install`] does the same for a configuration you built;
//! [`Config::build`] installs nothing and hands you a layer for your own
//! subscriber.

pub mod config;
pub mod error;
#[cfg(feature = "grpc")]
pub mod grpc;
pub mod health;
pub mod http;
mod logs;
pub mod metrics;
pub mod request_id;
mod resource;
pub mod serve;
pub mod slo;
mod telemetry;
mod traces;

pub use config::{BuildInfo, Config};
pub use error::{ConfigError, InitError};
pub use serve::{Server, serve};
pub use telemetry::{ShutdownReport, Telemetry, init};

pub use ::metrics as metrics_rs;
pub use opentelemetry;
pub use opentelemetry_otlp;
pub use opentelemetry_sdk;
pub use reqwest;
pub use reqwest_middleware;
pub use tracing;
pub use tracing_opentelemetry;
pub use tracing_subscriber;
