//! OTLP log records into the Logs page's lines: severity into a level, the body into the
//! message, the instrumentation scope into the target, the attributes into fields, and the
//! trace and span ids into the links a stdout line gets.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;

use super::{ReceiveError, attributes, cut, owned_value_text};
use crate::log_line::{Level, LogLine};

/// The level of an OTLP severity number (1–4 trace … 17–24 error and fatal), else of its
/// text, else `INFO`.
///
/// ```
/// use obskit_dev::log_line::Level;
/// use obskit_dev::receiver::logs::level;
/// assert_eq!(level(13, ""), Level::Warn);
/// assert_eq!(level(21, "FATAL"), Level::Error);
/// assert_eq!(level(0, "debug"), Level::Debug);
/// ```
pub fn level(number: i32, text: &str) -> Level {
    match number {
        1..=4 => Level::Trace,
        5..=8 => Level::Debug,
        9..=12 => Level::Info,
        13..=16 => Level::Warn,
        17.. => Level::Error,
        _ => Level::parse(text).unwrap_or(match text.to_ascii_lowercase().as_str() {
            "fatal" | "critical" | "crit" | "emerg" | "alert" => Level::Error,
            _ => Level::Info,
        }),
    }
}

/// `2026-12-01T10:04:05.123456789Z` for nanoseconds since the epoch (UTC).
///
/// ```
/// use obskit_dev::receiver::logs::rfc3339;
/// assert_eq!(rfc3339(1_733_047_445_123_000_000), "2024-12-01T10:04:05.123000000Z");
/// ```
pub fn rfc3339(unix_nanos: u64) -> String {
    let secs = unix_nanos / 1_000_000_000;
    let nanos = unix_nanos % 1_000_000_000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rest = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// Converts every log record of an export, checking ids first; values cut at
/// `max_value_bytes`.
pub fn convert(
    request: ExportLogsServiceRequest,
    max_value_bytes: usize,
) -> Result<Vec<LogLine>, ReceiveError> {
    let mut lines = Vec::new();
    for resource_logs in request.resource_logs {
        let service = super::service_name(resource_logs.resource.as_ref());
        for scope_logs in resource_logs.scope_logs {
            let scope = scope_logs.scope.map(|s| s.name).unwrap_or_default();
            for record in scope_logs.log_records {
                let what = || "a log record".to_owned();
                let trace_id = match record.trace_id.len() {
                    0 => None,
                    _ => Some(super::trace_id(&record.trace_id, what)?),
                };
                let span_id = match record.span_id.len() {
                    0 => None,
                    _ => Some(super::span_id(&record.span_id, what)?),
                };
                let time = if record.time_unix_nano > 0 {
                    record.time_unix_nano
                } else {
                    record.observed_time_unix_nano
                };
                let mut message = match record.body {
                    Some(body) => match body.value {
                        Some(any_value::Value::StringValue(text)) => text,
                        other => {
                            owned_value_text(opentelemetry_proto::tonic::common::v1::AnyValue {
                                value: other,
                            })
                        }
                    },
                    None => String::new(),
                };
                cut(
                    &mut message,
                    max_value_bytes.max(crate::child::MAX_LINE_BYTES),
                );
                let mut fields: Vec<(String, String)> =
                    attributes(record.attributes, max_value_bytes)
                        .into_iter()
                        .map(|a| (a.key, a.value))
                        .collect();
                if !record.event_name.is_empty() {
                    fields.push(("event.name".to_owned(), record.event_name));
                }
                fields.push(("service_name".to_owned(), service.to_string()));
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                lines.push(LogLine {
                    seq: 0,
                    timestamp: if time > 0 {
                        rfc3339(time)
                    } else {
                        String::new()
                    },
                    level: level(record.severity_number, &record.severity_text),
                    target: scope.clone(),
                    message,
                    trace_id,
                    span_id,
                    fields,
                    structured: true,
                });
            }
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

    use super::*;

    fn request(record: LogRecord) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "app.db".to_owned(),
                        ..Default::default()
                    }),
                    log_records: vec![record],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn a_record_becomes_a_line_linked_to_its_span() {
        let record = LogRecord {
            time_unix_nano: 1_733_047_445_123_000_000,
            severity_number: 17,
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue("lost <conn>".to_owned())),
            }),
            attributes: vec![KeyValue {
                key: "retry".to_owned(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::IntValue(3)),
                }),
                ..Default::default()
            }],
            trace_id: vec![7; 16],
            span_id: vec![8; 8],
            ..Default::default()
        };
        let lines = convert(request(record), 100).unwrap();
        let line = &lines[0];
        assert_eq!(line.level, Level::Error);
        assert_eq!(line.message, "lost <conn>");
        assert_eq!(line.target, "app.db");
        assert_eq!(line.trace_id.unwrap().to_string(), "07".repeat(16));
        assert_eq!(line.span_id.unwrap().to_string(), "08".repeat(8));
        assert!(line.fields.contains(&("retry".to_owned(), "3".to_owned())));
        assert!(line.timestamp.starts_with("2024-12-01T10:04:05.123"));
    }

    #[test]
    fn bad_ids_refuse_the_export() {
        let record = LogRecord {
            trace_id: vec![7; 3],
            ..Default::default()
        };
        assert!(convert(request(record), 100).is_err());
        let zero = LogRecord {
            trace_id: vec![0; 16],
            ..Default::default()
        };
        let err = convert(request(zero), 100).unwrap_err();
        assert!(err.to_string().contains("all-zero trace id"), "{err}");
    }
}
