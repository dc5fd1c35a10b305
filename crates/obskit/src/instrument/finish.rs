//! The end of an exchange, recorded once: duration, RED, SLO
//! classification, span status and end, access line.
//!
//! Every instrumented exchange (an HTTP request or a gRPC call, served or
//! made, a processed message, a datastore operation) starts a [`Finish`]
//! and hands it on, from the response future to the body wrapper, until
//! the exchange ends one way or another. The protocol only says what its
//! statuses mean and where its figures go ([`Protocol`]); the order of the
//! steps, the clock and the context the figures are recorded in are
//! decided here, in one place.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use metrics::Gauge;
use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::{Context, KeyValue};

use crate::slo::SloSet;

/// How an exchange ended, with the protocol's status when one was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<S> {
    /// The whole response went out with this status.
    Completed(S),
    /// The handler failed (no status), or the response body failed after
    /// the status was sent.
    Failed(Option<S>),
    /// Dropped before its end: the client went away, or the server gave up,
    /// before the response (or its body) was complete.
    Cancelled(Option<S>),
}

impl<S: Copy> Outcome<S> {
    /// The status that was sent, if any.
    pub(crate) fn status(&self) -> Option<S> {
        match *self {
            Self::Completed(s) => Some(s),
            Self::Failed(s) | Self::Cancelled(s) => s,
        }
    }
}

/// `error.type` of a request dropped before its end.
pub(crate) const CANCELLED: &str = "cancelled";
/// `error.type` of a handler or body failure (no better class is known).
pub(crate) const FAILED: &str = "_OTHER";

/// What one protocol's adapter knows about an exchange, and how it records
/// the parts that differ between protocols (the classifier, in tower-http's
/// terms).
pub(crate) trait Protocol {
    /// The protocol's status: an HTTP status code, a gRPC code.
    type Status: Copy;

    /// The method and route SLOs filter on.
    fn slo_key(&self) -> (&str, &str);

    /// The service's SLOs.
    fn slos(&self) -> &SloSet;

    /// Classifies the exchange for every SLO it falls under: once, with no
    /// age. A protocol whose exchanges carry an age (a message), or that
    /// ends several units at once (a batch), says so here. `abandoned`
    /// marks an exchange cancelled before its end.
    fn record_slos(&self, failed: bool, elapsed: Duration, abandoned: bool) {
        let (method, route) = self.slo_key();
        if abandoned {
            self.slos().record_abandoned(method, route, elapsed, None);
        } else {
            self.slos().record(method, route, failed, elapsed, None);
        }
    }

    /// `error.type` of a completed exchange with `status`, if the status is
    /// a server-side failure (it then counts against availability).
    fn error_type(&self, status: Self::Status) -> Option<&'static str>;

    /// The span status description of a failed or cancelled exchange.
    fn failure_description(&self, outcome: Outcome<Self::Status>) -> &'static str {
        match outcome {
            Outcome::Completed(_) => "",
            Outcome::Failed(None) => "the handler failed",
            Outcome::Failed(Some(_)) => "the response body failed",
            Outcome::Cancelled(None) => "the request was cancelled before a response was sent",
            Outcome::Cancelled(Some(_)) => {
                "the request was cancelled before its response body was complete"
            }
        }
    }

    /// The span status description of a failed exchange when only the
    /// exchange can tell it (a client's transport error); by default the
    /// fixed [`failure_description`](Self::failure_description).
    fn failure_message(&self) -> Option<&str> {
        None
    }

    /// The span attribute that reports `status`, if the protocol reports
    /// this status on the span at all.
    fn status_attribute(&self, status: Self::Status) -> Option<KeyValue>;

    /// Records the duration in the protocol's RED histogram. `failed` marks
    /// a handler or body failure; `status` is what was sent, if anything.
    fn record_duration(&self, status: Option<Self::Status>, failed: bool, elapsed: Duration);

    /// Records in RED an exchange its caller left before its end, with
    /// `error.type=cancelled` and the status sent, if any. By default
    /// nothing (a protocol whose cancellations have no place in its RED).
    fn record_cancelled(&self, _status: Option<Self::Status>, _elapsed: Duration) {}

    /// Whether an exchange that completed with `status` was abandoned by
    /// its caller (gRPC's CANCELLED): like a cancelled one, neither good
    /// nor bad for availability, bad for latency only once it has outlived
    /// the threshold.
    fn abandoned(&self, _status: Self::Status) -> bool {
        false
    }

    /// Writes the access line, if the protocol writes one (by default
    /// none: client calls, messages and datastore operations are not
    /// requests to this service). `error_type` is what the span says (set
    /// for failures and cancellations).
    fn access_line(
        &self,
        _outcome: Outcome<Self::Status>,
        _error_type: Option<&'static str>,
        _elapsed: Duration,
    ) {
    }
}

