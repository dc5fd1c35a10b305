//! Builds the export request every integration test sends, so each test asserts against the same known spans.

use obskit_test_receiver::proto::collector::trace::v1::ExportTraceServiceRequest;
use obskit_test_receiver::proto::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, any_value::Value,
};
use obskit_test_receiver::proto::resource::v1::Resource;
use obskit_test_receiver::proto::trace::v1::span::{Event, SpanKind};
use obskit_test_receiver::proto::trace::v1::status::StatusCode;
use obskit_test_receiver::proto::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use obskit_test_receiver::{Protocol, ReceivedSpan};

/// The trace id of both spans, as the receiver should print it.
pub(crate) const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
/// The server span's id, as the receiver should print it.
pub(crate) const ROOT_ID: &str = "00f067aa0ba902b7";
/// The child span's id, as the receiver should print it.
pub(crate) const CHILD_ID: &str = "b7ad6b7169203331";

fn bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(&hex[index..index + 2], 16).unwrap())
        .collect()
}

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

/// A server span with a child, under resource `service.name = payments`, scope `obskit 0.1.0`.
pub(crate) fn request() -> ExportTraceServiceRequest {
    let root = Span {
        trace_id: bytes(TRACE_ID),
        span_id: bytes(ROOT_ID),
        name: "GET /users/{id}".into(),
        kind: SpanKind::Server as i32,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_002_000_000,
        attributes: vec![
            kv("http.route", Value::StringValue("/users/{id}".into())),
            kv("http.response.status_code", Value::IntValue(500)),
        ],
        events: vec![Event {
            name: "exception".into(),
            ..Event::default()
        }],
        status: Some(Status {
            message: "internal error".into(),
            code: StatusCode::Error as i32,
        }),
        ..Span::default()
    };
    let child = Span {
        trace_id: bytes(TRACE_ID),
        span_id: bytes(CHILD_ID),
        parent_span_id: bytes(ROOT_ID),
        name: "SELECT users".into(),
        kind: SpanKind::Client as i32,
        start_time_unix_nano: 1_700_000_000_000_500_000,
        end_time_unix_nano: 1_700_000_000_001_500_000,
        attributes: vec![kv(
            "db.system.name",
            Value::StringValue("postgresql".into()),
        )],
        ..Span::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", Value::StringValue("payments".into()))],
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
        }],
    }
}

/// Asserts that `spans` are exactly the two spans of [`request`], flattened, received over `protocol`.
pub(crate) fn assert_flattened(spans: &[ReceivedSpan], protocol: Protocol) {
    assert_eq!(spans.len(), 2, "spans: {spans:#?}");
    let (root, child) = (&spans[0], &spans[1]);

    assert_eq!(root.name, "GET /users/{id}");
    assert_eq!(root.trace_id, TRACE_ID);
    assert_eq!(root.span_id, ROOT_ID);
    assert_eq!(root.parent_span_id, None);
    assert_eq!(root.kind, obskit_test_receiver::SpanKind::Server);
    assert_eq!(root.status_code, obskit_test_receiver::StatusCode::Error);
    assert_eq!(root.status_message, "internal error");
    assert_eq!(root.attributes["http.route"], "/users/{id}");
    assert_eq!(root.attributes["http.response.status_code"], 500);
    assert_eq!(root.resource["service.name"], "payments");
    assert_eq!(root.scope_name, "obskit");
    assert_eq!(root.scope_version, "0.1.0");
    assert_eq!(root.events, ["exception"]);
    assert_eq!(root.duration_nanos(), 2_000_000);
    assert_eq!(root.protocol, protocol);

    assert_eq!(child.name, "SELECT users");
    assert_eq!(child.trace_id, TRACE_ID);
    assert_eq!(child.span_id, CHILD_ID);
    assert_eq!(child.parent_span_id.as_deref(), Some(ROOT_ID));
    assert_eq!(child.kind, obskit_test_receiver::SpanKind::Client);
    assert_eq!(child.status_code, obskit_test_receiver::StatusCode::Unset);
    assert_eq!(child.service_name(), Some("payments"));
    assert!(child.events.is_empty());
    assert_eq!(child.raw.span_id, bytes(CHILD_ID));
    assert_eq!(child.protocol, protocol);
}
