//! Metrics: obskit's own Prometheus registry and renderer, with the
//! semantic-convention duration buckets, the standard `process_*` series,
//! and obskit's own counters.
//!
//! obskit records its HTTP and SLO series straight into its own registry
//! through cached handles, so they work even when another global recorder
//! is installed. The registry is also installed as the global `metrics`
//! recorder when none is, so `metrics::counter!` in application code lands
//! on the same `/metrics`.
//!
//! # What `/metrics` looks like
//!
//! `/metrics` negotiates the format ([`Format::from_accept`]): OpenMetrics
//! 1.0 with exemplars for a scraper that asks for it (Prometheus does), the
//! Prometheus text format 0.0.4 otherwise. What follows describes 0.0.4;
//! the OpenMetrics differences (family names of counters, info type, units,
//! canonical `le` values, exemplars, `# EOF`) are listed in `openmetrics`
//! and on [`Format`].
//!
//! Prometheus text format 0.0.4, sorted: families by name, a family's
//! series by their label set. `# HELP` (for described metrics) and
//! `# TYPE` once per family. Every series starts with obskit's
//! `service_name` label, then its own labels in the order they were given
//! (a label name given twice, or a user's own `service_name`, keeps its
//! first value). Names are sanitized to what the format allows (metric
//! names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names the same without `:`;
//! other characters become `_`), label values escaped (`\\`, `\"`, `\n`).
//!
//! - **Counters** keep the name they were registered with. obskit's own end
//!   in `_total`; a user counter that does not is not renamed (the 0.0.4
//!   format requires no suffix, and renaming would break the user's
//!   queries), though `promtool check metrics` will lint it.
//! - **Histograms are always histograms**, never summaries: cumulative
//!   `_bucket{le="..."}` lines up to `le="+Inf"`, then `_sum` and `_count`.
//!   A value equal to a bound counts in that bound's bucket. Every
//!   histogram, `metrics::histogram!` in user code included, gets
//!   [`names::HTTP_DURATION_BUCKETS`] (0.005 s to 10 s) unless
//!   [`MetricsHandle::set_histogram_buckets`] chose others for its name
//!   first.
//! - **Units** given to `describe_*` are not rendered in 0.0.4 (the
//!   format has no unit line; put the unit in the name: `_seconds`,
//!   `_bytes`); OpenMetrics writes a `# UNIT` line when the name ends in it.
//! - A name registered as two types keeps the first; the other's handles
//!   record nothing and one warning is logged. So does a name whose samples
//!   could collide with another family's in either format (a counter
//!   `x_total` and a gauge `x`, a histogram `h` and a counter `h_count`).
//!
//! # Exemplars
//!
//! A histogram observation or counter increment made while a **sampled**
//! OpenTelemetry span is current keeps that span's trace and span ids as the
//! exemplar of its bucket (one per bucket, one per counter series; the
//! newest wins). obskit's HTTP layers record inside the request's context,
//! and `metrics::histogram!` in a handler runs inside it too, so user
//! histograms get them as well. Exemplars appear in OpenMetrics only.
//!
//! ```
//! use obskit::metrics::Format;
//! use obskit::opentelemetry::trace::{Span as _, TraceContextExt, Tracer as _};
//!
//! # let (telemetry, _layer) = obskit::Config::default()
//! #     .traces_exporter(obskit::config::TracesExporter::None)
//! #     .build_layer_with_writer::<obskit::tracing_subscriber::Registry>(std::io::sink())
//! #     .unwrap();
//! let metrics = telemetry.metrics();
//! let checkout = metrics.histogram("checkout_duration_seconds", Vec::new());
//! let span = telemetry.tracer().start("checkout");
//! let trace_id = span.span_context().trace_id().to_string();
//! {
//!     let _cx = obskit::opentelemetry::Context::current_with_span(span).attach();
//!     checkout.record(0.42);
//! }
//! let text = metrics.render_as(Format::OpenMetrics);
//! let bucket = text
//!     .lines()
//!     .find(|l| l.starts_with("checkout_duration_seconds_bucket{") && l.contains("le=\"0.5\""))
//!     .unwrap();
//! assert!(bucket.contains(&format!("# {{trace_id=\"{trace_id}\"")), "{bucket}");
//! assert!(text.ends_with("# EOF\n"));
//! // The Prometheus text format never carries exemplars.
//! assert!(!metrics.render().contains("trace_id"));
//! ```
//!
//! # Cost
//!
//! Recording through a handle is one or two atomic operations on the
//! series (see `series`), plus one thread-local read of the current
//! OpenTelemetry context; inside a sampled span, also the wall clock and a
//! non-blocking write of the exemplar (see `exemplar`). Each histogram
//! series holds a 48-byte exemplar cell per bucket (720 bytes with the
//! default 14 bounds), each counter one. A scrape renders into one
//! pre-sized `String` with no allocation per series (see `render`,
//! `openmetrics`).
//!
//! # Layout
//!
//! `registry` registers series and builds a `snapshot`; `render` (0.0.4)
//! and `openmetrics` write a snapshot; `series` and `exemplar` are the
//! storage recording writes to; `text` holds the format's small rules;
//! `format` picks the format from `Accept`.

