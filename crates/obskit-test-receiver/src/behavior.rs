//! How the receiver answers exports, so tests can drive an exporter through success, failure and slowness.

use std::time::Duration;

/// How a [`Receiver`](crate::Receiver) answers each export request.
///
/// Every request is recorded whatever the behavior (see
/// [`ReceivedRequest::accepted`](crate::ReceivedRequest::accepted)); only the
/// spans of accepted requests show up in [`Receiver::spans`](crate::Receiver::spans).
/// Change it at any time with [`Receiver::set_behavior`](crate::Receiver::set_behavior).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behavior {
    /// Accept the spans and answer at once: gRPC `OK`, HTTP `200` with an
    /// empty `ExportTraceServiceResponse`.
    #[default]
    Healthy,
    /// Reject the request as a collector that is down would: gRPC
    /// `UNAVAILABLE`, HTTP `503 Service Unavailable`. The spans are not kept.
    Error,
    /// Accept the spans on arrival, then wait this long before answering as
    /// [`Behavior::Healthy`] does. An exporter whose timeout is shorter sees
    /// a timeout even though the spans were received.
    Slow(Duration),
}

impl Behavior {
    /// Whether requests answered with this behavior keep their spans.
    pub(crate) fn accepts(self) -> bool {
        !matches!(self, Self::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_healthy() {
        assert_eq!(Behavior::default(), Behavior::Healthy);
    }

    #[test]
    fn only_error_rejects() {
        assert!(Behavior::Healthy.accepts());
        assert!(Behavior::Slow(Duration::from_millis(5)).accepts());
        assert!(!Behavior::Error.accepts());
    }
}
