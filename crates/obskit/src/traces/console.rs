//! `OTEL_TRACES_EXPORTER=console`: one JSON line per finished span on
//! standard error, for looking at spans without a collector.

use std::io::Write;

use opentelemetry::trace::Status;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::SpanData;

use super::Finished;
use crate::export::pipeline::{BatchExporter, Retrying};

/// Writes spans as JSON lines to standard error.
#[derive(Debug, Default)]
pub(crate) struct ConsoleExporter;

impl ConsoleExporter {
    pub(crate) fn line(span: &SpanData) -> String {
        let duration = span
            .end_time
            .duration_since(span.start_time)
            .unwrap_or_default();
        let attributes: serde_json::Map<String, serde_json::Value> = span
            .attributes
            .iter()
            .map(|kv| {
                (
                    kv.key.to_string(),
                    serde_json::Value::String(kv.value.to_string()),
                )
            })
            .collect();
        let (status, message) = match &span.status {
            Status::Unset => ("unset", String::new()),
            Status::Ok => ("ok", String::new()),
            Status::Error { description } => ("error", description.to_string()),
        };
        let parent = span.parent_span_id.to_string();
        serde_json::json!({
            "name": span.name,
            "trace_id": span.span_context.trace_id().to_string(),
            "span_id": span.span_context.span_id().to_string(),
            "parent_span_id": if span.parent_span_id == opentelemetry::trace::SpanId::INVALID { None } else { Some(parent) },
            "kind": format!("{:?}", span.span_kind).to_lowercase(),
            "start": humantime::format_rfc3339_micros(span.start_time).to_string(),
            "duration_us": u64::try_from(duration.as_micros()).unwrap_or(u64::MAX),
            "status": status,
            "status_message": message,
            "attributes": attributes,
            "scope": span.instrumentation_scope.name(),
        })
        .to_string()
    }
}

impl BatchExporter<Finished> for ConsoleExporter {
    async fn export(&self, batch: &[Finished], _retrying: Retrying<'_>) -> OTelSdkResult {
        let mut out = String::new();
        for span in batch {
            let line = match span {
                Finished::Sdk(s) => Self::line(s),
                Finished::Own(s) => Self::line(&s.to_span_data()),
            };
            out.push_str(&line);
            out.push('\n');
        }
        // Failing to write to stderr is not worth failing the export for.
        let _ = std::io::stderr().lock().write_all(out.as_bytes());
        Ok(())
    }
}