pub use obskit_names as names;

mod exemplar;
mod format;
mod openmetrics;
pub(crate) mod otlp;
mod registry;
mod render;
mod series;
mod snapshot;
mod text;

pub use format::{Format, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE};
pub use series::BucketsError;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The `metrics` crate's recording API: `obskit::metrics::counter!("jobs_total")`
/// lands on obskit's `/metrics` once obskit's registry is the global recorder.
pub use ::metrics::{
    Counter, Gauge, Histogram, Label, Unit, counter, describe_counter, describe_gauge,
    describe_histogram, gauge, histogram,
};
use ::metrics::{Key, Metadata, Recorder, SharedString};

use self::registry::Registry;
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
        this.describe();
        this
    }

    fn describe(&self) {
        let r = &self.inner.registry;
        let d = |name: &'static str, unit: Option<Unit>, help: &'static str| {
            r.describe_histogram(name.into(), unit, help.into());
        };
        d(
            names::HTTP_SERVER_REQUEST_DURATION,
            Some(Unit::Seconds),
            "Duration of HTTP server requests.",
        );
        d(
            names::HTTP_CLIENT_REQUEST_DURATION,
            Some(Unit::Seconds),
            "Duration of HTTP client requests.",
        );
        r.describe_gauge(
            names::HTTP_SERVER_ACTIVE_REQUESTS.into(),
            None,
            "Number of active HTTP server requests.".into(),
        );
        r.describe_gauge(
            names::HTTP_CLIENT_ACTIVE_REQUESTS.into(),
            None,
            "Number of active HTTP client requests.".into(),
        );
        d(
            names::RPC_SERVER_CALL_DURATION,
            Some(Unit::Seconds),
            "Duration of RPC server calls.",
        );
        d(
            names::RPC_CLIENT_CALL_DURATION,
            Some(Unit::Seconds),
            "Duration of RPC client calls.",
        );
        r.describe_gauge(
            names::RPC_SERVER_ACTIVE_CALLS.into(),
            None,
            "Number of active RPC server calls.".into(),
        );
        r.describe_gauge(
            names::RPC_CLIENT_ACTIVE_CALLS.into(),
            None,
            "Number of active RPC client calls.".into(),
        );
        r.describe_counter(
            names::SLO_REQUESTS_TOTAL.into(),
            None,
            "Requests classified good or bad for each service level objective.".into(),
        );
        r.describe_gauge(
            names::SLO_OBJECTIVE_RATIO.into(),
            None,
            "Target ratio of good requests for each service level objective.".into(),
        );
        r.describe_gauge(
            names::SLO_LATENCY_THRESHOLD.into(),
            Some(Unit::Seconds),
            "Latency threshold of each latency service level objective.".into(),
        );
        r.describe_gauge(
            names::BUILD_INFO.into(),
            None,
            "Always 1; the labels describe the running build.".into(),
        );
        r.describe_gauge(
            names::TARGET_INFO.into(),
            None,
            "Always 1; the labels are the service's OpenTelemetry resource attributes.".into(),
        );
        r.describe_counter(
            names::LOG_LINES_DROPPED_TOTAL.into(),
            None,
            "Log lines dropped because the writer could not keep up.".into(),
        );
        r.describe_counter(
            names::LOG_RECORDS_EXPORTED_TOTAL.into(),
            None,
            "Log records the OTLP logs endpoint acknowledged.".into(),
        );
        r.describe_counter(
            names::LOG_RECORDS_DROPPED_TOTAL.into(),
            None,
            "Log records lost because the export queue was full or an export failed.".into(),
        );
        r.describe_counter(
            names::SPANS_EXPORTED_TOTAL.into(),
            None,
            "Spans the OTLP endpoint acknowledged.".into(),
        );
        r.describe_counter(
            names::SPANS_DROPPED_TOTAL.into(),
            None,
            "Spans lost because the export queue was full or an export failed.".into(),
        );
        r.describe_gauge(
            names::HEALTH_READY.into(),
            None,
            "1 while the readiness probe reports ready, else 0.".into(),
        );
        d(
            names::DB_CLIENT_OPERATION_DURATION,
            Some(Unit::Seconds),
            "Duration of database and cache client operations.",
        );
        d(
            names::DB_CLIENT_CONNECTION_WAIT_TIME,
            Some(Unit::Seconds),
            "Time spent waiting for a connection from a pool.",
        );
        r.describe_gauge(
            names::DB_CLIENT_CONNECTIONS.into(),
            None,
            "Connections of a pool by state, as the pool reports them.".into(),
        );
        r.describe_gauge(
            names::DB_CLIENT_CONNECTION_MAX.into(),
            None,
            "The most connections a pool may open.".into(),
        );
        r.describe_gauge(
            names::DB_CLIENT_CONNECTION_PENDING_REQUESTS.into(),
            None,
            "Requests waiting for a connection from a pool.".into(),
        );
        r.describe_counter(
            names::DB_CLIENT_CONNECTION_TIMEOUTS_TOTAL.into(),
            None,
            "Requests for a pooled connection that timed out.".into(),
        );
        r.describe_gauge(
            names::HEALTH_CHECK_UP.into(),
            None,
            "1 when the dependency check last passed, else 0.".into(),
        );
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
        let snapshot = self.refreshed_snapshot();
        let (last_len, write): (_, fn(&snapshot::Snapshot, &mut String)) = match format {
            Format::Prometheus => (&self.inner.last_len[0], render::write),
            Format::OpenMetrics => (&self.inner.last_len[1], openmetrics::write),
        };
        let capacity = snapshot.size_hint.max(last_len.load(Ordering::Relaxed)) + 1024;
        let mut out = String::with_capacity(capacity);
        write(&snapshot, &mut out);
        last_len.store(out.len(), Ordering::Relaxed);
        out
    }

    /// The registry's families after refreshing the process metrics and
    /// obskit's own counters: what a scrape or an OTLP push reads.
    fn refreshed_snapshot(&self) -> Arc<snapshot::Snapshot> {
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

    /// Sets the HELP text and unit of the counter `name` (a module's own series).
    pub(crate) fn describe_counter(
        &self,
        name: &'static str,
        unit: Option<Unit>,
        help: &'static str,
    ) {
        self.inner
            .registry
            .describe_counter(name.into(), unit, help.into());
    }

    /// Sets the HELP text and unit of the gauge `name`.
    pub(crate) fn describe_gauge(
        &self,
        name: &'static str,
        unit: Option<Unit>,
        help: &'static str,
    ) {
        self.inner
            .registry
            .describe_gauge(name.into(), unit, help.into());
    }

    /// Sets the HELP text and unit of the histogram `name`.
    pub(crate) fn describe_histogram(
        &self,
        name: &'static str,
        unit: Option<Unit>,
        help: &'static str,
    ) {
        self.inner
            .registry
            .describe_histogram(name.into(), unit, help.into());
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
mod tests {
    use super::*;

    /// `text` as its lines, for exact-line assertions.
    fn lines(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    #[test]
    fn exposition_has_service_label_buckets_and_process_metrics() {
        let m = MetricsHandle::new("svc");
        m.set_build_info("1.2.3", Some("abc"));
        m.histogram(
            names::HTTP_SERVER_REQUEST_DURATION,
            vec![Label::new(names::HTTP_ROUTE, "/a")],
        )
        .record(0.02);
        m.derive_counter(names::LOG_LINES_DROPPED_TOTAL, || 7);
        let text = m.render();
        let lines = lines(&text);
        let build_info = format!(
            r#"obskit_build_info{{service_name="svc",service_version="1.2.3",vcs_revision="abc",obskit_version="{}"}} 1"#,
            env!("CARGO_PKG_VERSION")
        );
        for expected in [
            build_info.as_str(),
            "# HELP http_server_request_duration_seconds Duration of HTTP server requests.",
            "# TYPE http_server_request_duration_seconds histogram",
            r#"http_server_request_duration_seconds_bucket{service_name="svc",http_route="/a",le="0.01"} 0"#,
            r#"http_server_request_duration_seconds_bucket{service_name="svc",http_route="/a",le="0.025"} 1"#,
            r#"http_server_request_duration_seconds_bucket{service_name="svc",http_route="/a",le="10"} 1"#,
            r#"http_server_request_duration_seconds_bucket{service_name="svc",http_route="/a",le="+Inf"} 1"#,
            r#"http_server_request_duration_seconds_sum{service_name="svc",http_route="/a"} 0.02"#,
            r#"http_server_request_duration_seconds_count{service_name="svc",http_route="/a"} 1"#,
            "# TYPE obskit_log_lines_dropped_total counter",
            r#"obskit_log_lines_dropped_total{service_name="svc"} 7"#,
        ] {
            assert!(lines.contains(&expected), "{expected} missing:\n{text}");
        }
        assert!(!text.contains("summary"), "{text}");
        assert!(!text.contains("quantile"), "{text}");
        #[cfg(target_os = "linux")]
        for name in [
            names::PROCESS_CPU_SECONDS_TOTAL,
            names::PROCESS_RESIDENT_MEMORY_BYTES,
            names::PROCESS_OPEN_FDS,
            names::PROCESS_THREADS,
            names::PROCESS_START_TIME_SECONDS,
        ] {
            assert!(
                text.contains(&format!("# TYPE {name} "))
                    && text.contains(&format!("{name}{{service_name=\"svc\"}} ")),
                "{name} missing:\n{text}"
            );
        }
    }

    /// The lines of `text` from the first that starts with `head` on, `n` of them.
    fn block<'a>(text: &'a str, head: &str, n: usize) -> Vec<&'a str> {
        let lines = lines(text);
        let start = lines
            .iter()
            .position(|l| l.starts_with(head))
            .unwrap_or_else(|| panic!("no {head:?}:\n{text}"));
        lines[start..(start + n).min(lines.len())].to_vec()
    }

    #[test]
    fn rpc_families_have_help_and_unit_lines_like_their_http_twins() {
        let m = MetricsHandle::new("svc");
        let labels = || {
            vec![
                Label::new(names::RPC_SYSTEM_NAME, names::RPC_SYSTEM_GRPC),
                Label::new(names::RPC_METHOD, "a.B/C"),
            ]
        };
        for name in [
            names::RPC_SERVER_CALL_DURATION,
            names::RPC_CLIENT_CALL_DURATION,
        ] {
            m.histogram(name, labels()).record(0.02);
        }
        for name in [
            names::RPC_SERVER_ACTIVE_CALLS,
            names::RPC_CLIENT_ACTIVE_CALLS,
        ] {
            m.gauge(name, labels()).set(1.0);
        }
        let text = m.render();
        for side in ["server", "client"] {
            assert_eq!(
                block(
                    &text,
                    &format!("# HELP rpc_{side}_call_duration_seconds"),
                    3
                ),
                [
                    format!(
                        "# HELP rpc_{side}_call_duration_seconds Duration of RPC {side} calls."
                    ),
                    format!("# TYPE rpc_{side}_call_duration_seconds histogram"),
                    format!(
                        r#"rpc_{side}_call_duration_seconds_bucket{{service_name="svc",rpc_system_name="grpc",rpc_method="a.B/C",le="0.005"}} 0"#
                    ),
                ],
                "{text}"
            );
            assert_eq!(
                block(&text, &format!("# HELP obskit_rpc_{side}_active_calls"), 3),
                [
                    format!(
                        "# HELP obskit_rpc_{side}_active_calls Number of active RPC {side} calls."
                    ),
                    format!("# TYPE obskit_rpc_{side}_active_calls gauge"),
                    format!(
                        r#"obskit_rpc_{side}_active_calls{{service_name="svc",rpc_system_name="grpc",rpc_method="a.B/C"}} 1"#
                    ),
                ],
                "{text}"
            );
        }
        let om = m.render_as(Format::OpenMetrics);
        for side in ["server", "client"] {
            assert_eq!(
                block(&om, &format!("# TYPE rpc_{side}_call_duration_seconds "), 4),
                [
                    format!("# TYPE rpc_{side}_call_duration_seconds histogram"),
                    format!("# UNIT rpc_{side}_call_duration_seconds seconds"),
                    format!(
                        "# HELP rpc_{side}_call_duration_seconds Duration of RPC {side} calls."
                    ),
                    format!(
                        r#"rpc_{side}_call_duration_seconds_bucket{{service_name="svc",rpc_system_name="grpc",rpc_method="a.B/C",le="0.005"}} 0"#
                    ),
                ],
                "{om}"
            );
            assert_eq!(
                block(&om, &format!("# TYPE obskit_rpc_{side}_active_calls "), 3),
                [
                    format!("# TYPE obskit_rpc_{side}_active_calls gauge"),
                    format!(
                        "# HELP obskit_rpc_{side}_active_calls Number of active RPC {side} calls."
                    ),
                    format!(
                        r#"obskit_rpc_{side}_active_calls{{service_name="svc",rpc_system_name="grpc",rpc_method="a.B/C"}} 1"#
                    ),
                ],
                "{om}"
            );
        }
    }

    /// The families the messaging instruments describe when they are made.
    fn messaging(name: &str) -> bool {
        name.starts_with("messaging_")
            || name.starts_with("obskit_messaging_")
            || name == names::SLO_FRESHNESS_THRESHOLD
    }

    /// Every other metric obskit defines is described by the registry
    /// itself: a `# HELP` line in both formats, and a `# UNIT` line in
    /// OpenMetrics for each family named in seconds.
    #[test]
    fn every_obskit_family_has_help_and_seconds_families_a_unit() {
        let m = MetricsHandle::new("svc");
        m.set_build_info("1", None);
        m.set_target_info(&opentelemetry_sdk::Resource::builder_empty().build());
        let all = || names::ALL_METRICS.iter().copied().filter(|n| !messaging(n));
        for name in all() {
            if names::HISTOGRAMS.contains(&name) {
                m.histogram(name, Vec::new()).record(1.0);
            } else if name.ends_with("_total") {
                m.counter(name, Vec::new()).increment(1);
            } else if name != names::BUILD_INFO && name != names::TARGET_INFO {
                m.gauge(name, Vec::new()).set(1.0);
            }
        }
        let text = m.render();
        let om = m.render_as(Format::OpenMetrics);
        for name in all() {
            if name.starts_with("process_") && !cfg!(target_os = "linux") {
                continue;
            }
            let has = |text: &str, line: &str| text.lines().any(|l| l.starts_with(line));
            assert!(
                has(&text, &format!("# HELP {name} ")),
                "no HELP for {name}:\n{text}"
            );
            // OpenMetrics names counter families without `_total`, info
            // families without `_info`.
            let family = name
                .strip_suffix("_total")
                .or_else(|| name.strip_suffix("_info"))
                .unwrap_or(name);
            assert!(
                has(&om, &format!("# HELP {family} ")),
                "no OpenMetrics HELP for {family}:\n{om}"
            );
            if family.ends_with("_seconds") {
                assert!(
                    om.lines().any(|l| l == format!("# UNIT {family} seconds")),
                    "no UNIT for {family}:\n{om}"
                );
            }
        }
    }

    #[test]
    fn every_family_has_one_type_line_and_families_are_sorted() {
        let m = MetricsHandle::new("svc");
        m.set_build_info("1", None);
        m.counter(names::SLO_REQUESTS_TOTAL, vec![Label::new(names::SLO, "a")])
            .increment(1);
        m.counter(names::SLO_REQUESTS_TOTAL, vec![Label::new(names::SLO, "b")])
            .increment(1);
        let text = m.render();
        let types: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        let mut sorted = types.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(types, sorted, "{text}");
    }

    #[test]
    fn a_user_histogram_renders_as_a_histogram_with_the_duration_buckets() {
        let m = MetricsHandle::new("svc");
        let global = Forward(Arc::clone(&m.inner));
        metrics::with_local_recorder(&global, || {
            metrics::describe_histogram!("my_duration_seconds", "Time spent in my code.");
            metrics::histogram!("my_duration_seconds", "step" => "parse").record(0.3);
            metrics::histogram!("my_duration_seconds", "step" => "parse").record(20.0);
        });
        let text = m.render();
        let lines = lines(&text);
        let mut expected = vec![
            "# HELP my_duration_seconds Time spent in my code.".to_owned(),
            "# TYPE my_duration_seconds histogram".to_owned(),
        ];
        for &bound in names::HTTP_DURATION_BUCKETS {
            expected.push(format!(
                r#"my_duration_seconds_bucket{{service_name="svc",step="parse",le="{}"}} {}"#,
                text::f64_string(bound),
                u8::from(bound >= 0.3)
            ));
        }
        expected.extend([
            r#"my_duration_seconds_bucket{service_name="svc",step="parse",le="+Inf"} 2"#.to_owned(),
            r#"my_duration_seconds_sum{service_name="svc",step="parse"} 20.3"#.to_owned(),
            r#"my_duration_seconds_count{service_name="svc",step="parse"} 2"#.to_owned(),
        ]);
        let start = lines
            .iter()
            .position(|l| *l == expected[0])
            .unwrap_or_else(|| panic!("no my_duration_seconds:\n{text}"));
        assert_eq!(lines[start..start + expected.len()], expected, "{text}");
        assert!(!text.contains("summary"), "{text}");
    }

    /// The OpenMetrics output of the same registry, with exemplars from a
    /// sampled and an unsampled request, pinned byte for byte (exemplar
    /// times checked, then written as `T`).
    #[test]
    fn openmetrics_text_is_pinned_byte_for_byte() {
        let m = populated();
        let from = exemplar::now_millis();
        for (trace, sampled) in [
            (0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736, true),
            (0x77, false),
        ] {
            let _cx = exemplar::context(trace, 0x00f0_67aa_0ba9_02b7, sampled).attach();
            m.histogram(
                names::HTTP_SERVER_REQUEST_DURATION,
                vec![
                    Label::new(names::HTTP_REQUEST_METHOD, "GET"),
                    Label::new(names::HTTP_ROUTE, "/a"),
                    Label::new(names::HTTP_RESPONSE_STATUS_CODE, "200"),
                ],
            )
            .record(0.6);
            m.counter(
                names::SLO_REQUESTS_TOTAL,
                vec![
                    Label::new(names::SLO, "latency"),
                    Label::new(names::SLO_RESULT, "bad"),
                ],
            )
            .increment(1);
        }
        let to = exemplar::now_millis();
        let text = exemplar::fix_exemplar_times(
            &without_process(&m.render_as(Format::OpenMetrics)),
            from,
            to,
        );
        let expected = include_str!("testdata/openmetrics-1.0.0.txt")
            .replace("OBSKIT_VERSION", env!("CARGO_PKG_VERSION"));
        assert_eq!(text, expected, "got:\n{text}");
    }

    #[test]
    fn user_metrics_recorded_in_a_sampled_span_get_exemplars() {
        let m = MetricsHandle::new("svc");
        let global = Forward(Arc::clone(&m.inner));
        metrics::with_local_recorder(&global, || {
            let _cx = exemplar::context(0xfeed, 0xbeef, true).attach();
            metrics::histogram!("my_duration_seconds", "step" => "parse").record(0.3);
            metrics::counter!("my_events_total").increment(1);
        });
        metrics::with_local_recorder(&global, || {
            let _cx = exemplar::context(0xdead, 0xd00d, false).attach();
            metrics::histogram!("my_duration_seconds", "step" => "parse").record(0.3);
            metrics::counter!("my_events_total").increment(1);
        });
        let text = m.render_as(Format::OpenMetrics);
        let ids = r#"# {trace_id="0000000000000000000000000000feed",span_id="000000000000beef"}"#;
        for sample in [
            r#"my_duration_seconds_bucket{service_name="svc",step="parse",le="0.5"} 2 "#,
            r#"my_events_total{service_name="svc"} 2 "#,
        ] {
            let line = text
                .lines()
                .find(|l| l.starts_with(sample))
                .unwrap_or_else(|| panic!("no {sample}:\n{text}"));
            assert!(line.contains(ids), "{line}");
        }
        assert!(!text.contains("dead"), "{text}");
        assert_eq!(text.matches(" # {").count(), 2, "{text}");
    }

    #[test]
    fn histogram_buckets_can_be_chosen_per_name_before_first_use() {
        let m = MetricsHandle::new("svc");
        m.set_histogram_buckets("payload_bytes", &[100.0, 1000.0])
            .unwrap();
        m.histogram("payload_bytes", Vec::new()).record(100.0);
        m.histogram("payload_bytes", Vec::new()).record(5000.0);
        let text = m.render();
        let lines = lines(&text);
        for expected in [
            r#"payload_bytes_bucket{service_name="svc",le="100"} 1"#,
            r#"payload_bytes_bucket{service_name="svc",le="1000"} 1"#,
            r#"payload_bytes_bucket{service_name="svc",le="+Inf"} 2"#,
            r#"payload_bytes_sum{service_name="svc"} 5100"#,
        ] {
            assert!(lines.contains(&expected), "{expected} missing:\n{text}");
        }
        // The same bounds again are fine; others are refused once series exist.
        m.set_histogram_buckets("payload_bytes", &[100.0, 1000.0])
            .unwrap();
        assert_eq!(
            m.set_histogram_buckets("payload_bytes", &[1.0]),
            Err(BucketsError::AlreadyRegistered {
                name: "payload_bytes".into()
            })
        );
        assert!(matches!(
            m.set_histogram_buckets("other", &[2.0, 1.0]),
            Err(BucketsError::NotIncreasing { .. })
        ));
    }

    #[test]
    fn concurrent_recording_loses_nothing() {
        const THREADS: usize = 8;
        const EACH: usize = 100_000;
        let m = MetricsHandle::new("svc");
        std::thread::scope(|scope| {
            for _ in 0..THREADS {
                scope.spawn(|| {
                    // Each thread registers its own handles: the same series.
                    let c = m.counter("events_total", Vec::new());
                    let g = m.gauge("level", Vec::new());
                    let h = m.histogram("work_seconds", Vec::new());
                    for i in 0..EACH {
                        c.increment(1);
                        g.increment(1.0);
                        h.record(if i % 2 == 0 { 0.25 } else { 100.0 });
                    }
                });
            }
        });
        let n = THREADS * EACH;
        let text = m.render();
        let lines = lines(&text);
        for expected in [
            format!(r#"events_total{{service_name="svc"}} {n}"#),
            format!(r#"level{{service_name="svc"}} {n}"#),
            format!(
                r#"work_seconds_bucket{{service_name="svc",le="0.25"}} {}"#,
                n / 2
            ),
            format!(
                r#"work_seconds_bucket{{service_name="svc",le="10"}} {}"#,
                n / 2
            ),
            format!(r#"work_seconds_bucket{{service_name="svc",le="+Inf"}} {n}"#),
            format!(r#"work_seconds_count{{service_name="svc"}} {n}"#),
            format!(
                r#"work_seconds_sum{{service_name="svc"}} {}"#,
                (n / 2) as f64 * 100.25
            ),
        ] {
            assert!(
                lines.contains(&expected.as_str()),
                "{expected} missing:\n{text}"
            );
        }
    }

    /// A registry holding one series of every kind obskit publishes, plus
    /// user series of each type, recorded with fixed values.
    fn populated() -> MetricsHandle {
        let m = MetricsHandle::new("svc");
        m.set_build_info("1.2.3", Some("abc"));
        m.derive_counter(names::SPANS_EXPORTED_TOTAL, || 3);
        let server = |route: &str, status: &str| {
            vec![
                Label::new(names::HTTP_REQUEST_METHOD, "GET"),
                Label::new(names::HTTP_ROUTE, route.to_owned()),
                Label::new(names::HTTP_RESPONSE_STATUS_CODE, status.to_owned()),
            ]
        };
        let h = m.histogram(names::HTTP_SERVER_REQUEST_DURATION, server("/a", "200"));
        for v in [0.003, 0.02, 0.02, 1.0, 40.0] {
            h.record(v);
        }
        let mut failed = server("/b/{id}", "500");
        failed.push(Label::new(names::ERROR_TYPE, "500"));
        m.histogram(names::HTTP_SERVER_REQUEST_DURATION, failed)
            .record(0.4);
        m.histogram(
            names::HTTP_CLIENT_REQUEST_DURATION,
            vec![
                Label::new(names::HTTP_REQUEST_METHOD, "POST"),
                Label::new(names::SERVER_ADDRESS, "inventory"),
                Label::new(names::HTTP_RESPONSE_STATUS_CODE, "201"),
            ],
        )
        .record(0.075);
        m.gauge(
            names::HTTP_SERVER_ACTIVE_REQUESTS,
            vec![
                Label::new(names::HTTP_REQUEST_METHOD, "GET"),
                Label::new(names::URL_SCHEME, "http"),
            ],
        )
        .increment(2.0);
        for (result, n) in [("good", 4), ("bad", 1)] {
            m.counter(
                names::SLO_REQUESTS_TOTAL,
                vec![
                    Label::new(names::SLO, "latency"),
                    Label::new(names::SLO_RESULT, result),
                ],
            )
            .increment(n);
        }
        m.gauge(
            names::SLO_OBJECTIVE_RATIO,
            vec![Label::new(names::SLO, "latency")],
        )
        .set(0.99);
        m.gauge(
            names::SLO_LATENCY_THRESHOLD,
            vec![Label::new(names::SLO, "latency")],
        )
        .set(0.3);
        m.gauge(names::HEALTH_READY, Vec::new()).set(1.0);
        let global = Forward(Arc::clone(&m.inner));
        metrics::with_local_recorder(&global, || {
            metrics::describe_counter!("jobs", "Jobs \"done\"\nso far.");
            metrics::counter!("jobs", "queue" => "a\"b").increment(2);
            metrics::describe_histogram!(
                "upload_size_bytes",
                metrics::Unit::Bytes,
                "Upload sizes."
            );
            metrics::histogram!("upload_size_bytes").record(f64::NAN);
            metrics::gauge!("temperature_celsius").set(-1.5e-7);
        });
        m
    }

    /// `text` without the `process_*` families, whose values change by themselves.
    fn without_process(text: &str) -> String {
        text.lines()
            .filter(|l| {
                !l.starts_with("process_")
                    && !l.starts_with("# HELP process_")
                    && !l.starts_with("# TYPE process_")
                    && !l.starts_with("# UNIT process_")
            })
            .flat_map(|l| [l, "\n"])
            .collect()
    }

    /// The Prometheus text 0.0.4 output, pinned byte for byte: `/metrics`
    /// without an OpenMetrics `Accept` header must never change by accident.
    #[test]
    fn prometheus_text_is_pinned_byte_for_byte() {
        let text = without_process(&populated().render());
        let expected = include_str!("testdata/prometheus-0.0.4.txt")
            .replace("OBSKIT_VERSION", env!("CARGO_PKG_VERSION"));
        assert_eq!(text, expected, "got:\n{text}");
    }

    #[test]
    fn promtool_accepts_the_exposition() {
        let m = MetricsHandle::new("svc");
        m.set_build_info("1.2.3", Some("abc"));
        m.derive_counter(names::SPANS_EXPORTED_TOTAL, || 3);
        let labels = |route: &str, status: &str| {
            vec![
                Label::new(names::HTTP_REQUEST_METHOD, "GET"),
                Label::new(names::HTTP_ROUTE, route.to_owned()),
                Label::new(names::HTTP_RESPONSE_STATUS_CODE, status.to_owned()),
            ]
        };
        for (route, status, v) in [("/a", "200", 0.003), ("/b/{id}", "500", 12.0)] {
            m.histogram(names::HTTP_SERVER_REQUEST_DURATION, labels(route, status))
                .record(v);
        }
        m.gauge(
            names::HTTP_SERVER_ACTIVE_REQUESTS,
            vec![Label::new(names::HTTP_REQUEST_METHOD, "GET")],
        )
        .increment(2.0);
        m.counter(
            names::SLO_REQUESTS_TOTAL,
            vec![
                Label::new(names::SLO, "avail\"ability\\\n"),
                Label::new(names::SLO_RESULT, "good"),
            ],
        )
        .increment(4);
        m.gauge(
            names::SLO_OBJECTIVE_RATIO,
            vec![Label::new(names::SLO, "x")],
        )
        .set(0.999);
        // The RPC families too: promtool's linter asks for their HELP.
        let rpc = || vec![Label::new(names::RPC_METHOD, "a.B/C")];
        for name in [
            names::RPC_SERVER_CALL_DURATION,
            names::RPC_CLIENT_CALL_DURATION,
        ] {
            m.histogram(name, rpc()).record(0.2);
        }
        for name in [
            names::RPC_SERVER_ACTIVE_CALLS,
            names::RPC_CLIENT_ACTIVE_CALLS,
        ] {
            m.gauge(name, rpc()).set(1.0);
        }
        let global = Forward(Arc::clone(&m.inner));
        metrics::with_local_recorder(&global, || {
            metrics::describe_histogram!(
                "my.weird-name seconds",
                "Described\nover \"two\" lines \\."
            );
            metrics::histogram!("my.weird-name seconds", "9x" => "y").record(f64::NAN);
            metrics::describe_gauge!("my_level", "A level.");
            metrics::gauge!("my_level").set(f64::INFINITY);
        });
        let text = m.render();
        let Some(promtool) = promtool() else { return };
        let mut child = std::process::Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("promtool starts");
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "promtool check metrics:\nstdout: {}\nstderr: {}\n---\n{text}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
    }

    /// promtool's path; without it the test is skipped loudly, or fails in CI.
    #[allow(clippy::print_stderr)]
    fn promtool() -> Option<std::path::PathBuf> {
        let found = ["/usr/bin/promtool", "/usr/local/bin/promtool"]
            .into_iter()
            .map(std::path::PathBuf::from)
            .find(|p| p.exists());
        if found.is_none() {
            assert!(
                std::env::var_os("CI").is_none(),
                "promtool is not installed; `.ci/run` installs it with `apt-get install prometheus`"
            );
            eprintln!("SKIPPED: promtool is not installed (apt-get install prometheus)");
        }
        found
    }
}
