//! The standard `grpc.health.v1.Health` service, driven by obskit's
//! health registry: SERVING while readiness is up, NOT_SERVING while
//! starting, while a critical check fails, and from the first moment of a
//! drain. Kubernetes' native gRPC probes and `grpc_health_probe` use it.
//!
//! ```no_run
//! # async fn demo(telemetry: obskit::Telemetry) -> Result<(), Box<dyn std::error::Error>> {
//! use obskit::grpc::{GrpcLayer, HealthService};
//!
//! let health = HealthService::new(&telemetry).services(["helloworld.Greeter"]);
//! let routes = tonic::service::Routes::new(health.into_server());
//! // routes.add_service(GreeterServer::new(MyGreeter)) ...
//! # Ok(()) }
//! ```
//!
//! `Check` for the empty service name (the server as a whole) or a named
//! service answers the readiness status; any other name is NOT_FOUND.
//! `Watch` sends the current status at once, then every change; it ends
//! after reporting NOT_SERVING for a drain, so open watches do not hold a
//! graceful shutdown open (clients retry, and find the server gone).

use std::pin::Pin;

use futures_util::{Stream, StreamExt as _};
use tonic::server::NamedService;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_server::{Health as HealthApi, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

use crate::Telemetry;
use crate::health::Health;

/// The `grpc.health.v1.Health` service over obskit's health registry:
/// SERVING while readiness is up, NOT_SERVING while starting, while a
/// critical check fails, and from the first moment of a drain.
///
/// `Check` for the empty service name (the server as a whole) or a named
/// service answers the readiness status; any other name is NOT_FOUND.
/// `Watch` sends the current status at once, then every change; it ends
/// after reporting NOT_SERVING for a drain.
///
/// ```no_run
/// # fn demo(telemetry: &obskit::Telemetry) {
/// use obskit::grpc::{GrpcRoutes, HealthService};
///
/// let routes = GrpcRoutes::new()
///     .add_service(HealthService::new(telemetry).services(["helloworld.Greeter"]).into_server());
/// # }
/// ```
#[derive(Clone)]
pub struct HealthService {
    health: Health,
    services: Vec<String>,
}

impl std::fmt::Debug for HealthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthService")
            .field("services", &self.services)
            .finish_non_exhaustive()
    }
}

impl HealthService {
    /// The health service of `telemetry`'s registry, answering for the
    /// server as a whole (service name `""`).
    pub fn new(telemetry: &Telemetry) -> Self {
        Self {
            health: telemetry.health(),
            services: Vec::new(),
        }
    }

    /// Also answers for these service names (`package.Service`).
    #[must_use]
    pub fn services<I, S>(mut self, services: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.services.extend(services.into_iter().map(Into::into));
        self
    }

    /// Also answers for the tonic service `S`.
    #[must_use]
    pub fn service<S: NamedService>(self) -> Self {
        self.services([S::NAME])
    }

    /// The tonic server to add to a router.
    pub fn into_server(self) -> HealthServer<Self> {
        HealthServer::new(self)
    }

    fn knows(&self, service: &str) -> bool {
        service.is_empty() || self.services.iter().any(|s| s == service)
    }

    async fn status(health: &Health) -> ServingStatus {
        if health.is_draining() || !health.is_started() {
            return ServingStatus::NotServing;
        }
        match health.readiness().await.status {
            crate::health::Status::Up => ServingStatus::Serving,
            _ => ServingStatus::NotServing,
        }
    }
}

fn reply(status: ServingStatus) -> HealthCheckResponse {
    HealthCheckResponse {
        status: status.into(),
    }
}

/// The stream of a `Watch` call.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

#[tonic::async_trait]
impl HealthApi for HealthService {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        let service = request.into_inner().service;
        if !self.knows(&service) {
            return Err(Status::not_found(format!(
                "service {service:?} is not known to this health service"
            )));
        }
        Ok(Response::new(reply(Self::status(&self.health).await)))
    }

    type WatchStream = WatchStream;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let service = request.into_inner().service;
        if !self.knows(&service) {
            let once =
                futures_util::stream::once(async { Ok(reply(ServingStatus::ServiceUnknown)) })
                    .chain(futures_util::stream::pending());
            return Ok(Response::new(Box::pin(once)));
        }
        let mut changes = self.health.subscribe();
        changes.mark_changed();
        let state = (self.health.clone(), changes, None::<ServingStatus>);
        let updates =
            futures_util::stream::unfold(state, |(health, mut changes, last)| async move {
                // Once a drain has been reported the stream ends, so it does
                // not hold the server's graceful shutdown open.
                if last == Some(ServingStatus::NotServing) && health.is_draining() {
                    return None;
                }
                loop {
                    changes.changed().await.ok()?;
                    let now = Self::status(&health).await;
                    if last != Some(now) {
                        return Some((Ok(reply(now)), (health, changes, Some(now))));
                    }
                }
            });
        Ok(Response::new(Box::pin(updates)))
    }
}
