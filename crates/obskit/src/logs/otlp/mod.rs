//! Logs over OTLP (`OTEL_LOGS_EXPORTER=otlp`): every event that passes the
//! filter, the access lines included, becomes an OTLP log record sent
//! through the same pipeline and transport as spans.
//!
//! A record carries what the JSON line carries, typed: severity number and
//! text, the message as its body, the event's fields as attributes, the
//! fields of the spans it happened in as a `spans` attribute (a list of
//! key-value lists, outermost first, each with the span's `name`), the
//! `request_id`, the trace and span ids and flags of the current
//! OpenTelemetry span, the event's name (`tracing::event!(name: …)`) as
//! `event_name`, the target as the instrumentation scope, and the resource.
//!
//! Without `otlp` in `OTEL_LOGS_EXPORTER` none of this is built: the layer
//! is absent, and an event costs nothing more.

mod encode;
mod record;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::TraceContextExt as _;
use tracing::{Event, Subscriber, span};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::config::Config;
use crate::error::InitError;
use crate::export::pipeline::{ExportStats, Pipeline, WarnDispatch};
use crate::export::{self, LOGS, OtlpExporter};
use crate::request_id::RequestId;
pub(crate) use record::{AnyValue, Record};

/// The OTLP log pipeline of an installed telemetry.
#[derive(Clone)]
pub(crate) struct OtlpLogs {
    pub(crate) pipeline: Arc<Pipeline<Record>>,
}

impl OtlpLogs {
    /// Starts the log export thread for `config`'s logs target.
    pub(crate) fn start(
        config: &Config,
        resource: opentelemetry_sdk::Resource,
        warn: WarnDispatch,
    ) -> Result<Self, InitError> {
        let target = config.logs_target();
        let transport = export::prepare(&target, &LOGS)?;
        let stats = Arc::new(ExportStats::default());
        let pipeline = Pipeline::start(
            &LOGS,
            "otlp",
            move || {
                Ok(OtlpExporter::new(
                    transport(),
                    encode::LogsEncoder::default(),
                ))
            },
            resource,
            config.logs_batch,
            stats,
            warn,
        )
        .map_err(|e| export::start_error(&target, e))?;
        Ok(Self {
            pipeline: Arc::new(pipeline),
        })
    }

    /// The record counts.
    pub(crate) fn stats(&self) -> &Arc<ExportStats> {
        self.pipeline.stats()
    }

    /// The `tracing` layer that turns events into records for this pipeline.
    pub(crate) fn layer(&self) -> OtlpLogLayer {
        OtlpLogLayer {
            pipeline: Arc::clone(&self.pipeline),
        }
    }
}

/// A span's fields, typed, kept for the records of the events inside it.
struct SpanAttributes(Vec<(&'static str, AnyValue)>);

/// Captures events as OTLP log records.
pub(crate) struct OtlpLogLayer {
    pipeline: Arc<Pipeline<Record>>,
}

impl<S> Layer<S> for OtlpLogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut attributes = Vec::new();
        attrs.record(&mut record::Fields {
            attributes: &mut attributes,
            body: None,
        });
        span.extensions_mut().insert(SpanAttributes(attributes));
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(fields) = ext.get_mut::<SpanAttributes>() {
            values.record(&mut record::Fields {
                attributes: &mut fields.0,
                body: None,
            });
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut attributes = Vec::new();
        let mut body = None;
        event.record(&mut record::Fields {
            attributes: &mut attributes,
            body: Some(&mut body),
        });
        let (trace, request_id) = opentelemetry::Context::map_current(|cx| {
            let span = cx.span();
            let sc = span.span_context();
            let trace = sc.is_valid().then(|| {
                (
                    sc.trace_id().to_bytes(),
                    sc.span_id().to_bytes(),
                    sc.trace_flags().to_u8(),
                )
            });
            (trace, RequestId::text_in(cx).map(str::to_owned))
        });
        if let Some(id) = request_id {
            attributes.push(("request_id", AnyValue::Str(id)));
        }
        if let Some(scope) = ctx.event_scope(event) {
            let spans: Vec<AnyValue> = scope
                .from_root()
                .map(|span| {
                    let mut kvs = vec![("name", AnyValue::Str(span.name().to_owned()))];
                    if let Some(fields) = span.extensions().get::<SpanAttributes>() {
                        kvs.extend(fields.0.iter().cloned());
                    }
                    AnyValue::Map(kvs)
                })
                .collect();
            attributes.push(("spans", AnyValue::Array(spans)));
        }
        let time_unix_nano = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        self.pipeline.push(Record {
            time_unix_nano,
            level: *meta.level(),
            target: meta.target(),
            event_name: record::event_name(meta.name()),
            body,
            attributes,
            trace,
        });
    }
}
