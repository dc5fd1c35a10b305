//! Decoding of OTLP/HTTP export bodies, shared by `obskit dev` and obskit's test receiver so
//! that both read the wire the same way and the decoding is tested once.
//!
//! An OTLP/HTTP export is a `POST` to [`TRACES_PATH`], [`LOGS_PATH`] or [`METRICS_PATH`]
//! whose body is the signal's `Export*ServiceRequest` in protobuf or OTLP/JSON
//! ([`Encoding`], from the `Content-Type`), plain or gzip ([`Compression`], from the
//! `Content-Encoding`). [`decode`] turns such a body into the request, inflating at most
//! [`MAX_BODY_BYTES`] and reading OTLP/JSON strictly ([`json`]): an unknown field or an
//! array where a message belongs is refused with its path instead of decoding to nothing.
//! Doubles in OTLP/JSON are read exactly (serde_json's `float_roundtrip`).
//!
//! What a receiver does with the request (store it, convert it, answer) is its own.
//!
//! # Example
//!
//! ```
//! use obskit_otlp::{Compression, Encoding, decode};
//! use obskit_otlp::proto::collector::trace::v1::ExportTraceServiceRequest;
//!
//! let encoding = Encoding::from_content_type("Application/JSON; charset=utf-8").unwrap();
//! let compression = Compression::from_content_encoding(None).unwrap();
//! let body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"checkout"}]}]}]}"#;
//! let request: ExportTraceServiceRequest = decode(encoding, compression, body)?;
//! assert_eq!(request.resource_spans[0].scope_spans[0].spans[0].name, "checkout");
//!
//! let typo = br#"{"resourceSpanz":[]}"#;
//! let err = decode::<ExportTraceServiceRequest>(encoding, compression, typo).unwrap_err();
//! assert!(err.to_string().contains("unknown field `resourceSpanz`"), "{err}");
//! # Ok::<(), obskit_otlp::DecodeError>(())
//! ```

pub mod json;

use std::io::Read as _;

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};

/// The generated OTLP protobuf types (`opentelemetry_proto::tonic`), re-exported so a
/// receiver names the same types [`decode`] returns.
pub use opentelemetry_proto::tonic as proto;

/// The path OTLP/HTTP exporters post traces to.
pub const TRACES_PATH: &str = "/v1/traces";
/// The path OTLP/HTTP exporters post logs to.
pub const LOGS_PATH: &str = "/v1/logs";
/// The path OTLP/HTTP exporters post metrics to.
pub const METRICS_PATH: &str = "/v1/metrics";

/// Largest export body accepted, in bytes, before and after gzip (the SDKs send batches of
/// at most 512 spans).
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The media type of protobuf bodies, OTLP/HTTP's default.
pub const PROTOBUF: &str = "application/x-protobuf";
/// The media type of OTLP/JSON bodies.
pub const JSON: &str = "application/json";

/// The body encodings OTLP/HTTP defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json`: OTLP/JSON (ids in hex, enums as numbers).
    Json,
}

impl Encoding {
    /// The encoding a `Content-Type` names, ignoring case and parameters; `None` for any
    /// other media type.
    ///
    /// ```
    /// use obskit_otlp::Encoding;
    /// assert_eq!(Encoding::from_content_type("application/x-protobuf"), Some(Encoding::Protobuf));
    /// assert_eq!(Encoding::from_content_type(" Application/JSON ; charset=utf-8"), Some(Encoding::Json));
    /// assert_eq!(Encoding::from_content_type("text/plain"), None);
    /// ```
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let media = content_type.split(';').next().unwrap_or_default().trim();
        if media.eq_ignore_ascii_case(PROTOBUF) {
            Some(Self::Protobuf)
        } else if media.eq_ignore_ascii_case(JSON) {
            Some(Self::Json)
        } else {
            None
        }
    }

    /// The media type to answer with: [`PROTOBUF`] or [`JSON`].
    ///
    /// ```
    /// assert_eq!(obskit_otlp::Encoding::Json.media_type(), "application/json");
    /// ```
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Protobuf => PROTOBUF,
            Self::Json => JSON,
        }
    }
}

/// The body compressions decoded: none or gzip, as OTLP exporters send them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// No `Content-Encoding`, or `identity`.
    None,
    /// `gzip` (or `x-gzip`).
    Gzip,
}

