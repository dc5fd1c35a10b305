//! Traces: the OpenTelemetry tracer provider, its exporters and sampler,
//! and the propagators for incoming and outgoing context.

pub(crate) mod bridge;
mod console;
mod otlp_grpc;
mod otlp_http;
mod otlp_proto;
pub(crate) mod pipeline;
mod retry;
mod sampling;
mod tls;

use std::collections::HashMap;
use std::sync::Arc;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{self as sdktrace, SdkTracerProvider};

use crate::config::{Compression, Config, OtlpProtocol, Propagator, Sampler, TracesExporter};
#[cfg(not(feature = "tls"))]
use crate::error::ConfigError;
use crate::error::InitError;
use pipeline::{ExportProcessor, ExportStats, StartError, WarnDispatch};
pub(crate) use sampling::{Sampling, start_described};

/// The tracing half of an installed [`Telemetry`](crate::Telemetry).
pub(crate) struct Traces {
    pub(crate) provider: SdkTracerProvider,
    pub(crate) processors: Vec<Arc<ExportProcessor>>,
    pub(crate) stats: Arc<ExportStats>,
    pub(crate) propagator: Arc<dyn TextMapPropagator + Send + Sync>,
    pub(crate) warn: WarnDispatch,
    /// What the sampler decides, as far as it can be told in advance.
    pub(crate) sampling: Sampling,
}

/// A shareable processor handle: the provider owns one box, the guard keeps the `Arc`.
#[derive(Debug)]
struct Shared(Arc<ExportProcessor>);

impl sdktrace::SpanProcessor for Shared {
    fn on_start(&self, span: &mut sdktrace::Span, cx: &opentelemetry::Context) {
        self.0.on_start(span, cx);
    }
    fn on_end(&self, span: sdktrace::SpanData) {
        self.0.on_end(span);
    }
    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(
        &self,
        timeout: std::time::Duration,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
}

/// Builds the tracer provider for a configuration.
pub(crate) fn build(config: &Config) -> Result<Traces, InitError> {
    let stats = Arc::new(ExportStats::default());
    let warn: WarnDispatch = Arc::default();
    let resource = crate::resource::build(config);
    let mut builder = SdkTracerProvider::builder()
        .with_resource(resource.clone())
        .with_sampler(sdk_sampler(config.sampler));
    let mut processors = Vec::new();
    let exporters: &[TracesExporter] = if config.sdk_disabled {
        &[]
    } else {
        &config.exporters
    };
    for exporter in exporters {
        let processor = match exporter {
            TracesExporter::None => continue,
            TracesExporter::Console => ExportProcessor::start(
                "console",
                || Ok(console::ConsoleExporter),
                resource.clone(),
                config.batch,
                Arc::clone(&stats),
                Arc::clone(&warn),
            )
            .map_err(|e| start_error(config, e))?,
            TracesExporter::Otlp => start_otlp(
                config,
                resource.clone(),
                Arc::clone(&stats),
                Arc::clone(&warn),
            )?,
        };
        let processor = Arc::new(processor);
        builder = builder.with_span_processor(Shared(Arc::clone(&processor)));
        processors.push(processor);
    }
    Ok(Traces {
        provider: builder.build(),
        processors,
        stats,
        propagator: Arc::new(propagator(&config.propagators)),
        warn,
        sampling: Sampling::new(config.sampler),
    })
}

fn start_error(config: &Config, e: StartError) -> InitError {
    match e {
        StartError::Thread(io) => InitError::ExportThread(io),
        StartError::Exporter(source) => InitError::Exporter {
            endpoint: crate::config::redact::url(&config.otlp_traces_endpoint()),
            source,
        },
    }
}

/// Checks the TLS files, builds the transport (channel or client), then
/// starts the export thread; each failure has its own error.
fn start_otlp(
    config: &Config,
    resource: opentelemetry_sdk::Resource,
    stats: Arc<ExportStats>,
    warn: WarnDispatch,
) -> Result<ExportProcessor, InitError> {
    let endpoint = config.otlp_traces_endpoint();
    let shown = crate::config::redact::url(&endpoint);
    #[cfg(not(feature = "tls"))]
    if endpoint.starts_with("https://") {
        let setting = if config.traces_endpoint.is_some() {
            crate::config::env::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
        } else {
            crate::config::env::OTEL_EXPORTER_OTLP_ENDPOINT
        };
        return Err(ConfigError::Unsupported {
            setting,
            value: shown,
            reason: "obskit was built without its `tls` feature; enable it, or send plain http:// to a local OpenTelemetry Collector and let it forward over TLS",
        }
        .into());
    }
    let tls = tls::load(&config.tls)?;
    let timeout = config.export_timeout;
    let compression = config.compression;
    let header_list = config.headers.clone();
    let make: Box<dyn FnOnce() -> Result<AnyExporter, StartError> + Send> = match config.protocol {
        OtlpProtocol::Grpc => {
            let channel = otlp_grpc::endpoint(&endpoint, timeout, &tls).map_err(|source| {
                InitError::GrpcChannel {
                    endpoint: shown.clone(),
                    source,
                }
            })?;
            Box::new(move || {
                Ok(AnyExporter::Grpc(otlp_grpc::GrpcExporter::new(
                    &channel,
                    &header_list,
                    compression,
                )))
            })
        }
        OtlpProtocol::HttpProtobuf => {
            let client =
                tls::http_client(timeout, &tls).map_err(|source| InitError::HttpClient {
                    endpoint: shown.clone(),
                    source,
                })?;
            Box::new(move || {
                Ok(AnyExporter::Proto(otlp_http::HttpProtobufExporter::new(
                    client,
                    endpoint,
                    &header_list,
                    compression,
                )))
            })
        }
        OtlpProtocol::HttpJson => {
            let client =
                tls::http_client(timeout, &tls).map_err(|source| InitError::HttpClient {
                    endpoint: shown.clone(),
                    source,
                })?;
            let headers: HashMap<String, String> = header_list.into_iter().collect();
            Box::new(move || {
                let builder = opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_endpoint(endpoint)
                    .with_protocol(opentelemetry_otlp::Protocol::HttpJson)
                    .with_timeout(timeout)
                    .with_headers(headers)
                    .with_http_client(client);
                let builder = match compression {
                    Compression::Gzip => {
                        builder.with_compression(opentelemetry_otlp::Compression::Gzip)
                    }
                    _ => builder,
                };
                Ok(AnyExporter::Otlp(builder.build()?))
            })
        }
    };
    ExportProcessor::start("otlp", make, resource, config.batch, stats, warn)
        .map_err(|e| start_error(config, e))
}

/// A remote parent for tests: fixed ids, sampled or not.
#[cfg(test)]
pub(crate) fn remote_parent(sampled: bool) -> opentelemetry::Context {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    };
    opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736_u128),
        SpanId::from(0x00f0_67aa_0ba9_02b7_u64),
        if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        },
        true,
        TraceState::default(),
    ))
}

