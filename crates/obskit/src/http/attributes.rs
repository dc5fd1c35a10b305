//! The server span of a request: its name and the semantic-convention
//! attributes known when the request arrives. (What is known only at the
//! end, the status and `error.type`, is set by the core's `Finish`.)

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use http::Request;
use opentelemetry::KeyValue;

use super::labels;
use super::state::HttpShared;
use crate::metrics::names::METHOD_OTHER;
use crate::request_id::RequestId;

/// The name and attributes of a recorded server span.
pub(crate) fn describe<B>(
    shared: &HttpShared,
    req: &Request<B>,
    method: &'static str,
    route: Option<&str>,
    request_id: &RequestId,
) -> (Cow<'static, str>, Vec<KeyValue>) {
    let (route, name): (Option<Arc<str>>, &'static str) = match (method, route) {
        (m, Some(r)) => {
            let (route, name) = shared.metrics.intern(m, r);
            (Some(route), name)
        }
        (m, None) => (None, labels::span_name(m)),
    };
    let mut attributes = Vec::with_capacity(8 + shared.recorded_headers.len());
    attributes.push(KeyValue::new("http.request.method", method));
    if method == METHOD_OTHER {
        attributes.push(KeyValue::new(
            "http.request.method_original",
            String::from_utf8_lossy(req.method().as_str().as_bytes()).into_owned(),
        ));
    }
    if let Some(r) = route {
        attributes.push(KeyValue::new(
            "http.route",
            opentelemetry::StringValue::from(r),
        ));
    }
    attributes.push(KeyValue::new("url.scheme", shared.scheme));
    attributes.push(KeyValue::new("url.path", req.uri().path().to_owned()));
    attributes.push(KeyValue::new(
        "network.protocol.version",
        protocol_version(req.version()),
    ));
    if let Some(ua) = req
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
    {
        attributes.push(KeyValue::new("user_agent.original", ua.to_owned()));
    }
    if let Some(ConnectInfo(addr)) = req.extensions().get::<ConnectInfo<SocketAddr>>() {
        attributes.push(KeyValue::new("client.address", addr.ip().to_string()));
        attributes.push(KeyValue::new("client.port", i64::from(addr.port())));
    }
    attributes.push(KeyValue::new(
        "http.request.header.x-request-id",
        opentelemetry::StringValue::from(request_id.as_arc()),
    ));
    for (header, key) in &shared.recorded_headers {
        if let Some(v) = req.headers().get(header).and_then(|v| v.to_str().ok()) {
            attributes.push(KeyValue::new(key.clone(), v.to_owned()));
        }
    }
    (Cow::Borrowed(name), attributes)
}

/// `network.protocol.version` as the semantic conventions spell it.
fn protocol_version(version: http::Version) -> &'static str {
    match version {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => "1.1",
    }
}
