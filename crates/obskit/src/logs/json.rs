//! The JSON log layer: one object per line, carrying the trace and span ids
//! of the current OpenTelemetry span.
//!
//! A line looks like:
//! ```json
//! {"timestamp":"2026-11-21T10:00:00.123456Z","level":"INFO","target":"my_svc::orders",
//!  "service_name":"my-svc","trace_id":"4bf9…","span_id":"00f0…","request_id":"b9c7…",
//!  "message":"order placed","order_id":42,"spans":[{"name":"place_order","customer":"c-1"}]}
//! ```

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use opentelemetry::trace::TraceContextExt;
use tracing::{Event, Level, Subscriber, span};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::fields::{
    JsonFields, Message, Out, SPAN_FIELDS_CAPACITY, append_fields, push_escaped, push_json_str,
    push_millis, push_timestamp,
};
use super::light::{LightSpans, Step};
use crate::hex::write_hex;
use crate::request_id::RequestId;

/// A span's fields, already serialized as `"k":v,"k2":v2`.
struct SpanFields(String);

/// Stores `fields` (pairs as [`append_fields`] writes them) as a span's
/// JSON fields, for a span made without values (a light span promoted to
/// the registry).
pub(crate) fn store_fields(
    ext: &mut tracing_subscriber::registry::ExtensionsMut<'_>,
    fields: String,
) {
    if fields.is_empty() {
        return;
    }
    match ext.get_mut::<SpanFields>() {
        Some(stored) => {
            if !stored.0.is_empty() {
                stored.0.push(',');
            }
            stored.0.push_str(&fields);
        }
        None => ext.insert(SpanFields(fields)),
    }
}

/// Formats every event as one JSON line and writes it with one `write_all`.
pub(crate) struct JsonLayer<W> {
    make_writer: W,
    /// `"service_name":"…",` pre-rendered once.
    service_field: String,
    /// The spans kept out of the registry, when obskit's subscriber keeps
    /// some: lines logged inside them list them too.
    light: Option<Arc<LightSpans>>,
}

impl<W> JsonLayer<W> {
    pub(crate) fn new(service_name: &str, make_writer: W) -> Self {
        Self {
            make_writer,
            service_field: service_field(service_name),
            light: None,
        }
    }

    /// Lists the light spans of `light` in the lines logged inside them.
    pub(crate) fn with_light(mut self, light: Option<Arc<LightSpans>>) -> Self {
        self.light = light;
        self
    }
}

/// Appends one entry of a line's `spans`, after a comma unless `first`.
fn push_span(out: &mut String, first: &mut bool, name: &str, fields: Option<&str>) {
    if !*first {
        out.push(',');
    }
    *first = false;
    out.push_str("{\"name\":");
    push_json_str(out, name);
    if let Some(fields) = fields
        && !fields.is_empty()
    {
        out.push(',');
        out.push_str(fields);
    }
    out.push('}');
}

/// Appends a registry span's entry to a line's `spans`.
fn push_registry_span<'a, R: LookupSpan<'a>>(
    out: &mut String,
    first: &mut bool,
    span: &tracing_subscriber::registry::SpanRef<'a, R>,
) {
    let ext = span.extensions();
    let fields = ext.get::<SpanFields>().map(|f| f.0.as_str());
    push_span(out, first, span.name(), fields);
}

thread_local! {
    static LINE: RefCell<String> = RefCell::new(String::with_capacity(512));
}

/// Calls `f` with this thread's empty line buffer (a fresh one when a line
/// is logged while another is formatted); a buffer grown past 64 KiB by a
/// huge line is let go afterwards.
fn with_line(f: impl FnOnce(&mut String)) {
    super::with_buffer(&LINE, f);
}

