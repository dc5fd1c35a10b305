//! Serving a tonic router with obskit's graceful, bounded shutdown: the
//! same sequence as [`crate::serve`] (readiness and the gRPC health
//! service turn NOT_SERVING → drain delay → stop accepting → in-flight
//! bound → telemetry flushed), because it is the same server: a tonic
//! router is an axum router, served over HTTP/2 by [`crate::Server`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use obskit::grpc::HealthService;
//!
//! let telemetry = obskit::init!()?;
//! let routes = tonic::service::Routes::new(HealthService::new(&telemetry).into_server());
//! // let routes = routes.add_service(GreeterServer::new(MyGreeter));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:50051").await?;
//! obskit::grpc::serve(listener, routes, telemetry).await?;
//! # Ok(()) }
//! ```
//!
//! To serve HTTP routes and gRPC services from one process, merge them
//! into one axum router (see the [module docs](super)) and use
//! [`crate::serve`].

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::service::Routes;

use super::GrpcLayer;
use crate::serve::ServeError;
use crate::{Server, ShutdownReport, Telemetry};

/// Serves `routes`, instrumented with a default [`GrpcLayer`], on
/// `listener` until SIGTERM or Ctrl-C, then shuts down gracefully.
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    telemetry: Telemetry,
) -> Result<ShutdownReport, ServeError> {
    GrpcServer::new(listener, routes, telemetry).run().await
}

/// A gRPC server with options; [`serve`] is its shorthand.
pub struct GrpcServer {
    server: Server,
}

impl std::fmt::Debug for GrpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcServer")
            .field("server", &self.server)
            .finish()
    }
}

impl GrpcServer {
    /// `routes` instrumented with a default [`GrpcLayer`].
    pub fn new(listener: TcpListener, routes: Routes, telemetry: Telemetry) -> Self {
        let layer = GrpcLayer::new(&telemetry);
        Self::with_layer(listener, routes, layer, telemetry)
    }

    /// `routes` instrumented with `layer` (for SLOs, exclusions, ...).
    pub fn with_layer(
        listener: TcpListener,
        routes: Routes,
        layer: GrpcLayer,
        telemetry: Telemetry,
    ) -> Self {
        let router = routes.prepare().into_axum_router().layer(layer);
        Self {
            server: Server::new(listener, router, telemetry),
        }
    }

    /// Also serves the HTTP probes and `/metrics` on `listener` (an admin port).
    #[must_use]
    pub fn admin(self, listener: TcpListener) -> Self {
        Self {
            server: self.server.admin(listener),
        }
    }

    /// Shuts down when `signal` completes instead of on SIGTERM / Ctrl-C.
    #[must_use]
    pub fn shutdown_signal(self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        Self {
            server: self.server.shutdown_signal(signal),
        }
    }

    /// Overrides the drain delay.
    #[must_use]
    pub fn drain_delay(self, delay: Duration) -> Self {
        Self {
            server: self.server.drain_delay(delay),
        }
    }

    /// Overrides the in-flight timeout.
    #[must_use]
    pub fn inflight_timeout(self, timeout: Duration) -> Self {
        Self {
            server: self.server.inflight_timeout(timeout),
        }
    }

    /// Runs until the signal, then shuts down within the bound.
    pub async fn run(self) -> Result<ShutdownReport, ServeError> {
        self.server.run().await
    }
}
