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
//! - **Units** given to `describe_*` are not rendered: the 0.0.4 format
//!   has no unit line; put the unit in the name (`_seconds`, `_bytes`).
//! - A name registered as two types keeps the first; the other's handles
//!   record nothing and one warning is logged.
//!
//! # Cost
//!
//! Recording through a handle is one or two atomic operations on the
//! series (see `series`); a scrape renders into one pre-sized `String`
//! with no allocation per series (see `render`).

pub use obskit_names as names;

mod registry;
mod render;
mod series;
mod text;

pub use series::BucketsError;

use std::sync::Arc;

/// The `metrics` crate's recording API: `obskit::metrics::counter!("jobs_total")`
/// lands on obskit's `/metrics` once obskit's registry is the global recorder.
pub use ::metrics::{
    Counter, Gauge, Histogram, Label, Unit, counter, describe_counter, describe_gauge,
    describe_histogram, gauge, histogram,
};
use ::metrics::{Key, Metadata, Recorder, SharedString};

use self::registry::Registry;
use crate::traces::pipeline::ExportStats;

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

    /// Renders every series in the Prometheus text format, refreshing the
    /// process metrics and obskit's own counters first.
    pub fn render(&self) -> String {
        metrics::with_local_recorder(&self.inner.registry, || self.inner.process.collect());
        for d in self.inner.derived.lock().iter() {
            d.counter.absolute((d.read)());
        }
        self.inner.registry.render()
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
