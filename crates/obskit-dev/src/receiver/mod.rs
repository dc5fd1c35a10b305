//! The OTLP receiver: decoding an export of any signal (protobuf or OTLP/JSON, with
//! [`obskit_otlp`], which the test receiver shares), checking it whole, and converting it
//! into what the store keeps. The transports are in [`http`] and [`grpc`]; logs and metrics
//! conversions in [`logs`] and [`metrics`].
//!
//! A request is converted completely before anything is stored, so a malformed one is
//! refused with a message and changes nothing.

pub mod grpc;
pub mod http;
pub mod logs;
pub mod metrics;

use std::sync::Arc;

use obskit_otlp::{Compression, DecodeError, Encoding};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::model::{Attribute, Span, SpanEvent, SpanId, SpanKind, StatusCode, TraceId};
use crate::store::Store;

/// Service name of spans whose resource has no `service.name` (the SDKs' own default).
pub const UNKNOWN_SERVICE: &str = "unknown_service";

/// Longest attribute value kept by default, in bytes; longer values are cut and marked.
pub const DEFAULT_MAX_ATTRIBUTE_BYTES: usize = 4 * 1024;

/// The three OTLP signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Spans.
    Traces,
    /// Log records.
    Logs,
    /// Metric data points.
    Metrics,
}

impl Signal {
    /// `traces`, `logs` or `metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Traces => "traces",
            Self::Logs => "logs",
            Self::Metrics => "metrics",
        }
    }
}

/// An OTLP export request the viewer receives: its signal, and how it is stored.
pub trait Export: obskit_otlp::ExportRequest {
    /// Which signal it carries.
    const SIGNAL: Signal;
    /// Checks and converts the whole request, then stores it; nothing is stored on error.
    fn store(self, store: &Store) -> Result<(), ReceiveError>;
}

impl Export for ExportTraceServiceRequest {
    const SIGNAL: Signal = Signal::Traces;
    fn store(self, store: &Store) -> Result<(), ReceiveError> {
        let spans = convert_with(self, store.limits().attribute_value_bytes)?;
        store.insert_spans(spans);
        Ok(())
    }
}

impl Export for ExportLogsServiceRequest {
    const SIGNAL: Signal = Signal::Logs;
    fn store(self, store: &Store) -> Result<(), ReceiveError> {
        let lines = logs::convert(self, store.limits().attribute_value_bytes)?;
        for line in lines {
            store.push_log(line);
        }
        Ok(())
    }
}

impl Export for ExportMetricsServiceRequest {
    const SIGNAL: Signal = Signal::Metrics;
    fn store(self, store: &Store) -> Result<(), ReceiveError> {
        let points = metrics::convert(self)?;
        store.push_otlp_metrics(points);
        Ok(())
    }
}

/// Why an export was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiveError {
    /// The body could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A trace id does not have 16 bytes.
    #[error("{what} has a trace id of {len} bytes; a trace id has 16 (32 hex digits in OTLP/JSON)")]
    TraceId {
        /// The span or record.
        what: String,
        /// The length received.
        len: usize,
    },
    /// A span id does not have 8 bytes.
    #[error("{what} has a span id of {len} bytes; a span id has 8 (16 hex digits in OTLP/JSON)")]
    SpanId {
        /// The span or record.
        what: String,
        /// The length received.
        len: usize,
    },
    /// A parent span id is neither empty nor 8 bytes.
    #[error(
        "{what} has a parent span id of {len} bytes; it must be empty (a root span) or 8 bytes"
    )]
    ParentSpanId {
        /// The span's name.
        what: String,
        /// The length received.
        len: usize,
    },
    /// An id is all zeros, which the W3C and OTLP define as invalid.
    #[error("{what} has an all-zero {id}, which is invalid; send the ids the SDK generated")]
    ZeroId {
        /// The span or record.
        what: String,
        /// `trace id` or `span id`.
        id: &'static str,
    },
}

impl ReceiveError {
    /// A short name of the problem, for counting refusals by cause.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Decode(err) => err.kind(),
            Self::TraceId { .. } | Self::SpanId { .. } | Self::ParentSpanId { .. } => {
                "id of the wrong length"
            }
            Self::ZeroId { .. } => "all-zero id",
        }
    }
}

/// Decodes a protobuf trace export body into spans.
pub fn decode_protobuf(body: &[u8]) -> Result<Vec<Span>, ReceiveError> {
    convert(obskit_otlp::decode(
        Encoding::Protobuf,
        Compression::None,
        body,
    )?)
}

/// Decodes an OTLP/JSON trace export body into spans.
///
/// OTLP/JSON differs from the generic protobuf JSON mapping: trace and span ids are hex
/// strings, enums are integers, 64-bit integers may be strings. Field names may be
/// lowerCamelCase or as in the `.proto`; unknown fields and arrays in place of objects are
/// refused (see [`obskit_otlp::json`]).
///
/// ```
/// use obskit_dev::receiver::decode_json;
/// let body = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
///   "scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
///   "name":"GET /","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000"}]}]}]}"#;
/// let spans = decode_json(body.as_bytes()).unwrap();
/// assert_eq!(spans[0].trace_id.to_string(), "5b8efff798038103d269b633813fc60c");
/// assert_eq!(&*spans[0].service, "svc");
/// assert_eq!(spans[0].duration_nanos(), 1_000_000_000);
/// assert!(decode_json(b"[]").is_err());
/// ```
pub fn decode_json(body: &[u8]) -> Result<Vec<Span>, ReceiveError> {
    convert(obskit_otlp::decode(
        Encoding::Json,
        Compression::None,
        body,
    )?)
}

