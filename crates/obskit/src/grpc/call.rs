//! One call's state from its start to its end. A server call ends through
//! the same [`Finish`] as an HTTP request (metrics, SLO counters, span,
//! access line, in one place); gRPC adds how its statuses read and where
//! its figures go ([`GrpcCall`]).

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, KeyValue};
use tonic::Code;

use super::layer::Shared;
use super::status;
use crate::http::outcome::{Finish, Outcome, Protocol, log_millis};
use crate::logs::LineValue;
use crate::metrics::names::RPC_METHOD_OTHER;
use crate::slo::SloSet;

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// A status was answered: in the headers of a trailers-only response,
    /// in the trailers, or implied by a non-gRPC HTTP response.
    Status(Code),
    /// The call was dropped before its status: the peer cancelled, the
    /// deadline expired, or the server shut down.
    Dropped,
    /// The handler panicked.
    Panicked,
}

/// The method of a call as known when it started.
pub(crate) enum Method {
    /// Known already: its name.
    Known(&'static str),
    /// Not known yet: the `package.Service/Method` the client sent, if it
    /// had that shape; it may become known by the answer.
    Unknown(Option<Box<str>>),
}

/// A server call in flight: obskit's one finishing path
/// ([`Finish`](crate::http::outcome::Finish)) with what gRPC adds, the
/// method to name once the answer is known and the call's deadline.
pub(crate) struct ServerCall {
    pub(crate) finish: Finish<GrpcCall>,
    pub(crate) start: Instant,
    pub(crate) method: Method,
    /// The deadline the client set (`grpc-timeout`), if any.
    pub(crate) deadline: Option<Duration>,
}

/// Slack for deciding that a dropped call hit its deadline: the client's
/// timer started before this layer's clock did, by the time the request took
/// to arrive and be scheduled here (tonic's own server timer by a few
/// microseconds; a remote client's by a network trip). A call dropped within
/// the last tenth of its deadline, or its last 2 ms, counts as
/// DEADLINE_EXCEEDED.
fn deadline_slack(deadline: Duration) -> Duration {
    (deadline / 10).max(Duration::from_millis(2))
}

impl ServerCall {
    /// The call's OpenTelemetry context.
    pub(crate) fn context(&self) -> &Context {
        self.finish.context()
    }

    /// Records the call's outcome everywhere it is reported. Every ending
    /// of a gRPC call has a status: the one answered, CANCELLED or
    /// DEADLINE_EXCEEDED for a call dropped before its end, INTERNAL for a
    /// handler that panicked.
    pub(crate) fn end(self, ending: Ending) {
        let elapsed = self.start.elapsed();
        let code = match ending {
            Ending::Status(code) => code,
            Ending::Panicked => Code::Internal,
            Ending::Dropped => match self.deadline {
                Some(d) if elapsed + deadline_slack(d) >= d => Code::DeadlineExceeded,
                _ => Code::Cancelled,
            },
        };
        let protocol = self.finish.protocol();
        if let Method::Unknown(raw) = &self.method {
            // Only a real answer can teach the layer a method: not a drop,
            // and not the router's UNIMPLEMENTED for unknown paths.
            let answered = matches!(ending, Ending::Status(c) if c != Code::Unimplemented);
            let label = protocol.shared.known.label(raw.as_deref(), !answered);
            protocol.label.set(label);
            let span = self.finish.context().span();
            if span.is_recording() {
                span.set_attribute(KeyValue::new("rpc.method", label));
                if label == RPC_METHOD_OTHER {
                    if let Some(o) = raw {
                        span.set_attribute(KeyValue::new("rpc.method_original", o.to_string()));
                    }
                } else {
                    span.update_name(label);
                }
            }
        }
        self.finish.finish(Outcome::Completed(code));
    }
}

/// What the end of one gRPC call records: the [`Protocol`] of gRPC.
pub(crate) struct GrpcCall {
    pub(crate) shared: Arc<Shared>,
    /// `rpc.method`: the method's name, or `_OTHER`; final once the call ends.
    pub(crate) label: Cell<&'static str>,
}

impl Protocol for GrpcCall {
    type Status = Code;

    fn slo_key(&self) -> (&str, &str) {
        // gRPC runs over HTTP POST; a route filter matches `package.Service/Method`.
        ("POST", self.label.get())
    }

    fn slos(&self) -> &SloSet {
        &self.shared.slos
    }

    fn error_type(&self, code: Code) -> Option<&'static str> {
        status::is_server_error(code).then(|| status::name(code))
    }

    fn abandoned(&self, code: Code) -> bool {
        code == Code::Cancelled
    }

    fn status_attribute(&self, code: Code) -> Option<KeyValue> {
        Some(KeyValue::new("rpc.status_code", status::name(code)))
    }

    fn record_duration(&self, code: Option<Code>, _failed: bool, elapsed: Duration) {
        self.shared
            .metrics
            .duration(self.label.get(), code.unwrap_or(Code::Internal))
            .record(elapsed.as_secs_f64());
    }

    fn access_line(
        &self,
        outcome: Outcome<Code>,
        error_type: Option<&'static str>,
        elapsed: Duration,
    ) {
        let method = self.label.get();
        let status = status::name(outcome.status().unwrap_or(Code::Internal));
        let message = [method, " ", status];
        let fields = [
            ("rpc.system.name", Some(LineValue::Str("grpc"))),
            ("rpc.method", Some(LineValue::Str(method))),
            ("rpc.status_code", Some(LineValue::Str(status))),
            ("error.type", error_type.map(LineValue::Str)),
            ("duration_ms", Some(LineValue::Millis(elapsed))),
        ];
        self.shared
            .access_log
            .write(&message, &fields, |level, message| {
                let duration_ms = log_millis(elapsed);
                crate::logs::access_event!(
                    level,
                    rpc.system.name = "grpc",
                    rpc.method = method,
                    rpc.status_code = status,
                    error.type = error_type,
                    duration_ms,
                    message
                );
            });
    }
}

/// A call of either side, as the response body carries it to its end.
pub(crate) enum Call {
    /// A call this process serves.
    Server(ServerCall),
    /// A call this process makes.
    Client(super::client::ClientCall),
}

impl Call {
    pub(crate) fn end(self, ending: Ending) {
        match self {
            Self::Server(c) => c.end(ending),
            Self::Client(c) => c.end(ending),
        }
    }

    /// The context to poll the body in: the server call's, so log lines of
    /// a streaming handler carry its trace; none for a client call.
    pub(crate) fn poll_context(&self) -> Option<&Context> {
        match self {
            Self::Server(c) => Some(c.context()),
            Self::Client(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_slack_is_a_tenth_of_the_deadline_and_at_least_2_ms() {
        assert_eq!(
            deadline_slack(Duration::from_secs(1)),
            Duration::from_millis(100)
        );
        assert_eq!(
            deadline_slack(Duration::from_millis(5)),
            Duration::from_millis(2)
        );
    }
}
