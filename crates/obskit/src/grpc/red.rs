//! RED handles for gRPC calls, cached per label set like the HTTP ones, so
//! a call costs a lookup under a read lock, never a label vector.

use metrics::{Gauge, Histogram, Label};
use tonic::Code;

use super::status;
use crate::metrics::cache::HandleList;
use crate::metrics::{MetricsHandle, names};

/// Which side of a call the handles measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// Calls this process serves.
    Server,
    /// Calls this process makes.
    Client,
}

/// Duration histograms and in-flight gauges of one side.
pub(crate) struct CallMetrics {
    metrics: MetricsHandle,
    side: Side,
    /// (method, status) → histogram.
    durations: HandleList<(&'static str, Code), Histogram>,
    /// method → in-flight gauge.
    active: HandleList<&'static str, Gauge>,
}

impl CallMetrics {
    pub(crate) fn new(metrics: MetricsHandle, side: Side) -> Self {
        Self {
            metrics,
            side,
            durations: HandleList::default(),
            active: HandleList::default(),
        }
    }

    /// The registry the handles live in.
    pub(crate) fn handle(&self) -> MetricsHandle {
        self.metrics.clone()
    }

    /// Whether `code` is an error on this side (sets `error_type`).
    pub(crate) fn is_error(&self, code: Code) -> bool {
        match self.side {
            Side::Server => status::is_server_error(code),
            Side::Client => status::is_client_error(code),
        }
    }

    /// The duration histogram of one method and status.
    pub(crate) fn duration(&self, method: &'static str, code: Code) -> Histogram {
        self.durations.get_or_make((method, code), |_| {
            let mut labels = vec![
                Label::new(names::RPC_SYSTEM_NAME, names::RPC_SYSTEM_GRPC),
                Label::new(names::RPC_METHOD, method),
                Label::new(names::RPC_STATUS_CODE, status::name(code)),
            ];
            if self.is_error(code) {
                labels.push(Label::new(names::ERROR_TYPE, status::name(code)));
            }
            let name = match self.side {
                Side::Server => names::RPC_SERVER_CALL_DURATION,
                Side::Client => names::RPC_CLIENT_CALL_DURATION,
            };
            self.metrics.histogram(name, labels)
        })
    }

    /// The in-flight gauge of one method.
    pub(crate) fn active(&self, method: &'static str) -> Gauge {
        self.active.get_or_make(method, |_| {
            let name = match self.side {
                Side::Server => names::RPC_SERVER_ACTIVE_CALLS,
                Side::Client => names::RPC_CLIENT_ACTIVE_CALLS,
            };
            self.metrics.gauge(
                name,
                vec![
                    Label::new(names::RPC_SYSTEM_NAME, names::RPC_SYSTEM_GRPC),
                    Label::new(names::RPC_METHOD, method),
                ],
            )
        })
    }
}
