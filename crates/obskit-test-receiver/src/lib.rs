//! A real OTLP trace, log and metrics receiver for tests, built on the official `opentelemetry-proto` definitions.
//!
//! Exporter tests need something on the other end of the wire that speaks
//! OTLP exactly as a collector does, records what arrived, and can misbehave
//! on demand. [`Receiver`] runs an OTLP/gRPC server (the generated
//! `TraceService`, `LogsService` and `MetricsService`) and an OTLP/HTTP
//! server (`POST /v1/traces`, `/v1/logs`, `/v1/metrics`,
//! `application/x-protobuf` or `application/json`) on ephemeral `127.0.0.1`
//! ports and flattens every received span into a [`ReceivedSpan`] and every
//! log record into a [`ReceivedLog`]; metrics requests are kept whole
//! ([`ReceivedMetricsRequest`]). [`Behavior`] makes it fail or answer
//! slowly; [`BlackHole`] accepts connections and never answers;
//! [`refused_endpoint`] is a port nobody listens on. [`Receiver::start_tls`]
//! serves both over TLS (optionally requiring client certificates) with
//! certificates from a [`TestCa`]; gzip bodies are decoded on both.
//!
//! The servers run on their own thread and runtime, so the receiver keeps
//! answering while a test blocks its runtime (a batch span processor's
//! `shutdown()` does), and works from any tokio runtime flavor or none.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use obskit_test_receiver::{Protocol, Receiver};
//! use obskit_test_receiver::proto::collector::trace::v1::ExportTraceServiceRequest;
//! use obskit_test_receiver::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
//! use prost::Message;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let receiver = Receiver::start().await?;
//! // Point the code under test at it, e.g.
//! // OTEL_EXPORTER_OTLP_ENDPOINT = receiver.grpc_endpoint() (protocol grpc)
//! // OTEL_EXPORTER_OTLP_ENDPOINT = receiver.http_endpoint() (protocol http/protobuf)
//! // Here a hand-made export stands in for an exporter:
//! let request = ExportTraceServiceRequest {
//!     resource_spans: vec![ResourceSpans {
//!         scope_spans: vec![ScopeSpans {
//!             spans: vec![Span {
//!                 name: "checkout".into(),
//!                 trace_id: vec![7; 16],
//!                 span_id: vec![1; 8],
//!                 ..Span::default()
//!             }],
//!             ..ScopeSpans::default()
//!         }],
//!         ..ResourceSpans::default()
//!     }],
//! };
//! let response = reqwest::Client::new()
//!     .post(receiver.http_traces_url())
//!     .header("content-type", "application/x-protobuf")
//!     .header("x-api-key", "secret")
//!     .body(request.encode_to_vec())
//!     .send()
//!     .await?;
//! assert_eq!(response.status(), 200);
//!
//! let spans = receiver.wait_for_spans(1, Duration::from_secs(5)).await;
//! assert_eq!(spans[0].name, "checkout");
//! assert_eq!(spans[0].trace_id, "07".repeat(16));
//! assert_eq!(spans[0].parent_span_id, None);
//! assert_eq!(spans[0].protocol, Protocol::Http);
//! assert_eq!(receiver.requests()[0].header("X-Api-Key"), Some("secret"));
//! # Ok(())
//! # }
//! ```

mod attr;
mod behavior;
mod black_hole;
mod grpc;
mod http;
mod log;
mod receiver;
mod request;
mod server;
mod span;
mod store;
mod tls;

pub use attr::AttrValue;
pub use behavior::Behavior;
pub use black_hole::{BlackHole, refused_endpoint};
pub use log::ReceivedLog;
pub use receiver::Receiver;
pub use request::{Protocol, ReceivedLogsRequest, ReceivedMetricsRequest, ReceivedRequest};
pub use span::ReceivedSpan;
pub use tls::{Identity, TestCa, TlsSettings};

/// The generated OTLP protobuf types (`opentelemetry_proto::tonic`), re-exported
/// so tests can build requests and read [`ReceivedSpan::raw`] without their own dependency.
pub use opentelemetry_proto::tonic as proto;
/// The span kind of a [`ReceivedSpan`] (`Server`, `Client`, `Internal`, …).
pub use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
/// The status code of a [`ReceivedSpan`] (`Unset`, `Ok`, `Error`).
pub use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
