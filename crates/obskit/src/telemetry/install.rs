//! The install steps of the finishing ladder: [`Config::install`] (the
//! one `init!` calls), [`Config::build_layer`] for a subscriber composed by
//! hand, and the assembly both share.

use std::sync::Arc;

use opentelemetry::trace::TracerProvider as _;
use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::registry::LookupSpan;

use crate::config::{Config, LogsExporter, MetricsExporter, SpanBridge};
use crate::error::InitError;
use crate::logs;
use crate::metrics::{MetricsHandle, names};
use crate::traces::{self, Traces};

use super::summary::Summary;
use super::{Assembled, MetricsPipeline, Pushed, SubscriberOwner, Telemetry};

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
        let (telemetry, layer, light) =
            self.build_to::<tracing_subscriber::Registry>(output, SubscriberOwner::Obskit)?;
        let dispatch = super::dispatch(layer, light);
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
        let (telemetry, layer, _) =
            self.build_to(logs::Output::Stdout, SubscriberOwner::Composed)?;
        Ok((telemetry, layer))
    }

    /// Like [`build_layer`](Self::build_layer), writing log lines to `output`.
    pub fn build_layer_with_writer<S>(
        self,
        output: impl std::io::Write + Send + 'static,
    ) -> Result<(Telemetry, Box<dyn Layer<S> + Send + Sync + 'static>), InitError>
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        let (telemetry, layer, _) = self.build_to(
            logs::Output::Writer(Box::new(output)),
            SubscriberOwner::Composed,
        )?;
        Ok((telemetry, layer))
    }

    /// Builds the telemetry and its layer; also returns the light spans
    /// the subscriber is to keep, for a subscriber obskit owns.
    #[allow(clippy::type_complexity)]
    fn build_to<S>(
        self,
        output: logs::Output,
        owner: SubscriberOwner,
    ) -> Result<
        (
            Telemetry,
            Box<dyn Layer<S> + Send + Sync + 'static>,
            Option<Arc<logs::LightSpans>>,
        ),
        InitError,
    >
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
        let (telemetry, layer, _, light) = self.assemble(output, traces, otlp_logs, true, owner)?;
        Ok((telemetry, layer, light))
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
        // Spans under a parent are kept out of the registry (bridged by
        // obskit's subscriber itself when sampled) when nothing but
        // obskit's bridge and JSON layer would see them there:
        // obskit owns the subscriber, no OTLP log layer or pretty formatter
        // lists spans, and no span directive of the log filter matches them.
        let light = (matches!(owner, SubscriberOwner::Obskit)
            && self.span_bridge == SpanBridge::Obskit
            && otlp_logs.is_none()
            && (!console || self.log_format == crate::config::LogFormat::Json)
            && !super::filter::has_span_directives(&self.log_filter))
        .then(|| {
            Arc::new(logs::LightSpans::new(
                console,
                traces.sampling.follows_parent(),
            ))
        });
        let bridge: Box<dyn Layer<S> + Send + Sync> = match self.span_bridge {
            SpanBridge::Obskit => {
                traces::bridge::SpanBridge::new(tracer.clone(), traces.sampling.follows_parent())
                    .with_own(traces.own.clone(), traces.sampling)
                    .with_light(light.clone())
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
        let console_layer =
            console.then(|| logs::layer(&self, &service_name, writer.writer, light.clone()));
        let otlp_layer = otlp_logs.as_ref().map(logs::otlp::OtlpLogs::layer);
        let layer = super::filter::layer::<S>(logs::filter(&self), &self.log_filter)
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
        Ok((telemetry, layer, writer.captured, light))
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LogFormat, Sampler, TracesExporter};

    /// Whether obskit's subscriber for `config` keeps light spans.
    fn keeps_light_spans(config: Config, owner: SubscriberOwner) -> bool {
        let config = config.traces_exporter(TracesExporter::None);
        let traces = traces::build(&config).expect("no exporter to start");
        let (_telemetry, _layer, _lines, light) = config
            .assemble::<tracing_subscriber::Registry>(
                logs::Output::Memory,
                traces,
                None,
                false,
                owner,
            )
            .expect("assembled");
        light.is_some()
    }

    #[test]
    fn light_spans_only_where_nothing_else_would_see_them() {
        let parent_based = || {
            Config::default()
                .sampler(Sampler::ParentBasedAlwaysOn)
                .unwrap()
        };
        assert!(keeps_light_spans(parent_based(), SubscriberOwner::Obskit));
        assert!(keeps_light_spans(
            Config::default().sampler(Sampler::AlwaysOff).unwrap(),
            SubscriberOwner::Obskit
        ));
        // Another layer of the caller's may want them.
        assert!(!keeps_light_spans(
            parent_based(),
            SubscriberOwner::Composed
        ));
        // A sampler that may sample a child of an unsampled parent (only
        // spans the SDK samples or not are light then).
        assert!(keeps_light_spans(
            Config::default().sampler(Sampler::AlwaysOn).unwrap(),
            SubscriberOwner::Obskit
        ));
        // The pretty formatter lists spans from the registry.
        assert!(!keeps_light_spans(
            parent_based().log_format(LogFormat::Pretty),
            SubscriberOwner::Obskit
        ));
        // A span directive matches spans in the registry.
        assert!(!keeps_light_spans(
            parent_based().log_filter("info,[job]=debug").unwrap(),
            SubscriberOwner::Obskit
        ));
        assert!(!keeps_light_spans(
            parent_based().span_bridge(SpanBridge::TracingOpentelemetry),
            SubscriberOwner::Obskit
        ));
    }
}
