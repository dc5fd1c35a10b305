//! OTLP/HTTP: `POST /v1/traces` with a protobuf or OTLP/JSON body. Success answers an empty
//! `ExportTraceServiceResponse` in the request's encoding; a malformed body answers 400
//! with a `google.rpc.Status` (code 3, INVALID_ARGUMENT) whose message says what is wrong.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use prost::Message as _;

use super::ReceiveError;
use crate::dev::store::Store;

/// Largest export accepted, in bytes (the SDKs send batches of at most 512 spans).
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The path OTLP/HTTP exporters post traces to.
pub const TRACES_PATH: &str = "/v1/traces";

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

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

/// The OTLP/HTTP router, storing into `store`.
pub fn router(store: Arc<Store>) -> Router {
    Router::new()
        .route(TRACES_PATH, post(export))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(store)
}

/// The body encodings OTLP/HTTP defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

async fn export(State(store): State<Arc<Store>>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let encoding = match media.as_str() {
        PROTOBUF => Encoding::Protobuf,
        JSON => Encoding::Json,
        _ => {
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Encoding::Json,
                format!(
                    "content-type `{content_type}` is not OTLP/HTTP; send `{PROTOBUF}` or `{JSON}`"
                ),
            );
        }
    };
    if let Some(coding) = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .filter(|c| !c.eq_ignore_ascii_case("identity"))
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            encoding,
            format!(
                "content-encoding `{coding}` is not supported by obskit dev; unset OTEL_EXPORTER_OTLP_COMPRESSION to send uncompressed bodies"
            ),
        );
    }
    let decoded = match encoding {
        Encoding::Protobuf => super::decode_protobuf(&body),
        Encoding::Json => super::decode_json(&body),
    };
    match decoded {
        Ok(spans) => {
            store.insert_spans(spans);
            match encoding {
                // An empty ExportTraceServiceResponse encodes as no bytes.
                Encoding::Protobuf => {
                    ([(header::CONTENT_TYPE, PROTOBUF)], Vec::new()).into_response()
                }
                Encoding::Json => ([(header::CONTENT_TYPE, JSON)], "{}").into_response(),
            }
        }
        Err(err) => refuse(StatusCode::BAD_REQUEST, encoding, message(&err)),
    }
}

fn message(err: &ReceiveError) -> String {
    err.to_string()
}

/// An error response: `google.rpc.Status` in the request's encoding.
fn refuse(status: StatusCode, encoding: Encoding, message: String) -> Response {
    let body = RpcStatus {
        code: INVALID_ARGUMENT,
        message,
    };
    match encoding {
        Encoding::Protobuf => (
            status,
            [(header::CONTENT_TYPE, PROTOBUF)],
            body.encode_to_vec(),
        )
            .into_response(),
        Encoding::Json => (
            status,
            [(header::CONTENT_TYPE, JSON)],
            serde_json::to_string(&body).unwrap_or_default(),
        )
            .into_response(),
    }
}
