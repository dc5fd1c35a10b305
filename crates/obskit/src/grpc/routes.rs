//! gRPC services as an axum router to merge with HTTP routes on one port.
//!
//! tonic's own `Routes` answers every path it does not know with a gRPC
//! UNIMPLEMENTED (HTTP 200 and `grpc-status: 12`), which is right on a
//! gRPC-only port but wrong once merged with HTTP routes: an unknown HTTP
//! path would answer 200. [`GrpcRoutes`] routes each service under
//! `/{package.Service}/` and adds no fallback, so unknown HTTP paths stay
//! 404 (which gRPC clients read as UNIMPLEMENTED).

use std::convert::Infallible;

use http::Request;
use tonic::body::Body;
use tonic::server::NamedService;
use tower::ServiceExt as _;
use tower_service::Service;

/// gRPC services routed for an axum `Router` that also serves HTTP: each
/// service under `/{package.Service}/`, and no catch-all fallback, so
/// unknown HTTP paths stay 404 (tonic's own `Routes` answers them with a
/// gRPC UNIMPLEMENTED). See the [`grpc`](super) module for an example.
#[derive(Debug, Clone, Default)]
pub struct GrpcRoutes {
    router: axum::Router,
}

impl GrpcRoutes {
    /// No services yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes the tonic service `svc` (e.g. `GreeterServer::new(MyGreeter)`)
    /// under `/{S::NAME}/`.
    #[must_use]
    pub fn add_service<S>(self, svc: S) -> Self
    where
        S: Service<Request<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        Self {
            router: self.router.route_service(
                &format!("/{}/{{*rest}}", S::NAME),
                svc.map_request(|req: Request<axum::body::Body>| req.map(Body::new)),
            ),
        }
    }

    /// The router, to `.layer(GrpcLayer::new(..))` and merge with HTTP routes.
    pub fn into_router(self) -> axum::Router {
        self.router
    }
}