impl<S, W> Layer<S> for JsonLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        // A span created without values (no fields, or only `Empty` ones)
        // stores nothing until a value is recorded on it.
        if attrs.values().is_empty() {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut buf = String::with_capacity(SPAN_FIELDS_CAPACITY);
        append_fields(&mut buf, |v| attrs.record(v));
        span.extensions_mut().insert(SpanFields(buf));
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        if values.is_empty() {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        match ext.get_mut::<SpanFields>() {
            Some(fields) => append_fields(&mut fields.0, |v| values.record(v)),
            None => {
                let mut buf = String::with_capacity(SPAN_FIELDS_CAPACITY);
                append_fields(&mut buf, |v| values.record(v));
                ext.insert(SpanFields(buf));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        with_line(|out| {
            self.format(event, &ctx, out);
            let mut writer = self.make_writer.make_writer_for(event.metadata());
            let _ = writer.write_all(out.as_bytes());
        });
    }
}

impl<W> JsonLayer<W> {
    fn format<S>(&self, event: &Event<'_>, ctx: &Context<'_, S>, out: &mut String)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let meta = event.metadata();
        push_header(out, &self.service_field, *meta.level(), meta.target());
        out.push_str("\"message\":\"");
        event.record(&mut Message(out));
        out.push('"');
        let mut fields = JsonFields {
            out,
            any: true,
            skip_message: true,
        };
        event.record(&mut fields);

        if let Some(light) = &self.light
            && let Some(id) = light.event_span(event)
        {
            out.push_str(",\"spans\":[");
            let mut first = true;
            light.walk(&id, &mut |step| match step {
                Step::Scope(id) => {
                    if let Some(scope) = ctx.span_scope(id) {
                        for span in scope.from_root() {
                            push_registry_span(out, &mut first, &span);
                        }
                    }
                }
                Step::One(id) => {
                    if let Some(span) = ctx.span(id) {
                        push_registry_span(out, &mut first, &span);
                    }
                }
                Step::Light(name, fields) => push_span(out, &mut first, name, Some(fields)),
            });
            out.push(']');
        } else if let Some(scope) = ctx.event_scope(event) {
            out.push_str(",\"spans\":[");
            let mut first = true;
            for span in scope.from_root() {
                push_registry_span(out, &mut first, &span);
            }
            out.push(']');
        }
        out.push_str("}\n");
    }
}

/// Starts a line: `{"timestamp":…,"level":…,"target":…,"service_name":…,`
/// and the trace, span and request ids of the current OpenTelemetry
/// context, each followed by a comma.
fn push_header(out: &mut String, service_field: &str, level: Level, target: &str) {
    out.push_str("{\"timestamp\":\"");
    push_timestamp(out, SystemTime::now());
    push_after_time(out, service_field, level, target);
    push_context_ids(out);
}

/// What follows the timestamp in a line's header, up to the ids:
/// `","level":"…","target":…,"service_name":…,`.
fn push_after_time(out: &mut String, service_field: &str, level: Level, target: &str) {
    out.push_str("\",\"level\":\"");
    out.push_str(level.as_str());
    out.push_str("\",\"target\":");
    push_json_str(out, target);
    out.push(',');
    out.push_str(service_field);
}

/// The trace, span and request ids of the current OpenTelemetry context,
/// each followed by a comma.
fn push_context_ids(out: &mut String) {
    opentelemetry::Context::map_current(|cx| {
        let span = cx.span();
        let sc = span.span_context();
        if sc.is_valid() {
            push_ids(out, sc.trace_id().to_bytes(), sc.span_id().to_bytes());
        }
        if let Some(id) = RequestId::text_in(cx) {
            // A request id is safe text by construction: nothing to escape.
            out.push_str("\"request_id\":\"");
            out.push_str(id);
            out.push_str("\",");
        }
    });
}

/// Appends `"trace_id":"…","span_id":"…",`, built on the stack and
/// copied once.
fn push_ids(out: &mut String, trace_id: [u8; 16], span_id: [u8; 8]) {
    // Quotes, letters and hex digits: ASCII.
    out.push_str(std::str::from_utf8(&ids_text(trace_id, span_id)).unwrap_or_default());
}

/// The length of what [`ids_text`] writes.
const IDS_LEN: usize = r#""trace_id":"","span_id":"","#.len() + 32 + 16;

/// `"trace_id":"…","span_id":"…",` on the stack.
fn ids_text(trace_id: [u8; 16], span_id: [u8; 8]) -> [u8; IDS_LEN] {
    const TRACE: &[u8] = b"\"trace_id\":\"";
    const SPAN: &[u8] = b"\",\"span_id\":\"";
    const END: &[u8] = b"\",";
    let mut text = [0_u8; IDS_LEN];
    let (trace, rest) = text.split_at_mut(TRACE.len());
    trace.copy_from_slice(TRACE);
    let (trace_hex, rest) = rest.split_at_mut(32);
    write_hex(trace_hex, &trace_id);
    let (span, rest) = rest.split_at_mut(SPAN.len());
    span.copy_from_slice(SPAN);
    let (span_hex, end) = rest.split_at_mut(16);
    write_hex(span_hex, &span_id);
    end.copy_from_slice(END);
    text
}

/// `"service_name":"…",` for `service_name`, rendered once.
fn service_field(service_name: &str) -> String {
    let mut field = String::from("\"service_name\":");
    push_json_str(&mut field, service_name);
    field.push(',');
    field
}

/// A value of an access-line field.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Str(&'a str),
    U64(u64),
    /// A duration, written in milliseconds to the microsecond, as an
    /// event's `f64` field `log_millis(d)` would be.
    Millis(std::time::Duration),
}

