//! Strict OTLP/JSON: the body must be an object of OTLP's messages, field names in
//! lowerCamelCase or as in the `.proto` (the proto3 JSON mapping accepts both, and so does
//! the Collector). An unknown field, or an array where a message belongs (serde would read
//! `[]` or a positional array as a message), is refused with its path, so a typo never
//! answers 200 and stores nothing.

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor,
};
use serde_json::{Map, Value};

use crate::DecodeError;

/// Every field name of the OTLP export messages (trace, logs, metrics), lowerCamelCase,
/// including the members of `oneof`s, which OTLP/JSON writes as fields; sorted.
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

/// The fields that hold a list (`repeated` in the `.proto`): the only places an array may
/// be; sorted.
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
/// use obskit_otlp::json::decode;
/// use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
/// // Proto field names are accepted like lowerCamelCase ones.
/// let ok = decode::<ExportTraceServiceRequest>(br#"{"resource_spans":[{"scope_spans":[]}]}"#).unwrap();
/// assert_eq!(ok.resource_spans.len(), 1);
/// let err = decode::<ExportTraceServiceRequest>(br#"{"resourceSpanz":[]}"#).unwrap_err();
/// assert!(err.to_string().contains("unknown field `resourceSpanz`"), "{err}");
/// let err = decode::<ExportTraceServiceRequest>(b"[]").unwrap_err();
/// assert!(err.to_string().contains("a JSON array"), "{err}");
/// ```
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, DecodeError> {
    // One pass over the text that builds nothing checks names and arrays; the body is then
    // decoded directly, or, when it used proto field names, renamed first.
    let problem = std::cell::RefCell::new(None);
    let renamed = std::cell::Cell::new(false);
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let checked = Top {
        problem: &problem,
        renamed: &renamed,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end());
    if let Some(problem) = problem.into_inner() {
        return Err(DecodeError::JsonShape(problem));
    }
    checked?;
    if !renamed.get() {
        return Ok(serde_json::from_slice(body)?);
    }
    let mut value: Value = serde_json::from_slice(body)?;
    if let Value::Object(object) = &mut value {
        check(object, &Path::Root)?;
    }
    Ok(serde_json::from_value(value)?)
}

/// The whole body: it must be an object.
struct Top<'c> {
    problem: &'c std::cell::RefCell<Option<String>>,
    renamed: &'c std::cell::Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an OTLP/JSON export object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        Check {
            path: &Path::Root,
            list: false,
            problem: self.problem,
            renamed: self.renamed,
        }
        .visit_map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.refuse("a JSON array"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(self.refuse("a string"))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(self.refuse("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(self.refuse("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(self.refuse("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(self.refuse("a number"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(self.refuse("null"))
    }
}

impl Top<'_> {
    fn refuse<E: de::Error>(&self, what: &str) -> E {
        let message = format!(
            "the body is {what}; an OTLP/JSON export is an object such as {{\"resourceSpans\": [...]}}"
        );
        *self.problem.borrow_mut() = Some(message.clone());
        E::custom(message)
    }
}

/// A value at `path`; `list` when an array may be there.
struct Check<'p, 'c> {
    path: &'p Path<'p>,
    list: bool,
    problem: &'c std::cell::RefCell<Option<String>>,
    renamed: &'c std::cell::Cell<bool>,
}

impl Check<'_, '_> {
    fn refuse<E: de::Error>(&self, message: String) -> E {
        *self.problem.borrow_mut() = Some(message.clone());
        E::custom(message)
    }
}

impl<'de> DeserializeSeed<'de> for Check<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Check<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an OTLP/JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let camel;
            let name = if key.0.contains('_') {
                self.renamed.set(true);
                camel = lower_camel(&key.0);
                camel.as_str()
            } else {
                &key.0
            };
            let here = Path::Field(self.path, name);
            if !known(FIELDS, name) {
                return Err(self.refuse(format!(
                    "unknown field `{}` at `{here}`; OTLP/JSON names fields in lowerCamelCase (`traceId`) or as in the .proto (`trace_id`)",
                    key.0
                )));
            }
            map.next_value_seed(Check {
                path: &here,
                list: known(LISTS, name),
                problem: self.problem,
                renamed: self.renamed,
            })?;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if !self.list {
            return Err(self.refuse(format!(
                "`{}` is an array; it is a message, written as a JSON object",
                self.path
            )));
        }
        let mut index = 0;
        while seq
            .next_element_seed(Item {
                path: &Path::Item(self.path, index),
                problem: self.problem,
                renamed: self.renamed,
            })?
            .is_some()
        {
            index += 1;
        }
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// An item of a list: an object (or a number or string), never an array.
struct Item<'p, 'c> {
    path: &'p Path<'p>,
    problem: &'c std::cell::RefCell<Option<String>>,
    renamed: &'c std::cell::Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Item<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(Check {
            path: self.path,
            // An array here is refused by `Check::visit_seq` with the item's path.
            list: false,
            problem: self.problem,
            renamed: self.renamed,
        })
    }
}

