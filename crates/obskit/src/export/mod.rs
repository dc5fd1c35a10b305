//! OTLP export shared by every signal: one bounded pipeline with its export
//! thread ([`pipeline`]), one transport (gRPC or HTTP with protobuf or JSON
//! bodies ([`json`]), with the
//! same headers, TLS, compression, timeouts and retries), and the protobuf
//! wire primitives the signals' encoders write with ([`proto`]).
//!
//! A signal brings only what differs: what it queues, how a batch of it is
//! encoded ([`Encode`]), and the words its warnings use ([`Signal`]).

pub(crate) mod grpc;
pub(crate) mod http;
pub(crate) mod json;
pub(crate) mod pipeline;
pub(crate) mod proto;
mod retry;
pub(crate) mod tls;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use parking_lot::Mutex;

use crate::config::OtlpProtocol;
pub(crate) use crate::config::Target;
#[cfg(not(feature = "tls"))]
use crate::error::ConfigError;
use crate::error::InitError;
use pipeline::{BatchExporter, Retrying, StartError};

/// What tells one signal's export apart: its paths and its words.
#[derive(Debug)]
pub(crate) struct Signal {
    /// `traces`, `logs`: the `signal` field of warnings.
    pub(crate) name: &'static str,
    /// One item, for messages: `span`, `log record`.
    pub(crate) item: &'static str,
    /// Items, for messages: `spans`, `log records`.
    pub(crate) items: &'static str,
    /// The export thread's name part.
    pub(crate) thread: &'static str,
    /// The OTLP/gRPC method.
    pub(crate) grpc_path: &'static str,
    /// The export request's OTLP/JSON form, for `http/json`.
    pub(crate) to_json: json::ToJson,
    /// The variable bounding one export with its retries.
    pub(crate) export_timeout_setting: &'static str,
    /// The variable sizing the queue.
    pub(crate) queue_size_setting: &'static str,
    /// Besides a larger queue, what else makes fewer items.
    pub(crate) relief: &'static str,
}

/// Spans.
pub(crate) static TRACES: Signal = Signal {
    name: "traces",
    item: "span",
    items: "spans",
    thread: "export",
    grpc_path: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    to_json: json::traces,
    export_timeout_setting: crate::config::env::OTEL_BSP_EXPORT_TIMEOUT,
    queue_size_setting: crate::config::env::OTEL_BSP_MAX_QUEUE_SIZE,
    relief: "sample less",
};

/// Log records.
pub(crate) static LOGS: Signal = Signal {
    name: "logs",
    item: "log record",
    items: "log records",
    thread: "logs",
    grpc_path: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    to_json: json::logs,
    export_timeout_setting: crate::config::env::OTEL_BLRP_EXPORT_TIMEOUT,
    queue_size_setting: crate::config::env::OTEL_BLRP_MAX_QUEUE_SIZE,
    relief: "raise the level in RUST_LOG",
};

/// Metrics, pushed as one collection per interval.
pub(crate) static METRICS: Signal = Signal {
    name: "metrics",
    item: "metrics",
    items: "metric pushes",
    thread: "metrics",
    grpc_path: "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    to_json: json::metrics,
    export_timeout_setting: crate::config::env::OTEL_METRIC_EXPORT_TIMEOUT,
    queue_size_setting: crate::config::env::OTEL_METRIC_EXPORT_INTERVAL,
    relief: "push less often",
};

/// Turns a batch of a signal's items into the body of its OTLP export request.
pub(crate) trait Encode<T>: Send + 'static {
    /// Receives the resource once, before the first export.
    fn set_resource(&mut self, resource: &Resource);
    /// The encoded `Export*ServiceRequest`.
    fn encode(&mut self, batch: &[T]) -> Vec<u8>;
}

/// The wire: an OTLP/gRPC channel or an OTLP/HTTP client, bound to one
/// signal's path.
#[derive(Debug)]
pub(crate) enum Transport {
    Grpc(grpc::GrpcTransport),
    Http(http::HttpTransport),
}

impl Transport {
    /// Sends one encoded request, retrying what OTLP calls retryable.
    pub(crate) async fn send(&self, body: Vec<u8>, retrying: Retrying<'_>) -> OTelSdkResult {
        match self {
            Self::Grpc(t) => t.send(body, retrying).await,
            Self::Http(t) => t.send(body, retrying).await,
        }
    }
}

/// A transport and an encoder: what the export thread drives for OTLP.
#[derive(Debug)]
pub(crate) struct OtlpExporter<C> {
    transport: Transport,
    encoder: Mutex<C>,
}

impl<C> OtlpExporter<C> {
    pub(crate) fn new(transport: Transport, encoder: C) -> Self {
        Self {
            transport,
            encoder: Mutex::new(encoder),
        }
    }
}

impl<T: Sync, C: Encode<T>> BatchExporter<T> for OtlpExporter<C> {
    async fn export(&self, batch: &[T], retrying: Retrying<'_>) -> OTelSdkResult {
        let body = self.encoder.lock().encode(batch);
        self.transport.send(body, retrying).await
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.encoder.get_mut().set_resource(resource);
    }
}

/// Makes the transport on the export thread (a gRPC channel needs its
/// runtime); what can fail does so at `init`, before the thread starts.
pub(crate) type MakeTransport = Box<dyn FnOnce() -> Transport + Send>;

/// Checks `target` and prepares its transport for `signal`: refuses
/// `https://` without the `tls` feature, reads the TLS files, builds the
/// channel settings or the HTTP client (sending JSON bodies for `http/json`).
pub(crate) fn prepare(
    target: &Target,
    signal: &'static Signal,
) -> Result<MakeTransport, InitError> {
    let shown = crate::config::redact::url(&target.url);
    #[cfg(not(feature = "tls"))]
    if target.url.starts_with("https://") {
        return Err(ConfigError::Unsupported {
            setting: target.url_setting,
            value: shown,
            reason: "obskit was built without its `tls` feature; enable it, or send plain http:// to a local OpenTelemetry Collector and let it forward over TLS",
        }
        .into());
    }
    let tls = tls::load(&target.tls)?;
    let headers = target.headers.clone();
    let compression = target.compression;
    match target.protocol {
        OtlpProtocol::Grpc => {
            let endpoint = grpc::endpoint(&target.url, target.timeout, &tls).map_err(|source| {
                InitError::GrpcChannel {
                    endpoint: shown.clone(),
                    source,
                }
            })?;
            Ok(Box::new(move || {
                Transport::Grpc(grpc::GrpcTransport::new(
                    &endpoint,
                    signal.grpc_path,
                    &headers,
                    compression,
                ))
            }))
        }
        OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => {
            let client =
                tls::http_client(target.timeout, &tls).map_err(|source| InitError::HttpClient {
                    endpoint: shown.clone(),
                    source,
                })?;
            let url = target.url.clone();
            let json = (target.protocol == OtlpProtocol::HttpJson).then_some(signal.to_json);
            Ok(Box::new(move || {
                Transport::Http(http::HttpTransport::new(
                    client,
                    url,
                    &headers,
                    compression,
                    json,
                ))
            }))
        }
    }
}

/// The error of a pipeline that could not start.
pub(crate) fn start_error(target: &Target, e: StartError) -> InitError {
    match e {
        StartError::Thread(io) => InitError::ExportThread(io),
        StartError::Exporter(source) => InitError::Exporter {
            endpoint: crate::config::redact::url(&target.url),
            source,
        },
    }
}
