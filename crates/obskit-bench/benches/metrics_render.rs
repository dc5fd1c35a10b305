//! `MetricsHandle::render()` — what one `/metrics` scrape costs — at 0 (the
//! fixed part: process metrics and build info), 100, 1 000 and 10 000 series.
//!
//! Run with `cargo bench -p obskit-bench --bench metrics_render`.
//!
//! A series is one sample line of the exposition, as Prometheus counts
//! them: a histogram label set is one line per bucket plus `+Inf`, `_sum`
//! and `_count`. Half of each size is histogram lines (distinct `http_route`
//! values), half counter lines (distinct `id` values); the setup checks the
//! rendered text has exactly that many more sample lines than the empty registry.

use std::io;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use obskit::config::TracesExporter;
use obskit::metrics::Label;
use obskit::metrics::{MetricsHandle, names};

/// Sample lines (not `#` comments) in an exposition.
fn sample_lines(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count()
}

fn registry() -> (obskit::Telemetry, MetricsHandle) {
    let (telemetry, _layer) = obskit::Config::default()
        .service_name("bench")
        .expect("a valid service name")
        .traces_exporter(TracesExporter::None)
        .build_layer_with_writer::<tracing_subscriber::Registry>(io::sink())
        .expect("obskit builds");
    let handle = telemetry.metrics();
    (telemetry, handle)
}

/// Adds `series` sample lines to `handle`, half histogram, half counter.
fn populate(handle: &MetricsHandle, series: usize) {
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

fn render(c: &mut Criterion) {
    let mut group = c.benchmark_group("metrics_render");
    let (_empty_telemetry, empty) = registry();
    let baseline = sample_lines(&empty.render());
    for series in [0, 100, 1_000, 10_000] {
        let (_telemetry, handle) = registry();
        populate(&handle, series);
        let text = handle.render();
        assert_eq!(
            sample_lines(&text),
            baseline + series,
            "the registry should hold exactly {series} series beyond the fixed ones"
        );
        group.bench_with_input(BenchmarkId::from_parameter(series), &handle, |b, h| {
            b.iter(|| std::hint::black_box(h.render()));
        });
    }
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
