//! The [`Telemetry`] guard: what `init` returns, and what flushes
//! everything, within a bound, when it is shut down or dropped.

mod filter;
mod install;
mod summary;

use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};
use tracing_subscriber::Layer;

use crate::logs;
use crate::logs::{LightSpans, WithLightSpans};
use crate::metrics::MetricsHandle;
use crate::traces::{self, Traces};

/// What a shutdown achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Spans the exporters acknowledged over the life of the process.
    pub spans_exported: u64,
    /// Spans lost over the life of the process: queue full, export failed, or
    /// still queued when the bound was reached.
    pub spans_dropped: u64,
    /// Log lines dropped because the writer could not keep up.
    pub log_lines_dropped: u64,
    /// Log records the OTLP logs endpoint acknowledged (`OTEL_LOGS_EXPORTER=otlp`).
    pub log_records_exported: u64,
    /// Log records lost on the way to the OTLP logs endpoint: queue full,
    /// export failed, or still queued when the bound was reached.
    pub log_records_dropped: u64,
    /// Whether the bound was reached before everything was flushed.
    pub timed_out: bool,
    /// How long the shutdown took.
    pub elapsed: Duration,
}

/// Installed telemetry. Keep it alive for the life of the service; call
/// [`shutdown`](Self::shutdown) (or drop it) at the end to flush spans and
/// logs within the configured bound.
#[must_use = "dropping the guard shuts telemetry down at once"]
pub struct Telemetry {
    pub(crate) service_name: Arc<str>,
    pub(crate) metrics: MetricsHandle,
    pub(crate) tracer: Tracer,
    pub(crate) propagator: Arc<crate::propagation::Propagator>,
    pub(crate) health: crate::health::Health,
    /// Where the server layers write access lines without `tracing`: only
    /// when obskit's subscriber is the one installed.
    pub(crate) direct_lines: Option<logs::DirectLines>,
    provider: SdkTracerProvider,
    traces: Traces,
    /// The signals pushed over OTLP besides spans.
    pushed: Arc<Pushed>,
    log_guard: Option<logs::WriterGuard>,
    log_dropped: logs::DroppedLines,
    shutdown_timeout: Duration,
    done: bool,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("service_name", &self.service_name)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish_non_exhaustive()
    }
}

/// Installs telemetry configured from the environment, labelled with the
/// calling crate's name and version: the first rung of the
/// [ladder](crate#the-ladder), and the one line a service needs.
///
/// Expands to `Config::from_env()?.build_info(obskit::build_info!()).install()`
/// and evaluates to a `Result<`[`Telemetry`]`, `[`InitError`](crate::InitError)`>`.
///
/// ```no_run
/// # async fn run() -> Result<(), obskit::InitError> {
/// let telemetry = obskit::init!()?;
/// // ... serve ...
/// telemetry.shutdown().await;
/// # Ok(()) }
/// ```
#[macro_export]
macro_rules! init {
    () => {
        $crate::Config::from_env()
            .map_err($crate::InitError::from)
            .and_then(|config| config.build_info($crate::build_info!()).install())
    };
}

/// Who puts obskit's layer into a subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubscriberOwner {
    /// obskit itself, with no other layer: access lines may skip `tracing`.
    Obskit,
    /// The caller, with layers of their own.
    Composed,
}

/// What [`Config::assemble`] makes: the guard, the `tracing` layer, and
/// the lines of an in-memory log writer.
pub(crate) type Assembled<S> = (
    Telemetry,
    Box<dyn Layer<S> + Send + Sync + 'static>,
    Option<logs::CapturedLines>,
    Option<Arc<LightSpans>>,
);

/// The subscriber obskit installs: `layer` over a registry, in front of
/// it the subscriber that keeps spans under an unsampled parent out of the
/// registry when the layers allow it (`light`).
pub(crate) fn dispatch(
    layer: Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync + 'static>,
    light: Option<Arc<LightSpans>>,
) -> tracing::Dispatch {
    use tracing_subscriber::layer::SubscriberExt as _;
    let registry = tracing_subscriber::registry().with(layer);
    match light {
        Some(light) => tracing::Dispatch::new(WithLightSpans::new(registry, light)),
        None => tracing::Dispatch::new(registry),
    }
}

/// The subscriber [`dispatch`] makes when it keeps light spans.
pub(crate) type ObskitSubscriber = WithLightSpans<
    tracing_subscriber::layer::Layered<
        Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync + 'static>,
        tracing_subscriber::Registry,
    >,
>;

impl Telemetry {
    /// The resolved `service.name`.
    pub fn service_name(&self) -> &str {
        &self.service_name
    }

    /// The metrics registry, for `/metrics` and for registering more series.
    ///
    /// ```
    /// let telemetry = obskit::testing::TestTelemetry::new();
    /// let jobs = telemetry.metrics().counter("jobs_total", vec![]);
    /// jobs.increment(3);
    /// assert!(telemetry.metrics().render().contains("jobs_total{service_name=\"test\"} 3"));
    /// ```
    pub fn metrics(&self) -> MetricsHandle {
        self.metrics.clone()
    }

    /// The health registry and probe state.
    pub fn health(&self) -> crate::health::Health {
        self.health.clone()
    }

    /// The OpenTelemetry tracer obskit creates its spans with.
    pub fn tracer(&self) -> Tracer {
        self.tracer.clone()
    }

    /// The configured propagator (W3C trace context and baggage by default).
    pub fn propagator(&self) -> Arc<dyn TextMapPropagator + Send + Sync> {
        Arc::clone(&self.propagator) as _
    }

