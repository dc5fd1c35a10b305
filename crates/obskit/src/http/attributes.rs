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
use crate::traces::Described;
use crate::traces::attributes::{HttpServer, Text};

/// The name and attributes of a recorded server span.
pub(crate) fn describe<B>(
    shared: &HttpShared,
    req: &Request<B>,
    method: &'static str,
    route: Option<&str>,
    request_id: &RequestId,
) -> (Cow<'static, str>, Described) {
    let (route, name): (Option<Arc<str>>, &'static str) = match (method, route) {
        (m, Some(r)) => {
            let (route, name) = shared.metrics.intern(m, r);
            (Some(route), name)
        }
        (m, None) => (None, labels::span_name(m)),
    };
    let method_original = (method == METHOD_OTHER)
        .then(|| String::from_utf8_lossy(req.method().as_str().as_bytes()).into_owned());
    let user_agent = req
        .headers()
        .get(http::header::USER_AGENT)
        .filter(|v| v.to_str().is_ok())
        .cloned();
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let mut headers = Vec::new();
    for (header, key) in &shared.recorded_headers {
        if let Some(v) = req.headers().get(header).and_then(|v| v.to_str().ok()) {
            headers.push(KeyValue::new(key.clone(), v.to_owned()));
        }
    }
    let attributes = HttpServer {
        method,
        method_original,
        route,
        scheme: shared.scheme,
        path: Text::new(req.uri().path()),
        version: protocol_version(req.version()),
        user_agent,
        client,
        request_id: request_id.clone(),
        headers,
    };
    (Cow::Borrowed(name), Described::HttpServer(attributes))
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
