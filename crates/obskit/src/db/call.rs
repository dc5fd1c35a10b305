//! One datastore operation from its start to its end. It ends through the
//! same finish as an HTTP request or a gRPC call (RED, SLO counters, span
//! end, in one order, with the call's context attached so exemplars see
//! it); the database side only says what its outcome means ([`DbCall`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics::Gauge;
use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue};

use super::Shared;
use super::sql;
use crate::instrument::{Finish, Outcome, Protocol};
use crate::slo::SloSet;

/// What an operation is, as its span and series name it.
///
/// [`Operation::sql`] reads it from a statement; [`Operation::new`] takes
/// it from you. Neither ever puts a parameter or a key into a name.
///
/// ```
/// use obskit::db::Operation;
///
/// let op = Operation::sql("SELECT name FROM users WHERE email = 'ada@example.com'");
/// assert_eq!(op.operation_name(), Some("SELECT"));
/// assert_eq!(op.collection_name(), Some("users"));
/// assert_eq!(op.summary_text(), Some("SELECT users"));
/// assert_eq!(op.query_text(), Some("SELECT name FROM users WHERE email = ?"));
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Operation {
    operation: Option<OpName>,
    collection: Option<String>,
    summary: Option<String>,
    text: Option<String>,
    batch_size: Option<usize>,
}

#[derive(Debug, Clone)]
enum OpName {
    Known(&'static str),
    Given(String),
}

impl OpName {
    fn as_str(&self) -> &str {
        match self {
            Self::Known(s) => s,
            Self::Given(s) => s,
        }
    }
}

impl Operation {
    /// An operation named `name` (`db.operation.name`: `find`, `GET`).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            operation: Some(OpName::Given(name.into())),
            ..Self::default()
        }
    }

    /// A SQL statement: its operation, table and summary are read from the
    /// text, and the text kept sanitized (literals as `?`) for the clients
    /// that opted in to `db.query.text`.
    pub fn sql(statement: &str) -> Self {
        let text = sql::sanitize_sql(statement);
        let s = sql::summarize(&text);
        Self {
            operation: s.operation.map(OpName::Known),
            collection: s.collection,
            summary: s.summary,
            text: Some(text),
            batch_size: None,
        }
    }

    /// `db.collection.name`: the table, collection or queue it works on.
    pub fn collection(mut self, collection: impl Into<String>) -> Self {
        self.collection = Some(collection.into());
        self
    }

    /// `db.query.summary`, the span name (default: operation and collection).
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = Some(summary.into());
        self
    }

    /// `db.query.text`, exported only by clients that opted in, and then
    /// with every literal replaced by `?` ([`sanitize_sql`](super::sanitize_sql)).
    pub fn text(mut self, text: &str) -> Self {
        self.text = Some(sql::sanitize_sql(text));
        self
    }

    /// Text already free of literals (built from placeholders only).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn text_without_literals(mut self, text: String) -> Self {
        self.text = Some(text);
        self
    }

    /// `db.operation.batch.size`: how many operations a batch or pipeline holds.
    pub fn batch_size(mut self, size: usize) -> Self {
        self.batch_size = Some(size);
        self
    }

    /// `db.operation.name`, if known.
    pub fn operation_name(&self) -> Option<&str> {
        self.operation.as_ref().map(OpName::as_str)
    }

    /// `db.collection.name`, if exactly one.
    pub fn collection_name(&self) -> Option<&str> {
        self.collection.as_deref()
    }

    /// `db.query.summary`, if known.
    pub fn summary_text(&self) -> Option<&str> {
        self.summary.as_deref()
    }

    /// The sanitized `db.query.text`, if any.
    pub fn query_text(&self) -> Option<&str> {
        self.text.as_deref()
    }
}

/// An operation in flight: end it with [`end_ok`](Self::end_ok) or
/// [`end_error`](Self::end_error). Dropped unended, it is recorded as
/// cancelled: its span ends with `error.type="cancelled"`, no RED sample
/// is taken, and a latency SLO counts it bad once it outlived the threshold.
#[must_use = "an operation is recorded when its call ends"]
pub struct Call {
    finish: Option<Finish<DbCall>>,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call").finish_non_exhaustive()
    }
}

