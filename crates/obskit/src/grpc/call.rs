//! One call's state from its start to its end, and the one place where a
//! call is finished: metrics, SLO counters, span and access line, for
//! whatever way it ended.

use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::trace::{Status as SpanStatus, TraceContextExt};
use opentelemetry::{Context, KeyValue};
use tonic::Code;
use tracing::Level;

use super::layer::Shared;
use super::status;
use crate::metrics::names::RPC_METHOD_OTHER;

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

/// A server call in flight.
pub(crate) struct ServerCall {
    pub(crate) cx: Context,
    pub(crate) start: Instant,
    pub(crate) method: Method,
    /// The deadline the client set (`grpc-timeout`), if any.
    pub(crate) deadline: Option<Duration>,
    pub(crate) active: metrics::Gauge,
    pub(crate) shared: Arc<Shared>,
}

/// Slack for deciding that a dropped call hit its deadline: tonic's own
/// timer starts a few microseconds before the layer's clock does.
const DEADLINE_SLACK: Duration = Duration::from_millis(2);

impl ServerCall {
    /// Records the call's outcome everywhere it is reported.
    pub(crate) fn end(self, ending: Ending) {
        let elapsed = self.start.elapsed();
        self.active.decrement(1.0);
        let code = match ending {
            Ending::Status(code) => code,
            Ending::Panicked => Code::Internal,
            Ending::Dropped => match self.deadline {
                Some(d) if elapsed + DEADLINE_SLACK >= d => Code::DeadlineExceeded,
                _ => Code::Cancelled,
            },
        };
        let shared = &self.shared;
        let (label, original) = match &self.method {
            Method::Known(name) => (*name, None),
            Method::Unknown(raw) => {
                // Only a real answer can teach the layer a method: not a
                // drop, and not the router's UNIMPLEMENTED for unknown paths.
                let answered = matches!(ending, Ending::Status(c) if c != Code::Unimplemented);
                let label = shared.known.label(raw.as_deref(), !answered);
                (label, raw.as_deref())
            }
        };
        let failed = status::is_server_error(code);
        {
            // Recorded inside the call's context, so exemplars can name its trace.
            let _attached = self.cx.clone().attach();
            shared
                .metrics
                .duration(label, code)
                .record(elapsed.as_secs_f64());
        }
        if !shared.slos.is_empty() {
            if code == Code::Cancelled && ending == Ending::Dropped {
                shared.slos.record_abandoned("POST", label, elapsed);
            } else {
                shared.slos.record("POST", label, failed, elapsed);
            }
        }
        let span = self.cx.span();
        if span.is_recording() {
            if let Method::Unknown(_) = self.method {
                span.set_attribute(KeyValue::new("rpc.method", label));
                if label == RPC_METHOD_OTHER {
                    if let Some(o) = original {
                        span.set_attribute(KeyValue::new("rpc.method_original", o.to_owned()));
                    }
                } else {
                    span.update_name(label);
                }
            }
            span.set_attribute(KeyValue::new("rpc.status_code", status::name(code)));
            if failed {
                span.set_attribute(KeyValue::new("error.type", status::name(code)));
                span.set_status(SpanStatus::error(match ending {
                    Ending::Panicked => "the handler panicked",
                    Ending::Dropped => "the call was dropped at its deadline",
                    Ending::Status(_) => "",
                }));
            }
        }
        if let Some(level) = shared.access_log {
            let _attached = self.cx.clone().attach();
            access_log(
                level,
                label,
                status::name(code),
                elapsed.as_secs_f64() * 1000.0,
            );
        }
        span.end();
    }
}

fn access_log(level: Level, method: &str, status: &str, duration_ms: f64) {
    macro_rules! line {
        ($lvl:expr) => {
            tracing::event!(
                target: "obskit::access",
                $lvl,
                rpc.system.name = "grpc",
                rpc.method = method,
                rpc.status_code = status,
                duration_ms,
                "{method} {status}"
            )
        };
    }
    match level {
        Level::TRACE => line!(Level::TRACE),
        Level::DEBUG => line!(Level::DEBUG),
        Level::INFO => line!(Level::INFO),
        Level::WARN => line!(Level::WARN),
        Level::ERROR => line!(Level::ERROR),
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
            Self::Server(c) => Some(&c.cx),
            Self::Client(_) => None,
        }
    }
}
