//! HTTP instrumentation: the server layer for axum, the observability
//! routes, and the client for outgoing calls.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::get};
//! use obskit::http::{ObskitLayer, observability_routes};
//!
//! let telemetry = obskit::init()?;
//! let app = Router::new()
//!     .route("/hello/{name}", get(|| async { "hello" }))
//!     .merge(observability_routes(&telemetry))
//!     .layer(ObskitLayer::new(&telemetry));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! obskit::serve(listener, app, telemetry).await?;
//! # Ok(()) }
//! ```

pub(crate) mod carrier;
mod client;
mod labels;
mod layer;
mod red;
mod routes;

pub use client::{Client, ClientMiddleware, client};
pub use layer::{
    DEFAULT_EXCLUDED_PATHS, HeaderError, ObskitLayer, ObskitService, ResponseFuture, X_REQUEST_ID,
};
pub use routes::{METRICS_CONTENT_TYPE, health_routes, metrics_route, observability_routes};