/// The SDK's sampler for obskit's setting.
pub(crate) fn sdk_sampler(s: Sampler) -> sdktrace::Sampler {
    use sdktrace::Sampler as S;
    match s {
        Sampler::AlwaysOn => S::AlwaysOn,
        Sampler::AlwaysOff => S::AlwaysOff,
        Sampler::TraceIdRatio(r) => S::TraceIdRatioBased(r),
        Sampler::ParentBasedAlwaysOn => S::ParentBased(Box::new(S::AlwaysOn)),
        Sampler::ParentBasedAlwaysOff => S::ParentBased(Box::new(S::AlwaysOff)),
        Sampler::ParentBasedTraceIdRatio(r) => S::ParentBased(Box::new(S::TraceIdRatioBased(r))),
    }
}

/// obskit's propagator for the configured list.
pub(crate) fn propagator(list: &[Propagator]) -> crate::propagation::Propagator {
    crate::propagation::Propagator::new(list)
}

/// The exporters obskit runs: its own protobuf encoder over gRPC or HTTP,
/// or the `opentelemetry-otlp` exporter for HTTP/JSON.
#[derive(Debug)]
enum AnyExporter {
    Grpc(otlp_grpc::GrpcExporter),
    Proto(otlp_http::HttpProtobufExporter),
    Otlp(opentelemetry_otlp::SpanExporter),
}

impl pipeline::BatchExporter for AnyExporter {
    async fn export(
        &self,
        batch: &[sdktrace::SpanData],
        retrying: pipeline::Retrying<'_>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        use sdktrace::SpanExporter as _;
        match self {
            Self::Grpc(e) => e.export(batch, retrying).await,
            Self::Proto(e) => e.export(batch, retrying).await,
            // The SDK's exporter takes ownership: HTTP/JSON pays for a copy.
            Self::Otlp(e) => e.export(batch.to_vec()).await,
        }
    }

    fn shutdown(&mut self) -> opentelemetry_sdk::error::OTelSdkResult {
        use sdktrace::SpanExporter as _;
        match self {
            Self::Grpc(_) | Self::Proto(_) => Ok(()),
            Self::Otlp(e) => e.shutdown(),
        }
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        use sdktrace::SpanExporter as _;
        match self {
            Self::Grpc(e) => e.set_resource(resource),
            Self::Proto(e) => e.set_resource(resource),
            Self::Otlp(e) => e.set_resource(resource),
        }
    }
}
