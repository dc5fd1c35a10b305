//! The layer every protocol's side is built with: its configuration, the
//! settings every server layer shares, and the [`Instrument`] service it
//! wraps around an inner service.
//!
//! The protocol adds its own settings (paths or services left out, headers
//! recorded, methods declared) on its instance, as `impl HttpLayer { .. }`.

use std::sync::Arc;

use tracing::Level;

use super::service::{Adapter, Instrument};
use super::state::LayerState;
use crate::slo::{Slo, SloError};

/// The configuration of an instrumented layer: what every exchange of one
/// protocol's side shares.
pub struct InstrumentLayer<A> {
    shared: Arc<A>,
}

/// A server side: an [`Adapter`] holding the core's [`LayerState`].
pub trait ServerAdapter: Adapter + Clone {
    /// The core's state, to configure.
    fn core_mut(&mut self) -> &mut LayerState;
}

impl<A> InstrumentLayer<A> {
    /// A layer sharing `shared` between its services.
    pub(crate) fn from_shared(shared: A) -> Self {
        Self {
            shared: Arc::new(shared),
        }
    }

    /// The configuration every exchange shares.
    #[cfg(feature = "grpc")]
    pub(crate) fn shared(&self) -> &A {
        &self.shared
    }
}

impl<A: Clone> InstrumentLayer<A> {
    /// The configuration, to change (copied if a service shares it already).
    pub(crate) fn shared_mut(&mut self) -> &mut A {
        Arc::make_mut(&mut self.shared)
    }
}

impl<A: ServerAdapter> InstrumentLayer<A> {
    /// What [`server_layer_settings`]' `slos` does.
    pub(crate) fn with_slos(
        mut self,
        slos: impl IntoIterator<Item = Slo>,
    ) -> Result<Self, SloError> {
        self.shared_mut().core_mut().set_slos(slos)?;
        Ok(self)
    }

    /// What [`server_layer_settings`]' `access_log` does.
    pub(crate) fn with_access_log(mut self, level: Option<Level>) -> Self {
        self.shared_mut().core_mut().access_log.level = level;
        self
    }

    /// Replaces the names (paths, services) left out of all figures.
    pub(crate) fn set_excluded<I, P>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.shared_mut().core_mut().set_excluded(names);
        self
    }
}

impl<A> Clone for InstrumentLayer<A> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<A: Adapter> std::fmt::Debug for InstrumentLayer<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct(A::LAYER);
        self.shared.debug_fields(&mut d);
        d.finish_non_exhaustive()
    }
}

impl<A: Adapter, S> tower_layer::Layer<S> for InstrumentLayer<A> {
    type Service = Instrument<A, S>;

    fn layer(&self, inner: S) -> Self::Service {
        Instrument::new(inner, Arc::clone(&self.shared))
    }
}

/// The settings every server layer shares, written as inherent methods of a
/// protocol's layer (`HttpLayer`, `GrpcLayer`): rustdoc lists on a type
/// alias's page only the methods of its own instance, so methods written
/// once on the generic layer would be missing from the pages users read.
macro_rules! server_layer_settings {
    ($layer:ty, $path:literal) => {
        impl $layer {
            /// Declares the service's SLOs; every request or call is classified
            /// against each, into `obskit_slo_requests_total` (give the HTTP and
            /// gRPC layers the same declarations to count both). Availability
            /// counts an exchange bad when the server failed: an HTTP 5xx or a
            /// failed handler; a gRPC call ending UNKNOWN, DEADLINE_EXCEEDED,
            /// UNIMPLEMENTED, INTERNAL, UNAVAILABLE or DATA_LOSS (a call dropped once
            /// its deadline has passed is DEADLINE_EXCEEDED). A request the client
            /// left before its end (`error.type=cancelled` in RED, gRPC's
            /// CANCELLED) is neither good nor bad for availability, a client's
            /// choice rather than a server failure, and bad for latency only once
            /// it had outlived the threshold. Latency is the exact duration to the
            /// end of the response body (a gRPC call's response stream). A route
            /// filter matches an HTTP route template or a gRPC
            /// `package.Service/Method`, a method filter an HTTP method (`POST`
            /// for every gRPC call).
            ///
            /// # Errors
            ///
            /// [`SloError`](crate::slo::SloError) when two SLOs share a name.
            ///
            /// ```
            /// use std::time::Duration;
            /// use obskit::slo::Slo;
            ///
            /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
            /// let telemetry = obskit::testing::TestTelemetry::new();
            #[doc = concat!("let layer = obskit::", $path, "::new(&telemetry).slos([")]
            ///     Slo::availability("availability", 0.999)?,
            ///     Slo::latency("latency", Duration::from_millis(300), 0.99)?,
            /// ])?;
            /// # let _ = layer;
            /// # Ok(())
            /// # }
            /// ```
            pub fn slos(
                self,
                slos: impl IntoIterator<Item = crate::slo::Slo>,
            ) -> Result<Self, crate::slo::SloError> {
                self.with_slos(slos)
            }

            /// Sets the access log's level, over what `OBSKIT_ACCESS_LOG`
            /// says (default `INFO`); `None` turns the access log off.
            ///
            /// ```
            /// let telemetry = obskit::testing::TestTelemetry::new();
            #[doc = concat!("let quiet = obskit::", $path, "::new(&telemetry).access_log(None);")]
            #[doc = concat!("let debug = obskit::", $path, "::new(&telemetry)")]
            ///     .access_log(Some(obskit::tracing::Level::DEBUG));
            /// # let _ = (quiet, debug);
            /// ```
            #[must_use]
            pub fn access_log(self, level: Option<tracing::Level>) -> Self {
                self.with_access_log(level)
            }
        }
    };
}
pub(crate) use server_layer_settings;