/// An exchange in progress: what its end needs, whoever ends it.
pub(crate) struct Finish<P> {
    cx: Context,
    start: Instant,
    active: Gauge,
    protocol: P,
}

impl<P: Protocol> Finish<P> {
    /// Starts the clock's record: `start` is when the request arrived,
    /// `active` the in-flight gauge already incremented for it, `cx` the
    /// OpenTelemetry context holding the request's span.
    pub(crate) fn new(cx: Context, start: Instant, active: Gauge, protocol: P) -> Self {
        Self {
            cx,
            start,
            active,
            protocol,
        }
    }

    /// What the protocol knows about the request.
    pub(crate) fn protocol(&self) -> &P {
        &self.protocol
    }

    /// What the protocol knows, for an adapter that learns more before the
    /// end (a client's transport error).
    pub(crate) fn protocol_mut(&mut self) -> &mut P {
        &mut self.protocol
    }

    /// Time since the exchange started (gRPC reads it to judge deadlines).
    #[cfg(feature = "grpc")]
    pub(crate) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// The request's OpenTelemetry context, to attach while its code runs.
    pub(crate) fn context(&self) -> &Context {
        &self.cx
    }

    /// Records the outcome. The request's context is attached meanwhile, so
    /// metrics (trace-id exemplars) and the access line see its trace.
    pub(crate) fn finish(self, outcome: Outcome<P::Status>) {
        let _attached = self.cx.clone().attach();
        self.finish_attached(outcome);
    }

    /// [`finish`](Self::finish), for a caller that has the request's
    /// context attached already.
    pub(crate) fn finish_attached(self, outcome: Outcome<P::Status>) {
        let elapsed = self.start.elapsed();
        self.active.decrement(1.0);
        let p = &self.protocol;
        let status = outcome.status();
        let error_type = match outcome {
            Outcome::Completed(s) => p.error_type(s),
            Outcome::Failed(_) => Some(FAILED),
            Outcome::Cancelled(_) => Some(CANCELLED),
        };
        let has_slos = !p.slos().is_empty();
        match outcome {
            Outcome::Cancelled(_) => {
                // The caller's choice, not a server failure: in RED with
                // its outcome, not counted for availability; a latency SLO
                // still counts it bad once it has outlived the threshold.
                p.record_cancelled(status, elapsed);
                if has_slos {
                    p.record_slos(true, elapsed, true);
                }
            }
            Outcome::Completed(_) | Outcome::Failed(_) => {
                let failed = matches!(outcome, Outcome::Failed(_));
                p.record_duration(status, failed, elapsed);
                if has_slos {
                    let abandoned = matches!(outcome, Outcome::Completed(s) if p.abandoned(s));
                    p.record_slos(failed || error_type.is_some(), elapsed, abandoned);
                }
            }
        }
        let span = self.cx.span();
        // An unsampled span keeps nothing: each call on it would only take
        // its lock to find that out.
        let recording = span.is_recording();
        if recording && let Some(a) = status.and_then(|s| p.status_attribute(s)) {
            span.set_attribute(a);
        }
        if recording && let Some(e) = error_type {
            span.set_attribute(KeyValue::new("error.type", e));
            let description = match p.failure_message() {
                Some(message) => Cow::Owned(message.to_owned()),
                None => Cow::Borrowed(p.failure_description(outcome)),
            };
            span.set_status(Status::error(description));
        }
        p.access_line(outcome, error_type, elapsed);
        if recording {
            span.end();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_of_each_outcome() {
        assert_eq!(Outcome::Completed(200).status(), Some(200));
        assert_eq!(Outcome::<u16>::Failed(None).status(), None);
        assert_eq!(Outcome::Cancelled(Some(200)).status(), Some(200));
    }
}