impl Compression {
    /// The compression a `Content-Encoding` names, ignoring case; `None` for one that is
    /// not decoded (`zstd`, `br`, …), which the caller refuses in its own words.
    ///
    /// ```
    /// use obskit_otlp::Compression;
    /// assert_eq!(Compression::from_content_encoding(None), Some(Compression::None));
    /// assert_eq!(Compression::from_content_encoding(Some("GZIP")), Some(Compression::Gzip));
    /// assert_eq!(Compression::from_content_encoding(Some("zstd")), None);
    /// ```
    pub fn from_content_encoding(content_encoding: Option<&str>) -> Option<Self> {
        let coding = content_encoding.unwrap_or_default().trim();
        if coding.is_empty() || coding.eq_ignore_ascii_case("identity") {
            Some(Self::None)
        } else if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            Some(Self::Gzip)
        } else {
            None
        }
    }
}

/// Why a body could not be decoded; the message says what is wrong and how to fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The body is not the export message in protobuf.
    #[error("the body is not an OTLP export request in protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    /// The body is not the export message in OTLP/JSON.
    #[error(
        "the body is not an OTLP export request in OTLP/JSON ({0}); trace and span ids are hex strings there, not base64"
    )]
    Json(#[from] serde_json::Error),
    /// The OTLP/JSON body has the wrong shape (an array, an unknown field).
    #[error("{0}")]
    JsonShape(String),
    /// A gzip body does not inflate.
    #[error(
        "the body says `content-encoding: gzip` but does not inflate ({0}); send it compressed whole, or unset the encoding"
    )]
    Gzip(#[source] std::io::Error),
    /// A gzip body inflates beyond [`MAX_BODY_BYTES`].
    #[error(
        "the gzip body inflates to more than {limit} bytes; export smaller batches (OTEL_BSP_MAX_EXPORT_BATCH_SIZE)"
    )]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl DecodeError {
    /// A short name of the problem, for counting refusals by cause.
    ///
    /// ```
    /// let err = obskit_otlp::DecodeError::TooLarge { limit: 10 };
    /// assert_eq!(err.kind(), "compression");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Protobuf(_) => "undecodable protobuf",
            Self::Json(_) | Self::JsonShape(_) => "malformed OTLP/JSON",
            Self::Gzip(_) | Self::TooLarge { .. } => "compression",
        }
    }
}

/// An OTLP export request: one of the three signals' `Export*ServiceRequest`s.
pub trait ExportRequest:
    prost::Message + Default + serde::de::DeserializeOwned + Send + 'static
{
    /// Its (empty on success) response.
    type Response: prost::Message + Default + Send + 'static;
    /// The message name, as errors name it.
    const NAME: &'static str;
    /// The OTLP/HTTP path it is posted to.
    const PATH: &'static str;
}

impl ExportRequest for ExportTraceServiceRequest {
    type Response = ExportTraceServiceResponse;
    const NAME: &'static str = "ExportTraceServiceRequest";
    const PATH: &'static str = TRACES_PATH;
}

impl ExportRequest for ExportLogsServiceRequest {
    type Response = ExportLogsServiceResponse;
    const NAME: &'static str = "ExportLogsServiceRequest";
    const PATH: &'static str = LOGS_PATH;
}

impl ExportRequest for ExportMetricsServiceRequest {
    type Response = ExportMetricsServiceResponse;
    const NAME: &'static str = "ExportMetricsServiceRequest";
    const PATH: &'static str = METRICS_PATH;
}

/// Decodes an export body: inflates it when gzip (at most [`MAX_BODY_BYTES`]), then reads
/// it as protobuf or strict OTLP/JSON.
///
/// ```
/// use obskit_otlp::proto::collector::metrics::v1::ExportMetricsServiceRequest;
/// use obskit_otlp::{Compression, Encoding, decode};
/// use prost::Message as _;
///
/// let request = ExportMetricsServiceRequest::default();
/// let body = request.encode_to_vec();
/// let same: ExportMetricsServiceRequest = decode(Encoding::Protobuf, Compression::None, &body)?;
/// assert_eq!(same, request);
/// assert!(decode::<ExportMetricsServiceRequest>(Encoding::Protobuf, Compression::None, b"\xff").is_err());
/// # Ok::<(), obskit_otlp::DecodeError>(())
/// ```
pub fn decode<T: ExportRequest>(
    encoding: Encoding,
    compression: Compression,
    body: &[u8],
) -> Result<T, DecodeError> {
    let inflated;
    let body = match compression {
        Compression::None => body,
        Compression::Gzip => {
            inflated = gunzip(body)?;
            inflated.as_slice()
        }
    };
    match encoding {
        Encoding::Protobuf => Ok(T::decode(body)?),
        Encoding::Json => json::decode(body),
    }
}

