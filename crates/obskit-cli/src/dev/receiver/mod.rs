//! The OTLP trace receiver: decoding an export (protobuf or OTLP/JSON), checking it whole,
//! and converting it into the store's spans. The transports are in [`http`] and [`grpc`].
//!
//! A request is converted completely before anything is stored, so a malformed one is
//! refused with a message and changes nothing.

pub mod grpc;
pub mod http;

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message as _;

use super::model::{Attribute, Span, SpanEvent, SpanId, SpanKind, StatusCode, TraceId};

/// Service name of spans whose resource has no `service.name` (the SDKs' own default).
pub const UNKNOWN_SERVICE: &str = "unknown_service";

/// Why an export was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiveError {
    /// The body is not an `ExportTraceServiceRequest` in protobuf.
    #[error("the body is not an OTLP ExportTraceServiceRequest in protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    /// The body is not an `ExportTraceServiceRequest` in OTLP/JSON.
    #[error(
        "the body is not an OTLP ExportTraceServiceRequest in OTLP/JSON ({0}); trace and span ids are hex strings there, not base64"
    )]
    Json(#[from] serde_json::Error),
    /// A trace id does not have 16 bytes.
    #[error(
        "span `{span}` has a trace id of {len} bytes; a trace id has 16 (32 hex digits in OTLP/JSON)"
    )]
    TraceId {
        /// The span's name.
        span: String,
        /// The length received.
        len: usize,
    },
    /// A span id does not have 8 bytes.
    #[error(
        "span `{span}` has a span id of {len} bytes; a span id has 8 (16 hex digits in OTLP/JSON)"
    )]
    SpanId {
        /// The span's name.
        span: String,
        /// The length received.
        len: usize,
    },
    /// A parent span id is neither empty nor 8 bytes.
    #[error(
        "span `{span}` has a parent span id of {len} bytes; it must be empty (a root span) or 8 bytes"
    )]
    ParentSpanId {
        /// The span's name.
        span: String,
        /// The length received.
        len: usize,
    },
}

/// Decodes a protobuf export body into spans.
pub fn decode_protobuf(body: &[u8]) -> Result<Vec<Span>, ReceiveError> {
    convert(ExportTraceServiceRequest::decode(body)?)
}

/// Decodes an OTLP/JSON export body into spans.
///
/// OTLP/JSON differs from the generic protobuf JSON mapping: trace and span ids are hex
/// strings, enums are integers, 64-bit integers may be strings.
///
/// ```
/// use obskit_cli::dev::receiver::decode_json;
/// let body = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
///   "scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
///   "name":"GET /","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000"}]}]}]}"#;
/// let spans = decode_json(body.as_bytes()).unwrap();
/// assert_eq!(spans[0].trace_id.to_string(), "5b8efff798038103d269b633813fc60c");
/// assert_eq!(&*spans[0].service, "svc");
/// assert_eq!(spans[0].duration_nanos(), 1_000_000_000);
/// ```
pub fn decode_json(body: &[u8]) -> Result<Vec<Span>, ReceiveError> {
    convert(serde_json::from_slice::<ExportTraceServiceRequest>(body)?)
}

/// Converts a decoded export into spans, checking every id first.
pub fn convert(request: ExportTraceServiceRequest) -> Result<Vec<Span>, ReceiveError> {
    let mut spans = Vec::new();
    for resource_spans in request.resource_spans {
        let service: Arc<str> = resource_spans
            .resource
            .as_ref()
            .and_then(|resource| {
                resource
                    .attributes
                    .iter()
                    .find(|kv| kv.key == "service.name")
            })
            .and_then(|kv| kv.value.as_ref())
            .map(value_text)
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| UNKNOWN_SERVICE.to_owned())
            .into();
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                let trace_id = <[u8; 16]>::try_from(span.trace_id.as_slice()).map_err(|_| {
                    ReceiveError::TraceId {
                        span: span.name.clone(),
                        len: span.trace_id.len(),
                    }
                })?;
                let span_id = <[u8; 8]>::try_from(span.span_id.as_slice()).map_err(|_| {
                    ReceiveError::SpanId {
                        span: span.name.clone(),
                        len: span.span_id.len(),
                    }
                })?;
                let parent_span_id = match span.parent_span_id.len() {
                    0 => None,
                    8 => <[u8; 8]>::try_from(span.parent_span_id.as_slice())
                        .ok()
                        .map(SpanId),
                    len => {
                        return Err(ReceiveError::ParentSpanId {
                            span: span.name,
                            len,
                        });
                    }
                };
                let status = span.status.unwrap_or_default();
                spans.push(Span {
                    trace_id: TraceId(trace_id),
                    span_id: SpanId(span_id),
                    parent_span_id,
                    kind: SpanKind::from_otlp(span.kind),
                    start_unix_nanos: span.start_time_unix_nano,
                    end_unix_nanos: span.end_time_unix_nano,
                    status: StatusCode::from_otlp(status.code),
                    status_message: status.message,
                    service: Arc::clone(&service),
                    attributes: attributes(span.attributes),
                    events: span
                        .events
                        .into_iter()
                        .map(|event| SpanEvent {
                            time_unix_nanos: event.time_unix_nano,
                            name: event.name,
                            attributes: attributes(event.attributes),
                        })
                        .collect(),
                    name: span.name,
                });
            }
        }
    }
    Ok(spans)
}

fn attributes(key_values: Vec<KeyValue>) -> Vec<Attribute> {
    key_values
        .into_iter()
        .map(|kv| Attribute {
            value: kv.value.map(owned_value_text).unwrap_or_default(),
            key: kv.key,
        })
        .collect()
}