/// Access lines written straight to the log writer, without a `tracing`
/// event: the layer already holds every value, so the line is formatted
/// once, with no field visitor, no dispatch and no message formatting.
/// The line is byte for byte the one the JSON layer would write for the
/// same event.
///
/// Only obskit's own subscriber gets one (see `Telemetry`): a subscriber
/// composed by the user may have other layers that expect the event.
#[derive(Clone)]
pub(crate) struct DirectLines {
    writer: super::LineWriter,
    /// What follows the timestamp up to the ids, per level (`TRACE`
    /// first): the same for every access line, so written once.
    after_time: Arc<[String; 5]>,
    /// Whether the log filter lets `obskit::access` through, by level
    /// (`TRACE` first): asked of the subscriber at the first line, since
    /// asking on every line costs more than the rest of the check.
    enabled: Arc<OnceLock<[bool; 5]>>,
}

impl DirectLines {
    pub(crate) fn new(service_name: &str, writer: super::LineWriter) -> Self {
        let service_field = service_field(service_name);
        let after_time = [
            Level::TRACE,
            Level::DEBUG,
            Level::INFO,
            Level::WARN,
            Level::ERROR,
        ]
        .map(|level| {
            let mut text = String::new();
            push_after_time(&mut text, &service_field, level, ACCESS_TARGET);
            text
        });
        Self {
            writer,
            after_time: Arc::new(after_time),
            enabled: Arc::default(),
        }
    }

