//! The state a server layer shares between the requests it instruments:
//! what every protocol's layer needs, held once.

use std::sync::Arc;

use opentelemetry_sdk::trace::Tracer;

use crate::Telemetry;
use crate::logs::AccessLog;
use crate::metrics::MetricsHandle;
use crate::propagation::Propagator;
use crate::slo::{Slo, SloError, SloSet};
use crate::traces::{OwnSpans, Sampling};

/// A server layer's configuration, shared by every exchange it instruments.
/// A protocol's layer holds one beside what only it needs.
#[derive(Clone)]
pub struct LayerState {
    pub(crate) tracer: Tracer,
    pub(crate) propagator: Arc<Propagator>,
    pub(crate) metrics: MetricsHandle,
    pub(crate) slos: SloSet,
    /// Names (paths, services) left out of every figure.
    pub(crate) excluded: Vec<String>,
    pub(crate) access_log: AccessLog,
    /// What the sampler decides, as far as it can be told in advance.
    pub(crate) sampling: Sampling,
    /// Where the spans obskit records itself go.
    pub(crate) own: Arc<OwnSpans>,
}

impl LayerState {
    /// Recording into `telemetry`, with `excluded` left out and the access
    /// log at the level `OBSKIT_ACCESS_LOG` says.
    pub(crate) fn new(telemetry: &Telemetry, excluded: &[&str]) -> Self {
        Self {
            tracer: telemetry.tracer(),
            propagator: Arc::clone(&telemetry.propagator),
            metrics: telemetry.metrics(),
            slos: SloSet::default(),
            excluded: excluded.iter().map(|s| (*s).to_owned()).collect(),
            access_log: AccessLog::new(telemetry.direct_lines.clone()),
            sampling: telemetry.sampling(),
            own: telemetry.own_spans(),
        }
    }

    /// Adds what a layer's `Debug` output shows of its configuration.
    pub(crate) fn debug_fields(&self, f: &mut std::fmt::DebugStruct<'_, '_>) {
        f.field("excluded", &self.excluded)
            .field("access_log", &self.access_log);
    }

    /// Whether `name` (a path, a service) is left out of every figure.
    pub(crate) fn is_excluded(&self, name: &str) -> bool {
        self.excluded.iter().any(|p| p == name)
    }

    /// Whether the service of `method` (`package.Service/Method`) is left
    /// out of every figure: [`is_excluded`](Self::is_excluded) without
    /// looking for the slash.
    #[cfg(feature = "grpc")]
    pub(crate) fn is_excluded_service_of(&self, method: &str) -> bool {
        self.excluded.iter().any(|service| {
            method
                .strip_prefix(service.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
        })
    }

    /// Declares the SLOs every exchange is classified against.
    pub(crate) fn set_slos(&mut self, slos: impl IntoIterator<Item = Slo>) -> Result<(), SloError> {
        self.slos = SloSet::new(slos.into_iter().collect(), &self.metrics)?;
        Ok(())
    }

    /// Replaces the names left out of every figure.
    pub(crate) fn set_excluded<I, P>(&mut self, names: I)
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.excluded = names.into_iter().map(Into::into).collect();
    }
}

#[cfg(all(test, feature = "grpc"))]
mod tests {
    use super::*;

    #[test]
    fn a_method_is_left_out_with_its_service_only() {
        let telemetry = crate::testing::TestTelemetry::new();
        let state = LayerState::new(&telemetry, &["grpc.health.v1.Health"]);
        assert!(state.is_excluded_service_of("grpc.health.v1.Health/Check"));
        assert!(!state.is_excluded_service_of("grpc.health.v1.HealthX/Check"));
        assert!(!state.is_excluded_service_of("grpc.health.v1.Health"));
        assert!(!state.is_excluded_service_of("other.Svc/Check"));
    }
}
