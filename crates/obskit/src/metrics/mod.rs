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

pub(crate) mod cache;
mod describe;
mod exemplar;
mod format;
mod handle;
mod openmetrics;
pub(crate) mod otlp;
mod registry;
mod render;
mod series;
mod snapshot;
#[cfg(test)]
mod test_support;
mod text;

pub use format::{Format, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE};
pub use handle::MetricsHandle;
pub use series::BucketsError;

/// The `metrics` crate's recording API: `obskit::metrics::counter!("jobs_total")`
/// lands on obskit's `/metrics` once obskit's registry is the global recorder.
pub use ::metrics::{
    Counter, Gauge, Histogram, Label, Unit, counter, describe_counter, describe_gauge,
    describe_histogram, gauge, histogram,
};
