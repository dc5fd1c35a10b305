//! The server layer's configuration.

use std::sync::Arc;

use tonic::server::NamedService;
use tower_layer::Layer;
use tracing::Level;

use super::methods::KnownMethods;
use super::red::{CallMetrics, Side};
use super::service::GrpcService;
use super::state::Shared;
use crate::Telemetry;
use crate::instrument::LayerState;
use crate::slo::{Slo, SloError};

/// Services left out of spans, the access log, RED and SLO figures by
/// default: the health service and server reflection.
pub const DEFAULT_EXCLUDED_SERVICES: &[&str] = &[
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// Instruments a tonic server: one span, RED metrics, SLO counters, a
/// request id and an access line for every call, each ended when the
/// call's response stream ends.
///
/// Apply it to the whole server with `Server::builder().layer(..)`, or to
/// tonic services routed inside an axum `Router` with `Router::layer` (after
/// the gRPC routes, before `HttpLayer`'s HTTP routes are merged, so each
/// call is counted once).
///
/// ```no_run
/// # async fn demo(telemetry: obskit::Telemetry) -> Result<(), Box<dyn std::error::Error>> {
/// use obskit::grpc::GrpcLayer;
/// use obskit::slo::Slo;
///
/// let layer = GrpcLayer::new(&telemetry).slos([Slo::availability("availability", 0.999)?])?;
/// let server = tonic::transport::Server::builder().layer(layer);
/// // server.add_service(MyServer::new(MyService)).serve(addr).await?;
/// # Ok(()) }
/// ```
///
/// Method names: `rpc.method` is the method's name (`package.Service/Method`)
/// once the server has answered it with anything but UNIMPLEMENTED, or when
/// declared with [`methods`](Self::methods); every other call shares the
/// value `_OTHER`, so clients cannot mint label values (at most 1000 methods
/// are learned per layer).
#[derive(Clone)]
pub struct GrpcLayer {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for GrpcLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcLayer")
            .field("excluded", &self.shared.core.excluded)
            .field("access_log", &self.shared.core.access_log)
            .finish_non_exhaustive()
    }
}

impl GrpcLayer {
    /// A layer recording into `telemetry`'s tracer and metrics, with the
    /// default exclusions and the access log at the level
    /// `OBSKIT_ACCESS_LOG` says (default `INFO`).
    pub fn new(telemetry: &Telemetry) -> Self {
        Self {
            shared: Arc::new(Shared {
                core: LayerState::new(telemetry, DEFAULT_EXCLUDED_SERVICES),
                metrics: Arc::new(CallMetrics::new(telemetry.metrics(), Side::Server)),
                known: Arc::new(KnownMethods::default()),
            }),
        }
    }

    fn shared_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.shared)
    }

    /// Declares the service's SLOs; every call is classified against each,
    /// into the same `obskit_slo_requests_total` as HTTP requests (give
    /// `HttpLayer` the same declarations to count both). Availability
    /// counts a call bad when it ends UNKNOWN, DEADLINE_EXCEEDED,
    /// UNIMPLEMENTED, INTERNAL, UNAVAILABLE or DATA_LOSS (a call dropped
    /// once its deadline has passed is DEADLINE_EXCEEDED). A CANCELLED call,
    /// one the caller left before its end, counts as HTTP's cancelled
    /// requests do: in RED with its code, neither good nor bad for
    /// availability, bad for latency only once it had outlived the
    /// threshold. Latency is the exact duration to the end of the response
    /// stream. A route filter
    /// matches `package.Service/Method`, a method filter `POST`.
    pub fn slos(mut self, slos: impl IntoIterator<Item = Slo>) -> Result<Self, SloError> {
        self.shared_mut().core.set_slos(slos)?;
        Ok(self)
    }

    /// Only methods of these services (`package.Service`) can become
    /// known; calls to any other service are reported as `_OTHER` whatever
    /// they answer. Useful when something in front of the router answers
    /// unknown paths with a status other than UNIMPLEMENTED.
    #[must_use]
    pub fn services<I, S>(mut self, services: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let known = self
            .shared
            .known
            .limited_to(services.into_iter().map(Into::into).collect());
        self.shared_mut().known = Arc::new(known);
        self
    }

    /// Adds the tonic service `S` (e.g. `GreeterServer<MyGreeter>`) to the
    /// services whose methods can become known (see [`services`](Self::services)).
    #[must_use]
    pub fn service<S: NamedService>(self) -> Self {
        let mut services = self.shared.known.services().unwrap_or_default();
        services.push(S::NAME.to_owned());
        self.services(services)
    }

    /// Declares methods (`package.Service/Method`) known from the start.
    #[must_use]
    pub fn methods<I, M>(self, methods: I) -> Self
    where
        I: IntoIterator<Item = M>,
        M: AsRef<str>,
    {
        for m in methods {
            self.shared.known.declare(m.as_ref());
        }
        self
    }

    /// Replaces the services left out of all figures (default
    /// [`DEFAULT_EXCLUDED_SERVICES`]).
    #[must_use]
    pub fn excluded_services<I, S>(mut self, services: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.shared_mut().core.set_excluded(services);
        self
    }

    /// Sets the access log level; `None` turns the access log off.
    #[must_use]
    pub fn access_log(mut self, level: Option<Level>) -> Self {
        self.shared_mut().core.access_log.level = level;
        self
    }
}

impl<S> Layer<S> for GrpcLayer {
    type Service = GrpcService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}