impl Call {
    pub(crate) fn start(shared: Arc<Shared>, mut op: Operation) -> Self {
        let start = Instant::now();
        let operation = op.operation.as_ref().map(|o| match o {
            OpName::Known(s) => *s,
            OpName::Given(s) => shared.operations.get(s),
        });
        let collection = op.collection.as_deref().map(|c| shared.collections.get(c));

        let parent = Context::current();
        let mut attributes = Vec::with_capacity(9);
        attributes.push(KeyValue::new("db.system.name", shared.system));
        if let Some(o) = op.operation_name() {
            attributes.push(KeyValue::new("db.operation.name", o.to_owned()));
        }
        if let Some(c) = &op.collection {
            attributes.push(KeyValue::new("db.collection.name", c.clone()));
        }
        if let Some(n) = &shared.namespace {
            attributes.push(KeyValue::new("db.namespace", n.to_string()));
        }
        if let Some((address, port)) = &shared.server {
            attributes.push(KeyValue::new("server.address", address.to_string()));
            if let Some(p) = port {
                attributes.push(KeyValue::new("server.port", i64::from(*p)));
            }
        }
        if let Some(n) = op.batch_size {
            attributes.push(KeyValue::new(
                "db.operation.batch.size",
                i64::try_from(n).unwrap_or(i64::MAX),
            ));
        }
        if shared.query_text
            && let Some(t) = op.text.take()
        {
            attributes.push(KeyValue::new("db.query.text", t));
        }
        // The span name: the summary; else operation and target; else the system.
        let target = op.collection.as_deref().or(shared.namespace.as_deref());
        let name = match (op.summary.take(), op.operation_name(), target) {
            (Some(s), ..) => s,
            (None, Some(o), Some(t)) => format!("{o} {t}"),
            (None, Some(o), None) => o.to_owned(),
            (None, None, Some(t)) => t.to_owned(),
            (None, None, None) => shared.system.to_owned(),
        };
        let span = shared.tracer.build_with_context(
            shared
                .tracer
                .span_builder(name.clone())
                .with_kind(SpanKind::Client)
                .with_attributes({
                    let mut a = attributes;
                    a.push(KeyValue::new("db.query.summary", name));
                    a
                }),
            &parent,
        );
        let cx = parent.with_span(span);
        let protocol = DbCall {
            shared,
            operation: operation.unwrap_or(crate::metrics::names::DB_VALUE_OTHER),
            collection,
        };
        Self {
            finish: Some(Finish::new(cx, start, Gauge::noop(), protocol)),
        }
    }

    /// The operation's OpenTelemetry context (its span), to attach while
    /// your client runs it, e.g. so a driver's own spans nest under it.
    pub fn context(&self) -> &Context {
        self.finish
            .as_ref()
            .map(Finish::context)
            .expect("a call holds its finish until it ends")
    }

    /// The operation succeeded.
    pub fn end_ok(mut self) {
        if let Some(f) = self.finish.take() {
            f.finish(Outcome::Completed(None));
        }
    }

    /// The operation failed. `error_type` is a low-cardinality class (a
    /// SQLSTATE such as `23505`, `timeout`, an exception's name; bounded
    /// per client); `status_code` the code the database answered, if any
    /// (`db.response.status_code`).
    pub fn end_error(mut self, error_type: &str, status_code: Option<&str>) {
        if let Some(f) = self.finish.take() {
            let e = f.protocol().shared.errors.get(error_type);
            if let Some(code) = status_code {
                let span = f.context().span();
                if span.is_recording() {
                    span.set_attribute(KeyValue::new("db.response.status_code", code.to_owned()));
                }
            }
            f.finish(Outcome::Completed(Some(e)));
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if let Some(f) = self.finish.take() {
            f.finish(Outcome::Cancelled(None));
        }
    }
}

/// What the end of one datastore operation records: the [`Protocol`] of
/// databases. Its status is the error type of a failure, `None` for success.
pub(crate) struct DbCall {
    shared: Arc<Shared>,
    operation: &'static str,
    collection: Option<&'static str>,
}

impl Protocol for DbCall {
    type Status = Option<&'static str>;

    fn slo_key(&self) -> (&str, &str) {
        (self.operation, self.collection.unwrap_or(""))
    }

    fn slos(&self) -> &SloSet {
        &self.shared.slos
    }

    fn error_type(&self, status: Self::Status) -> Option<&'static str> {
        status
    }

    fn failure_description(&self, outcome: Outcome<Self::Status>) -> &'static str {
        match outcome {
            Outcome::Cancelled(_) => "the caller abandoned the operation before its end",
            // The server's message can quote a row's values: never exported.
            Outcome::Completed(_) | Outcome::Failed(_) => "",
        }
    }

    fn status_attribute(&self, _status: Self::Status) -> Option<KeyValue> {
        // `db.response.status_code` is the database's own code, set when
        // the call ends with one; success has none.
        None
    }

    fn record_duration(&self, status: Option<Self::Status>, _failed: bool, elapsed: Duration) {
        self.shared
            .duration((self.operation, self.collection, status.flatten()))
            .record(elapsed.as_secs_f64());
    }

    fn access_line(&self, _: Outcome<Self::Status>, _: Option<&'static str>, _: Duration) {
        // Operations are not requests to this service: no access line.
    }
}
