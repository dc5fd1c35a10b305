//! Strict OTLP/JSON: the body must be an object of OTLP's messages, field names in
//! lowerCamelCase or as in the `.proto` (the proto3 JSON mapping accepts both, and so does
//! the Collector). An unknown field, or an array where a message belongs (serde would read
//! `[]` or a positional array as a message), is refused with its path, so a typo never
//! answers 200 and stores nothing.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::ReceiveError;

/// Every field name of the OTLP export messages (trace, logs, metrics), lowerCamelCase,
/// including the members of `oneof`s, which OTLP/JSON writes as fields.
const FIELDS: &[&str] = &[
    "aggregationTemporality",
    "arrayValue",
    "asDouble",
    "asInt",
    "attributes",
    "body",
    "boolValue",
    "bucketCounts",
    "bytesValue",
    "code",
    "count",
    "dataPoints",
    "description",
    "descriptionKeys",
    "doubleValue",
    "droppedAttributesCount",
    "droppedEventsCount",
    "droppedLinksCount",
    "endTimeUnixNano",
    "entityRefs",
    "errorMessage",
    "eventName",
    "events",
    "exemplars",
    "explicitBounds",
    "exponentialHistogram",
    "filteredAttributes",
    "flags",
    "gauge",
    "histogram",
    "idKeys",
    "intValue",
    "isMonotonic",
    "key",
    "keyStrindex",
    "kind",
    "kvlistValue",
    "links",
    "logRecords",
    "max",
    "message",
    "metadata",
    "metrics",
    "min",
    "name",
    "negative",
    "observedTimeUnixNano",
    "offset",
    "parentSpanId",
    "partialSuccess",
    "positive",
    "quantile",
    "quantileValues",
    "rejectedDataPoints",
    "rejectedLogRecords",
    "rejectedSpans",
    "resource",
    "resourceLogs",
    "resourceMetrics",
    "resourceSpans",
    "scale",
    "schemaUrl",
    "scope",
    "scopeLogs",
    "scopeMetrics",
    "scopeSpans",
    "severityNumber",
    "severityText",
    "spanId",
    "spans",
    "startTimeUnixNano",
    "status",
    "stringValue",
    "stringValueStrindex",
    "sum",
    "summary",
    "timeUnixNano",
    "traceId",
    "traceState",
    "type",
    "unit",
    "value",
    "values",
    "version",
    "zeroCount",
    "zeroThreshold",
];

/// The fields that hold a list (`repeated` in the `.proto`): the only places an array may be.
const LISTS: &[&str] = &[
    "attributes",
    "bucketCounts",
    "dataPoints",
    "descriptionKeys",
    "entityRefs",
    "events",
    "exemplars",
    "explicitBounds",
    "filteredAttributes",
    "idKeys",
    "links",
    "logRecords",
    "metadata",
    "metrics",
    "quantileValues",
    "resourceLogs",
    "resourceMetrics",
    "resourceSpans",
    "scopeLogs",
    "scopeMetrics",
    "scopeSpans",
    "spans",
    "values",
];

/// `trace_id` → `traceId`.
fn lower_camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Decodes an OTLP/JSON body strictly into `T`.
///
/// ```
/// use obskit_cli::dev::receiver::json::decode;
/// use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
/// // Proto field names are accepted like lowerCamelCase ones.
/// let ok = decode::<ExportTraceServiceRequest>(br#"{"resource_spans":[{"scope_spans":[]}]}"#).unwrap();
/// assert_eq!(ok.resource_spans.len(), 1);
/// let err = decode::<ExportTraceServiceRequest>(br#"{"resourceSpanz":[]}"#).unwrap_err();
/// assert!(err.to_string().contains("unknown field `resourceSpanz`"), "{err}");
/// let err = decode::<ExportTraceServiceRequest>(b"[]").unwrap_err();
/// assert!(err.to_string().contains("a JSON array"), "{err}");
/// ```
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ReceiveError> {
    let value: Value = serde_json::from_slice(body)?;
    let value = match value {
        Value::Object(object) => Value::Object(normalise(object, "")?),
        other => {
            return Err(ReceiveError::JsonShape(format!(
                "the body is {}; an OTLP/JSON export is an object such as {{\"resourceSpans\": [...]}}",
                describe(&other)
            )));
        }
    };
    Ok(serde_json::from_value(value)?)
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a JSON array",
        Value::Object(_) => "an object",
    }
}

/// Renames proto field names to lowerCamelCase and checks names and arrays, recursively.
fn normalise(object: Map<String, Value>, path: &str) -> Result<Map<String, Value>, ReceiveError> {
    let mut out = Map::with_capacity(object.len());
    for (key, value) in object {
        let name = if key.contains('_') {
            lower_camel(&key)
        } else {
            key.clone()
        };
        let here = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        if !FIELDS.contains(&name.as_str()) {
            return Err(ReceiveError::JsonShape(format!(
                "unknown field `{key}` at `{here}`; OTLP/JSON names fields in lowerCamelCase (`traceId`) or as in the .proto (`trace_id`)"
            )));
        }
        let value = match value {
            Value::Object(inner) => Value::Object(normalise(inner, &here)?),
            Value::Array(items) => {
                if !LISTS.contains(&name.as_str()) {
                    return Err(ReceiveError::JsonShape(format!(
                        "`{here}` is an array; it is a message, written as a JSON object"
                    )));
                }
                let mut list = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    list.push(match item {
                        Value::Object(inner) => {
                            Value::Object(normalise(inner, &format!("{here}[{i}]"))?)
                        }
                        Value::Array(_) => {
                            return Err(ReceiveError::JsonShape(format!(
                                "`{here}[{i}]` is an array; a list holds objects (or numbers), not arrays"
                            )));
                        }
                        scalar => scalar,
                    });
                }
                Value::Array(list)
            }
            scalar => scalar,
        };
        out.insert(name, value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

    use super::*;

    #[test]
    fn positional_arrays_and_typos_are_refused_with_their_path() {
        let err = decode::<ExportTraceServiceRequest>(br#"{"resourceSpans":[[{}]]}"#).unwrap_err();
        assert!(
            err.to_string().contains("`resourceSpans[0]` is an array"),
            "{err}"
        );
        let err = decode::<ExportTraceServiceRequest>(
            br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceID":"ab"}]}]}]}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains(
                "unknown field `traceID` at `resourceSpans[0].scopeSpans[0].spans[0].traceID`"
            ),
            "{err}"
        );
        let err = decode::<ExportTraceServiceRequest>(br#"{"resourceSpans":[{"resource":[]}]}"#)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("`resourceSpans[0].resource` is an array"),
            "{err}"
        );
        for body in [&b"3"[..], b"null", b"\"x\""] {
            assert!(decode::<ExportTraceServiceRequest>(body).is_err());
        }
    }

    #[test]
    fn proto_names_and_camel_case_read_the_same() {
        let camel = br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":9,"body":{"stringValue":"hi"}}]}]}]}"#;
        let proto = br#"{"resource_logs":[{"scope_logs":[{"log_records":[{"severity_number":9,"body":{"string_value":"hi"}}]}]}]}"#;
        let a = decode::<ExportLogsServiceRequest>(camel).unwrap();
        let b = decode::<ExportLogsServiceRequest>(proto).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.resource_logs[0].scope_logs[0].log_records[0].severity_number,
            9
        );
    }
}
