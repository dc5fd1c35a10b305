//! gRPC instrumentation for tonic (feature `grpc`): the same spans, RED
//! metrics, SLO counters, request ids, access lines and probes as the HTTP
//! layer, by the OpenTelemetry RPC semantic conventions.
//!
//! - [`GrpcLayer`]: the server layer. One `SERVER` span per call named
//!   `package.Service/Method`, with `rpc.system.name`, `rpc.method`,
//!   `rpc.status_code`, `error.type`, `server.address`/`server.port` (from
//!   `:authority`) and `network.peer.*`; its parent extracted from the
//!   metadata with the same strict W3C validation as HTTP. The status is
//!   read where it really is (the headers of a trailers-only answer, or the
//!   trailers after the last message), so span, duration and status end
//!   when the response stream ends; a call dropped before its end is
//!   CANCELLED (DEADLINE_EXCEEDED once its `grpc-timeout` has passed).
//!   `rpc_server_call_duration_seconds{rpc_system_name, rpc_method,
//!   rpc_status_code, error_type}` and `obskit_rpc_server_active_calls`.
//!
//!   Availability counts UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED,
//!   INTERNAL, UNAVAILABLE and DATA_LOSS as server errors, as the RPC
//!   semantic conventions do. UNIMPLEMENTED stays one on purpose: a client
//!   calling a method this server does not have is a client and server out
//!   of step (a rollout in the wrong order), which the service's owner must
//!   see. Calls to methods the server does not know share `rpc.method`
//!   `_OTHER` in metrics and on spans (a span named `grpc` keeps the name it
//!   was called with as `rpc.method_original`), so callers cannot mint
//!   label values.
//! - [`GrpcClientLayer`]: the same for calls made through a tonic `Channel`,
//!   with trace context and baggage injected into the metadata.
//! - [`HealthService`]: `grpc.health.v1.Health` answering from obskit's
//!   health registry.
//! - [`serve`]: a tonic router served with obskit's graceful shutdown.
//!
//! One process serving HTTP and gRPC on one port:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::get};
//! use obskit::grpc::{GrpcLayer, GrpcRoutes, HealthService};
//! use obskit::http::{HttpLayer, observability_routes};
//!
//! let telemetry = obskit::init!()?;
//! let grpc = GrpcRoutes::new()
//!     .add_service(HealthService::new(&telemetry).into_server())
//!     // .add_service(GreeterServer::new(MyGreeter))
//!     .into_router()
//!     .layer(GrpcLayer::new(&telemetry));
//! // HttpLayer goes outside, so it also sees unmatched paths; it leaves
//! // gRPC calls (content-type application/grpc) to the GrpcLayer inside.
//! let app = Router::new()
//!     .route("/hello", get(|| async { "hello" }))
//!     .merge(observability_routes(&telemetry))
//!     .merge(grpc)
//!     .layer(HttpLayer::new(&telemetry));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! obskit::serve(listener, app, telemetry).await?;
//! # Ok(()) }
//! ```
//!
//! axum serves HTTP/1.1 and HTTP/2 (prior knowledge) on the same port, so
//! gRPC clients connect to it like to any tonic server. Use [`GrpcRoutes`]
//! rather than tonic's `Routes` here: tonic's answers every unknown path,
//! HTTP ones included, with a gRPC UNIMPLEMENTED.

pub(crate) mod attributes;
mod body;
mod call;
mod client;
mod future;
mod health;
mod layer;
mod methods;
mod red;
mod routes;
mod serve;
mod service;
mod state;
mod status;

pub use body::ResponseBody;
pub use client::{ClientResponseFuture, GrpcClient, GrpcClientLayer};
pub use future::ResponseFuture;
pub use health::{HealthService, LIVENESS_SERVICE, STARTUP_SERVICE, WatchStream};
pub use layer::{DEFAULT_EXCLUDED_SERVICES, GrpcLayer};
pub use methods::MAX_KNOWN_METHODS;
pub use routes::GrpcRoutes;
pub use serve::{GrpcServer, serve};
pub use service::GrpcService;
