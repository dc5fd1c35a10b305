//! One call's state from its start to its end, on either side. A call ends
//! through the instrumentation core's [`Finish`] (metrics, SLO counters,
//! span, access line, in one place); gRPC adds how its statuses read, how a
//! dropped call is told from one past its deadline, and where its figures
//! go ([`GrpcCall`] served, [`GrpcClientCall`] made).

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Response;
use metrics::Gauge;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, KeyValue};
use tonic::Code;

use super::state::{GrpcClientShared, GrpcShared};
use super::status;
use crate::instrument::{Finish, Outcome, Protocol};
use crate::logs::{LineKey, LineValue, log_millis};
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

/// A call's deadline (`grpc-timeout`) as this layer's clock sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deadline {
    timeout: Duration,
    /// How much earlier than this layer's clock the deadline's timer started.
    slack: Duration,
}

impl Deadline {
    /// The deadline of a served call. The client's timer started before
    /// this layer's clock did, by the time the request took to arrive and
    /// be scheduled here (tonic's own server timer by a few microseconds; a
    /// remote client's by a network trip): a call dropped within the last
    /// tenth of its deadline, or its last 2 ms, counts as DEADLINE_EXCEEDED.
    pub(crate) fn served(timeout: Duration) -> Self {
        Self {
            timeout,
            slack: (timeout / 10).max(Duration::from_millis(2)),
        }
    }

    /// The deadline of a call this process makes: the channel's timer
    /// starts below this layer, after its clock, so no slack.
    pub(crate) fn made(timeout: Duration) -> Self {
        Self {
            timeout,
            slack: Duration::ZERO,
        }
    }

    /// Whether the deadline has passed `elapsed` after the call started.
    fn passed(self, elapsed: Duration) -> bool {
        elapsed + self.slack >= self.timeout
    }
}

impl Ending {
    /// The status of a call that ended this way after `elapsed` (read from
    /// the clock only for a dropped call with a deadline). Every ending of
    /// a gRPC call has one: the one answered, CANCELLED or DEADLINE_EXCEEDED
    /// for a call dropped before its end, INTERNAL for a handler that
    /// panicked.
    fn code(self, elapsed: impl FnOnce() -> Duration, deadline: Option<Deadline>) -> Code {
        match self {
            Self::Status(code) => code,
            Self::Panicked => Code::Internal,
            Self::Dropped if deadline.is_some_and(|d| d.passed(elapsed())) => {
                Code::DeadlineExceeded
            }
            Self::Dropped => Code::Cancelled,
        }
    }
}

/// The method of a call as known when it started.
pub(crate) enum Method {
    /// Known already: its name.
    Known(&'static str),
    /// Not known yet: the `package.Service/Method` the client sent, if it
    /// had that shape; it may become known by the answer.
    Unknown(Option<Box<str>>),
}

/// A served call in flight: the core's [`Finish`] with what gRPC adds, the
/// method to name once the answer is known and the call's deadline.
pub struct ServerCall {
    finish: Finish<GrpcCall>,
    method: Method,
    deadline: Option<Deadline>,
}

impl ServerCall {
    pub(crate) fn new(
        finish: Finish<GrpcCall>,
        method: Method,
        deadline: Option<Deadline>,
    ) -> Self {
        Self {
            finish,
            method,
            deadline,
        }
    }

    /// The call's OpenTelemetry context.
    pub(crate) fn otel_context(&self) -> &Context {
        self.finish.context()
    }

    /// Records the call's outcome everywhere it is reported, with the
    /// call's context attached meanwhile.
    pub(crate) fn end(self, ending: Ending) {
        let _attached = self.otel_context().clone().attach();
        self.end_attached(ending);
    }

    /// [`end`](Self::end), for a caller that has the call's context
    /// attached already (the future or body that was just polled in it).
    pub(crate) fn end_attached(self, ending: Ending) {
        let code = ending.code(|| self.finish.elapsed(), self.deadline);
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
        self.finish.finish_attached(Outcome::Completed(code));
    }
}

/// What the end of one served gRPC call records: the [`Protocol`] of gRPC.
pub(crate) struct GrpcCall {
    pub(crate) shared: Arc<GrpcShared>,
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
        &self.shared.core.slos
    }

