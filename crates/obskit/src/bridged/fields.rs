//! What a `tracing` span's or event's fields become in OpenTelemetry:
//! attributes, and the `otel.*` fields that set the span's name, kind and
//! status, as tracing-opentelemetry reads them.

use std::borrow::Cow;
use std::fmt;

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{Array, Key, KeyValue, StringValue, Value};
use tracing::field::{Field, Visit};

use super::Attrs;

/// Sets the span's name.
const NAME: &str = "otel.name";
/// Sets the span's kind: `server`, `client`, `producer`, `consumer`, `internal`.
const KIND: &str = "otel.kind";
/// Sets the span's status: `ok` or `error`.
const STATUS_CODE: &str = "otel.status_code";
/// Marks the span failed, with this description.
const STATUS_DESCRIPTION: &str = "otel.status_description";

/// The `Visit` methods that keep a typed field as an attribute of its
/// type, the same for span and event fields (`self.attributes`).
macro_rules! typed_attributes {
    () => {
        fn record_bool(&mut self, field: &Field, value: bool) {
            self.attributes.push(KeyValue::new(field.name(), value));
        }
        fn record_i64(&mut self, field: &Field, value: i64) {
            self.attributes.push(KeyValue::new(field.name(), value));
        }
        fn record_u64(&mut self, field: &Field, value: u64) {
            self.attributes
                .push(KeyValue::new(field.name(), int_value(value)));
        }
        fn record_f64(&mut self, field: &Field, value: f64) {
            self.attributes.push(KeyValue::new(field.name(), value));
        }
    };
}

/// The fields of a span, as OpenTelemetry takes them: attributes appended
/// to `attributes`, and what the `otel.*` fields set.
#[derive(Debug)]
pub(crate) struct SpanFields<'a> {
    pub(crate) attributes: &'a mut Attrs,
    pub(crate) name: Option<Cow<'static, str>>,
    pub(crate) kind: Option<SpanKind>,
    pub(crate) status: Option<Status>,
}

impl<'a> SpanFields<'a> {
    pub(crate) fn new(attributes: &'a mut Attrs) -> Self {
        Self {
            attributes,
            name: None,
            kind: None,
            status: None,
        }
    }

    fn string(&mut self, field: &Field, value: Cow<'_, str>) {
        match field.name() {
            NAME => self.name = Some(Cow::Owned(value.into_owned())),
            KIND => self.kind = span_kind(&value),
            STATUS_CODE => self.status = status(&value),
            STATUS_DESCRIPTION => self.status = Some(Status::error(value.into_owned())),
            name => self
                .attributes
                .push(KeyValue::new(name, value.into_owned())),
        }
    }
}

impl Visit for SpanFields<'_> {
    typed_attributes!();
    fn record_str(&mut self, field: &Field, value: &str) {
        self.string(field, Cow::Borrowed(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.string(field, Cow::Owned(format!("{value:?}")));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let message = value.to_string();
        let chain = source_chain(value);
        self.attributes
            .push(KeyValue::new("exception.message", message.clone()));
        if !chain.is_empty() {
            self.attributes.push(KeyValue::new(
                format!("{}.chain", field.name()),
                Value::Array(Array::String(chain)),
            ));
        }
        self.attributes.push(KeyValue::new(field.name(), message));
    }
}

/// An event inside a span, as a span event: named by its message, with its
/// other fields as attributes. An `error` field (what `#[instrument(err)]`
/// records) makes it an `exception` event and fails the span.
#[derive(Debug)]
pub(crate) struct EventFields {
    pub(crate) name: Option<Cow<'static, str>>,
    pub(crate) attributes: Vec<KeyValue>,
    /// The span's status the event sets, if any.
    pub(crate) status: Option<Status>,
}

impl EventFields {
    pub(crate) fn new(level: &tracing::Level, target: &'static str) -> Self {
        Self {
            name: None,
            attributes: vec![
                KeyValue::new("level", level.as_str()),
                KeyValue::new("target", target),
            ],
            status: None,
        }
    }

    fn string(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.name = Some(Cow::Owned(value)),
            "error" if self.name.is_none() => {
                self.status = Some(Status::error(value.clone()));
                self.name = Some(Cow::Borrowed("exception"));
                self.attributes
                    .push(KeyValue::new("exception.message", value));
            }
            name => self.attributes.push(KeyValue::new(name, value)),
        }
    }
}

impl Visit for EventFields {
    typed_attributes!();
    fn record_str(&mut self, field: &Field, value: &str) {
        self.string(field, value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.string(field, format!("{value:?}"));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.string(field, value.to_string());
    }
}

/// A `u64` as an OpenTelemetry integer when it fits, else as text.
fn int_value(value: u64) -> Value {
    i64::try_from(value).map_or_else(|_| Value::from(value.to_string()), Value::from)
}

/// The messages of `error`'s sources, outermost first.
fn source_chain(error: &(dyn std::error::Error + 'static)) -> Vec<StringValue> {
    let mut chain = Vec::new();
    let mut next = error.source();
    while let Some(e) = next {
        chain.push(StringValue::from(e.to_string()));
        next = e.source();
    }
    chain
}

fn span_kind(value: &str) -> Option<SpanKind> {
    Some(match value.to_ascii_lowercase().as_str() {
        "server" => SpanKind::Server,
        "client" => SpanKind::Client,
        "producer" => SpanKind::Producer,
        "consumer" => SpanKind::Consumer,
        "internal" => SpanKind::Internal,
        _ => return None,
    })
}

fn status(value: &str) -> Option<Status> {
    match value.to_ascii_lowercase().as_str() {
        "ok" => Some(Status::Ok),
        "error" => Some(Status::error("")),
        _ => None,
    }
}

/// The key of a span's code location attributes.
pub(crate) fn location(meta: &tracing::Metadata<'static>, into: &mut Vec<KeyValue>) {
    if let Some(file) = meta.file() {
        into.push(KeyValue::new(Key::from_static_str("code.file.path"), file));
    }
    if let Some(module) = meta.module_path() {
        into.push(KeyValue::new(
            Key::from_static_str("code.module.name"),
            module,
        ));
    }
    if let Some(line) = meta.line() {
        into.push(KeyValue::new(
            Key::from_static_str("code.line.number"),
            i64::from(line),
        ));
    }
}
