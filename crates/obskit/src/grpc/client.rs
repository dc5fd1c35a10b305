//! Outgoing gRPC calls: a layer for tonic `Channel`s that opens a client
//! span, injects W3C trace context and baggage into the metadata, and
//! records `rpc_client_call_duration_seconds` by method and status (never
//! by peer), each ended when the response stream ends.
//!
//! ```no_run
//! # async fn demo(telemetry: &obskit::Telemetry) -> Result<(), Box<dyn std::error::Error>> {
//! use obskit::grpc::GrpcClientLayer;
//!
//! let channel = tonic::transport::Channel::from_static("http://inventory:50051").connect_lazy();
//! let channel = tower::ServiceBuilder::new()
//!     .layer(GrpcClientLayer::new(telemetry).target("inventory:50051"))
//!     .service(channel);
//! // let mut client = InventoryClient::new(channel);
//! // or, without tower: GrpcClientLayer::new(telemetry).wrap(channel)
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Instant;

use http::{Request, Response};
use http_body::Body;
use opentelemetry::{Context, KeyValue};
use tower_layer::Layer;

use super::call::{Call, ClientCall, Deadline, Ending};
use super::methods::{self, KnownMethods};
use super::red::{CallMetrics, Side};
use super::state::GrpcClientShared;
use super::status;
use crate::Telemetry;
use crate::instrument::{self, Adapter, Awaited, Instrument, InstrumentLayer, start_client};
use crate::metrics::names::{RPC_METHOD_OTHER, RPC_SYSTEM_GRPC};
use crate::slo::SloSet;

/// Instruments outgoing calls on a tonic `Channel` (or any gRPC client
/// service): a client span, W3C trace context and baggage injected into the
/// metadata, and `rpc_client_call_duration_seconds` by method and status
/// (never by peer), each call ended when its response stream ends.
///
/// ```no_run
/// # async fn demo(telemetry: &obskit::Telemetry) -> Result<(), Box<dyn std::error::Error>> {
/// use obskit::grpc::GrpcClientLayer;
///
/// let channel = tonic::transport::Channel::from_static("http://inventory:50051").connect_lazy();
/// let channel = GrpcClientLayer::new(telemetry).target("inventory:50051").wrap(channel);
/// // let mut client = InventoryClient::new(channel);
/// // (or `tower::ServiceBuilder::new().layer(layer).service(channel)`)
/// # Ok(()) }
/// ```
pub type GrpcClientLayer = InstrumentLayer<GrpcClientShared>;

impl GrpcClientLayer {
    /// Records into `telemetry`'s tracer and metrics.
    pub fn new(telemetry: &Telemetry) -> Self {
        Self::from_shared(GrpcClientShared {
            tracer: crate::instrument::ClientTracer::new(telemetry),
            propagator: Arc::clone(&telemetry.propagator),
            metrics: CallMetrics::new(telemetry.metrics(), Side::Client),
            known: KnownMethods::default(),
            server: None,
            slos: SloSet::default(),
        })
    }

    /// The target the channel connects to (`host:port`, or a URI such as
    /// `http://host:port`), reported as `server.address` and `server.port`
    /// on client spans. A tonic channel adds its origin below this layer, so
    /// the layer cannot see it otherwise. Never a metric label.
    #[must_use]
    pub fn target(self, target: &str) -> Self {
        let stripped = target.split_once("://").map_or(target, |(_, rest)| rest);
        let authority = stripped.split('/').next().unwrap_or(stripped);
        let server = match authority.parse::<http::uri::Authority>() {
            Ok(a) => (a.host().to_owned(), a.port_u16()),
            Err(_) => (target.to_owned(), None),
        };
        let shared = self.shared();
        Self::from_shared(GrpcClientShared {
            tracer: shared.tracer.clone(),
            propagator: Arc::clone(&shared.propagator),
            metrics: CallMetrics::new(shared.metrics.handle(), Side::Client),
            known: KnownMethods::default(),
            server: Some(server),
            slos: SloSet::default(),
        })
    }

    /// Wraps `channel` (what `tower::ServiceBuilder::layer` does), for code
    /// that does not use tower itself.
    pub fn wrap<S>(&self, channel: S) -> GrpcClient<S> {
        self.layer(channel)
    }
}

/// The service [`GrpcClientLayer`] wraps around a channel.
pub type GrpcClient<S> = Instrument<GrpcClientShared, S>;

impl Adapter for GrpcClientShared {
    type Exchange = ClientCall;

    const LAYER: &'static str = "GrpcClientLayer";
    const SERVICE: &'static str = "GrpcClient";

    fn start<B>(shared: &Arc<Self>, req: &mut Request<B>) -> Option<ClientCall> {
        let start = Instant::now();
        // The caller's own stubs name the method, so it is learned as sent
        // (within the cap); a path without the gRPC shape is `_OTHER`.
        let method = methods::from_path(req.uri().path())
            .and_then(|m| shared.known.learn(m))
            .unwrap_or(RPC_METHOD_OTHER);
        let name = if method == RPC_METHOD_OTHER {
            RPC_SYSTEM_GRPC
        } else {
            method
        };
        let mut attributes = vec![
            KeyValue::new("rpc.system.name", RPC_SYSTEM_GRPC),
            KeyValue::new("rpc.method", method),
        ];
        let server = req
            .uri()
            .authority()
            .map(|a| (a.host().to_owned(), a.port_u16()))
            .or_else(|| shared.server.clone());
        if let Some((host, port)) = server {
            attributes.push(KeyValue::new("server.address", host));
            if let Some(p) = port {
                attributes.push(KeyValue::new("server.port", i64::from(p)));
            }
        }
        let cx = start_client(
            &shared.tracer,
            &shared.propagator,
            name,
            attributes,
            req.headers_mut(),
        );
        let active = shared.metrics.active(method);
        active.increment(1.0);
        let deadline = status::timeout(req.headers()).map(Deadline::made);
        let call = ClientCall::new(cx, start, active, method, deadline, Arc::clone(shared));
        Some(call)
    }

    fn debug_fields(&self, f: &mut std::fmt::DebugStruct<'_, '_>) {
        f.field("server", &self.server);
    }
}

/// The future of [`GrpcClient`].
pub type ClientResponseFuture<F> = instrument::ResponseFuture<F, ClientCall>;

impl Awaited for ClientCall {
    type Body = Call;

    fn context(&self) -> Option<&Context> {
        None
    }

    fn respond<B: Body>(self, response: &mut Response<B>) -> Option<Call> {
        Call::Client(self).answered(response)
    }

    fn failed(self) {
        self.unanswered();
    }

    fn dropped(self) {
        self.end(Ending::Dropped);
    }
}