    fn error_type(&self, code: Code) -> Option<&'static str> {
        self.shared
            .metrics
            .is_error(code)
            .then(|| status::name(code))
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
        // The filter's numbers are gRPC status codes.
        let code = outcome
            .status()
            .and_then(|c| u16::try_from(i32::from(c)).ok());
        let access_log = &self.shared.core.access_log;
        if !access_log.keeps(code, error_type.is_some(), elapsed) {
            return;
        }
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
        // Everything but the duration follows from these.
        let key = LineKey {
            protocol: "grpc",
            text: [method, status],
            number: 0,
            error_type,
        };
        access_log.write(Some(key), &message, &fields, |level, message| {
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

/// An outgoing call in flight.
pub struct ClientCall {
    finish: Finish<GrpcClientCall>,
    deadline: Option<Deadline>,
}

impl ClientCall {
    /// A call to `method` started at `start` in `cx`, with `active` already
    /// incremented for it.
    pub(crate) fn new(
        cx: Context,
        start: Instant,
        active: Gauge,
        method: &'static str,
        deadline: Option<Deadline>,
        shared: Arc<GrpcClientShared>,
    ) -> Self {
        let protocol = GrpcClientCall { shared, method };
        Self {
            finish: Finish::new(cx, start, active, protocol),
            deadline,
        }
    }

    /// Records the call's outcome: metrics and span.
    pub(crate) fn end(self, ending: Ending) {
        let code = ending.code(|| self.finish.elapsed(), self.deadline);
        self.finish.finish(Outcome::Completed(code));
    }

    /// Records a call that got no response at all. Past its deadline, the
    /// channel gave up on it (tonic's own timer, which tells the caller
    /// CANCELLED): DEADLINE_EXCEEDED. Otherwise the connection was refused
    /// or reset, which tonic reports as UNAVAILABLE.
    pub(crate) fn unanswered(self) {
        let elapsed = self.finish.elapsed();
        let code = match self.deadline {
            Some(d) if d.passed(elapsed) => Code::DeadlineExceeded,
            _ => Code::Unavailable,
        };
        self.finish.finish(Outcome::Completed(code));
    }
}

/// What the end of one outgoing gRPC call records.
pub(crate) struct GrpcClientCall {
    shared: Arc<GrpcClientShared>,
    method: &'static str,
}

impl Protocol for GrpcClientCall {
    type Status = Code;

    fn slo_key(&self) -> (&str, &str) {
        ("POST", self.method)
    }

    fn slos(&self) -> &SloSet {
        &self.shared.slos
    }

    fn error_type(&self, code: Code) -> Option<&'static str> {
        self.shared
            .metrics
            .is_error(code)
            .then(|| status::name(code))
    }

    fn status_attribute(&self, code: Code) -> Option<KeyValue> {
        Some(KeyValue::new("rpc.status_code", status::name(code)))
    }

    fn record_duration(&self, code: Option<Code>, _failed: bool, elapsed: Duration) {
        self.shared
            .metrics
            .duration(self.method, code.unwrap_or(Code::Internal))
            .record(elapsed.as_secs_f64());
    }
}

/// A call of either side, as the response body carries it to its end.
pub enum Call {
    /// A call this process serves.
    Server(ServerCall),
    /// A call this process makes.
    Client(ClientCall),
}

impl Call {
    /// Records the call's outcome.
    pub(crate) fn finish(self, ending: Ending) {
        match self {
            Self::Server(c) => c.end(ending),
            Self::Client(c) => c.end(ending),
        }
    }

    /// [`finish`](Self::finish), for a caller that polled in
    /// [`poll_context`](Self::poll_context) and still has it attached: a
    /// server call ends in it rather than attaching it again.
    pub(crate) fn finish_polled(self, ending: Ending) {
        match self {
            Self::Server(c) => c.end_attached(ending),
            Self::Client(c) => c.end(ending),
        }
    }

    /// The context to poll in: the server call's, so log lines of its
    /// handler carry its trace; none for a client call.
    pub(crate) fn poll_context(&self) -> Option<&Context> {
        match self {
            Self::Server(c) => Some(c.otel_context()),
            Self::Client(_) => None,
        }
    }

    /// Reads the status a response's head carries (a trailers-only answer,
    /// or a non-gRPC HTTP response, which implies one): the call ends there
    /// (`None`), else it is left to the body, whose trailers carry it.
    pub(crate) fn answered<B>(self, response: &Response<B>) -> Option<Self> {
        match status::from_headers(response.headers())
            .or_else(|| status::from_http(response.status()))
        {
            Some(code) => {
                self.finish_polled(Ending::Status(code));
                None
            }
            None => Some(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_served_deadline_has_a_tenth_of_its_length_and_at_least_2_ms_of_slack() {
        let second = Deadline::served(Duration::from_secs(1));
        assert!(!second.passed(Duration::from_millis(899)));
        assert!(second.passed(Duration::from_millis(900)));
        let short = Deadline::served(Duration::from_millis(5));
        assert!(!short.passed(Duration::from_micros(2_999)));
        assert!(short.passed(Duration::from_millis(3)));
    }

    #[test]
    fn a_made_deadline_passes_at_its_length() {
        let d = Deadline::made(Duration::from_millis(50));
        assert!(!d.passed(Duration::from_micros(49_999)));
        assert!(d.passed(Duration::from_millis(50)));
    }

    #[test]
    fn a_dropped_call_is_cancelled_until_its_deadline() {
        let d = Some(Deadline::made(Duration::from_millis(50)));
        let early = Duration::from_millis(10);
        let late = Duration::from_millis(60);
        assert_eq!(Ending::Dropped.code(|| early, d), Code::Cancelled);
        assert_eq!(Ending::Dropped.code(|| late, d), Code::DeadlineExceeded);
        assert_eq!(Ending::Dropped.code(|| late, None), Code::Cancelled);
        assert_eq!(Ending::Panicked.code(|| early, d), Code::Internal);
        assert_eq!(Ending::Status(Code::Ok).code(|| late, d), Code::Ok);
    }
}
