//! OTLP/HTTP with protobuf bodies, as the signals' encoders write them, or
//! with their OTLP/JSON form for `http/json`.
//!
//! Retries what the specification calls retryable (429, 502, 503, 504 and
//! transport errors), see [`retry`](super::retry).

use std::io::Write as _;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

use super::pipeline::Retrying;
use crate::config::Compression;

/// The gzip form of `body` (`Content-Encoding: gzip`).
fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(body);
    encoder.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn gzip_round_trips() {
        use std::io::Read as _;
        let body = b"spans spans spans spans spans".repeat(100);
        let packed = super::gzip(&body);
        assert!(packed.len() < body.len() / 4);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(packed.as_slice())
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, body);
    }
}

/// Sends encoded export requests to an OTLP/HTTP endpoint.
#[derive(Debug)]
pub(crate) struct HttpTransport {
    client: reqwest::Client,
    url: String,
    /// The URL as messages show it, credentials masked.
    shown: String,
    headers: reqwest::header::HeaderMap,
    gzip: bool,
    /// Set for `http/json`: turns the protobuf request into its JSON body.
    json: Option<super::json::ToJson>,
}

impl HttpTransport {
    /// `client` carries the transport timeout and the TLS settings; with
    /// `json`, bodies go as OTLP/JSON (`Content-Type: application/json`).
    pub(crate) fn new(
        client: reqwest::Client,
        url: String,
        headers: &[(String, String)],
        compression: Compression,
        json: Option<super::json::ToJson>,
    ) -> Self {
        let mut map = reqwest::header::HeaderMap::new();
        for (k, v) in headers {
            // Validated when the configuration was parsed.
            if let (Ok(k), Ok(v)) = (
                reqwest::header::HeaderName::from_bytes(k.as_bytes()),
                reqwest::header::HeaderValue::from_str(v),
            ) {
                map.insert(k, v);
            }
        }
        map.insert(
            reqwest::header::CONTENT_TYPE,
            reqwest::header::HeaderValue::from_static(if json.is_some() {
                "application/json"
            } else {
                "application/x-protobuf"
            }),
        );
        if compression == Compression::Gzip {
            map.insert(
                reqwest::header::CONTENT_ENCODING,
                reqwest::header::HeaderValue::from_static("gzip"),
            );
        }
        Self {
            client,
            shown: crate::config::redact::url(&url),
            url,
            headers: map,
            gzip: compression == Compression::Gzip,
            json,
        }
    }

    async fn send_once(&self, body: bytes::Bytes) -> Result<(), (bool, String)> {
        let response = self
            .client
            .post(&self.url)
            .headers(self.headers.clone())
            .body(body)
            .send()
            .await
            .map_err(|e| {
                (
                    true,
                    format!("cannot reach {}: {}", self.shown, e.without_url()),
                )
            })?;
        let status = response.status();
        if status.is_success() {
            // Drain the body so the connection is reused.
            let _ = response.bytes().await;
            return Ok(());
        }
        let retryable = matches!(status.as_u16(), 429 | 502 | 503 | 504);
        Err((retryable, format!("{} answered {status}", self.shown)))
    }
}

impl HttpTransport {
    /// Sends one encoded request, retrying what OTLP calls retryable.
    pub(crate) async fn send(&self, encoded: Vec<u8>, retrying: Retrying<'_>) -> OTelSdkResult {
        let encoded = match self.json {
            Some(to_json) => to_json(&encoded).map_err(OTelSdkError::InternalFailure)?,
            None => encoded,
        };
        let body = bytes::Bytes::from(if self.gzip { gzip(&encoded) } else { encoded });
        super::retry::with_backoff(
            || self.send_once(body.clone()),
            |(retryable, _)| *retryable,
            |(_, message)| retrying(message),
        )
        .await
        .map_err(|(_, message)| OTelSdkError::InternalFailure(message))
    }
}
