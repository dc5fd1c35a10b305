//! The OTLP/HTTP side: `POST /v1/traces`, `/v1/logs` and `/v1/metrics` with a
//! protobuf (or JSON) body, answered per the OTLP/HTTP spec and the current behavior.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

use crate::behavior::Behavior;
use crate::request::{Protocol, header_map};
use crate::store::Shared;

/// The traces path, as OTLP/HTTP defines it.
pub(crate) const TRACES_PATH: &str = "/v1/traces";
/// The logs path, as OTLP/HTTP defines it.
pub(crate) const LOGS_PATH: &str = "/v1/logs";
/// The metrics path, as OTLP/HTTP defines it.
pub(crate) const METRICS_PATH: &str = "/v1/metrics";

/// The protobuf media type, the default of OTLP/HTTP.
const PROTOBUF: &str = "application/x-protobuf";
/// The JSON media type of OTLP/HTTP JSON.
const JSON: &str = "application/json";

/// Answers one HTTP request; never fails, every problem becomes a status code.
pub(crate) async fn handle<B>(
    shared: Arc<Shared>,
    request: Request<B>,
) -> Result<Response<Full<Bytes>>, Infallible>
where
    B: Body,
    B::Error: std::fmt::Display,
{
    let (logs, metrics) = match request.uri().path() {
        TRACES_PATH => (false, false),
        LOGS_PATH => (true, false),
        METRICS_PATH => (false, true),
        _ => {
            return Ok(text(
                StatusCode::NOT_FOUND,
                "only POST /v1/traces, /v1/logs and /v1/metrics are served",
            ));
        }
    };
    if request.method() != Method::POST {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "use POST");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Ok(response);
    }
    let json = if is_protobuf(request.headers().get(header::CONTENT_TYPE)) {
        false
    } else if is_media_type(request.headers().get(header::CONTENT_TYPE), JSON) {
        true
    } else {
        return Ok(text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send Content-Type: application/x-protobuf or application/json",
        ));
    };
    let gzip = match request.headers().get(header::CONTENT_ENCODING) {
        None => false,
        Some(v) if v.as_bytes().eq_ignore_ascii_case(b"gzip") => true,
        Some(_) => {
            return Ok(text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "only gzip bodies are decoded; send gzip or the protobuf uncompressed",
            ));
        }
    };

    let headers = header_map(request.headers());
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            return Ok(text(
                StatusCode::BAD_REQUEST,
                &format!("cannot read the body: {error}"),
            ));
        }
    };
    let body = if gzip {
        let mut plain = Vec::new();
        if let Err(error) =
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut plain)
        {
            return Ok(text(
                StatusCode::BAD_REQUEST,
                &format!("the body is not valid gzip: {error}"),
            ));
        }
        Bytes::from(plain)
    } else {
        body
    };
    let protocol = if json {
        Protocol::HttpJson
    } else {
        Protocol::Http
    };
    if metrics {
        let decoded = if json {
            serde_json::from_slice::<ExportMetricsServiceRequest>(&body).map_err(|e| e.to_string())
        } else {
            ExportMetricsServiceRequest::decode(body).map_err(|e| e.to_string())
        };
        return Ok(match decoded {
            Ok(decoded) => {
                let ok = ExportMetricsServiceResponse::default().encode_to_vec();
                answer(shared.record_metrics(protocol, headers, decoded), json, ok).await
            }
            Err(error) => text(
                StatusCode::BAD_REQUEST,
                &format!("the body is not an ExportMetricsServiceRequest: {error}"),
            ),
        });
    }
    if logs {
        let decoded = if json {
            serde_json::from_slice::<ExportLogsServiceRequest>(&body).map_err(|e| e.to_string())
        } else {
            ExportLogsServiceRequest::decode(body).map_err(|e| e.to_string())
        };
        return Ok(match decoded {
            Ok(decoded) => {
                let ok = ExportLogsServiceResponse::default().encode_to_vec();
                answer(shared.record_logs(protocol, headers, decoded), json, ok).await
            }
            Err(error) => text(
                StatusCode::BAD_REQUEST,
                &format!("the body is not an ExportLogsServiceRequest: {error}"),
            ),
        });
    }
    let decoded = if json {
        serde_json::from_slice::<ExportTraceServiceRequest>(&body).map_err(|e| e.to_string())
    } else {
        ExportTraceServiceRequest::decode(body).map_err(|e| e.to_string())
    };
    let decoded = match decoded {
        Ok(decoded) => decoded,
        Err(error) => {
            return Ok(text(
                StatusCode::BAD_REQUEST,
                &format!("the body is not an ExportTraceServiceRequest: {error}"),
            ));
        }
    };

    let ok = ExportTraceServiceResponse::default().encode_to_vec();
    Ok(answer(shared.record(protocol, headers, decoded), json, ok).await)
}

/// The answer `behavior` gives: success (after the delay, when slow) or 503.
async fn answer(behavior: Behavior, json: bool, ok: Vec<u8>) -> Response<Full<Bytes>> {
    match behavior {
        Behavior::Healthy => success(json, ok),
        Behavior::Slow(delay) => {
            tokio::time::sleep(delay).await;
            success(json, ok)
        }
        Behavior::Error => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the receiver is set to Behavior::Error",
        ),
    }
}

