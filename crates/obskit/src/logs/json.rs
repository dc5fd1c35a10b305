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
use std::time::SystemTime;

use opentelemetry::trace::TraceContextExt;
use tracing::{Event, Subscriber, span};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::fields::{JsonFields, Message, push_json_str, push_timestamp};
use crate::hex::push_hex;
use crate::request_id::RequestId;

/// A span's fields, already serialized as `"k":v,"k2":v2`.
struct SpanFields(String);

/// Formats every event as one JSON line and writes it with one `write_all`.
pub(crate) struct JsonLayer<W> {
    make_writer: W,
    /// `"service_name":"…",` pre-rendered once.
    service_field: String,
}

impl<W> JsonLayer<W> {
    pub(crate) fn new(service_name: &str, make_writer: W) -> Self {
        let mut service_field = String::from("\"service_name\":");
        push_json_str(&mut service_field, service_name);
        service_field.push(',');
        Self {
            make_writer,
            service_field,
        }
    }
}

thread_local! {
    static LINE: RefCell<String> = RefCell::new(String::with_capacity(512));
}

impl<S, W> Layer<S> for JsonLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut buf = String::new();
        attrs.record(&mut JsonFields {
            out: &mut buf,
            any: false,
            skip_message: false,
        });
        span.extensions_mut().insert(SpanFields(buf));
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(fields) = ext.get_mut::<SpanFields>() {
            let any = !fields.0.is_empty();
            values.record(&mut JsonFields {
                out: &mut fields.0,
                any,
                skip_message: false,
            });
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        LINE.with(|line| {
            // A re-entrant event (one logged while formatting) gets a fresh buffer.
            let mut fresh = String::new();
            let mut guard = line.try_borrow_mut();
            let out: &mut String = match guard.as_deref_mut() {
                Ok(buf) => buf,
                Err(_) => &mut fresh,
            };
            out.clear();
            self.format(event, &ctx, out);
            let mut writer = self.make_writer.make_writer_for(event.metadata());
            let _ = writer.write_all(out.as_bytes());
            if out.capacity() > 64 * 1024 {
                *out = String::with_capacity(512);
            }
        });
    }
}

impl<W> JsonLayer<W> {
    fn format<S>(&self, event: &Event<'_>, ctx: &Context<'_, S>, out: &mut String)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let meta = event.metadata();
        out.push_str("{\"timestamp\":\"");
        push_timestamp(out, SystemTime::now());
        out.push_str("\",\"level\":\"");
        out.push_str(meta.level().as_str());
        out.push_str("\",\"target\":");
        push_json_str(out, meta.target());
        out.push(',');
        out.push_str(&self.service_field);

        opentelemetry::Context::map_current(|cx| {
            let span = cx.span();
            let sc = span.span_context();
            if sc.is_valid() {
                out.push_str("\"trace_id\":\"");
                push_hex(out, &sc.trace_id().to_bytes());
                out.push_str("\",\"span_id\":\"");
                push_hex(out, &sc.span_id().to_bytes());
                out.push_str("\",");
            }
            if let Some(id) = cx.get::<RequestId>() {
                out.push_str("\"request_id\":");
                push_json_str(out, id.as_str());
                out.push(',');
            }
        });

        out.push_str("\"message\":\"");
        event.record(&mut Message(out));
        out.push('"');
        let mut fields = JsonFields {
            out,
            any: true,
            skip_message: true,
        };
        event.record(&mut fields);

        if let Some(scope) = ctx.event_scope(event) {
            out.push_str(",\"spans\":[");
            let mut first = true;
            for span in scope.from_root() {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str("{\"name\":");
                push_json_str(out, span.name());
                if let Some(fields) = span.extensions().get::<SpanFields>()
                    && !fields.0.is_empty()
                {
                    out.push(',');
                    out.push_str(&fields.0);
                }
                out.push('}');
            }
            out.push(']');
        }
        out.push_str("}\n");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use opentelemetry::trace::{Span as _, Tracer, TracerProvider as _};
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> MakeWriter<'a> for Buf {
        type Writer = Buf;
        fn make_writer(&'a self) -> Buf {
            self.clone()
        }
    }
    impl Buf {
        fn lines(&self) -> Vec<serde_json::Value> {
            String::from_utf8(self.0.lock().unwrap().clone())
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
                .collect()
        }
    }

    #[test]
    fn lines_carry_fields_spans_and_otel_ids() {
        let buf = Buf::default();
        let subscriber =
            tracing_subscriber::registry().with(JsonLayer::new("svc \"q\"", buf.clone()));
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let tracer = provider.tracer("test");
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(answer = 42, "outside");
            let otel_span = tracer.start("request");
            let expected = otel_span.span_context().clone();
            let cx = opentelemetry::Context::current_with_span(otel_span)
                .with_value(RequestId::from_valid("req-1"));
            let _attached = cx.attach();
            let span = tracing::info_span!("work", customer = "c-1", n = 3_u64);
            let _entered = span.enter();
            tracing::warn!(
                level = "shadow",
                ratio = 0.5,
                ok = true,
                "inside {}",
                "span"
            );
            drop(_entered);
            let lines = buf.lines();
            assert_eq!(lines.len(), 2);
            let outside = &lines[0];
            assert_eq!(outside["message"], "outside");
            assert_eq!(outside["answer"], 42);
            assert_eq!(outside["level"], "INFO");
            assert_eq!(outside["service_name"], "svc \"q\"");
            assert!(outside.get("trace_id").is_none());
            assert!(outside["timestamp"].as_str().unwrap().ends_with('Z'));
            let inside = &lines[1];
            assert_eq!(inside["message"], "inside span");
            assert_eq!(inside["level"], "WARN");
            assert_eq!(inside["field.level"], "shadow");
            assert_eq!(inside["ratio"], 0.5);
            assert_eq!(inside["ok"], true);
            assert_eq!(inside["trace_id"], expected.trace_id().to_string());
            assert_eq!(inside["span_id"], expected.span_id().to_string());
            assert_eq!(inside["request_id"], "req-1");
            assert_eq!(inside["spans"][0]["name"], "work");
            assert_eq!(inside["spans"][0]["customer"], "c-1");
            assert_eq!(inside["spans"][0]["n"], 3);
        });
    }
}
