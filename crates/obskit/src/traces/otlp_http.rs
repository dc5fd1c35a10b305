//! OTLP/HTTP with protobuf bodies, encoded by [`otlp_proto`](super::otlp_proto).
//!
//! Retries what the specification calls retryable (429, 502, 503, 504 and
//! transport errors), see [`retry`](super::retry).

use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::SpanData;

use super::pipeline::{BatchExporter, Retrying};
use parking_lot::Mutex;

use super::otlp_proto::Encoder;

/// Sends spans to an OTLP/HTTP endpoint.
#[derive(Debug)]
pub(crate) struct HttpProtobufExporter {
    client: reqwest::Client,
    url: String,
    /// The URL as messages show it, credentials masked.
    shown: String,
    headers: reqwest::header::HeaderMap,
    encoder: Mutex<Encoder>,
}

impl HttpProtobufExporter {
    pub(crate) fn new(
        url: String,
        headers: &[(String, String)],
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
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
            reqwest::header::HeaderValue::from_static("application/x-protobuf"),
        );
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(Self {
            client,
            shown: crate::config::redact::url(&url),
            url,
            headers: map,
            encoder: Mutex::new(Encoder::default()),
        })
    }

    async fn send(&self, body: bytes::Bytes) -> Result<(), (bool, String)> {
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

impl BatchExporter for HttpProtobufExporter {
    async fn export(&self, batch: &[SpanData], retrying: Retrying<'_>) -> OTelSdkResult {
        let body = bytes::Bytes::from(self.encoder.lock().encode(batch));
        super::retry::with_backoff(
            || self.send(body.clone()),
            |(retryable, _)| *retryable,
            |(_, message)| retrying(message),
        )
        .await
        .map_err(|(_, message)| OTelSdkError::InternalFailure(message))
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.encoder.get_mut().set_resource(resource);
    }
}
