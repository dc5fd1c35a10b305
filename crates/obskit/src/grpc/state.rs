//! What the gRPC layers share between their calls: the core's layer state
//! and what only gRPC needs, for the server and the client side.

use std::sync::Arc;

use super::methods::KnownMethods;
use super::red::CallMetrics;
use crate::instrument::{LayerState, ServerAdapter};
use crate::slo::SloSet;

/// The server layer's configuration, shared by every call it instruments.
#[derive(Clone)]
pub struct GrpcShared {
    pub(crate) core: LayerState,
    pub(crate) metrics: Arc<CallMetrics>,
    pub(crate) known: Arc<KnownMethods>,
}

/// The client layer's configuration, shared by every call it makes.
pub struct GrpcClientShared {
    pub(crate) tracer: crate::instrument::ClientTracer,
    pub(crate) propagator: Arc<crate::propagation::Propagator>,
    pub(crate) metrics: CallMetrics,
    pub(crate) known: KnownMethods,
    pub(crate) server: Option<(String, Option<u16>)>,
    /// Outgoing calls count against no SLO of this service.
    pub(crate) slos: SloSet,
}

impl ServerAdapter for GrpcShared {
    fn core_mut(&mut self) -> &mut LayerState {
        &mut self.core
    }
}