/// Converts a decoded export into spans, checking every id first (attribute values cut at
/// [`DEFAULT_MAX_ATTRIBUTE_BYTES`]).
pub fn convert(request: ExportTraceServiceRequest) -> Result<Vec<Span>, ReceiveError> {
    convert_with(request, DEFAULT_MAX_ATTRIBUTE_BYTES)
}

/// `service.name` of a resource, or [`UNKNOWN_SERVICE`].
pub(crate) fn service_name(resource: Option<&Resource>) -> Arc<str> {
    resource
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
        .into()
}

/// A trace id that must be 16 bytes and not all zeros.
pub(crate) fn trace_id(bytes: &[u8], what: impl Fn() -> String) -> Result<TraceId, ReceiveError> {
    let id = <[u8; 16]>::try_from(bytes).map_err(|_| ReceiveError::TraceId {
        what: what(),
        len: bytes.len(),
    })?;
    if id == [0; 16] {
        return Err(ReceiveError::ZeroId {
            what: what(),
            id: "trace id",
        });
    }
    Ok(TraceId(id))
}

/// A span id that must be 8 bytes and not all zeros.
pub(crate) fn span_id(bytes: &[u8], what: impl Fn() -> String) -> Result<SpanId, ReceiveError> {
    let id = <[u8; 8]>::try_from(bytes).map_err(|_| ReceiveError::SpanId {
        what: what(),
        len: bytes.len(),
    })?;
    if id == [0; 8] {
        return Err(ReceiveError::ZeroId {
            what: what(),
            id: "span id",
        });
    }
    Ok(SpanId(id))
}

/// Converts a decoded export into spans, attribute values cut at `max_value_bytes`.
pub fn convert_with(
    request: ExportTraceServiceRequest,
    max_value_bytes: usize,
) -> Result<Vec<Span>, ReceiveError> {
    let mut spans = Vec::new();
    for resource_spans in request.resource_spans {
        let service = service_name(resource_spans.resource.as_ref());
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                let what = || format!("span `{}`", span.name);
                let trace_id = trace_id(&span.trace_id, what)?;
                let span_id = span_id(&span.span_id, what)?;
                let parent_span_id = match span.parent_span_id.len() {
                    0 => None,
                    8 => <[u8; 8]>::try_from(span.parent_span_id.as_slice())
                        .ok()
                        .map(SpanId)
                        .filter(|id| id.0 != [0; 8]),
                    len => {
                        return Err(ReceiveError::ParentSpanId { what: what(), len });
                    }
                };
                let status = span.status.unwrap_or_default();
                let links = span
                    .links
                    .into_iter()
                    .filter_map(|link| {
                        let trace = <[u8; 16]>::try_from(link.trace_id.as_slice()).ok()?;
                        let span = <[u8; 8]>::try_from(link.span_id.as_slice()).ok()?;
                        Some(crate::model::SpanLink {
                            trace_id: TraceId(trace),
                            span_id: SpanId(span),
                            attributes: attributes(link.attributes, max_value_bytes),
                        })
                    })
                    .collect();
                spans.push(Span {
                    trace_id,
                    span_id,
                    parent_span_id,
                    kind: SpanKind::from_otlp(span.kind),
                    start_unix_nanos: span.start_time_unix_nano,
                    end_unix_nanos: span.end_time_unix_nano,
                    status: StatusCode::from_otlp(status.code),
                    status_message: status.message,
                    service: Arc::clone(&service),
                    attributes: attributes(span.attributes, max_value_bytes),
                    events: span
                        .events
                        .into_iter()
                        .map(|event| SpanEvent {
                            time_unix_nanos: event.time_unix_nano,
                            name: event.name,
                            attributes: attributes(event.attributes, max_value_bytes),
                        })
                        .collect(),
                    links,
                    name: span.name,
                });
            }
        }
    }
    Ok(spans)
}

/// Key-values as attributes, values cut at `max_value_bytes` (on a character boundary).
pub(crate) fn attributes(key_values: Vec<KeyValue>, max_value_bytes: usize) -> Vec<Attribute> {
    key_values
        .into_iter()
        .map(|kv| {
            let mut value = kv.value.map(owned_value_text).unwrap_or_default();
            let truncated_from = cut(&mut value, max_value_bytes);
            Attribute {
                value,
                key: kv.key,
                truncated_from,
            }
        })
        .collect()
}

/// Cuts `text` to at most `max` bytes on a character boundary; returns the original length
/// when it cut.
pub(crate) fn cut(text: &mut String, max: usize) -> Option<usize> {
    if text.len() <= max {
        return None;
    }
    let original = text.len();
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.shrink_to_fit();
    Some(original)
}

/// A value as text, taking strings without copying.
pub(crate) fn owned_value_text(value: AnyValue) -> String {
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
    fn otlp_json_spans_convert_with_kind_status_and_attributes() {
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
        assert!(decode_json(b"{\"resourceSpans\": 3}").is_err());
    }
}
