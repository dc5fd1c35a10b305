//! Flattens the nested resource → scope → record layout of an OTLP logs
//! request into one [`ReceivedLog`] per log record.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::LogRecord;

use crate::attr::{AttrValue, attribute_map, hex};
use crate::request::Protocol;

/// One received log record with what tests assert on pulled out of the
/// protobuf. The original message stays available in [`ReceivedLog::raw`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedLog {
    /// The body ([`AttrValue::Empty`] when none was sent).
    pub body: AttrValue,
    /// The severity number (1–24; 0 when unspecified).
    pub severity_number: i32,
    /// The severity text, empty when none was sent.
    pub severity_text: String,
    /// The record's attributes by key.
    pub attributes: BTreeMap<String, AttrValue>,
    /// The attributes of the resource the record was exported under.
    pub resource: BTreeMap<String, AttrValue>,
    /// The instrumentation scope name, empty when none was sent.
    pub scope_name: String,
    /// The trace id as 32 lowercase hex digits, `None` when empty on the wire.
    pub trace_id: Option<String>,
    /// The span id as 16 lowercase hex digits, `None` when empty on the wire.
    pub span_id: Option<String>,
    /// The record's flags (the W3C trace flags in the low byte).
    pub flags: u32,
    /// The event name, empty when none was sent.
    pub event_name: String,
    /// When the event happened, in nanoseconds since the Unix epoch.
    pub time_unix_nano: u64,
    /// When it was observed, in nanoseconds since the Unix epoch.
    pub observed_time_unix_nano: u64,
    /// The transport the record arrived over.
    pub protocol: Protocol,
    /// The record exactly as decoded.
    pub raw: LogRecord,
}

impl ReceivedLog {
    /// Flattens every record of an export request, in the order they appear in it.
    pub fn from_request(request: &ExportLogsServiceRequest, protocol: Protocol) -> Vec<Self> {
        let mut logs = Vec::new();
        for resource_logs in &request.resource_logs {
            let resource = resource_logs
                .resource
                .as_ref()
                .map(|resource| attribute_map(&resource.attributes))
                .unwrap_or_default();
            for scope_logs in &resource_logs.scope_logs {
                let scope_name = scope_logs
                    .scope
                    .as_ref()
                    .map(|scope| scope.name.clone())
                    .unwrap_or_default();
                logs.extend(scope_logs.log_records.iter().map(|record| {
                    Self {
                        body: record
                            .body
                            .as_ref()
                            .map_or(AttrValue::Empty, AttrValue::from),
                        severity_number: record.severity_number,
                        severity_text: record.severity_text.clone(),
                        attributes: attribute_map(&record.attributes),
                        resource: resource.clone(),
                        scope_name: scope_name.clone(),
                        trace_id: (!record.trace_id.is_empty()).then(|| hex(&record.trace_id)),
                        span_id: (!record.span_id.is_empty()).then(|| hex(&record.span_id)),
                        flags: record.flags,
                        event_name: record.event_name.clone(),
                        time_unix_nano: record.time_unix_nano,
                        observed_time_unix_nano: record.observed_time_unix_nano,
                        protocol,
                        raw: record.clone(),
                    }
                }));
            }
        }
        logs
    }

    /// A record attribute by key.
    pub fn attr(&self, key: &str) -> Option<&AttrValue> {
        self.attributes.get(key)
    }

    /// The body as text, if it is a string.
    pub fn body_str(&self) -> Option<&str> {
        self.body.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{
        AnyValue, InstrumentationScope, KeyValue, any_value::Value,
    };
    use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource;

    #[test]
    fn records_are_flattened_with_their_resource_and_scope() {
        let string = |s: &str| AnyValue {
            value: Some(Value::StringValue(s.into())),
        };
        let request = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![KeyValue {
                        key: "service.name".into(),
                        value: Some(string("svc")),
                        ..KeyValue::default()
                    }],
                    ..Resource::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "app".into(),
                        ..InstrumentationScope::default()
                    }),
                    log_records: vec![
                        LogRecord {
                            body: Some(string("hello")),
                            severity_number: 9,
                            trace_id: vec![1; 16],
                            span_id: vec![2; 8],
                            ..LogRecord::default()
                        },
                        LogRecord::default(),
                    ],
                    ..ScopeLogs::default()
                }],
                ..ResourceLogs::default()
            }],
        };
        let logs = ReceivedLog::from_request(&request, Protocol::Grpc);
        assert_eq!(logs.len(), 2);
        assert_eq!(logs[0].body_str(), Some("hello"));
        assert_eq!(logs[0].scope_name, "app");
        assert_eq!(logs[0].resource["service.name"], "svc");
        assert_eq!(logs[0].trace_id.as_deref(), Some("01".repeat(16).as_str()));
        assert_eq!(logs[1].body, AttrValue::Empty);
        assert_eq!(logs[1].trace_id, None);
    }
}