/// A value as text, taking strings without copying.
fn owned_value_text(value: AnyValue) -> String {
    match value.value {
        Some(any_value::Value::StringValue(text)) => text,
        other => value_text(&AnyValue { value: other }),
    }
}

/// A value as text: strings as they are, scalars printed, arrays and maps as JSON-like text.
fn value_text(value: &AnyValue) -> String {
    match &value.value {
        None => String::new(),
        Some(any_value::Value::StringValue(text)) => text.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        // An index into a profile's string table: meaningless without the profile.
        Some(any_value::Value::StringValueStrindex(index)) => format!("#{index}"),
        Some(any_value::Value::BytesValue(bytes)) => {
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        }
        Some(any_value::Value::ArrayValue(array)) => {
            let items: Vec<String> = array.values.iter().map(json_item).collect();
            format!("[{}]", items.join(","))
        }
        Some(any_value::Value::KvlistValue(list)) => {
            let items: Vec<String> = list
                .values
                .iter()
                .map(|kv| {
                    let value = kv.value.as_ref().map(json_item).unwrap_or_default();
                    format!("{}:{value}", serde_json::Value::from(kv.key.as_str()))
                })
                .collect();
            format!("{{{}}}", items.join(","))
        }
    }
}

/// An array or map item: strings quoted, the rest as [`value_text`].
fn json_item(value: &AnyValue) -> String {
    match &value.value {
        Some(any_value::Value::StringValue(text)) => {
            serde_json::Value::from(text.as_str()).to_string()
        }
        _ => value_text(value),
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValue};
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as ProtoSpan};

    use super::*;

    fn request(spans: Vec<ProtoSpan>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn proto_span(trace_id: Vec<u8>, span_id: Vec<u8>, parent: Vec<u8>) -> ProtoSpan {
        ProtoSpan {
            trace_id,
            span_id,
            parent_span_id: parent,
            name: "work".to_owned(),
            ..Default::default()
        }
    }

    #[test]
    fn ids_of_the_wrong_length_refuse_the_whole_export() {
        let good = proto_span(vec![1; 16], vec![2; 8], vec![]);
        for (bad, expected) in [
            (
                proto_span(vec![1; 15], vec![2; 8], vec![]),
                "trace id of 15 bytes",
            ),
            (
                proto_span(vec![1; 16], vec![], vec![]),
                "span id of 0 bytes",
            ),
            (
                proto_span(vec![1; 16], vec![2; 8], vec![3; 4]),
                "parent span id of 4 bytes",
            ),
        ] {
            let err = convert(request(vec![good.clone(), bad])).unwrap_err();
            assert!(err.to_string().contains(expected), "{err}");
        }
        let spans = convert(request(vec![good])).unwrap();
        assert_eq!(&*spans[0].service, UNKNOWN_SERVICE);
        assert_eq!(spans[0].parent_span_id, None);
    }

    #[test]
    fn attribute_values_become_text() {
        let mut span = proto_span(vec![1; 16], vec![2; 8], vec![3; 8]);
        let kv = |key: &str, value| KeyValue {
            key: key.to_owned(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        };
        span.attributes = vec![
            kv("s", any_value::Value::StringValue("<b>".to_owned())),
            kv("i", any_value::Value::IntValue(-3)),
            kv("b", any_value::Value::BoolValue(true)),
            kv(
                "a",
                any_value::Value::ArrayValue(ArrayValue {
                    values: vec![
                        AnyValue {
                            value: Some(any_value::Value::StringValue("x".to_owned())),
                        },
                        AnyValue {
                            value: Some(any_value::Value::DoubleValue(1.5)),
                        },
                    ],
                }),
            ),
        ];
        let spans = convert(request(vec![span])).unwrap();
        let text: Vec<(&str, &str)> = spans[0]
            .attributes
            .iter()
            .map(|a| (a.key.as_str(), a.value.as_str()))
            .collect();
        assert_eq!(
            text,
            [
                ("s", "<b>"),
                ("i", "-3"),
                ("b", "true"),
                ("a", r#"["x",1.5]"#)
            ]
        );
        assert_eq!(spans[0].parent_span_id, Some(SpanId([3; 8])));
    }

    #[test]
    fn otlp_json_ids_are_hex_and_base64_ids_are_refused() {
        let json = |trace_id: &str| {
            format!(
                r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{trace_id}","spanId":"eee19b7ec3c1b174","parentSpanId":"","name":"n","kind":3,"status":{{"code":2,"message":"boom"}},"attributes":[{{"key":"n","value":{{"intValue":"42"}}}}]}}]}}]}}]}}"#
            )
        };
        let spans = decode_json(json("5B8EFFF798038103D269B633813FC60C").as_bytes()).unwrap();
        assert_eq!(
            spans[0].trace_id.to_string(),
            "5b8efff798038103d269b633813fc60c"
        );
        assert_eq!(spans[0].kind, SpanKind::Client);
        assert_eq!(spans[0].status, StatusCode::Error);
        assert_eq!(spans[0].status_message, "boom");
        assert_eq!(spans[0].attribute("n"), Some("42"));
        // The generic protobuf JSON mapping would send base64: not OTLP/JSON.
        let err = decode_json(json("W47/95gDgQPSabYzgT/GDA==").as_bytes()).unwrap_err();
        assert!(err.to_string().contains("hex strings"), "{err}");
        assert!(decode_json(b"{\"resourceSpans\": 3}").is_err());
    }
}
