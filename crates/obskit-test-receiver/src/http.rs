//! The OTLP/HTTP side: `POST /v1/traces`, `/v1/logs` and `/v1/metrics` with a
//! protobuf (or JSON) body, answered per the OTLP/HTTP spec and the current behavior.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use obskit_otlp::proto::collector::logs::v1::ExportLogsServiceRequest;
use obskit_otlp::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use obskit_otlp::proto::collector::trace::v1::ExportTraceServiceRequest;
use obskit_otlp::{Compression, Encoding, ExportRequest, JSON, PROTOBUF};

use crate::behavior::Behavior;
use crate::request::{Protocol, header_map};
use crate::store::Shared;

pub(crate) use obskit_otlp::{LOGS_PATH, METRICS_PATH, TRACES_PATH};

/// Answers one HTTP request; never fails, every problem becomes a status code.
pub(crate) async fn handle<B>(
    shared: Arc<Shared>,
    request: Request<B>,
) -> Result<Response<Full<Bytes>>, Infallible>
where
    B: Body,
    B::Error: std::fmt::Display,
{
    let path = match request.uri().path() {
        TRACES_PATH => Path::Traces,
        LOGS_PATH => Path::Logs,
        METRICS_PATH => Path::Metrics,
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
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let Some(encoding) = Encoding::from_content_type(content_type) else {
        return Ok(text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send Content-Type: application/x-protobuf or application/json",
        ));
    };
    let content_encoding = request
        .headers()
        .get(header::CONTENT_ENCODING)
        .map(|value| value.to_str().unwrap_or("?"));
    let Some(compression) = Compression::from_content_encoding(content_encoding) else {
        return Ok(text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "only gzip bodies are decoded; send gzip or the protobuf uncompressed",
        ));
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
    let (protocol, json) = match encoding {
        Encoding::Json => (Protocol::HttpJson, true),
        Encoding::Protobuf => (Protocol::Http, false),
    };
    Ok(match path {
        Path::Traces => match decode::<ExportTraceServiceRequest>(encoding, compression, &body) {
            Ok(decoded) => answer(shared.record(protocol, headers, decoded), json).await,
            Err(refused) => *refused,
        },
        Path::Logs => match decode::<ExportLogsServiceRequest>(encoding, compression, &body) {
            Ok(decoded) => answer(shared.record_logs(protocol, headers, decoded), json).await,
            Err(refused) => *refused,
        },
        Path::Metrics => {
            match decode::<ExportMetricsServiceRequest>(encoding, compression, &body) {
                Ok(decoded) => {
                    answer(shared.record_metrics(protocol, headers, decoded), json).await
                }
                Err(refused) => *refused,
            }
        }
    })
}

/// The three OTLP/HTTP paths.
#[derive(Debug, Clone, Copy)]
enum Path {
    Traces,
    Logs,
    Metrics,
}

/// Decodes a body with the shared OTLP decoder; a refusal is the 400 to answer.
fn decode<T: ExportRequest>(
    encoding: Encoding,
    compression: Compression,
    body: &[u8],
) -> Result<T, Box<Response<Full<Bytes>>>> {
    obskit_otlp::decode(encoding, compression, body).map_err(|error| {
        Box::new(text(
            StatusCode::BAD_REQUEST,
            &format!("the body is not an {}: {error}", T::NAME),
        ))
    })
}

/// The answer `behavior` gives: success (after the delay, when slow) or 503.
async fn answer(behavior: Behavior, json: bool) -> Response<Full<Bytes>> {
    match behavior {
        Behavior::Healthy => success(json),
        Behavior::Slow(delay) => {
            tokio::time::sleep(delay).await;
            success(json)
        }
        Behavior::Error => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the receiver is set to Behavior::Error",
        ),
    }
}

/// `200 OK` with an empty `Export*ServiceResponse` (no bytes in protobuf, `{}` in JSON), as a
/// full-success export gets.
fn success(json: bool) -> Response<Full<Bytes>> {
    let (body, media_type) = if json {
        (b"{}".to_vec(), JSON)
    } else {
        (Vec::new(), PROTOBUF)
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
    use obskit_otlp::proto::collector::trace::v1::ExportTraceServiceResponse;
    use obskit_otlp::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message as _;

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
}
