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
//! service answers the readiness status; [`LIVENESS_SERVICE`] answers the
//! liveness status (SERVING while the process answers at all, drain
//! included) and [`STARTUP_SERVICE`] the startup status (SERVING once
//! started), for Kubernetes' native gRPC liveness and startup probes; any
//! other name is NOT_FOUND. `Watch` sends the current status at once, then every change; it ends
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

/// The service name whose status is the liveness status, for a Kubernetes
/// liveness probe: `grpc: {port: 8080, service: liveness}`. SERVING while
/// the process answers, during a drain too, so a draining pod is not restarted.
pub const LIVENESS_SERVICE: &str = "liveness";
/// The service name whose status is the startup status, for a Kubernetes
/// startup probe: `grpc: {port: 8080, service: startup}`. NOT_SERVING until
/// the server has started.
pub const STARTUP_SERVICE: &str = "startup";

/// Which report a service name answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    Readiness,
    Liveness,
    Startup,
}

/// The `grpc.health.v1.Health` service over obskit's health registry:
/// SERVING while readiness is up, NOT_SERVING while starting, while a
/// critical check fails, and from the first moment of a drain.
///
/// `Check` for the empty service name (the server as a whole) or a named
/// service answers the readiness status, [`LIVENESS_SERVICE`] the liveness
/// status and [`STARTUP_SERVICE`] the startup status (as `/health/live` and
/// `/health/startup` do); any other name is NOT_FOUND. `Watch` sends the current status at once, then every change; it ends
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

    fn probe(&self, service: &str) -> Option<Probe> {
        if service.is_empty() || self.services.iter().any(|s| s == service) {
            Some(Probe::Readiness)
        } else if service == LIVENESS_SERVICE {
            Some(Probe::Liveness)
        } else if service == STARTUP_SERVICE {
            Some(Probe::Startup)
        } else {
            None
        }
    }

    async fn status(health: &Health, probe: Probe) -> ServingStatus {
        let up = |report: crate::health::Report| match report.status {
            crate::health::Status::Up => ServingStatus::Serving,
            _ => ServingStatus::NotServing,
        };
        match probe {
            Probe::Liveness => return up(health.liveness()),
            Probe::Startup => return up(health.startup()),
            Probe::Readiness => {}
        }
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
        let Some(probe) = self.probe(&service) else {
            return Err(Status::not_found(format!(
                "service {service:?} is not known to this health service"
            )));
        };
        Ok(Response::new(reply(
            Self::status(&self.health, probe).await,
        )))
    }

    type WatchStream = WatchStream;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let service = request.into_inner().service;
        let Some(probe) = self.probe(&service) else {
            let once =
                futures_util::stream::once(async { Ok(reply(ServingStatus::ServiceUnknown)) })
                    .chain(futures_util::stream::pending());
            return Ok(Response::new(Box::pin(once)));
        };
        let mut changes = self.health.subscribe();
        changes.mark_changed();
        let state = (self.health.clone(), changes, None::<ServingStatus>);
        let updates =
            futures_util::stream::unfold(state, move |(health, mut changes, last)| async move {
                // Once a drain has been reported the stream ends, so it does
                // not hold the server's graceful shutdown open. Liveness and
                // startup stay SERVING through a drain: their watches end
                // with it once they have sent a status.
                let reported = match probe {
                    Probe::Readiness => last == Some(ServingStatus::NotServing),
                    Probe::Liveness | Probe::Startup => last.is_some(),
                };
                if reported && health.is_draining() {
                    return None;
                }
                loop {
                    changes.changed().await.ok()?;
                    let now = Self::status(&health, probe).await;
                    if last != Some(now) {
                        return Some((Ok(reply(now)), (health, changes, Some(now))));
                    }
                    if probe != Probe::Readiness && health.is_draining() {
                        return None;
                    }
                }
            });
        Ok(Response::new(Box::pin(updates)))
    }
}
