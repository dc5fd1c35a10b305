//! What one export call looked like on the wire: protocol, headers and the decoded request, for header and retry assertions.

use std::collections::BTreeMap;
use std::fmt;

use http::HeaderMap;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::span::ReceivedSpan;

/// The OTLP transport a request arrived over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// OTLP/gRPC (`TraceService/Export`), as sent with `OTEL_EXPORTER_OTLP_PROTOCOL=grpc`.
    Grpc,
    /// OTLP/HTTP with a protobuf body (`POST /v1/traces`), as sent with
    /// `OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf`.
    Http,
    /// OTLP/HTTP with a JSON body (`POST /v1/traces`), as sent with
    /// `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`.
    HttpJson,
}

/// Prints the protocol as `OTEL_EXPORTER_OTLP_PROTOCOL` spells it: `grpc` or `http/protobuf`.
impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Grpc => "grpc",
            Self::Http => "http/protobuf",
            Self::HttpJson => "http/json",
        })
    }
}

/// One export request as the receiver saw it, whether it was accepted or not.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedRequest {
    /// The transport it arrived over.
    pub protocol: Protocol,
    /// HTTP headers (or gRPC metadata) by lower-cased name, values exactly as
    /// sent; a name sent more than once has its values joined with `", "`.
    /// Binary (`-bin`) gRPC metadata keeps its base64 wire form.
    pub headers: BTreeMap<String, String>,
    /// Whether the receiver kept the spans: `false` when it answered with
    /// [`Behavior::Error`](crate::Behavior::Error).
    pub accepted: bool,
    /// The decoded request.
    pub request: ExportTraceServiceRequest,
}

/// One logs export request as the receiver saw it, whether it was accepted or not.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedLogsRequest {
    /// The transport it arrived over.
    pub protocol: Protocol,
    /// HTTP headers (or gRPC metadata) by lower-cased name, as for [`ReceivedRequest::headers`].
    pub headers: BTreeMap<String, String>,
    /// Whether the receiver kept the records.
    pub accepted: bool,
    /// The decoded request.
    pub request: ExportLogsServiceRequest,
}

/// One metrics export request as the receiver saw it, whether it was accepted or not.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMetricsRequest {
    /// The transport it arrived over.
    pub protocol: Protocol,
    /// HTTP headers (or gRPC metadata) by lower-cased name, as for [`ReceivedRequest::headers`].
    pub headers: BTreeMap<String, String>,
    /// Whether the receiver accepted it.
    pub accepted: bool,
    /// The decoded request.
    pub request: ExportMetricsServiceRequest,
}

impl ReceivedMetricsRequest {
    /// The value of a header, looked up case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// Every metric of the request with its resource's attributes, in order.
    pub fn metrics(
        &self,
    ) -> Vec<(
        std::collections::BTreeMap<String, crate::AttrValue>,
        &opentelemetry_proto::tonic::metrics::v1::Metric,
    )> {
        let mut out = Vec::new();
        for rm in &self.request.resource_metrics {
            let resource = rm
                .resource
                .as_ref()
                .map(|r| crate::attr::attribute_map(&r.attributes))
                .unwrap_or_default();
            for sm in &rm.scope_metrics {
                for m in &sm.metrics {
                    out.push((resource.clone(), m));
                }
            }
        }
        out
    }
}

impl ReceivedLogsRequest {
    /// The value of a header, looked up case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

impl ReceivedRequest {
    /// The value of a header, looked up case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The spans of this request, flattened.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        ReceivedSpan::from_request(&self.request, self.protocol)
    }

    /// How many spans this request carried.
    pub fn span_count(&self) -> usize {
        self.request
            .resource_spans
            .iter()
            .flat_map(|resource| &resource.scope_spans)
            .map(|scope| scope.spans.len())
            .sum()
    }
}

/// Flattens a header map into lower-cased names and lossily decoded values, joining repeats with `", "`.
pub(crate) fn header_map(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut flat = BTreeMap::<String, String>::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        flat.entry(name.as_str().to_ascii_lowercase())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    flat
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn headers_are_flattened_with_repeats_joined() {
        let mut headers = HeaderMap::new();
        headers.insert("X-Api-Key", HeaderValue::from_static("Secret-Value"));
        headers.append("x-multi", HeaderValue::from_static("a"));
        headers.append("x-multi", HeaderValue::from_static("b"));
        let flat = header_map(&headers);
        assert_eq!(flat["x-api-key"], "Secret-Value");
        assert_eq!(flat["x-multi"], "a, b");
        assert_eq!(flat.len(), 2);
    }

    #[test]
    fn header_lookup_ignores_case() {
        let request = ReceivedRequest {
            protocol: Protocol::Http,
            headers: BTreeMap::from([("x-tenant".to_owned(), "Acme".to_owned())]),
            accepted: true,
            request: ExportTraceServiceRequest::default(),
        };
        assert_eq!(request.header("X-Tenant"), Some("Acme"));
        assert_eq!(request.header("x-other"), None);
        assert_eq!(request.span_count(), 0);
    }

    #[test]
    fn protocol_prints_as_the_env_var_value() {
        assert_eq!(Protocol::Grpc.to_string(), "grpc");
        assert_eq!(Protocol::Http.to_string(), "http/protobuf");
    }
}
