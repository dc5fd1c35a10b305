//! Traces: the OpenTelemetry tracer provider, its exporters and sampler,
//! and the propagators for incoming and outgoing context.

pub(crate) mod attributes;
pub(crate) mod bridge;
mod console;
mod ids;
mod otlp_proto;
pub(crate) mod own;
mod sampling;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{self as sdktrace, SdkTracerProvider, SpanData};

use crate::config::{
    Compression, Config, OtlpProtocol, PropagationFormat, Sampler, TracesExporter,
};
use crate::error::InitError;
use crate::export::pipeline::{self, ExportStats, Pipeline, WarnDispatch};
use crate::export::{self, OtlpExporter, TRACES};
pub(crate) use own::{Described, Finished, OwnSpans};
pub(crate) use sampling::{Sampling, known_unsampled, start_described};

/// The span pipeline: a bounded queue of finished spans and its export thread.
pub(crate) type ExportProcessor = Pipeline<Finished>;

/// The tracing half of an installed [`Telemetry`](crate::Telemetry).
pub(crate) struct Traces {
    pub(crate) provider: SdkTracerProvider,
    /// The resource every signal carries, built once.
    pub(crate) resource: opentelemetry_sdk::Resource,
    pub(crate) processors: Vec<Arc<ExportProcessor>>,
    pub(crate) stats: Arc<ExportStats>,
    pub(crate) propagator: Arc<crate::propagation::Propagator>,
    pub(crate) warn: WarnDispatch,
    /// What the sampler decides, as far as it can be told in advance.
    pub(crate) sampling: Sampling,
    /// Where the spans obskit records itself go.
    pub(crate) own: Arc<OwnSpans>,
}

/// A shareable processor handle: the provider owns one box, the guard keeps
/// the `Arc`. `closed` is set when the provider shuts down, for obskit's
/// own spans to stop recording then too.
#[derive(Debug)]
struct Shared(Arc<ExportProcessor>, Arc<AtomicBool>);

impl sdktrace::SpanProcessor for Shared {
    fn on_start(&self, _span: &mut sdktrace::Span, _cx: &Context) {}
    fn on_end(&self, span: SpanData) {
        if span.span_context.is_sampled() {
            self.0.push(Finished::Sdk(span));
        }
    }
    fn force_flush(&self) -> OTelSdkResult {
        if self.0.flush_within(Duration::from_secs(5)) {
            Ok(())
        } else {
            Err(OTelSdkError::Timeout(Duration::from_secs(5)))
        }
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.1.store(true, Ordering::Relaxed);
        if self.0.shutdown_within(timeout) {
            Ok(())
        } else {
            Err(OTelSdkError::Timeout(timeout))
        }
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
    let closed = Arc::new(AtomicBool::new(false));
    let exporters: &[TracesExporter] = if config.sdk_disabled {
        &[]
    } else {
        &config.exporters
    };
    let target = config.traces_target();
    for exporter in exporters {
        let processor = match exporter {
            TracesExporter::None => continue,
            TracesExporter::Console => Pipeline::start(
                &TRACES,
                "console",
                || Ok(console::ConsoleExporter),
                resource.clone(),
                config.batch,
                Arc::clone(&stats),
                Arc::clone(&warn),
            )
            .map_err(|e| export::start_error(&target, e))?,
            TracesExporter::Otlp => start_otlp(
                config,
                &target,
                resource.clone(),
                Arc::clone(&stats),
                Arc::clone(&warn),
            )?,
        };
        let processor = Arc::new(processor);
        builder = builder.with_span_processor(Shared(Arc::clone(&processor), Arc::clone(&closed)));
        processors.push(processor);
    }
    let own = Arc::new(OwnSpans::export(processors.clone(), closed));
    Ok(Traces {
        provider: builder.build(),
        resource,
        processors,
        own,
        stats,
        propagator: Arc::new(propagator(&config.propagators)),
        warn,
        sampling: Sampling::new(config.sampler),
    })
}

/// Checks the TLS files, builds the transport (channel or client), then
/// starts the export thread; each failure has its own error.
fn start_otlp(
    config: &Config,
    target: &export::Target,
    resource: opentelemetry_sdk::Resource,
    stats: Arc<ExportStats>,
    warn: WarnDispatch,
) -> Result<ExportProcessor, InitError> {
    let transport = export::prepare(target, &TRACES)?;
    let make: Box<dyn FnOnce() -> Result<AnyExporter, pipeline::StartError> + Send> =
        if target.protocol == OtlpProtocol::HttpJson {
            // HTTP/JSON: the SDK's exporter, with obskit's client (timeout, TLS).
            let tls = export::tls::load(&target.tls)?;
            let client = export::tls::http_client(target.timeout, &tls).map_err(|source| {
                InitError::HttpClient {
                    endpoint: crate::config::redact::url(&target.url),
                    source,
                }
            })?;
            let headers: HashMap<String, String> = target.headers.iter().cloned().collect();
            let endpoint = target.url.clone();
            let timeout = target.timeout;
            let compression = target.compression;
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
                Ok(AnyExporter::Json(builder.build()?))
            })
        } else {
            Box::new(move || {
                Ok(AnyExporter::Proto(OtlpExporter::new(
                    transport(),
                    otlp_proto::Encoder::default(),
                )))
            })
        };
    Pipeline::start(&TRACES, "otlp", make, resource, config.batch, stats, warn)
        .map_err(|e| export::start_error(target, e))
}

/// A remote parent for tests: fixed ids, sampled or not.
#[cfg(test)]
pub(crate) fn remote_parent(sampled: bool) -> opentelemetry::Context {
    use opentelemetry::trace::TraceContextExt as _;
    opentelemetry::Context::new().with_remote_span_context(
        crate::propagation::test_support::span_context(
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "00f067aa0ba902b7",
            sampled,
        ),
    )
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
pub(crate) fn propagator(list: &[PropagationFormat]) -> crate::propagation::Propagator {
    crate::propagation::Propagator::new(list)
}

/// The exporters obskit runs: its own protobuf encoder over gRPC or HTTP,
/// or the `opentelemetry-otlp` exporter for HTTP/JSON.
#[derive(Debug)]
enum AnyExporter {
    Proto(OtlpExporter<otlp_proto::Encoder>),
    Json(opentelemetry_otlp::SpanExporter),
}

impl pipeline::BatchExporter<Finished> for AnyExporter {
    async fn export(&self, batch: &[Finished], retrying: pipeline::Retrying<'_>) -> OTelSdkResult {
        use sdktrace::SpanExporter as _;
        match self {
            Self::Proto(e) => e.export(batch, retrying).await,
            // The SDK's exporter takes ownership: HTTP/JSON pays for a copy.
            Self::Json(e) => {
                e.export(batch.iter().map(Finished::to_span_data).collect())
                    .await
            }
        }
    }

    fn shutdown(&mut self) -> OTelSdkResult {
        use sdktrace::SpanExporter as _;
        match self {
            Self::Proto(_) => Ok(()),
            Self::Json(e) => e.shutdown(),
        }
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        use sdktrace::SpanExporter as _;
        match self {
            Self::Proto(e) => pipeline::BatchExporter::<Finished>::set_resource(e, resource),
            Self::Json(e) => e.set_resource(resource),
        }
    }
}