/// Inflates a gzip body, refusing one that inflates beyond [`MAX_BODY_BYTES`].
///
/// ```
/// use std::io::Write as _;
/// use obskit_otlp::gunzip;
/// let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
/// gz.write_all(b"hello").unwrap();
/// assert_eq!(gunzip(&gz.finish().unwrap()).unwrap(), b"hello");
/// assert!(gunzip(b"not gzip").is_err());
/// ```
pub fn gunzip(body: &[u8]) -> Result<Vec<u8>, DecodeError> {
    gunzip_at_most(body, MAX_BODY_BYTES)
}

/// [`gunzip`] with another limit.
fn gunzip_at_most(body: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    let take = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::GzDecoder::new(body)
        .take(take)
        .read_to_end(&mut out)
        .map_err(DecodeError::Gzip)?;
    if out.len() > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn gzip_json_bodies_decode_and_oversized_ones_are_refused() {
        let body =
            br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityText":"WARN"}]}]}]}"#;
        let request: ExportLogsServiceRequest =
            decode(Encoding::Json, Compression::Gzip, &gzip(body)).unwrap();
        assert_eq!(
            request.resource_logs[0].scope_logs[0].log_records[0].severity_text,
            "WARN"
        );
        let err = gunzip_at_most(&gzip(&[b' '; 100]), 99).unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge { limit: 99 }), "{err}");
        assert_eq!(gunzip_at_most(&gzip(&[b' '; 99]), 99).unwrap().len(), 99);
        let err = decode::<ExportLogsServiceRequest>(Encoding::Json, Compression::Gzip, body)
            .unwrap_err();
        assert!(err.to_string().contains("does not inflate"), "{err}");
    }

    #[test]
    fn otlp_json_ids_are_hex_and_base64_ones_are_refused() {
        let span = |id: &str| {
            format!(
                r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{id}","spanId":"eee19b7ec3c1b174"}}]}}]}}]}}"#
            )
        };
        let hex = "5B8EFFF798038103D269B633813FC60C";
        let request: ExportTraceServiceRequest =
            decode(Encoding::Json, Compression::None, span(hex).as_bytes()).unwrap();
        let trace_id = &request.resource_spans[0].scope_spans[0].spans[0].trace_id;
        assert_eq!(trace_id[..2], [0x5b, 0x8e]);
        let err = decode::<ExportTraceServiceRequest>(
            Encoding::Json,
            Compression::None,
            span("W47/95gDgQPSabYzgT/GDA==").as_bytes(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("hex strings"), "{err}");
        assert_eq!(err.kind(), "malformed OTLP/JSON");
    }

    /// Without serde_json's `float_roundtrip` this double is read one ulp off.
    #[test]
    fn doubles_in_otlp_json_are_read_exactly() {
        let text = DOUBLE;
        let body = format!(
            r#"{{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[{{"name":"g","gauge":{{"dataPoints":[{{"asDouble":{text}}}]}}}}]}}]}}]}}"#
        );
        let request: ExportMetricsServiceRequest =
            decode(Encoding::Json, Compression::None, body.as_bytes()).unwrap();
        let metric = &request.resource_metrics[0].scope_metrics[0].metrics[0];
        let Some(Data::Gauge(gauge)) = &metric.data else {
            panic!("not a gauge: {metric:?}");
        };
        let Some(Value::AsDouble(value)) = gauge.data_points[0].value else {
            panic!("not a double: {gauge:?}");
        };
        let exact: f64 = text.parse().unwrap();
        assert_eq!(value.to_bits(), exact.to_bits(), "{value} read for {text}");
    }

    /// The shortest text of a double (as serializers write it) that serde_json's default (fast,
    /// approximate) parser reads one ulp off.
    const DOUBLE: &str = "2.945573359294336e-64";
}
