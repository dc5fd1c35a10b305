//! `ExportLogsServiceRequest` encoding of captured records, written with
//! the shared wire primitives: one `ResourceLogs` with the resource
//! encoded once, a `ScopeLogs` per target (records of one target grouped,
//! in the order they came). A test decodes the output with
//! `opentelemetry-proto`'s generated types.

use opentelemetry_sdk::Resource;

use super::record::{AnyValue, Record, severity};
use crate::export::proto::{
    FIXED32, FIXED64, LEN, VARINT, bytes_field, fixed64_field, key, nested, opt_bytes_field,
    opt_varint_field, resource, varint,
};

/// Encodes batches of records for one resource.
#[derive(Debug, Default)]
pub(crate) struct LogsEncoder {
    resource: Vec<u8>,
    schema_url: String,
}

impl crate::export::Encode<Record> for LogsEncoder {
    fn set_resource(&mut self, r: &Resource) {
        self.resource = resource(r);
        self.schema_url = r.schema_url().unwrap_or_default().to_owned();
    }

    fn encode(&mut self, batch: &[Record]) -> Vec<u8> {
        // Targets in order of first appearance, each with its records.
        let mut scopes: Vec<(&str, Vec<u8>)> = Vec::new();
        let mut record_buf = Vec::new();
        for r in batch {
            record_buf.clear();
            record(&mut record_buf, r);
            let at = match scopes.iter().position(|(t, _)| *t == r.target) {
                Some(at) => at,
                None => {
                    let mut body = Vec::new();
                    let mut scope = Vec::new();
                    opt_bytes_field(&mut scope, 1, r.target.as_bytes());
                    nested(&mut body, 1, &scope);
                    scopes.push((r.target, body));
                    scopes.len() - 1
                }
            };
            nested(&mut scopes[at].1, 2, &record_buf);
        }
        let mut resource_logs = Vec::new();
        nested(&mut resource_logs, 1, &self.resource);
        for (_, scope_logs) in &scopes {
            nested(&mut resource_logs, 2, scope_logs);
        }
        opt_bytes_field(&mut resource_logs, 3, self.schema_url.as_bytes());
        let mut out = Vec::with_capacity(resource_logs.len() + 8);
        nested(&mut out, 1, &resource_logs);
        out
    }
}

/// A `LogRecord` message body.
fn record(out: &mut Vec<u8>, r: &Record) {
    fixed64_field(out, 1, r.time_unix_nano);
    let (number, text) = severity(r.level);
    opt_varint_field(out, 2, number);
    opt_bytes_field(out, 3, text.as_bytes());
    if let Some(body) = &r.body {
        let mut value = Vec::new();
        any_value(&mut value, &AnyValue::Str(body.clone()));
        nested(out, 5, &value);
    }
    attributes(out, 6, &r.attributes);
    if let Some((trace_id, span_id, flags)) = &r.trace {
        key(out, 8, FIXED32);
        out.extend_from_slice(&u32::from(*flags).to_le_bytes());
        bytes_field(out, 9, trace_id);
        bytes_field(out, 10, span_id);
    }
    fixed64_field(out, 11, r.time_unix_nano);
    if let Some(name) = r.event_name {
        opt_bytes_field(out, 12, name.as_bytes());
    }
}

/// A repeated `KeyValue` field.
fn attributes(out: &mut Vec<u8>, field: u32, kvs: &[(&str, AnyValue)]) {
    let mut kv = Vec::new();
    let mut value = Vec::new();
    for (k, v) in kvs {
        kv.clear();
        value.clear();
        bytes_field(&mut kv, 1, k.as_bytes());
        any_value(&mut value, v);
        nested(&mut kv, 2, &value);
        nested(out, field, &kv);
    }
}