    /// Sends obskit's own warnings (span export failures) to `dispatch`.
    ///
    /// [`Config::install`](crate::Config::install) does this for you. After [`Config::build_layer`](crate::Config::build_layer) they go
    /// to the global subscriber; call this when obskit's layer runs in a
    /// scoped subscriber instead. Only the first call has an effect.
    pub fn set_diagnostics_dispatch(&self, dispatch: tracing::Dispatch) {
        let _ = self.traces.warn.set(dispatch);
    }

    /// What the sampler decides, as far as it can be told in advance.
    pub(crate) fn sampling(&self) -> traces::Sampling {
        self.traces.sampling
    }

    /// Where the spans obskit records itself go.
    pub(crate) fn own_spans(&self) -> Arc<traces::OwnSpans> {
        Arc::clone(&self.traces.own)
    }

    /// The configured bound on [`shutdown`](Self::shutdown).
    pub fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }

    /// Sends every queued span and log line, then stops the exporters,
    /// giving up when the configured bound is reached. Safe on any tokio
    /// runtime: the blocking part runs on a thread of its own.
    pub async fn shutdown(mut self) -> ShutdownReport {
        self.done = true;
        let mut parts = self.take_parts();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name("obskit-shutdown".into())
            .spawn(move || {
                let _ = tx.send(parts.shutdown());
            });
        match spawned {
            Ok(_) => match rx.await {
                Ok(report) => report,
                Err(_) => self.report(true, Duration::ZERO),
            },
            // No thread to be had: what was queued is lost, and said so.
            Err(_) => self.report(true, Duration::ZERO),
        }
    }

    /// The blocking form of [`shutdown`](Self::shutdown), for code outside
    /// any async runtime.
    pub fn shutdown_blocking(mut self) -> ShutdownReport {
        self.done = true;
        self.take_parts().shutdown()
    }

    fn take_parts(&mut self) -> Parts {
        Parts {
            provider: self.provider.clone(),
            processors: self.traces.processors.clone(),
            stats: Arc::clone(&self.traces.stats),
            pushed: Arc::clone(&self.pushed),
            log_guard: self.log_guard.take(),
            log_dropped: self.log_dropped.clone(),
            timeout: self.shutdown_timeout,
        }
    }

    fn report(&self, timed_out: bool, elapsed: Duration) -> ShutdownReport {
        ShutdownReport {
            spans_exported: self.traces.stats.exported(),
            spans_dropped: self.traces.stats.unconfirmed(),
            log_lines_dropped: self.log_dropped.get(),
            log_records_exported: self.pushed.log_records_exported(),
            log_records_dropped: self.pushed.log_records_dropped(),
            timed_out,
            elapsed,
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if !self.done {
            self.done = true;
            let _ = self.take_parts().shutdown();
        }
    }
}

/// The OTLP metrics push: the export thread collects and sends the
/// registry every interval.
type MetricsPipeline = crate::export::pipeline::Pipeline<Vec<u8>>;

/// Logs and metrics pushed over OTLP, when configured.
struct Pushed {
    logs: Option<logs::otlp::OtlpLogs>,
    metrics: Option<Arc<MetricsPipeline>>,
}

impl Pushed {
    fn log_records_exported(&self) -> u64 {
        self.logs.as_ref().map_or(0, |l| l.stats().exported())
    }

    fn log_records_dropped(&self) -> u64 {
        self.logs.as_ref().map_or(0, |l| l.stats().unconfirmed())
    }
}

/// What a shutdown needs, detached from the guard so it can move to a thread.
struct Parts {
    provider: SdkTracerProvider,
    processors: Vec<Arc<traces::ExportProcessor>>,
    stats: Arc<crate::export::pipeline::ExportStats>,
    /// The signals pushed over OTLP besides spans.
    pushed: Arc<Pushed>,
    log_guard: Option<logs::WriterGuard>,
    log_dropped: logs::DroppedLines,
    timeout: Duration,
}

impl Parts {
    fn shutdown(&mut self) -> ShutdownReport {
        let start = Instant::now();
        let deadline = start + self.timeout;
        let mut timed_out = false;
        for p in &self.processors {
            let left = deadline.saturating_duration_since(Instant::now());
            timed_out |= !p.shutdown_within(left);
        }
        // The last interval of metrics, span counts included.
        if let Some(metrics) = &self.pushed.metrics {
            let left = deadline.saturating_duration_since(Instant::now());
            timed_out |= !metrics.shutdown_within(left);
        }
        // Marks the provider shut so later spans are not recorded; the
        // processors are already stopped, so this returns at once.
        let _ = self
            .provider
            .shutdown_with_timeout(Duration::from_millis(1));
        let spans_exported = self.stats.exported();
        let spans_dropped = self.stats.unconfirmed();
        tracing::info!(
            target: "obskit",
            spans_exported,
            spans_dropped,
            timed_out,
            elapsed_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
            "telemetry shut down"
        );
        // Log records after the spans, so the line above goes out too.
        if let Some(otlp) = &self.pushed.logs {
            let left = deadline.saturating_duration_since(Instant::now());
            timed_out |= !otlp.pipeline.shutdown_within(left);
        }
        // Writes the log lines still buffered, within what is left of the bound.
        if let Some(guard) = self.log_guard.take() {
            guard.finish(
                deadline
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(100)),
            );
        }
        ShutdownReport {
            spans_exported,
            spans_dropped,
            log_lines_dropped: self.log_dropped.get(),
            log_records_exported: self.pushed.log_records_exported(),
            log_records_dropped: self.pushed.log_records_dropped(),
            timed_out,
            elapsed: start.elapsed(),
        }
    }
}