    /// Writes the access line `message` (its parts joined) with `fields`
    /// (a `None` value is left out, as `tracing` leaves out an empty
    /// `Option`) at `level`, unless the filter turns that level off.
    ///
    /// Returns `false`, writing nothing, when a `tracing` span is current:
    /// the line then goes through `tracing`, so it lists the spans and
    /// the bridge sees it.
    pub(crate) fn write(
        &self,
        level: Level,
        key: Option<LineKey<'_>>,
        message: &[&str],
        fields: &[(&str, Option<Value<'_>>)],
    ) -> bool {
        // (`current_span` takes no reference, unlike `Span::current`.)
        if tracing::dispatcher::get_default(|d| d.current_span().id().is_some()) {
            return false;
        }
        if !self.enabled(level) {
            return true;
        }
        // What follows the first duration's key changes with every line;
        // what comes before it is the line's static part.
        let split = fields
            .iter()
            .position(|(_, v)| matches!(v, Some(Value::Millis(_))))
            .unwrap_or(fields.len());
        let (fixed, varying) = fields.split_at(split);
        let (duration, varying) = match varying.split_first() {
            Some(((name, Some(Value::Millis(d))), rest)) => (Some((*name, *d)), rest),
            _ => (None, varying),
        };
        let format = |part: &mut String| {
            push_static(part, message, fixed);
            if let Some((name, _)) = duration {
                push_key(part, name);
            }
        };
        with_bytes(|out| {
            // The header `push_header` writes, its fixed middle copied whole.
            out.extend_from_slice(b"{\"timestamp\":\"");
            push_timestamp(out, SystemTime::now());
            out.extend_from_slice(self.after_time[level_index(level)].as_bytes());
            push_context_id_bytes(out);
            match key {
                Some(key) => with_prepared(key, out, format),
                None => {
                    let mut part = String::new();
                    format(&mut part);
                    out.extend_from_slice(part.as_bytes());
                }
            }
            if let Some((_, d)) = duration {
                push_millis(out, super::duration::log_micros(d));
            }
            push_fields(out, varying);
            out.extend_from_slice(b"}\n");
            let _ = self.writer.make_writer().write_all(out);
        });
        true
    }
}

thread_local! {
    static BYTES: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(512));
}

/// Calls `f` with this thread's empty buffer for directly written lines
/// (a fresh one when a line is written while another is formatted); a
/// buffer grown past 64 KiB by a huge line is let go afterwards.
fn with_bytes(f: impl FnOnce(&mut Vec<u8>)) {
    BYTES.with(|cell| {
        let mut fresh = Vec::new();
        let mut guard = cell.try_borrow_mut();
        let buf: &mut Vec<u8> = match guard.as_deref_mut() {
            Ok(buf) => buf,
            Err(_) => &mut fresh,
        };
        buf.clear();
        f(buf);
        if buf.capacity() > 64 * 1024 {
            *buf = Vec::new();
        }
    });
}

/// [`push_context_ids`] for a line built as bytes: the ids are copied as
/// they are, with no check that they are text.
fn push_context_id_bytes(out: &mut Vec<u8>) {
    opentelemetry::Context::map_current(|cx| {
        let span = cx.span();
        let sc = span.span_context();
        if sc.is_valid() {
            out.extend_from_slice(&ids_text(sc.trace_id().to_bytes(), sc.span_id().to_bytes()));
        }
        if let Some(id) = RequestId::bytes_in(cx) {
            // A request id is safe text by construction: nothing to escape.
            out.extend_from_slice(b"\"request_id\":\"");
            out.extend_from_slice(id);
            out.extend_from_slice(b"\",");
        }
    });
}

/// What identifies the static part of an access line (its message, the
/// fields before its duration and the duration's key) for the protocol
/// that writes it: equal
/// keys promise equal static parts. `text` holds the strings it depends
/// on (a method and a route), `number` the rest (a status, how the
/// exchange ended), `error_type` the error type the line reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineKey<'a> {
    pub(crate) protocol: &'static str,
    pub(crate) text: [&'a str; 2],
    pub(crate) number: u32,
    pub(crate) error_type: Option<&'static str>,
}

/// A static part formatted once, and its key.
struct Prepared {
    protocol: &'static str,
    text: [Box<str>; 2],
    number: u32,
    error_type: Option<&'static str>,
    part: String,
}

impl Prepared {
    fn is(&self, key: &LineKey<'_>) -> bool {
        self.number == key.number
            && self.protocol == key.protocol
            && self.error_type == key.error_type
            && *self.text[0] == *key.text[0]
            && *self.text[1] == *key.text[1]
    }
}

/// Static parts kept per thread: a service's routes, methods and statuses
/// are few, and a thread keeps the ones it wrote last.
const PREPARED_PER_THREAD: usize = 64;

thread_local! {
    static PREPARED: RefCell<(Vec<Prepared>, usize)> = const { RefCell::new((Vec::new(), 0)) };
}

/// Appends the static part `key` names, formatting it with `format` the
/// first time (and again once evicted).
fn with_prepared(key: LineKey<'_>, out: &mut Vec<u8>, format: impl Fn(&mut String)) {
    PREPARED.with(|cell| {
        let Ok(mut prepared) = cell.try_borrow_mut() else {
            let mut part = String::new();
            format(&mut part);
            out.extend_from_slice(part.as_bytes());
            return;
        };
        let (entries, next) = &mut *prepared;
        if let Some(entry) = entries.iter().find(|e| e.is(&key)) {
            // Tests check the promise: equal keys, equal static parts.
            #[cfg(debug_assertions)]
            {
                let mut fresh = String::new();
                format(&mut fresh);
                assert_eq!(entry.part, fresh, "two static parts share the key {key:?}");
            }
            out.extend_from_slice(entry.part.as_bytes());
            return;
        }
        let mut part = String::new();
        format(&mut part);
        out.extend_from_slice(part.as_bytes());
        let entry = Prepared {
            protocol: key.protocol,
            text: key.text.map(Box::from),
            number: key.number,
            error_type: key.error_type,
            part,
        };
        if entries.len() < PREPARED_PER_THREAD {
            entries.push(entry);
        } else {
            entries[*next] = entry;
            *next = (*next + 1) % PREPARED_PER_THREAD;
        }
    });
}

/// `"message":"…"` and `fields`.
fn push_static<O: Out>(out: &mut O, message: &[&str], fields: &[(&str, Option<Value<'_>>)]) {
    out.push_str("\"message\":\"");
    for part in message {
        push_escaped(out, part);
    }
    out.push_ascii(b'"');
    push_fields(out, fields);
}

/// `,"key":`.
fn push_key<O: Out>(out: &mut O, key: &str) {
    // Keys are obskit's own attribute names: nothing to escape.
    out.push_str(",\"");
    out.push_str(key);
    out.push_str("\":");
}

/// `,"key":value` for each field that has a value.
fn push_fields<O: Out>(out: &mut O, fields: &[(&str, Option<Value<'_>>)]) {
    for (key, value) in fields {
        let Some(value) = value else { continue };
        push_key(out, key);
        match *value {
            Value::Str(s) => push_json_str(out, s),
            Value::U64(n) => out.push_str(itoa::Buffer::new().format(n)),
            Value::Millis(d) => push_millis(out, super::duration::log_micros(d)),
        }
    }
}

impl DirectLines {
    /// Whether the subscriber's filter lets an access line at `level`
    /// through. Asked once, of the first subscriber that is not the no-op
    /// one (a thread without a subscriber drops the line, as it would drop
    /// the event, but does not decide for the threads that have one).
    fn enabled(&self, level: Level) -> bool {
        let levels = match self.enabled.get() {
            Some(levels) => *levels,
            None if tracing::dispatcher::get_default(|d| {
                d.is::<tracing::subscriber::NoSubscriber>()
            }) =>
            {
                return false;
            }
            None => *self.enabled.get_or_init(access_levels),
        };
        levels[level_index(level)]
    }
}

/// The target of access lines.
pub(crate) const ACCESS_TARGET: &str = "obskit::access";

fn level_index(level: Level) -> usize {
    match level {
        Level::TRACE => 0,
        Level::DEBUG => 1,
        Level::INFO => 2,
        Level::WARN => 3,
        Level::ERROR => 4,
    }
}

/// Which levels of `obskit::access` the current subscriber's filter
/// (`RUST_LOG`) lets through outside any span (`TRACE` first), as it would
/// decide for the events.
fn access_levels() -> [bool; 5] {
    [
        tracing::enabled!(target: "obskit::access", Level::TRACE),
        tracing::enabled!(target: "obskit::access", Level::DEBUG),
        tracing::enabled!(target: "obskit::access", Level::INFO),
        tracing::enabled!(target: "obskit::access", Level::WARN),
        tracing::enabled!(target: "obskit::access", Level::ERROR),
    ]
}

#[cfg(test)]
mod tests;
