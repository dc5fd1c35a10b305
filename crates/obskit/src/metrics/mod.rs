//! Metrics: a Prometheus recorder with the semantic-convention duration
//! buckets, the standard `process_*` series, and obskit's own counters.
//!
//! obskit records its HTTP and SLO series straight into its own recorder
//! through cached handles, so they work even when another global recorder
//! is installed. The recorder is also installed globally when none is, so
//! `metrics::counter!` in application code lands on the same `/metrics`.

pub use obskit_names as names;

use std::sync::{Arc, Weak};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, Label, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use crate::traces::pipeline::ExportStats;

/// How often histogram buckets are compacted between scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static METADATA: Metadata<'static> =
    Metadata::new("obskit", metrics::Level::INFO, Some(module_path!()));

/// A shareable handle on obskit's metrics: render them for `/metrics`, or
/// register more series in the same registry.
#[derive(Clone)]
pub struct MetricsHandle {
    inner: Arc<Inner>,
}

struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    process: metrics_process::Collector,
    derived: parking_lot::Mutex<Vec<Derived>>,
}

/// A counter whose value is read from elsewhere at render time.
struct Derived {
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
        let recorder = PrometheusBuilder::new()
            .add_global_label(names::SERVICE_NAME, service_name)
            .set_buckets_for_metric(
                Matcher::Suffix("request_duration_seconds".to_owned()),
                names::HTTP_DURATION_BUCKETS,
            )
            .expect("the duration buckets are a non-empty constant")
            .build_recorder();
        let handle = recorder.handle();
        let process = metrics_process::Collector::default();
        metrics::with_local_recorder(&recorder, || process.describe());
        let this = Self {
            inner: Arc::new(Inner {
                recorder,
                handle,
                process,
                derived: parking_lot::Mutex::new(Vec::new()),
            }),
        };
        this.describe();
        this.spawn_upkeep();
        this
    }

    fn describe(&self) {
        let r = &self.inner.recorder;
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
        r.describe_counter(
            names::LOG_LINES_DROPPED_TOTAL.into(),
            None,
            "Log lines dropped because the writer could not keep up.".into(),
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
        r.describe_gauge(
            names::HEALTH_CHECK_UP.into(),
            None,
            "1 when the dependency check last passed, else 0.".into(),
        );
    }

    fn spawn_upkeep(&self) {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        // The thread ends within one interval of the last handle going away.
        let _ = std::thread::Builder::new()
            .name("obskit-metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_INTERVAL);
                    match weak.upgrade() {
                        Some(inner) => inner.handle.run_upkeep(),
                        None => return,
                    }
                }
            });
    }

    /// Renders every series in the Prometheus text format, refreshing the
    /// process metrics and obskit's own counters first.
    pub fn render(&self) -> String {
        metrics::with_local_recorder(&self.inner.recorder, || self.inner.process.collect());
        for d in self.inner.derived.lock().iter() {
            d.counter.absolute((d.read)());
        }
        self.inner.handle.render()
    }

    /// A counter in this registry.
    pub fn counter(&self, name: &'static str, labels: Vec<Label>) -> Counter {
        self.inner
            .recorder
            .register_counter(&Key::from_parts(name, labels), &METADATA)
    }

    /// A gauge in this registry.
    pub fn gauge(&self, name: &'static str, labels: Vec<Label>) -> Gauge {
        self.inner
            .recorder
            .register_gauge(&Key::from_parts(name, labels), &METADATA)
    }

    /// A histogram in this registry.
    pub fn histogram(&self, name: &'static str, labels: Vec<Label>) -> Histogram {
        self.inner
            .recorder
            .register_histogram(&Key::from_parts(name, labels), &METADATA)
    }

    /// Publishes the build-info series.
    pub(crate) fn set_build_info(&self, version: &str, revision: Option<&str>) {
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

    /// Publishes a counter whose total is read from `read` at every render.
    pub(crate) fn derive_counter(
        &self,
        name: &'static str,
        read: impl Fn() -> u64 + Send + Sync + 'static,
    ) {
        let counter = self.counter(name, Vec::new());
        counter.absolute(read());
        self.inner.derived.lock().push(Derived {
            counter,
            read: Box::new(read),
        });
    }

    /// Publishes the span export counters.
    pub(crate) fn track_spans(&self, stats: &Arc<ExportStats>) {
        let s = Arc::clone(stats);
        self.derive_counter(names::SPANS_EXPORTED_TOTAL, move || s.exported());
        let s = Arc::clone(stats);
        self.derive_counter(names::SPANS_DROPPED_TOTAL, move || s.dropped());
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
        self.0.recorder.describe_counter(key, unit, description);
    }
    fn describe_gauge(&self, key: metrics::KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.recorder.describe_gauge(key, unit, description);
    }
    fn describe_histogram(
        &self,
        key: metrics::KeyName,
        unit: Option<Unit>,
        description: SharedString,
    ) {
        self.0.recorder.describe_histogram(key, unit, description);
    }
    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        self.0.recorder.register_counter(key, metadata)
    }
    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        self.0.recorder.register_gauge(key, metadata)
    }
    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        self.0.recorder.register_histogram(key, metadata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(
            text.contains(r#"obskit_build_info{service_name="svc",service_version="1.2.3",vcs_revision="abc",obskit_version=""#),
            "{text}"
        );
        assert!(text.contains(r#"service_name="svc""#), "{text}");
        assert!(
            text.contains(r#"http_server_request_duration_seconds_bucket{service_name="svc",http_route="/a",le="0.025"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"http_server_request_duration_seconds_bucket{service_name="svc",http_route="/a",le="0.01"} 0"#),
            "{text}"
        );
        assert!(
            text.contains(r#"obskit_log_lines_dropped_total{service_name="svc"} 7"#),
            "{text}"
        );
        assert!(
            text.contains("# TYPE http_server_request_duration_seconds histogram"),
            "{text}"
        );
        assert!(!text.contains("summary"), "{text}");
        #[cfg(target_os = "linux")]
        for name in [
            names::PROCESS_CPU_SECONDS_TOTAL,
            names::PROCESS_RESIDENT_MEMORY_BYTES,
            names::PROCESS_OPEN_FDS,
            names::PROCESS_THREADS,
            names::PROCESS_START_TIME_SECONDS,
        ] {
            assert!(
                text.contains(&format!("{name}{{")),
                "{name} missing:\n{text}"
            );
        }
    }
}
