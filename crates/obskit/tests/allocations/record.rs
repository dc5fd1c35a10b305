//! Recording a metric allocates nothing, exemplar included: a counting
//! global allocator around the hot path of a histogram observation and a
//! counter increment, inside a sampled span (the exemplar is written),
//! inside an unsampled one, and outside any span.

use obskit::config::TracesExporter;
use obskit::metrics::Label;
use obskit::metrics::{Format, names};
use obskit::opentelemetry::Context;
use obskit::opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use stats_alloc::Region;

use crate::{GLOBAL, exclusive};

const RECORDS: usize = 10_000;

fn context(trace: u128, sampled: bool) -> Context {
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(trace),
        SpanId::from(0x00f0_67aa_0ba9_02b7_u64),
        flags,
        false,
        TraceState::default(),
    ))
}

#[test]
fn recording_with_and_without_exemplars_does_not_allocate() {
    let _alone = exclusive();
    let (telemetry, _layer) = obskit::Config::default()
        .service_name("alloc")
        .expect("a valid service name")
        .traces_exporter(TracesExporter::None)
        .build_layer_with_writer::<obskit::tracing_subscriber::Registry>(std::io::sink())
        .expect("obskit builds");
    let metrics = telemetry.metrics();
    let histogram = metrics.histogram(
        names::HTTP_SERVER_REQUEST_DURATION,
        vec![Label::new(names::HTTP_ROUTE, "/checkout")],
    );
    let counter = metrics.counter(
        names::SLO_REQUESTS_TOTAL,
        vec![
            Label::new(names::SLO, "latency"),
            Label::new(names::SLO_RESULT, "bad"),
        ],
    );
    // Values across every bucket, +Inf included.
    let values: Vec<f64> = (0..RECORDS).map(|i| (i % 1300) as f64 / 100.0).collect();

    for (name, cx) in [
        ("outside any span", None),
        ("in an unsampled span", Some(context(0x1, false))),
        (
            "in a sampled span",
            Some(context(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736, true)),
        ),
    ] {
        let _attached = cx.map(Context::attach);
        // Warm-up: the first touch of thread-locals may allocate once.
        histogram.record(0.1);
        counter.increment(1);

        // The allocator counts every thread, and obskit's background threads
        // (the log writer) may allocate once while starting. A pass over all
        // the values in which nothing at all was allocated proves the
        // recording path never allocates; recording that did would allocate
        // in every pass.
        let mut passes = Vec::with_capacity(5);
        for _ in 0..5 {
            let region = Region::new(GLOBAL);
            for &v in &values {
                histogram.record(v);
                counter.increment(1);
            }
            let change = region.change();
            passes.push((change.allocations, change.reallocations));
            if passes.last() == Some(&(0, 0)) {
                break;
            }
        }
        assert_eq!(
            passes.last(),
            Some(&(0, 0)),
            "recording {name} allocated in every pass (allocations, reallocations): {passes:?}"
        );
    }

    // The sampled pass did write exemplars, into every bucket it touched.
    let text = metrics.render_as(Format::OpenMetrics);
    let with_exemplar = text
        .lines()
        .filter(|l| {
            l.starts_with("http_server_request_duration_seconds_bucket{")
                && l.contains("# {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\"")
        })
        .count();
    assert_eq!(
        with_exemplar,
        names::HTTP_DURATION_BUCKETS.len() + 1,
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("obskit_slo_requests_total{")
                && l.contains("trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\"")),
        "{text}"
    );
}
