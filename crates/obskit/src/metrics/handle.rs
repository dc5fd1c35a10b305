//! The handle on obskit's registry: render it for `/metrics`, register
//! more series in it, and install it as the process-wide `metrics` recorder.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ::metrics::{Counter, Gauge, Histogram, Label, Unit};
use ::metrics::{Key, Metadata, Recorder, SharedString};

use super::registry::Registry;
use super::{BucketsError, Format, describe, names, openmetrics, render, series, snapshot};
use crate::export::pipeline::ExportStats;

static METADATA: Metadata<'static> =
    Metadata::new("obskit", metrics::Level::INFO, Some(module_path!()));

/// A shareable handle on obskit's metrics: render them for `/metrics`, or
/// register more series in the same registry.
#[derive(Clone)]
pub struct MetricsHandle {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    process: metrics_process::Collector,
    derived: parking_lot::Mutex<Vec<Derived>>,
    /// Run before each render to refresh figures read from elsewhere;
    /// one that returns `false` is done and removed.
    refreshers: parking_lot::Mutex<Vec<Refresher>>,
    /// Length of the previous render in each format, to size the next one.
    last_len: [AtomicUsize; 2],
    /// `/metrics` answers 404: `OTEL_METRICS_EXPORTER` lists no `prometheus`.
    no_prometheus: std::sync::atomic::AtomicBool,
}

type Refresher = Box<dyn FnMut() -> bool + Send + Sync>;

/// A counter whose value is read from elsewhere at render time.
struct Derived {
    name: &'static str,
    counter: Counter,
    read: Box<dyn Fn() -> u64 + Send + Sync>,
}

impl std::fmt::Debug for MetricsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsHandle").finish_non_exhaustive()
    }
}

impl MetricsHandle {
    /// A new registry whose every series carries `service_name`.
    pub(crate) fn new(service_name: &str) -> Self {
        let registry = Registry::new(
            &[(names::SERVICE_NAME, service_name)],
            names::HTTP_DURATION_BUCKETS,
        );
        let process = metrics_process::Collector::default();
        metrics::with_local_recorder(&registry, || process.describe());
        let this = Self {
            inner: Arc::new(Inner {
                registry,
                process,
                derived: parking_lot::Mutex::new(Vec::new()),
                refreshers: parking_lot::Mutex::new(Vec::new()),
                last_len: [AtomicUsize::new(0), AtomicUsize::new(0)],
                no_prometheus: std::sync::atomic::AtomicBool::new(false),
            }),
        };
        describe::describe_all(&this.inner.registry);
        this
    }

    /// Renders every series in the Prometheus text format 0.0.4, refreshing
    /// the process metrics and obskit's own counters first. The same as
    /// `render_as(Format::Prometheus)`.
    pub fn render(&self) -> String {
        self.render_as(Format::Prometheus)
    }

    /// Renders every series in `format`, refreshing the process metrics and
    /// obskit's own counters first. [`Format::OpenMetrics`] carries the
    /// exemplars of sampled requests and ends with `# EOF`; the route
    /// behind `/metrics` picks the format with [`Format::from_accept`].
    ///
    /// ```
    /// use obskit::metrics::Format;
    /// # let (telemetry, _layer) = obskit::Config::default()
    /// #     .traces_exporter(obskit::config::TracesExporter::None)
    /// #     .build_layer_with_writer::<obskit::tracing_subscriber::Registry>(std::io::sink())
    /// #     .unwrap();
    /// let metrics = telemetry.metrics();
    /// metrics.counter("jobs_total", Vec::new()).increment(3);
    /// let text = metrics.render_as(Format::OpenMetrics);
    /// assert!(text.contains("# TYPE jobs counter\njobs_total{service_name="));
    /// assert!(text.ends_with("# EOF\n"));
    /// ```
    pub fn render_as(&self, format: Format) -> String {
        match format {
            Format::Prometheus => self.render_text(),
            // UTF-8 by construction (see `render_bytes`); checked here once
            // for a `String`, never lossy in practice.
            Format::OpenMetrics => String::from_utf8(self.render_openmetrics())
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        }
    }

    /// The same text as [`render_as`](Self::render_as), as bytes: what the
    /// `/metrics` route serves. The OpenMetrics renderer writes numbers,
    /// hex ids and exemplars straight into a byte buffer, so this skips the
    /// check a `String` needs that they are UTF-8 (they are: every byte is
    /// ASCII or comes from a `&str`).
    ///
    /// ```
    /// use obskit::metrics::Format;
    /// # let (telemetry, _layer) = obskit::Config::default()
    /// #     .traces_exporter(obskit::config::TracesExporter::None)
    /// #     .build_layer_with_writer::<obskit::tracing_subscriber::Registry>(std::io::sink())
    /// #     .unwrap();
    /// let metrics = telemetry.metrics();
    /// metrics.counter("jobs_total", Vec::new()).increment(3);
    /// let bytes = metrics.render_bytes(Format::OpenMetrics);
    /// assert!(bytes.ends_with(b"# EOF\n"));
    /// ```
    pub fn render_bytes(&self, format: Format) -> Vec<u8> {
        match format {
            Format::Prometheus => self.render_text().into_bytes(),
            Format::OpenMetrics => self.render_openmetrics(),
        }
    }

