//! Flattens the nested resource → scope → span layout of an OTLP request into one [`ReceivedSpan`] per span.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

use crate::attr::{AttrValue, attribute_map, hex};
use crate::request::Protocol;

/// One received span with what tests assert on pulled out of the protobuf.
///
/// The original message stays available in [`ReceivedSpan::raw`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    /// The span name.
    pub name: String,
    /// The trace id as 32 lowercase hex digits.
    pub trace_id: String,
    /// The span id as 16 lowercase hex digits.
    pub span_id: String,
    /// The parent span id as lowercase hex, `None` for a root span (empty on the wire).
    pub parent_span_id: Option<String>,
    /// The span kind (`Unspecified` when the wire value is unknown).
    pub kind: SpanKind,
    /// The status code (`Unset` when no status was sent or the value is unknown).
    pub status_code: StatusCode,
    /// The status message, empty when none was sent.
    pub status_message: String,
    /// The span attributes by key.
    pub attributes: BTreeMap<String, AttrValue>,
    /// The attributes of the resource the span was exported under (`service.name`, …).
    pub resource: BTreeMap<String, AttrValue>,
    /// The instrumentation scope name, empty when none was sent.
    pub scope_name: String,
    /// The instrumentation scope version, empty when none was sent.
    pub scope_version: String,
    /// The transport the span arrived over.
    pub protocol: Protocol,
    /// Start time in nanoseconds since the Unix epoch.
    pub start_time_unix_nano: u64,
    /// End time in nanoseconds since the Unix epoch.
    pub end_time_unix_nano: u64,
    /// The names of the span's events, in the order sent.
    pub events: Vec<String>,
    /// The span exactly as decoded.
    pub raw: Span,
}

impl ReceivedSpan {
    /// Flattens every span of an export request, in the order they appear in it.
    pub fn from_request(request: &ExportTraceServiceRequest, protocol: Protocol) -> Vec<Self> {
        let mut spans = Vec::new();
        for resource_spans in &request.resource_spans {
            let resource = resource_spans
                .resource
                .as_ref()
                .map(|resource| attribute_map(&resource.attributes))
                .unwrap_or_default();
            for scope_spans in &resource_spans.scope_spans {
                let (scope_name, scope_version) = scope_spans
                    .scope
                    .as_ref()
                    .map(|scope| (scope.name.clone(), scope.version.clone()))
                    .unwrap_or_default();
                spans.extend(scope_spans.spans.iter().map(|span| {
                    Self {
                        name: span.name.clone(),
                        trace_id: hex(&span.trace_id),
                        span_id: hex(&span.span_id),
                        parent_span_id: (!span.parent_span_id.is_empty())
                            .then(|| hex(&span.parent_span_id)),
                        kind: span.kind(),
                        status_code: span.status.as_ref().map_or(StatusCode::Unset, |s| s.code()),
                        status_message: span
                            .status
                            .as_ref()
                            .map(|status| status.message.clone())
                            .unwrap_or_default(),
                        attributes: attribute_map(&span.attributes),
                        resource: resource.clone(),
                        scope_name: scope_name.clone(),
                        scope_version: scope_version.clone(),
                        protocol,
                        start_time_unix_nano: span.start_time_unix_nano,
                        end_time_unix_nano: span.end_time_unix_nano,
                        events: span.events.iter().map(|event| event.name.clone()).collect(),
                        raw: span.clone(),
                    }
                }));
            }
        }
        spans
    }

    /// A span attribute by key.
    pub fn attr(&self, key: &str) -> Option<&AttrValue> {
        self.attributes.get(key)
    }

    /// The `service.name` resource attribute, if it is a string.
    pub fn service_name(&self) -> Option<&str> {
        self.resource
            .get("service.name")
            .and_then(AttrValue::as_str)
    }

    /// End minus start time in nanoseconds (zero if the end is before the start).
    pub fn duration_nanos(&self) -> u64 {
        self.end_time_unix_nano
            .saturating_sub(self.start_time_unix_nano)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{
        AnyValue, InstrumentationScope, KeyValue, any_value::Value,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::span::Event;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status};

    fn kv(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(AnyValue {
                value: Some(Value::StringValue(value.to_owned())),
            }),
            ..KeyValue::default()
        }
    }

