//! The registries the `/metrics` benches render: an obskit registry with no
//! exporter, filled with a known number of sample lines, and the count of
//! sample lines in an exposition to check it.
//!
//! ```
//! use obskit_bench::series::{populate, registry, sample_lines};
//!
//! let (_telemetry, handle) = registry();
//! let before = sample_lines(&handle.render());
//! populate(&handle, 1_000);
//! assert_eq!(sample_lines(&handle.render()) - before, 1_000);
//! ```

use std::io;

use obskit::config::TracesExporter;
use obskit::metrics::{Label, MetricsHandle, names};
use obskit::opentelemetry::Context;
use obskit::opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
};

/// An obskit registry (its telemetry kept alive beside it) with nothing
/// exported and logs sent to `io::sink`.
pub fn registry() -> (obskit::Telemetry, MetricsHandle) {
    let (telemetry, _layer) = obskit::Config::default()
        .service_name("bench")
        .expect("a valid service name")
        .traces_exporter(TracesExporter::None)
        .build_layer_with_writer::<tracing_subscriber::Registry>(io::sink())
        .expect("obskit builds");
    let handle = telemetry.metrics();
    (telemetry, handle)
}

/// A context whose span is remote with these flags: what a request with a
/// `traceparent` header carries. Recording inside a sampled one keeps exemplars.
pub fn remote_context(sampled: bool) -> Context {
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736_u128),
        SpanId::from(0x00f0_67aa_0ba9_02b7_u64),
        flags,
        false,
        TraceState::default(),
    ))
}

/// Sample lines (not `#` comments) in an exposition, as Prometheus counts series.
pub fn sample_lines(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count()
}

/// Adds `series` sample lines to `handle`: half histogram lines (distinct
/// `http_route` values, two buckets of each recorded), half counter lines
/// (distinct `id` values). Recorded inside a sampled span, every histogram
/// and counter also keeps an exemplar.
pub fn populate(handle: &MetricsHandle, series: usize) {
    let per_histogram = names::HTTP_DURATION_BUCKETS.len() + 3;
    let histograms = series / 2 / per_histogram;
    for i in 0..histograms {
        let h = handle.histogram(
            names::HTTP_SERVER_REQUEST_DURATION,
            vec![
                Label::new(names::HTTP_REQUEST_METHOD, "GET"),
                Label::new(names::HTTP_ROUTE, format!("/route/{i}")),
                Label::new(names::HTTP_RESPONSE_STATUS_CODE, "200"),
            ],
        );
        h.record(0.004);
        h.record(0.2);
    }
    for i in 0..series - histograms * per_histogram {
        handle
            .counter("bench_events_total", vec![Label::new("id", i.to_string())])
            .increment(1);
    }
}
