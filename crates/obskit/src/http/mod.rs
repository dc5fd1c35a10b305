//! HTTP instrumentation: the server layer for axum, the observability
//! routes, and the client for outgoing calls.
//!
//! The server side has the parts of tower-http's `trace` module: the
//! [`HttpLayer`] and its configuration, the [`HttpService`] it makes,
//! the service's [`ResponseFuture`], and the [`ResponseBody`] wrapping every
//! response body, so a request is recorded when its body ends. They are the
//! same parts as the gRPC layer's, shared by both protocols and told apart
//! by what each supplies: which requests it instruments, its span, how its
//! response and its body end.
//!
//! Serving (it runs until SIGTERM, so this example is not run):
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::get};
//! use obskit::http::{HttpLayer, observability_routes};
//!
//! let telemetry = obskit::init!()?;
//! let app = Router::new()
//!     .route("/hello/{name}", get(|| async { "hello" }))
//!     .merge(observability_routes(&telemetry))
//!     .layer(HttpLayer::new(&telemetry));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! obskit::serve(listener, app, telemetry).await?;
//! # Ok(()) }
//! ```

mod attributes;
mod body;
mod client;
mod exchange;
mod future;
mod labels;
mod layer;
mod red;
mod routes;
mod service;
mod state;

pub use body::ResponseBody;
pub use client::HttpClientMiddleware;
pub use future::ResponseFuture;
pub use layer::{DEFAULT_EXCLUDED_PATHS, HeaderError, HttpLayer};
pub use routes::{METRICS_CONTENT_TYPE, health_routes, metrics_route, observability_routes};
pub use service::HttpService;
#[cfg(feature = "grpc")]
pub(crate) use service::is_grpc;
