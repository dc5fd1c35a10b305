//! OTLP/gRPC carrying the bodies the signals' encoders write: the same
//! bodies as HTTP, sent as a unary `*Service/Export` call through a tonic
//! channel with a pass-through codec.

use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

use super::pipeline::Retrying;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{Ascii, MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::{Channel, Endpoint};

use crate::config::Compression;

/// Sends encoded export requests to an OTLP/gRPC endpoint.
#[derive(Debug)]
pub(crate) struct GrpcTransport {
    channel: Channel,
    /// The signal's `Export` method.
    path: &'static str,
    metadata: MetadataMap,
    gzip: bool,
}

/// The channel's settings: `timeout` bounds each request (and the connect),
/// TLS for `https://` URLs. Needs no runtime, so its errors surface at `init`.
pub(crate) fn endpoint(
    url: &str,
    timeout: Duration,
    tls: &super::tls::TlsMaterial,
) -> Result<Endpoint, tonic::transport::Error> {
    let endpoint = Endpoint::from_shared(url.to_owned())?
        .timeout(timeout)
        .connect_timeout(timeout);
    #[cfg(feature = "tls")]
    let endpoint = if url.starts_with("https://") {
        endpoint.tls_config(super::tls::grpc_tls(tls))?
    } else {
        endpoint
    };
    #[cfg(not(feature = "tls"))]
    let _ = tls;
    Ok(endpoint)
}

impl GrpcTransport {
    /// Must run inside a tokio runtime (the channel connects lazily on it).
    pub(crate) fn new(
        endpoint: &Endpoint,
        path: &'static str,
        headers: &[(String, String)],
        compression: Compression,
    ) -> Self {
        let channel = endpoint.connect_lazy();
        let mut metadata = MetadataMap::new();
        for (k, v) in headers {
            // Validated when the configuration was parsed.
            if let (Ok(k), Ok(v)) = (
                k.parse::<MetadataKey<Ascii>>(),
                v.parse::<MetadataValue<Ascii>>(),
            ) {
                metadata.insert(k, v);
            }
        }
        Self {
            channel,
            path,
            metadata,
            gzip: compression == Compression::Gzip,
        }
    }

    async fn send_once(&self, body: Bytes) -> Result<(), tonic::Status> {
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        if self.gzip {
            grpc = grpc.send_compressed(tonic::codec::CompressionEncoding::Gzip);
        }
        grpc.ready()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let mut request = tonic::Request::new(body);
        *request.metadata_mut() = self.metadata.clone();
        grpc.unary(
            request,
            http::uri::PathAndQuery::from_static(self.path),
            RawCodec,
        )
        .await
        .map(|_| ())
    }
}

impl GrpcTransport {
    /// Sends one encoded request, retrying what OTLP calls retryable.
    pub(crate) async fn send(&self, body: Vec<u8>, retrying: Retrying<'_>) -> OTelSdkResult {
        let body = Bytes::from(body);
        super::retry::with_backoff(
            || self.send_once(body.clone()),
            |status| retryable(status.code()),
            |status| {
                retrying(&format!(
                    "gRPC export failed: {}: {}",
                    status.code(),
                    status.message()
                ))
            },
        )
        .await
        .map_err(|status| {
            OTelSdkError::InternalFailure(format!(
                "gRPC export failed: {}: {}",
                status.code(),
                status.message()
            ))
        })
    }
}

/// The retryable gRPC codes of the OTLP specification.
fn retryable(code: tonic::Code) -> bool {
    matches!(
        code,
        tonic::Code::Cancelled
            | tonic::Code::DeadlineExceeded
            | tonic::Code::Aborted
            | tonic::Code::OutOfRange
            | tonic::Code::Unavailable
            | tonic::Code::DataLoss
    )
}

/// Sends pre-encoded bytes; ignores the response body (partial-success
/// details are not acted on).
#[derive(Debug, Clone, Copy)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ();
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = ();
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<()>, Self::Error> {
        src.advance(src.remaining());
        Ok(Some(()))
    }
}
