//! What the HTTP layer shares between its requests: the core's layer state
//! and what only HTTP needs.

use http::HeaderName;

use super::red::ServerMetrics;
use crate::instrument::{LayerState, ServerAdapter};

/// The HTTP layer's configuration, shared by every request it instruments.
#[derive(Clone)]
pub struct HttpShared {
    pub(crate) core: LayerState,
    pub(crate) metrics: std::sync::Arc<ServerMetrics>,
    pub(crate) recorded_headers: Vec<(HeaderName, opentelemetry::Key)>,
    pub(crate) scheme: &'static str,
}

impl ServerAdapter for HttpShared {
    fn core_mut(&mut self) -> &mut LayerState {
        &mut self.core
    }
}