    fn render_text(&self) -> String {
        let snapshot = self.refreshed_snapshot();
        let last_len = &self.inner.last_len[0];
        let capacity = snapshot.size_hint.max(last_len.load(Ordering::Relaxed)) + 1024;
        let mut out = String::with_capacity(capacity);
        render::write(&snapshot, &mut out);
        last_len.store(out.len(), Ordering::Relaxed);
        out
    }

    fn render_openmetrics(&self) -> Vec<u8> {
        let snapshot = self.refreshed_snapshot();
        let last_len = &self.inner.last_len[1];
        let capacity = snapshot.size_hint.max(last_len.load(Ordering::Relaxed)) + 1024;
        let mut out = Vec::with_capacity(capacity);
        openmetrics::write(&snapshot, &mut out);
        last_len.store(out.len(), Ordering::Relaxed);
        out
    }

    /// The registry's families after refreshing the process metrics and
    /// obskit's own counters: what a scrape or an OTLP push reads.
    pub(super) fn refreshed_snapshot(&self) -> Arc<snapshot::Snapshot> {
        metrics::with_local_recorder(&self.inner.registry, || self.inner.process.collect());
        for d in self.inner.derived.lock().iter() {
            d.counter.absolute((d.read)());
        }
        self.inner.refreshers.lock().retain_mut(|refresh| refresh());
        self.inner.registry.snapshot()
    }

    /// Whether the counter family `name` is observed (read from elsewhere
    /// at collection, like an OpenTelemetry asynchronous counter: obskit's
    /// export counters and the process CPU time) rather than recorded.
    pub(crate) fn is_observed_counter(&self, name: &str) -> bool {
        name == names::PROCESS_CPU_SECONDS_TOTAL
            || self.inner.derived.lock().iter().any(|d| d.name == name)
    }

    /// Whether `/metrics` serves the registry: `prometheus` is among the
    /// metrics exporters (`OTEL_METRICS_EXPORTER`), the default.
    pub fn serves_prometheus(&self) -> bool {
        !self.inner.no_prometheus.load(Ordering::Relaxed)
    }

    pub(crate) fn set_serves_prometheus(&self, serves: bool) {
        self.inner.no_prometheus.store(!serves, Ordering::Relaxed);
    }

    /// Sets the bucket upper bounds of the histogram `name`, for histograms
    /// measured in something other than seconds. The bounds must be finite
    /// and strictly increasing; `le="+Inf"` is always added. Call it before
    /// the first series of that name is registered: once series exist with
    /// other bounds it is refused ([`BucketsError::AlreadyRegistered`]).
    /// Histograms without a setting use [`names::HTTP_DURATION_BUCKETS`].
    ///
    /// ```
    /// # let telemetry = obskit::testing::TestTelemetry::new();
    /// let metrics = telemetry.metrics();
    /// metrics
    ///     .set_histogram_buckets("upload_size_bytes", &[1e3, 1e4, 1e5, 1e6])
    ///     .expect("valid bounds");
    /// metrics.histogram("upload_size_bytes", Vec::new()).record(2048.0);
    /// assert!(metrics.render().contains(r#"upload_size_bytes_bucket{service_name="#));
    /// ```
    pub fn set_histogram_buckets(&self, name: &str, bounds: &[f64]) -> Result<(), BucketsError> {
        self.inner.registry.set_buckets(name, bounds)
    }

    /// A counter in this registry.
    pub fn counter(&self, name: &'static str, labels: Vec<Label>) -> Counter {
        self.inner
            .registry
            .register_counter(&Key::from_parts(name, labels), &METADATA)
    }

    /// A counter in this registry that never keeps exemplars, for series
    /// whose exemplars would only crowd out useful ones (an SLO's good
    /// requests). Other handles on the same series still keep them.
    pub(crate) fn counter_without_exemplars(
        &self,
        name: &'static str,
        labels: Vec<Label>,
    ) -> Counter {
        self.inner
            .registry
            .counter_series(&Key::from_parts(name, labels))
            .map_or_else(Counter::noop, |c| {
                Counter::from_arc(Arc::new(series::WithoutExemplars(c)))
            })
    }

