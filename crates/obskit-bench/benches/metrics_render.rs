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

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use obskit_bench::series::{populate, registry, sample_lines};

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
