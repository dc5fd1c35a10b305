//! The [`Telemetry`] guard: what `init` returns, and what flushes
//! everything, within a bound, when it is shut down or dropped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};
use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;

use crate::config::{Config, LogsExporter, MetricsExporter, SpanBridge};
use crate::error::InitError;
use crate::logs;
use crate::metrics::{MetricsHandle, names};
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
/// and evaluates to a `Result<`[`Telemetry`]`, `[`InitError`]`>`.
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
);

impl Config {
    /// Builds everything and installs it process-wide: the `tracing`
    /// subscriber, the `metrics` recorder (unless one is already set), the
    /// OpenTelemetry tracer provider and propagator.
    pub fn install(self) -> Result<Telemetry, InitError> {
        self.install_to(logs::Output::Stdout)
    }

    /// Like [`install`](Self::install), writing log lines to `output`
    /// instead of standard output.
    pub fn install_with_writer(
        self,
        output: impl std::io::Write + Send + 'static,
    ) -> Result<Telemetry, InitError> {
        self.install_to(logs::Output::Writer(Box::new(output)))
    }

    fn install_to(self, output: logs::Output) -> Result<Telemetry, InitError> {
        let summary = Summary::of(&self);
        let (telemetry, layer) =
            self.build_to::<tracing_subscriber::Registry>(output, SubscriberOwner::Obskit)?;
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
        tracing::dispatcher::set_global_default(dispatch.clone())
            .map_err(|_| InitError::SubscriberAlreadySet)?;
        let _ = tracing_log::LogTracer::init();
        let _ = telemetry.traces.warn.set(dispatch);
        opentelemetry::global::set_tracer_provider(telemetry.provider.clone());
        opentelemetry::global::set_text_map_propagator(traces::propagator(&summary.propagators));
        let global_metrics = telemetry.metrics.install_global();
        summary.log(global_metrics, &telemetry.traces.resource);
        Ok(telemetry)
    }