/// A key, borrowed from the body when it has no escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(v.into()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(v.to_owned().into()))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Where a value is, built on the stack as the walk goes down and only written out for
/// an error message.
enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'a str),
    Item(&'a Path<'a>, usize),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Root => Ok(()),
            Self::Field(Self::Root, name) => f.write_str(name),
            Self::Field(parent, name) => write!(f, "{parent}.{name}"),
            Self::Item(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

fn known(list: &[&str], name: &str) -> bool {
    list.binary_search(&name).is_ok()
}

/// Checks names and arrays recursively, in place; renames proto field names (rare) to
/// lowerCamelCase. Allocates nothing for a well-formed lowerCamelCase body.
fn check(object: &mut Map<String, Value>, path: &Path<'_>) -> Result<(), DecodeError> {
    let mut renames = Vec::new();
    for (key, value) in object.iter_mut() {
        let camel;
        let name = if key.contains('_') {
            camel = lower_camel(key);
            renames.push((key.clone(), camel.clone()));
            camel.as_str()
        } else {
            key.as_str()
        };
        let here = Path::Field(path, name);
        if !known(FIELDS, name) {
            return Err(DecodeError::JsonShape(format!(
                "unknown field `{key}` at `{here}`; OTLP/JSON names fields in lowerCamelCase (`traceId`) or as in the .proto (`trace_id`)"
            )));
        }
        match value {
            Value::Object(inner) => check(inner, &here)?,
            Value::Array(items) => {
                if !known(LISTS, name) {
                    return Err(DecodeError::JsonShape(format!(
                        "`{here}` is an array; it is a message, written as a JSON object"
                    )));
                }
                for (i, item) in items.iter_mut().enumerate() {
                    match item {
                        Value::Object(inner) => check(inner, &Path::Item(&here, i))?,
                        Value::Array(_) => {
                            return Err(DecodeError::JsonShape(format!(
                                "`{}` is an array; a list holds objects (or numbers), not arrays",
                                Path::Item(&here, i)
                            )));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    for (from, to) in renames {
        if let Some(value) = object.remove(&from) {
            object.insert(to, value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

    use super::*;

    #[test]
    fn positional_arrays_and_typos_are_refused_with_their_path() {
        let err =
            decode::<ExportTraceServiceRequest>(br#"{"resourceSpans":[{},[{}]]}"#).unwrap_err();
        assert!(
            err.to_string().contains("`resourceSpans[1]` is an array"),
            "{err}"
        );
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
    fn the_name_lists_are_sorted_for_binary_search() {
        assert!(FIELDS.windows(2).all(|w| w[0] < w[1]));
        assert!(LISTS.windows(2).all(|w| w[0] < w[1]));
        assert!(LISTS.iter().all(|name| known(FIELDS, name)));
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
