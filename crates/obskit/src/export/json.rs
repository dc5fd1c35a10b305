//! OTLP/HTTP JSON bodies: the protobuf request the signal's encoder wrote,
//! decoded into opentelemetry-proto's types and written per the OTLP/JSON
//! mapping (lowerCamelCase keys, hex trace and span ids, enums as integers,
//! 64-bit integers as decimal strings), as opentelemetry-otlp does for its
//! own JSON exports. Only done when `http/json` is configured.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

/// Turns one signal's protobuf export request into its JSON form.
pub(crate) type ToJson = fn(&[u8]) -> Result<Vec<u8>, String>;

/// Decodes `body` as `R` and writes it as JSON; `what` names the signal.
fn convert<R: prost::Message + Default + serde::Serialize>(
    body: &[u8],
    what: &str,
) -> Result<Vec<u8>, String> {
    let request = R::decode(body)
        .map_err(|e| format!("cannot turn the {what} export request into OTLP/JSON: {e}"))?;
    serde_json::to_vec(&request)
        .map_err(|e| format!("cannot write the {what} export request as OTLP/JSON: {e}"))
}

/// An `ExportTraceServiceRequest` as OTLP/JSON.
pub(crate) fn traces(body: &[u8]) -> Result<Vec<u8>, String> {
    convert::<ExportTraceServiceRequest>(body, "traces")
}

/// An `ExportLogsServiceRequest` as OTLP/JSON.
pub(crate) fn logs(body: &[u8]) -> Result<Vec<u8>, String> {
    convert::<ExportLogsServiceRequest>(body, "logs")
}

/// An `ExportMetricsServiceRequest` as OTLP/JSON.
pub(crate) fn metrics(body: &[u8]) -> Result<Vec<u8>, String> {
    convert::<ExportMetricsServiceRequest>(body, "metrics")
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::metrics::v1::{
        AggregationTemporality, Histogram, HistogramDataPoint, Metric, ResourceMetrics,
        ScopeMetrics, metric,
    };
    use prost::Message as _;
    use serde_json::{Value, json};

    fn string(s: &str) -> Option<AnyValue> {
        Some(AnyValue {
            value: Some(any_value::Value::StringValue(s.into())),
        })
    }

    /// Checks the body against the OTLP/JSON rules of the specification
    /// directly, not through a decoder that could share a mistake.
    #[test]
    fn a_logs_body_follows_the_otlp_json_mapping() {
        let request = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: vec![LogRecord {
                        time_unix_nano: 1_700_000_000_123_456_789,
                        observed_time_unix_nano: u64::MAX,
                        severity_number: 13,
                        severity_text: "WARN".into(),
                        body: string("charging failed"),
                        attributes: vec![KeyValue {
                            key: "code".into(),
                            value: Some(AnyValue {
                                value: Some(any_value::Value::IntValue(-3)),
                            }),
                            ..Default::default()
                        }],
                        flags: 1,
                        trace_id: (1..=16).collect(),
                        span_id: vec![0xab; 8],
                        event_name: "order.abandoned".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let body = super::logs(&request.encode_to_vec()).unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        let record = &v["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
        assert_eq!(record["timeUnixNano"], json!("1700000000123456789"));
        assert_eq!(
            record["observedTimeUnixNano"],
            json!("18446744073709551615")
        );
        assert_eq!(record["severityNumber"], json!(13), "enums are integers");
        assert_eq!(record["severityText"], json!("WARN"));
        assert_eq!(record["body"], json!({"stringValue": "charging failed"}));
        assert_eq!(
            record["attributes"],
            json!([{"key": "code", "value": {"intValue": "-3"}}])
        );
        assert_eq!(record["flags"], json!(1));
        assert_eq!(
            record["traceId"],
            json!("0102030405060708090a0b0c0d0e0f10"),
            "ids are hex, not base64"
        );
        assert_eq!(record["spanId"], json!("abababababababab"));
        assert_eq!(record["eventName"], json!("order.abandoned"));
        for key in [
            "trace_id",
            "time_unix_nano",
            "log_records",
            "severity_number",
        ] {
            assert!(!String::from_utf8_lossy(&body).contains(key), "{key}");
        }
    }

    #[test]
    fn a_metrics_body_follows_the_otlp_json_mapping() {
        let request = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![Metric {
                        name: "http_server_request_duration_seconds".into(),
                        unit: "s".into(),
                        data: Some(metric::Data::Histogram(Histogram {
                            aggregation_temporality: AggregationTemporality::Cumulative as i32,
                            data_points: vec![HistogramDataPoint {
                                start_time_unix_nano: 5,
                                time_unix_nano: 9_007_199_254_740_993,
                                count: 3,
                                sum: Some(0.25),
                                bucket_counts: vec![1, 2, 0],
                                explicit_bounds: vec![0.1, 0.5],
                                ..Default::default()
                            }],
                        })),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let body = super::metrics(&request.encode_to_vec()).unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        let metric = &v["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0];
        assert_eq!(
            metric["name"],
            json!("http_server_request_duration_seconds")
        );
        let hist = &metric["histogram"];
        assert_eq!(hist["aggregationTemporality"], json!(2));
        let point = &hist["dataPoints"][0];
        assert_eq!(point["startTimeUnixNano"], json!("5"));
        assert_eq!(point["timeUnixNano"], json!("9007199254740993"));
        assert_eq!(point["count"], json!("3"));
        assert_eq!(point["sum"], json!(0.25));
        assert_eq!(point["bucketCounts"], json!(["1", "2", "0"]));
        assert_eq!(point["explicitBounds"], json!([0.1, 0.5]));
    }

    #[test]
    fn a_body_that_is_not_the_request_is_an_error_naming_the_signal() {
        let err = super::metrics(b"\xff\xff\xff").unwrap_err();
        assert!(err.contains("metrics export request"), "{err}");
    }
}