/// Whether a `Content-Type` names protobuf, ignoring case and parameters.
fn is_protobuf(content_type: Option<&HeaderValue>) -> bool {
    is_media_type(content_type, PROTOBUF)
}

/// Whether a `Content-Type` names `media_type`, ignoring case and parameters.
fn is_media_type(content_type: Option<&HeaderValue>, media_type: &str) -> bool {
    content_type
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|given| given.trim().eq_ignore_ascii_case(media_type))
}

/// `200 OK` with an empty `Export*ServiceResponse` (`protobuf`, or `{}` in
/// JSON), as a full-success export gets.
fn success(json: bool, protobuf: Vec<u8>) -> Response<Full<Bytes>> {
    let (body, media_type) = if json {
        (b"{}".to_vec(), JSON)
    } else {
        (protobuf, PROTOBUF)
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    response
}

/// A plain-text response explaining why the request was not accepted.
fn text(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(message.to_owned())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    fn body() -> Bytes {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        name: "one".into(),
                        ..Span::default()
                    }],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        }
        .encode_to_vec()
        .into()
    }

    fn post(path: &str, content_type: &str, body: Bytes) -> Request<Full<Bytes>> {
        Request::post(path)
            .header(header::CONTENT_TYPE, content_type)
            .header("X-Api-Key", "Secret")
            .body(Full::new(body))
            .unwrap()
    }

    async fn status(shared: &Arc<Shared>, request: Request<Full<Bytes>>) -> StatusCode {
        handle(Arc::clone(shared), request).await.unwrap().status()
    }

    #[tokio::test]
    async fn protobuf_post_is_accepted_and_recorded() {
        let shared = Arc::new(Shared::new(Behavior::Healthy));
        let response = handle(
            Arc::clone(&shared),
            post(
                TRACES_PATH,
                "Application/X-Protobuf; charset=binary",
                body(),
            ),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROTOBUF);
        let answer = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            ExportTraceServiceResponse::decode(answer).unwrap(),
            ExportTraceServiceResponse::default()
        );
        let requests = shared.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].header("x-api-key"), Some("Secret"));
        assert_eq!(shared.spans()[0].name, "one");
    }

    #[tokio::test]
    async fn wrong_path_method_type_encoding_and_body_are_refused() {
        let shared = Arc::new(Shared::new(Behavior::Healthy));
        assert_eq!(
            status(&shared, post("/v1/profiles", PROTOBUF, body())).await,
            StatusCode::NOT_FOUND
        );
        let get = Request::get(TRACES_PATH)
            .body(Full::new(Bytes::new()))
            .unwrap();
        assert_eq!(status(&shared, get).await, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            status(&shared, post(TRACES_PATH, "text/plain", body())).await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(
            status(&shared, post(TRACES_PATH, "application/json", body())).await,
            StatusCode::BAD_REQUEST,
            "protobuf bytes are not JSON"
        );
        let mut zstd = post(TRACES_PATH, PROTOBUF, body());
        zstd.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("zstd"));
        assert_eq!(
            status(&shared, zstd).await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        let mut not_gzip = post(TRACES_PATH, PROTOBUF, body());
        not_gzip
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        assert_eq!(status(&shared, not_gzip).await, StatusCode::BAD_REQUEST);
        assert_eq!(
            status(
                &shared,
                post(TRACES_PATH, PROTOBUF, Bytes::from_static(b"\xff\xff\xff"))
            )
            .await,
            StatusCode::BAD_REQUEST
        );
        assert!(shared.requests().is_empty());
    }

    #[tokio::test]
    async fn gzip_bodies_are_decoded_and_the_encoding_recorded() {
        use std::io::Write as _;
        let shared = Arc::new(Shared::new(Behavior::Healthy));
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&body()).unwrap();
        let mut request = post(
            TRACES_PATH,
            PROTOBUF,
            Bytes::from(encoder.finish().unwrap()),
        );
        request
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("GZIP"));
        assert_eq!(status(&shared, request).await, StatusCode::OK);
        assert_eq!(
            shared.requests()[0].header("content-encoding"),
            Some("GZIP")
        );
        assert_eq!(shared.spans()[0].name, "one");
    }

    #[tokio::test]
    async fn json_bodies_are_decoded() {
        let shared = Arc::new(Shared::new(Behavior::Healthy));
        let json = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"j","traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7"}]}]}]}"#;
        let response = handle(
            Arc::clone(&shared),
            post(
                TRACES_PATH,
                "application/json",
                Bytes::from_static(json.as_bytes()),
            ),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], JSON);
        let spans = shared.spans();
        assert_eq!(spans[0].name, "j");
        assert_eq!(spans[0].trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(spans[0].protocol, Protocol::HttpJson);
    }

    #[tokio::test]
    async fn error_behavior_answers_503_and_keeps_no_spans() {
        let shared = Arc::new(Shared::new(Behavior::Error));
        assert_eq!(
            status(&shared, post(TRACES_PATH, PROTOBUF, body())).await,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(shared.requests().len(), 1);
        assert!(shared.spans().is_empty());
    }

    #[test]
    fn missing_content_type_is_not_protobuf() {
        assert!(!is_protobuf(None));
        assert!(is_protobuf(Some(&HeaderValue::from_static(PROTOBUF))));
    }
}
