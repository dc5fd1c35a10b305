//! A plain Rust copy of OTLP's `AnyValue`, so tests compare attributes with `==` instead of walking protobuf oneofs.

use std::collections::BTreeMap;
use std::fmt;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};

/// One attribute value of a span or resource, converted from OTLP's `AnyValue`.
///
/// Compares directly with string slices, integers, floats and booleans, so
/// `assert_eq!(span.attributes["http.route"], "/users/{id}")` and
/// `assert_eq!(span.attributes["http.response.status_code"], 200)` work.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// A string value.
    String(String),
    /// A boolean value.
    Bool(bool),
    /// A 64-bit signed integer value.
    Int(i64),
    /// A double-precision float value.
    Double(f64),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A homogeneous or mixed array of values.
    Array(Vec<AttrValue>),
    /// A nested key/value list; a key repeated on the wire keeps its last value.
    Map(BTreeMap<String, AttrValue>),
    /// No value was set (an empty `AnyValue`, or a profiles-only string-table
    /// reference, which OTLP tells trace receivers to treat as absent).
    Empty,
}

impl AttrValue {
    /// The string, if this is [`AttrValue::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(value) => Some(value),
            _ => None,
        }
    }

    /// The integer, if this is [`AttrValue::Int`].
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Int(value) => Some(*value),
            _ => None,
        }
    }

    /// The float, if this is [`AttrValue::Double`].
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Double(value) => Some(*value),
            _ => None,
        }
    }

    /// The boolean, if this is [`AttrValue::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(value) => Some(*value),
            _ => None,
        }
    }
}

impl From<&AnyValue> for AttrValue {
    fn from(value: &AnyValue) -> Self {
        match &value.value {
            None | Some(Value::StringValueStrindex(_)) => Self::Empty,
            Some(Value::StringValue(value)) => Self::String(value.clone()),
            Some(Value::BoolValue(value)) => Self::Bool(*value),
            Some(Value::IntValue(value)) => Self::Int(*value),
            Some(Value::DoubleValue(value)) => Self::Double(*value),
            Some(Value::BytesValue(value)) => Self::Bytes(value.clone()),
            Some(Value::ArrayValue(array)) => {
                Self::Array(array.values.iter().map(Self::from).collect())
            }
            Some(Value::KvlistValue(list)) => Self::Map(attribute_map(&list.values)),
        }
    }
}

/// Converts a list of OTLP key/values into a sorted map; a repeated key keeps its last value.
pub(crate) fn attribute_map(values: &[KeyValue]) -> BTreeMap<String, AttrValue> {
    values
        .iter()
        .map(|kv| {
            let value = kv.value.as_ref().map_or(AttrValue::Empty, AttrValue::from);
            (kv.key.clone(), value)
        })
        .collect()
}

/// Writes bytes as lowercase hexadecimal, the form trace and span ids are printed in.
pub(crate) fn write_hex(out: &mut impl fmt::Write, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|byte| write!(out, "{byte:02x}"))
}

/// Renders bytes as a lowercase hexadecimal string.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    // Writing into a String cannot fail.
    let _ = write_hex(&mut out, bytes);
    out
}

/// Strings print bare, bytes as lowercase hex, arrays as `[a, b]`, maps as `{k: v}`, empty as nothing.
impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::String(value) => f.write_str(value),
            Self::Bool(value) => write!(f, "{value}"),
            Self::Int(value) => write!(f, "{value}"),
            Self::Double(value) => write!(f, "{value}"),
            Self::Bytes(value) => write_hex(f, value),
            Self::Array(values) => {
                f.write_str("[")?;
                for (index, value) in values.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{value}")?;
                }
                f.write_str("]")
            }
            Self::Map(values) => {
                f.write_str("{")?;
                for (index, (key, value)) in values.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{key}: {value}")?;
                }
                f.write_str("}")
            }
            Self::Empty => Ok(()),
        }
    }
}

impl PartialEq<str> for AttrValue {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}

impl PartialEq<&str> for AttrValue {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl PartialEq<String> for AttrValue {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == Some(other.as_str())
    }
}

impl PartialEq<i64> for AttrValue {
    fn eq(&self, other: &i64) -> bool {
        self.as_i64() == Some(*other)
    }
}

impl PartialEq<f64> for AttrValue {
    fn eq(&self, other: &f64) -> bool {
        self.as_f64() == Some(*other)
    }
}

impl PartialEq<bool> for AttrValue {
    fn eq(&self, other: &bool) -> bool {
        self.as_bool() == Some(*other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};

    fn any(value: Value) -> AnyValue {
        AnyValue { value: Some(value) }
    }

    fn kv(key: &str, value: Value) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(any(value)),
            ..KeyValue::default()
        }
    }

    #[test]
    fn scalars_convert_and_compare_with_plain_values() {
        assert_eq!(
            AttrValue::from(&any(Value::StringValue("GET".into()))),
            "GET"
        );
        assert_eq!(AttrValue::from(&any(Value::IntValue(200))), 200);
        assert_eq!(AttrValue::from(&any(Value::DoubleValue(0.25))), 0.25);
        assert_eq!(AttrValue::from(&any(Value::BoolValue(true))), true);
        assert_ne!(AttrValue::from(&any(Value::IntValue(200))), "200");
        assert_ne!(AttrValue::from(&any(Value::StringValue("200".into()))), 200);
    }

    #[test]
    fn empty_and_profiles_only_values_are_empty() {
        assert_eq!(AttrValue::from(&AnyValue { value: None }), AttrValue::Empty);
        assert_eq!(
            AttrValue::from(&any(Value::StringValueStrindex(3))),
            AttrValue::Empty
        );
    }

    #[test]
    fn nested_values_convert_recursively() {
        let array = any(Value::ArrayValue(ArrayValue {
            values: vec![any(Value::IntValue(1)), any(Value::StringValue("b".into()))],
        }));
        let map = any(Value::KvlistValue(KeyValueList {
            values: vec![
                kv("z", Value::BoolValue(false)),
                kv("a", Value::BytesValue(vec![0xab, 0x01])),
            ],
        }));
        let array = AttrValue::from(&array);
        let map = AttrValue::from(&map);
        assert_eq!(
            array,
            AttrValue::Array(vec![AttrValue::Int(1), AttrValue::String("b".into())])
        );
        assert_eq!(array.to_string(), "[1, b]");
        assert_eq!(map.to_string(), "{a: ab01, z: false}");
    }

    #[test]
    fn repeated_keys_keep_the_last_value_and_missing_values_are_empty() {
        let values = vec![
            kv("k", Value::IntValue(1)),
            kv("k", Value::IntValue(2)),
            KeyValue {
                key: "none".into(),
                value: None,
                ..KeyValue::default()
            },
        ];
        let map = attribute_map(&values);
        assert_eq!(map["k"], 2);
        assert_eq!(map["none"], AttrValue::Empty);
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn hex_is_lowercase_and_zero_padded() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(hex(&[]), "");
    }
}