    /// Builds everything without installing anything process-wide: for
    /// users who compose their own subscriber (the last rung of the
    /// [ladder](crate#the-ladder)). Add the returned layer to your registry;
    /// it includes the log filter, the log formatter and the bridge that
    /// turns `tracing` spans into OpenTelemetry spans.
    ///
    /// ```
    /// use tracing_subscriber::layer::SubscriberExt as _;
    ///
    /// let config = obskit::Config::default()
    ///     .service_name("payments")?
    ///     .traces_exporter(obskit::config::TracesExporter::None);
    /// let (telemetry, layer) = config.build_layer::<tracing_subscriber::Registry>()?;
    /// let subscriber = tracing_subscriber::registry().with(layer);
    /// tracing::subscriber::with_default(subscriber, || tracing::info!("composed"));
    /// # drop(telemetry);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build_layer<S>(
        self,
    ) -> Result<(Telemetry, Box<dyn Layer<S> + Send + Sync + 'static>), InitError>
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        self.build_to(logs::Output::Stdout, SubscriberOwner::Composed)
    }

    /// Like [`build_layer`](Self::build_layer), writing log lines to `output`.
    pub fn build_layer_with_writer<S>(
        self,
        output: impl std::io::Write + Send + 'static,
    ) -> Result<(Telemetry, Box<dyn Layer<S> + Send + Sync + 'static>), InitError>
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        self.build_to(
            logs::Output::Writer(Box::new(output)),
            SubscriberOwner::Composed,
        )
    }

    fn build_to<S>(
        self,
        output: logs::Output,
        owner: SubscriberOwner,
    ) -> Result<(Telemetry, Box<dyn Layer<S> + Send + Sync + 'static>), InitError>
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        let traces = traces::build(&self)?;
        let otlp_logs = if !self.sdk_disabled && self.logs_exporters.contains(&LogsExporter::Otlp) {
            Some(logs::otlp::OtlpLogs::start(
                &self,
                traces.resource.clone(),
                Arc::clone(&traces.warn),
            )?)
        } else {
            None
        };
        let (telemetry, layer, _) = self.assemble(output, traces, otlp_logs, true, owner)?;
        Ok((telemetry, layer))
    }

    /// Puts the parts together around `traces`: metrics, the log writer, the
    /// `tracing` layer and the guard, for a subscriber `owner` puts
    /// together. Also returns the lines of an in-memory writer
    /// ([`logs::Output::Memory`]).
    pub(crate) fn assemble<S>(
        self,
        output: logs::Output,
        traces: Traces,
        otlp_logs: Option<logs::otlp::OtlpLogs>,
        push_metrics: bool,
        owner: SubscriberOwner,
    ) -> Result<Assembled<S>, InitError>
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        let service_name: Arc<str> = self.resolved_service_name().into();
        let provider = traces.provider.clone();
        let tracer = provider.tracer("obskit");

        let metrics = MetricsHandle::new(&service_name);
        metrics.set_build_info(
            &self.resolved_service_version(),
            self.resolved_vcs_revision().as_deref(),
        );
        metrics.set_target_info(&traces.resource);
        metrics.track_spans(&traces.stats);
        if let Some(otlp) = &otlp_logs {
            metrics.track_log_records(otlp.stats());
        }
        let console = self.logs_exporters.contains(&LogsExporter::Console);
        metrics.set_serves_prometheus(
            self.metrics_exporters
                .contains(&MetricsExporter::Prometheus),
        );
        let otlp_metrics = if push_metrics
            && !self.sdk_disabled
            && self.metrics_exporters.contains(&MetricsExporter::Otlp)
        {
            Some(Arc::new(start_metrics_push(
                &self,
                &metrics,
                traces.resource.clone(),
                Arc::clone(&traces.warn),
            )?))
        } else {
            None
        };

        let writer = logs::writer(&self, output).map_err(InitError::LogWriter)?;
        // Other layers of a subscriber the caller composes may expect the
        // access lines as events, and so does the OTLP log layer.
        let direct_lines = match owner {
            SubscriberOwner::Obskit if console && otlp_logs.is_none() => {
                logs::direct_lines(&self, &service_name, &writer.writer)
            }
            SubscriberOwner::Obskit | SubscriberOwner::Composed => None,
        };
        let dropped = writer.dropped.clone();
        metrics.derive_counter(names::LOG_LINES_DROPPED_TOTAL, move || dropped.get());

        // Log events inside spans reach the logs with the trace id; only
        // warnings and errors are also copied into the span, where they mark
        // it as failed. Copying every event costs more than the span itself.
        // obskit's bridge builds nothing for a span under an unsampled
        // parent. tracing-opentelemetry's, kept for its `OpenTelemetrySpanExt`,
        // runs without its most expensive defaults: inactivity tracking (two
        // clock reads per enter/exit, `busy_ns`/`idle_ns`) and thread
        // attributes (a `String` per span); the code location stays.
        let bridge: Box<dyn Layer<S> + Send + Sync> = match self.span_bridge {
            SpanBridge::Obskit => {
                traces::bridge::SpanBridge::new(tracer.clone(), traces.sampling.follows_parent())
                    .boxed()
            }
            SpanBridge::TracingOpentelemetry => tracing_opentelemetry::layer()
                .with_tracer(tracer.clone())
                .with_tracked_inactivity(false)
                .with_threads(false)
                .with_filter(filter_fn(|meta| {
                    meta.is_span() || *meta.level() <= LevelFilter::WARN
                }))
                .boxed(),
        };
        let console_layer = console.then(|| logs::layer(&self, &service_name, writer.writer));
        let otlp_layer = otlp_logs.as_ref().map(logs::otlp::OtlpLogs::layer);
        let layer = logs::filter(&self)
            .and_then(console_layer)
            .and_then(otlp_layer)
            .and_then(bridge)
            .boxed();

        let health = crate::health::Health::new(metrics.clone());
        let telemetry = Telemetry {
            service_name,
            metrics,
            propagator: Arc::clone(&traces.propagator),
            tracer,
            health,
            direct_lines,
            provider,
            traces,
            pushed: Arc::new(Pushed {
                logs: otlp_logs,
                metrics: otlp_metrics,
            }),
            log_guard: Some(writer.guard),
            log_dropped: writer.dropped,
            shutdown_timeout: self.shutdown_timeout,
            done: false,
        };
        Ok((telemetry, layer, writer.captured))
    }
}

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
    /// [`Config::install`] does this for you. After [`Config::build_layer`] they go
    /// to the global subscriber; call this when obskit's layer runs in a
    /// scoped subscriber instead. Only the first call has an effect.
    pub fn set_diagnostics_dispatch(&self, dispatch: tracing::Dispatch) {
        let _ = self.traces.warn.set(dispatch);
    }

    /// What the sampler decides, as far as it can be told in advance.
    pub(crate) fn sampling(&self) -> traces::Sampling {
        self.traces.sampling
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

/// The OTLP metrics push: the export thread collects and sends the
/// registry every interval.
type MetricsPipeline = crate::export::pipeline::Pipeline<Vec<u8>>;

/// Starts the OTLP metrics push for `config`.
fn start_metrics_push(
    config: &Config,
    metrics: &MetricsHandle,
    resource: opentelemetry_sdk::Resource,
    warn: crate::export::pipeline::WarnDispatch,
) -> Result<MetricsPipeline, InitError> {
    use crate::export;
    let target = config.metrics_target();
    let transport = export::prepare(&target, &export::METRICS)?;
    let metrics = metrics.clone();
    let temporality = config.temporality;
    let batch = crate::config::BatchConfig {
        max_queue_size: 2,
        max_export_batch_size: 1,
        scheduled_delay: config.metric_interval,
        export_timeout: config.metric_timeout,
    };
    export::pipeline::Pipeline::start(
        &export::METRICS,
        "otlp",
        move || {
            Ok(crate::metrics::otlp::MetricsExporter::new(
                metrics,
                transport(),
                temporality,
            ))
        },
        resource,
        batch,
        Arc::default(),
        warn,
    )
    .map_err(|e| export::start_error(&target, e))
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

/// The redacted effective configuration, logged once at start-up.
struct Summary {
    service_version: String,
    exporters: String,
    logs_exporters: String,
    logs_endpoint: Option<String>,
    metrics_exporters: String,
    metrics_endpoint: Option<String>,
    endpoint: String,
    protocol: &'static str,
    header_names: String,
    sampler: String,
    propagators: Vec<crate::config::PropagationFormat>,
    log_filter: String,
    log_format: String,
    sdk_disabled: bool,
    shutdown_timeout: Duration,
}

impl Summary {
    fn of(c: &Config) -> Self {
        Self {
            service_version: c.resolved_service_version(),
            exporters: format!("{:?}", c.exporters).to_lowercase(),
            logs_exporters: format!("{:?}", c.logs_exporters).to_lowercase(),
            logs_endpoint: c
                .logs_exporters
                .contains(&LogsExporter::Otlp)
                .then(|| crate::config::redact::url(&c.otlp_logs_endpoint())),
            metrics_exporters: format!("{:?}", c.metrics_exporters).to_lowercase(),
            metrics_endpoint: c
                .metrics_exporters
                .contains(&MetricsExporter::Otlp)
                .then(|| crate::config::redact::url(&c.otlp_metrics_endpoint())),
            endpoint: crate::config::redact::url(&c.otlp_traces_endpoint()),
            protocol: c.protocol.as_str(),
            header_names: c.header_names().join(","),
            sampler: c.sampler.describe(),
            propagators: c.propagators.clone(),
            log_filter: c.log_filter.clone(),
            log_format: format!("{:?}", c.log_format).to_lowercase(),
            sdk_disabled: c.sdk_disabled,
            shutdown_timeout: c.shutdown_timeout,
        }
    }

    fn log(&self, global_metrics: bool, resource: &opentelemetry_sdk::Resource) {
        let propagators = format!("{:?}", self.propagators).to_lowercase();
        let resource = crate::resource::describe(resource);
        tracing::info!(
            target: "obskit",
            service_version = %self.service_version,
            resource = %resource,
            traces_exporter = %self.exporters,
            otlp_endpoint = %self.endpoint,
            logs_exporter = %self.logs_exporters,
            otlp_logs_endpoint = self.logs_endpoint.as_deref(),
            metrics_exporter = %self.metrics_exporters,
            otlp_metrics_endpoint = self.metrics_endpoint.as_deref(),
            otlp_protocol = self.protocol,
            otlp_header_names = %self.header_names,
            sampler = %self.sampler,
            propagators = %propagators,
            log_filter = %self.log_filter,
            log_format = %self.log_format,
            sdk_disabled = self.sdk_disabled,
            shutdown_timeout_ms = u64::try_from(self.shutdown_timeout.as_millis()).unwrap_or(u64::MAX),
            global_metrics_recorder = global_metrics,
            "obskit telemetry initialised"
        );
    }
}
