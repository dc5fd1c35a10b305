//! One log event as an OTLP log record: what the layer captures on the
//! event's thread and the export thread encodes later.
//!
//! Fields keep their types (a `u64` that fits stays an integer, a `bool` a
//! boolean); `Debug` and `Display` values become their text, as in the
//! JSON line. The event's `message` is the body.

use std::fmt;

use tracing::Level;
use tracing::field::{Field, Visit};

/// An OTLP `AnyValue`, as obskit produces them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AnyValue {
    Str(String),
    Bool(bool),
    I64(i64),
    F64(f64),
    Array(Vec<AnyValue>),
    /// A key-value list: a span in the record's `spans` attribute.
    Map(Vec<(&'static str, AnyValue)>),
}

/// A captured log event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    /// When the event happened, in nanoseconds since the Unix epoch (also
    /// the observed time: obskit sees events as they happen).
    pub(crate) time_unix_nano: u64,
    pub(crate) level: Level,
    /// The event's target: the instrumentation scope's name.
    pub(crate) target: &'static str,
    /// The name given with `tracing::event!(name: …)`, if any.
    pub(crate) event_name: Option<&'static str>,
    /// The `message` field.
    pub(crate) body: Option<String>,
    pub(crate) attributes: Vec<(&'static str, AnyValue)>,
    /// The current OpenTelemetry span's ids and W3C flags, when one is valid.
    pub(crate) trace: Option<([u8; 16], [u8; 8], u8)>,
}

/// OTLP's severity number and text for a `tracing` level.
pub(crate) fn severity(level: Level) -> (u64, &'static str) {
    match level {
        Level::TRACE => (1, "TRACE"),
        Level::DEBUG => (5, "DEBUG"),
        Level::INFO => (9, "INFO"),
        Level::WARN => (13, "WARN"),
        Level::ERROR => (17, "ERROR"),
    }
}

/// The event name set with `tracing::event!(name: …)`: `tracing` names
/// every other event `event <file>:<line>`.
pub(crate) fn event_name(name: &'static str) -> Option<&'static str> {
    (!name.starts_with("event ")).then_some(name)
}

/// Collects fields as typed attributes; with `body`, the `message` field
/// becomes the body instead.
pub(crate) struct Fields<'a> {
    pub(crate) attributes: &'a mut Vec<(&'static str, AnyValue)>,
    pub(crate) body: Option<&'a mut Option<String>>,
}

impl Fields<'_> {
    fn push(&mut self, field: &Field, value: AnyValue) {
        if field.name() == "message"
            && let Some(body) = self.body.as_deref_mut()
        {
            *body = Some(match value {
                AnyValue::Str(s) => s,
                AnyValue::Bool(b) => b.to_string(),
                AnyValue::I64(i) => i.to_string(),
                AnyValue::F64(f) => f.to_string(),
                other => format!("{other:?}"),
            });
            return;
        }
        // A span field recorded again replaces its earlier value.
        if let Some(slot) = self.attributes.iter_mut().find(|(k, _)| *k == field.name()) {
            slot.1 = value;
        } else {
            self.attributes.push((field.name(), value));
        }
    }
}

/// An integer as OTLP carries it: `int_value` when it fits an `i64`, else its text.
fn int(value: impl TryInto<i64> + fmt::Display + Copy) -> AnyValue {
    value
        .try_into()
        .map_or_else(|_| AnyValue::Str(value.to_string()), AnyValue::I64)
}

impl Visit for Fields<'_> {
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, AnyValue::Bool(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, AnyValue::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, int(value));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.push(field, int(value));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.push(field, int(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, AnyValue::F64(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, AnyValue::Str(value.to_owned()));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push(field, AnyValue::Str(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, AnyValue::Str(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    /// What one event's fields became: the body and the attributes.
    type Seen = Vec<(Option<String>, Vec<(&'static str, AnyValue)>)>;

    /// Records what each event's fields become.
    struct Capture(std::sync::Arc<std::sync::Mutex<Seen>>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let mut attributes = Vec::new();
            let mut body = None;
            event.record(&mut Fields {
                attributes: &mut attributes,
                body: Some(&mut body),
            });
            self.0.lock().unwrap().push((body, attributes));
        }
    }

    #[test]
    fn fields_keep_their_types_and_the_message_is_the_body() {
        let seen = std::sync::Arc::default();
        let subscriber = tracing_subscriber::registry().with(Capture(std::sync::Arc::clone(&seen)));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(a = 1_u64, b = -2_i64, c = 0.5, d = true, e = "s", f = ?(1, 2), big = u64::MAX, wide = 1_i128 << 100, "hello {}", "you");
            tracing::info!(message = 42);
        });
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].0.as_deref(), Some("hello you"));
        assert_eq!(
            seen[0].1,
            vec![
                ("a", AnyValue::I64(1)),
                ("b", AnyValue::I64(-2)),
                ("c", AnyValue::F64(0.5)),
                ("d", AnyValue::Bool(true)),
                ("e", AnyValue::Str("s".into())),
                ("f", AnyValue::Str("(1, 2)".into())),
                ("big", AnyValue::Str(u64::MAX.to_string())),
                ("wide", AnyValue::Str((1_i128 << 100).to_string())),
            ]
        );
        assert_eq!(
            seen[1].0.as_deref(),
            Some("42"),
            "a non-text message is its text"
        );
        assert!(seen[1].1.is_empty());
        assert_eq!(severity(Level::WARN), (13, "WARN"));
        assert_eq!(event_name("event src/lib.rs:3"), None);
        assert_eq!(event_name("order.placed"), Some("order.placed"));
    }
}