/// An `AnyValue` message body.
fn any_value(out: &mut Vec<u8>, v: &AnyValue) {
    match v {
        AnyValue::Str(s) => bytes_field(out, 1, s.as_bytes()),
        AnyValue::Bool(b) => {
            key(out, 2, VARINT);
            out.push(u8::from(*b));
        }
        AnyValue::I64(i) => {
            key(out, 3, VARINT);
            varint(out, *i as u64);
        }
        AnyValue::F64(f) => {
            key(out, 4, FIXED64);
            out.extend_from_slice(&f.to_le_bytes());
        }
        AnyValue::Array(items) => {
            let mut array = Vec::new();
            let mut item = Vec::new();
            for v in items {
                item.clear();
                any_value(&mut item, v);
                nested(&mut array, 1, &item);
            }
            key(out, 5, LEN);
            varint(out, array.len() as u64);
            out.extend_from_slice(&array);
        }
        AnyValue::Map(kvs) => {
            let mut list = Vec::new();
            attributes(&mut list, 1, kvs);
            key(out, 6, LEN);
            varint(out, list.len() as u64);
            out.extend_from_slice(&list);
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::KeyValue;
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{
        AnyValue as PAny, ArrayValue, InstrumentationScope, KeyValue as PKv, KeyValueList,
        any_value::Value as PV,
    };
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource as PResource;
    use prost::Message;
    use tracing::Level;

    use super::*;
    use crate::export::Encode;

    fn pv(v: PV) -> Option<PAny> {
        Some(PAny { value: Some(v) })
    }
    fn pkv(k: &str, v: PV) -> PKv {
        PKv {
            key: k.to_owned(),
            value: pv(v),
            ..PKv::default()
        }
    }

    #[test]
    fn encoding_decodes_to_the_official_types() {
        let resource = Resource::builder_empty()
            .with_service_name("svc")
            .with_attribute(KeyValue::new("k8s.pod.name", "svc-1"))
            .build();
        let with_span = Record {
            time_unix_nano: 1_700_000_000_123_456_789,
            level: Level::WARN,
            target: "my_svc::orders",
            event_name: Some("order.placed"),
            body: Some("order placed".into()),
            attributes: vec![
                ("order_id", AnyValue::I64(-42)),
                ("ok", AnyValue::Bool(true)),
                ("ratio", AnyValue::F64(0.5)),
                ("big", AnyValue::Str("18446744073709551615".into())),
                (
                    "spans",
                    AnyValue::Array(vec![AnyValue::Map(vec![
                        ("name", AnyValue::Str("work".into())),
                        ("customer", AnyValue::Str("c-1".into())),
                    ])]),
                ),
            ],
            trace: Some(([7; 16], [3; 8], 1)),
        };
        let bare = Record {
            time_unix_nano: 5,
            level: Level::INFO,
            target: "obskit::access",
            event_name: None,
            body: None,
            attributes: Vec::new(),
            trace: None,
        };
        let mut encoder = LogsEncoder::default();
        encoder.set_resource(&resource);
        let bytes = encoder.encode(&[with_span, bare.clone(), bare]);
        let ours = ExportLogsServiceRequest::decode(bytes.as_slice()).expect("valid protobuf");

        let mut resource_attributes: Vec<PKv> = vec![
            pkv("k8s.pod.name", PV::StringValue("svc-1".into())),
            pkv("service.name", PV::StringValue("svc".into())),
        ];
        resource_attributes.sort_by(|a, b| a.key.cmp(&b.key));
        let bare_record = LogRecord {
            time_unix_nano: 5,
            observed_time_unix_nano: 5,
            severity_number: 9,
            severity_text: "INFO".into(),
            ..LogRecord::default()
        };
        let expected = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(PResource {
                    attributes: resource_attributes,
                    ..PResource::default()
                }),
                scope_logs: vec![
                    ScopeLogs {
                        scope: Some(InstrumentationScope {
                            name: "my_svc::orders".into(),
                            ..InstrumentationScope::default()
                        }),
                        log_records: vec![LogRecord {
                            time_unix_nano: 1_700_000_000_123_456_789,
                            observed_time_unix_nano: 1_700_000_000_123_456_789,
                            severity_number: 13,
                            severity_text: "WARN".into(),
                            body: pv(PV::StringValue("order placed".into())),
                            attributes: vec![
                                pkv("order_id", PV::IntValue(-42)),
                                pkv("ok", PV::BoolValue(true)),
                                pkv("ratio", PV::DoubleValue(0.5)),
                                pkv("big", PV::StringValue("18446744073709551615".into())),
                                pkv(
                                    "spans",
                                    PV::ArrayValue(ArrayValue {
                                        values: vec![PAny {
                                            value: Some(PV::KvlistValue(KeyValueList {
                                                values: vec![
                                                    pkv("name", PV::StringValue("work".into())),
                                                    pkv("customer", PV::StringValue("c-1".into())),
                                                ],
                                            })),
                                        }],
                                    }),
                                ),
                            ],
                            flags: 1,
                            trace_id: vec![7; 16],
                            span_id: vec![3; 8],
                            event_name: "order.placed".into(),
                            ..LogRecord::default()
                        }],
                        ..ScopeLogs::default()
                    },
                    ScopeLogs {
                        scope: Some(InstrumentationScope {
                            name: "obskit::access".into(),
                            ..InstrumentationScope::default()
                        }),
                        log_records: vec![bare_record.clone(), bare_record],
                        ..ScopeLogs::default()
                    },
                ],
                ..ResourceLogs::default()
            }],
        };
        let mut ours = ours;
        for rl in &mut ours.resource_logs {
            if let Some(r) = rl.resource.as_mut() {
                r.attributes.sort_by(|a, b| a.key.cmp(&b.key));
            }
        }
        assert_eq!(ours, expected);
    }

    /// The body `http/json` sends, checked against the OTLP/JSON rules of
    /// the specification directly rather than by a decoder.
    #[test]
    fn the_json_body_follows_the_otlp_json_mapping() {
        let record = Record {
            time_unix_nano: 1_700_000_000_123_456_789,
            level: Level::ERROR,
            target: "my_svc::orders",
            event_name: Some("order.abandoned"),
            body: Some("gave up".into()),
            attributes: vec![("attempts", AnyValue::I64(3))],
            trace: Some(([0xa1; 16], [0x0b; 8], 1)),
        };
        let mut encoder = LogsEncoder::default();
        encoder.set_resource(&Resource::builder_empty().with_service_name("svc").build());
        let body = crate::export::json::logs(&encoder.encode(&[record])).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let resource = &v["resourceLogs"][0]["resource"]["attributes"];
        assert!(
            resource.as_array().unwrap().contains(
                &serde_json::json!({"key": "service.name", "value": {"stringValue": "svc"}})
            ),
            "{resource}"
        );
        let scope = &v["resourceLogs"][0]["scopeLogs"][0];
        assert_eq!(scope["scope"]["name"], "my_svc::orders");
        let r = &scope["logRecords"][0];
        assert_eq!(r["timeUnixNano"], "1700000000123456789", "u64 as a string");
        assert_eq!(r["observedTimeUnixNano"], "1700000000123456789");
        assert_eq!(r["severityNumber"], 17, "enums as integers");
        assert_eq!(r["severityText"], "ERROR");
        assert_eq!(r["body"], serde_json::json!({"stringValue": "gave up"}));
        assert_eq!(
            r["attributes"],
            serde_json::json!([{"key": "attempts", "value": {"intValue": "3"}}])
        );
        assert_eq!(r["traceId"], "a1".repeat(16), "ids as hex");
        assert_eq!(r["spanId"], "0b".repeat(8));
        assert_eq!(r["flags"], 1);
        assert_eq!(r["eventName"], "order.abandoned");
        let text = String::from_utf8(body).unwrap();
        for snake in [
            "log_records",
            "time_unix_nano",
            "trace_id",
            "severity_number",
        ] {
            assert!(!text.contains(snake), "{snake} in {text}");
        }
    }
}
