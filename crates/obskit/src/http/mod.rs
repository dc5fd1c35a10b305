//! HTTP instrumentation: the server layer for axum, the observability
//! routes, and the client for outgoing calls.
//!
//! The server side is laid out like tower-http's `trace` module: the
//! [`ObskitLayer`] and its configuration, the [`ObskitService`] it makes,
//! the service's [`ResponseFuture`], and the [`ObskitBody`] wrapping every
//! response body, so a request is recorded when its body ends.
//!
//! Serving (it runs until SIGTERM, so this example is not run):
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::get};
//! use obskit::http::{ObskitLayer, observability_routes};
//!
//! let telemetry = obskit::init!()?;
//! let app = Router::new()
//!     .route("/hello/{name}", get(|| async { "hello" }))
//!     .merge(observability_routes(&telemetry))
//!     .layer(ObskitLayer::new(&telemetry));
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

pub use body::ObskitBody;
pub use client::ClientMiddleware;
pub use future::ResponseFuture;
pub use layer::{DEFAULT_EXCLUDED_PATHS, HeaderError, ObskitLayer};
pub use routes::{METRICS_CONTENT_TYPE, health_routes, metrics_route, observability_routes};
pub use service::ObskitService;
#[cfg(feature = "grpc")]
pub(crate) use service::is_grpc;