    fn request() -> ExportTraceServiceRequest {
        let root = Span {
            trace_id: (1..=16).collect(),
            span_id: vec![0xaa; 8],
            name: "GET /users/{id}".into(),
            kind: SpanKind::Server as i32,
            start_time_unix_nano: 1_000,
            end_time_unix_nano: 4_500,
            attributes: vec![kv("http.route", "/users/{id}")],
            events: vec![
                Event {
                    name: "first".into(),
                    ..Event::default()
                },
                Event {
                    name: "second".into(),
                    ..Event::default()
                },
            ],
            status: Some(Status {
                message: "boom".into(),
                code: StatusCode::Error as i32,
            }),
            ..Span::default()
        };
        let child = Span {
            trace_id: (1..=16).collect(),
            span_id: vec![0x0b; 8],
            parent_span_id: vec![0xaa; 8],
            name: "db".into(),
            kind: 99,
            ..Span::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![
                ResourceSpans {
                    resource: Some(Resource {
                        attributes: vec![kv("service.name", "payments")],
                        ..Resource::default()
                    }),
                    scope_spans: vec![ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: "obskit".into(),
                            version: "0.1.0".into(),
                            ..InstrumentationScope::default()
                        }),
                        spans: vec![root, child],
                        ..ScopeSpans::default()
                    }],
                    ..ResourceSpans::default()
                },
                ResourceSpans {
                    scope_spans: vec![ScopeSpans {
                        spans: vec![Span {
                            name: "bare".into(),
                            ..Span::default()
                        }],
                        ..ScopeSpans::default()
                    }],
                    ..ResourceSpans::default()
                },
            ],
        }
    }

    #[test]
    fn spans_are_flattened_with_resource_and_scope() {
        let spans = ReceivedSpan::from_request(&request(), Protocol::Grpc);
        let names: Vec<_> = spans.iter().map(|span| span.name.as_str()).collect();
        assert_eq!(names, ["GET /users/{id}", "db", "bare"]);

        let root = &spans[0];
        assert_eq!(root.trace_id, "0102030405060708090a0b0c0d0e0f10");
        assert_eq!(root.span_id, "aaaaaaaaaaaaaaaa");
        assert_eq!(root.parent_span_id, None);
        assert_eq!(root.kind, SpanKind::Server);
        assert_eq!(root.status_code, StatusCode::Error);
        assert_eq!(root.status_message, "boom");
        assert_eq!(root.attributes["http.route"], "/users/{id}");
        assert_eq!(
            root.attr("http.route"),
            Some(&AttrValue::String("/users/{id}".into()))
        );
        assert_eq!(root.service_name(), Some("payments"));
        assert_eq!(
            (root.scope_name.as_str(), root.scope_version.as_str()),
            ("obskit", "0.1.0")
        );
        assert_eq!(root.events, ["first", "second"]);
        assert_eq!(root.duration_nanos(), 3_500);
        assert_eq!(root.protocol, Protocol::Grpc);
        assert_eq!(root.raw.span_id, vec![0xaa; 8]);
    }

    #[test]
    fn child_has_parent_and_unknown_kind_is_unspecified() {
        let spans = ReceivedSpan::from_request(&request(), Protocol::Http);
        let child = &spans[1];
        assert_eq!(child.parent_span_id.as_deref(), Some("aaaaaaaaaaaaaaaa"));
        assert_eq!(child.span_id, "0b0b0b0b0b0b0b0b");
        assert_eq!(child.kind, SpanKind::Unspecified);
        assert_eq!(child.status_code, StatusCode::Unset);
        assert_eq!(child.protocol, Protocol::Http);
    }

    #[test]
    fn missing_resource_and_scope_give_empty_values() {
        let spans = ReceivedSpan::from_request(&request(), Protocol::Http);
        let bare = &spans[2];
        assert!(bare.resource.is_empty());
        assert_eq!(bare.service_name(), None);
        assert_eq!(bare.scope_name, "");
        assert_eq!(bare.trace_id, "");
    }
}
