//! The server layer and its configuration: the instrumentation core's
//! layer, configured for gRPC. What only gRPC configures (services left
//! out, methods declared or learned) is here.

use std::sync::Arc;

use tonic::server::NamedService;

use super::methods::KnownMethods;
use super::red::{CallMetrics, Side};
use super::state::GrpcShared;
use crate::Telemetry;
use crate::instrument::{InstrumentLayer, LayerState};

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
/// declared with `methods`; every other call shares the
/// value `_OTHER`, so clients cannot mint label values (at most 1000 methods
/// are learned per layer).
pub type GrpcLayer = InstrumentLayer<GrpcShared>;

crate::instrument::server_layer_settings!(GrpcLayer, "grpc::GrpcLayer");

impl GrpcLayer {
    /// A layer recording into `telemetry`'s tracer and metrics, with the
    /// default exclusions and the access log at the level
    /// `OBSKIT_ACCESS_LOG` says (default `INFO`).
    pub fn new(telemetry: &Telemetry) -> Self {
        Self::from_shared(GrpcShared {
            core: LayerState::new(telemetry, DEFAULT_EXCLUDED_SERVICES),
            metrics: Arc::new(CallMetrics::new(telemetry.metrics(), Side::Server)),
            known: Arc::new(KnownMethods::default()),
        })
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
            .shared()
            .known
            .limited_to(services.into_iter().map(Into::into).collect());
        self.shared_mut().known = Arc::new(known);
        self
    }

    /// Adds the tonic service `S` (e.g. `GreeterServer<MyGreeter>`) to the
    /// services whose methods can become known (see [`services`](Self::services)).
    #[must_use]
    pub fn service<S: NamedService>(self) -> Self {
        let mut services = self.shared().known.services().unwrap_or_default();
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
            self.shared().known.declare(m.as_ref());
        }
        self
    }

    /// Replaces the services left out of all figures (default
    /// [`DEFAULT_EXCLUDED_SERVICES`]).
    #[must_use]
    pub fn excluded_services<I, S>(self, services: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.set_excluded(services)
    }
}