    /// A gauge in this registry.
    pub fn gauge(&self, name: &'static str, labels: Vec<Label>) -> Gauge {
        self.inner
            .registry
            .register_gauge(&Key::from_parts(name, labels), &METADATA)
    }

    /// A histogram in this registry.
    pub fn histogram(&self, name: &'static str, labels: Vec<Label>) -> Histogram {
        self.inner
            .registry
            .register_histogram(&Key::from_parts(name, labels), &METADATA)
    }

    /// Sets the HELP text and unit of the family `name` (a module's own
    /// series), whatever its kind.
    pub(crate) fn describe(&self, name: &'static str, unit: Option<Unit>, help: &'static str) {
        self.inner.registry.describe(&name.into(), unit, help);
    }

    /// Publishes the build-info series (an info metric in OpenMetrics).
    pub(crate) fn set_build_info(&self, version: &str, revision: Option<&str>) {
        self.inner.registry.mark_info(names::BUILD_INFO);
        self.gauge(
            names::BUILD_INFO,
            vec![
                Label::new(names::SERVICE_VERSION, version.to_owned()),
                Label::new(
                    names::VCS_REVISION,
                    revision.unwrap_or("unknown").to_owned(),
                ),
                Label::new(names::OBSKIT_VERSION, env!("CARGO_PKG_VERSION")),
            ],
        )
        .set(1.0);
    }

    /// Publishes `target_info`: the resource's attributes as labels (dots
    /// become underscores), `service.name` aside, which every series
    /// already carries as `service_name`. An info metric in OpenMetrics.
    pub(crate) fn set_target_info(&self, resource: &opentelemetry_sdk::Resource) {
        self.inner.registry.mark_info(names::TARGET_INFO);
        let mut attributes: Vec<(String, String)> = resource
            .iter()
            .filter(|(k, _)| k.as_str() != "service.name")
            .map(|(k, v)| (k.as_str().to_owned(), v.to_string()))
            .collect();
        attributes.sort();
        let labels = attributes
            .into_iter()
            .map(|(k, v)| Label::new(k, v))
            .collect();
        self.gauge(names::TARGET_INFO, labels).set(1.0);
    }

    /// Publishes a counter whose total is read from `read` at every render.
    pub(crate) fn derive_counter(
        &self,
        name: &'static str,
        read: impl Fn() -> u64 + Send + Sync + 'static,
    ) {
        let counter = self.counter(name, Vec::new());
        counter.absolute(read());
        self.inner.derived.lock().push(Derived {
            name,
            counter,
            read: Box::new(read),
        });
    }

    /// Runs `refresh` before every render, until it returns `false`: for
    /// gauges read from elsewhere (a connection pool's figures).
    pub(crate) fn on_render(&self, refresh: impl FnMut() -> bool + Send + Sync + 'static) {
        self.inner.refreshers.lock().push(Box::new(refresh));
    }

    /// Publishes the span export counters.
    pub(crate) fn track_spans(&self, stats: &Arc<ExportStats>) {
        let s = Arc::clone(stats);
        self.derive_counter(names::SPANS_EXPORTED_TOTAL, move || s.exported());
        let s = Arc::clone(stats);
        self.derive_counter(names::SPANS_DROPPED_TOTAL, move || s.dropped());
    }

    /// Publishes the OTLP log record export counters.
    pub(crate) fn track_log_records(&self, stats: &Arc<ExportStats>) {
        let s = Arc::clone(stats);
        self.derive_counter(names::LOG_RECORDS_EXPORTED_TOTAL, move || s.exported());
        let s = Arc::clone(stats);
        self.derive_counter(names::LOG_RECORDS_DROPPED_TOTAL, move || s.dropped());
    }

    /// Makes this registry the process-wide `metrics` recorder. Returns
    /// `false` when another recorder was installed first.
    pub(crate) fn install_global(&self) -> bool {
        metrics::set_global_recorder(Forward(Arc::clone(&self.inner))).is_ok()
    }
}

/// The global recorder: forwards to the registry a [`MetricsHandle`] shares.
struct Forward(Arc<Inner>);

impl Recorder for Forward {
    fn describe_counter(
        &self,
        key: metrics::KeyName,
        unit: Option<Unit>,
        description: SharedString,
    ) {
        self.0.registry.describe_counter(key, unit, description);
    }
    fn describe_gauge(&self, key: metrics::KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.registry.describe_gauge(key, unit, description);
    }
    fn describe_histogram(
        &self,
        key: metrics::KeyName,
        unit: Option<Unit>,
        description: SharedString,
    ) {
        self.0.registry.describe_histogram(key, unit, description);
    }
    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        self.0.registry.register_counter(key, metadata)
    }
    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        self.0.registry.register_gauge(key, metadata)
    }
    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        self.0.registry.register_histogram(key, metadata)
    }
}

#[cfg(test)]
mod tests;
