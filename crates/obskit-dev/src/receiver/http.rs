//! OTLP/HTTP: `POST /v1/traces`, `/v1/logs` and `/v1/metrics` with a protobuf or OTLP/JSON
//! body, plain or gzip. Success answers an empty export response in the request's
//! encoding; anything refused answers a `google.rpc.Status` (in the request's encoding)
//! whose message says what is wrong and how to fix it, and is counted (see
//! [`crate::refusals`]). An unknown path answers 404 with such a message too, never
//! an empty body.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use obskit_otlp::{Compression, DecodeError, Encoding, JSON, PROTOBUF};
pub use obskit_otlp::{LOGS_PATH, MAX_BODY_BYTES, METRICS_PATH, TRACES_PATH};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;

use super::{Export, ReceiveError, Signal};
use crate::refusals::Cause;
use crate::store::Store;

/// `google.rpc.Status`, the body of an OTLP/HTTP error response.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
pub struct RpcStatus {
    /// The gRPC status code (3, INVALID_ARGUMENT, for a malformed export).
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// What was wrong, for a human.
    #[prost(string, tag = "2")]
    pub message: String,
}

/// gRPC's INVALID_ARGUMENT.
const INVALID_ARGUMENT: i32 = 3;
/// gRPC's NOT_FOUND.
const NOT_FOUND: i32 = 5;
/// gRPC's RESOURCE_EXHAUSTED.
const RESOURCE_EXHAUSTED: i32 = 8;

/// The endpoint's name in refusal counts.
fn endpoint(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "OTLP/HTTP /v1/traces",
        Signal::Logs => "OTLP/HTTP /v1/logs",
        Signal::Metrics => "OTLP/HTTP /v1/metrics",
    }
}

/// The OTLP/HTTP router, storing into `store`.
pub fn router(store: Arc<Store>) -> Router {
    Router::new()
        .route(
            TRACES_PATH,
            post(export::<ExportTraceServiceRequest>).fallback(wrong_method),
        )
        .route(
            LOGS_PATH,
            post(export::<ExportLogsServiceRequest>).fallback(wrong_method),
        )
        .route(
            METRICS_PATH,
            post(export::<ExportMetricsServiceRequest>).fallback(wrong_method),
        )
        .fallback(unknown_path)
        .with_state(store)
}

/// A refusal: HTTP status, gRPC code, short cause and message.
struct Refused {
    status: StatusCode,
    code: i32,
    kind: &'static str,
    message: String,
}

impl Refused {
    fn new(status: StatusCode, kind: &'static str, message: String) -> Self {
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            RESOURCE_EXHAUSTED
        } else {
            INVALID_ARGUMENT
        };
        Self {
            status,
            code,
            kind,
            message,
        }
    }
}

impl From<ReceiveError> for Refused {
    fn from(err: ReceiveError) -> Self {
        Self::new(StatusCode::BAD_REQUEST, err.kind(), err.to_string())
    }
}

fn encoding_of(headers: &HeaderMap) -> Result<Encoding, Refused> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    Encoding::from_content_type(content_type).ok_or_else(|| {
        Refused::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content-type",
            format!(
                "content-type `{content_type}` is not OTLP/HTTP; send `{PROTOBUF}` or `{JSON}`"
            ),
        )
    })
}

async fn body_of(headers: &HeaderMap, body: Body) -> Result<(Vec<u8>, Compression), Refused> {
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
        Refused::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too large",
            format!(
                "the body is larger than {MAX_BODY_BYTES} bytes; export smaller batches (OTEL_BSP_MAX_EXPORT_BATCH_SIZE)"
            ),
        )
    })?;
    let coding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?"));
    match Compression::from_content_encoding(coding) {
        Some(compression) => Ok((bytes.to_vec(), compression)),
        None => Err(Refused::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content-encoding",
            format!(
                "content-encoding `{}` is not supported by obskit dev; send gzip or uncompressed bodies (OTEL_EXPORTER_OTLP_COMPRESSION=gzip, or unset it)",
                coding.unwrap_or_default().trim().to_ascii_lowercase()
            ),
        )),
    }
}

async fn export<T: Export>(State(store): State<Arc<Store>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let encoding = match encoding_of(&parts.headers) {
        Ok(encoding) => encoding,
        Err(refused) => return refuse(&store, endpoint(T::SIGNAL), Encoding::Json, refused),
    };
    let stored = async {
        let (body, compression) = body_of(&parts.headers, body).await?;
        let request = obskit_otlp::decode::<T>(encoding, compression, &body).map_err(|err| {
            let status = if matches!(err, DecodeError::TooLarge { .. }) {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            Refused::new(status, err.kind(), ReceiveError::from(err).to_string())
        })?;
        request.store(&store).map_err(Refused::from)
    };
    match stored.await {
        Ok(()) => match encoding {
            // An empty export response encodes as no bytes.
            Encoding::Protobuf => ([(header::CONTENT_TYPE, PROTOBUF)], Vec::new()).into_response(),
            Encoding::Json => ([(header::CONTENT_TYPE, JSON)], "{}").into_response(),
        },
        Err(refused) => refuse(&store, endpoint(T::SIGNAL), encoding, refused),
    }
}

async fn wrong_method(State(store): State<Arc<Store>>, request: Request) -> Response {
    let encoding = encoding_of(request.headers()).unwrap_or(Encoding::Json);
    let refused = Refused {
        status: StatusCode::METHOD_NOT_ALLOWED,
        code: INVALID_ARGUMENT,
        kind: "method",
        message: format!(
            "{} {}: OTLP/HTTP exports are POSTed; the viewer's pages are on its UI port",
            request.method(),
            request.uri().path()
        ),
    };
    refuse(&store, "OTLP/HTTP", encoding, refused)
}

async fn unknown_path(State(store): State<Arc<Store>>, request: Request) -> Response {
    let encoding = encoding_of(request.headers()).unwrap_or(Encoding::Json);
    let refused = Refused {
        status: StatusCode::NOT_FOUND,
        code: NOT_FOUND,
        kind: "unknown path",
        message: format!(
            "{} {} is not an OTLP/HTTP path; obskit dev receives {TRACES_PATH}, {LOGS_PATH} and {METRICS_PATH} (set OTEL_EXPORTER_OTLP_ENDPOINT to this address without a path)",
            request.method(),
            request.uri().path()
        ),
    };
    refuse(&store, "OTLP/HTTP", encoding, refused)
}

/// Counts the refusal and answers a `google.rpc.Status` in the request's encoding.
fn refuse(store: &Store, endpoint: &'static str, encoding: Encoding, refused: Refused) -> Response {
    store.refusals().record(
        Cause {
            endpoint,
            kind: refused.kind,
        },
        refused.message.clone(),
    );
    let body = RpcStatus {
        code: refused.code,
        message: refused.message,
    };
    match encoding {
        Encoding::Protobuf => (
            refused.status,
            [(header::CONTENT_TYPE, PROTOBUF)],
            body.encode_to_vec(),
        )
            .into_response(),
        Encoding::Json => (
            refused.status,
            [(header::CONTENT_TYPE, JSON)],
            serde_json::to_string(&body).unwrap_or_default(),
        )
            .into_response(),
    }
}
