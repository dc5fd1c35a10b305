//! Tests of the OTLP log record encoder: its protobuf decoded by
//! `opentelemetry-proto`, its JSON body by the OTLP JSON mapping.

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
        resource
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"key": "service.name", "value": {"stringValue": "svc"}})),
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
