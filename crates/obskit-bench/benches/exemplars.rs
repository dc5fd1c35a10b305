//! What exemplars cost: recording a histogram observation and a counter
//! increment outside any span, inside an unsampled span, and inside a
//! sampled span (the exemplar is written), plus one request's metric work
//! (its duration and two SLO counters) both ways; and rendering 10 000
//! series as the Prometheus text format and as OpenMetrics with an
//! exemplar on every bucket that has observations.
//!
//! Run with `cargo bench -p obskit-bench --bench exemplars`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use obskit::metrics::{Counter, Format, Histogram, Label, names};
use obskit::opentelemetry::Context;
use obskit_bench::series::{populate, registry, remote_context as context, sample_lines};

/// One request's metric work in the HTTP layer: its duration, and the bad
/// counters of two SLOs (the worst case: both take an exemplar).
fn request(duration: &Histogram, slo_a: &Counter, slo_b: &Counter, value: f64) {
    duration.record(value);
    slo_a.increment(1);
    slo_b.increment(1);
}

fn record(c: &mut Criterion) {
    let (_telemetry, handle) = registry();
    let duration = handle.histogram(
        names::HTTP_SERVER_REQUEST_DURATION,
        vec![
            Label::new(names::HTTP_REQUEST_METHOD, "GET"),
            Label::new(names::HTTP_ROUTE, "/users/{id}"),
            Label::new(names::HTTP_RESPONSE_STATUS_CODE, "200"),
        ],
    );
    let slo = |name: &'static str| {
        handle.counter(
            names::SLO_REQUESTS_TOTAL,
            vec![
                Label::new(names::SLO, name),
                Label::new(names::SLO_RESULT, names::SLO_RESULT_BAD),
            ],
        )
    };
    let (slo_a, slo_b) = (slo("availability"), slo("latency"));
    let mut group = c.benchmark_group("exemplars/record");
    for (name, cx) in [
        ("no_span", None),
        ("unsampled", Some(context(false))),
        ("sampled", Some(context(true))),
    ] {
        let _attached = cx.map(Context::attach);
        let mut v = 0.0_f64;
        group.bench_function(BenchmarkId::new("histogram", name), |b| {
            b.iter(|| {
                // A different bucket now and then, as real traffic does.
                v = if v > 0.9 { 0.001 } else { v + 0.013 };
                duration.record(std::hint::black_box(v));
            });
        });
        group.bench_function(BenchmarkId::new("counter", name), |b| {
            b.iter(|| slo_a.increment(std::hint::black_box(1)));
        });
        group.bench_function(BenchmarkId::new("request", name), |b| {
            b.iter(|| {
                v = if v > 0.9 { 0.001 } else { v + 0.013 };
                request(&duration, &slo_a, &slo_b, std::hint::black_box(v));
            });
        });
    }
    // What the server layer adds around its recording: attaching the
    // request's context (a clone and a thread-local push), so that the
    // recording sees the sampled span.
    let sampled = context(true);
    let mut v = 0.0_f64;
    group.bench_function("request/sampled_with_attach", |b| {
        b.iter(|| {
            let _attached = sampled.clone().attach();
            v = if v > 0.9 { 0.001 } else { v + 0.013 };
            request(&duration, &slo_a, &slo_b, std::hint::black_box(v));
        });
    });
    group.finish();
}

fn render(c: &mut Criterion) {
    let mut group = c.benchmark_group("exemplars/render_10000");
    let (_empty_telemetry, empty) = registry();
    let baseline = sample_lines(&empty.render());
    let (_telemetry, handle) = registry();
    {
        // Recorded inside a sampled span: every histogram and counter keeps an exemplar.
        let _attached = context(true).attach();
        populate(&handle, 10_000);
    }
    for (name, format) in [
        ("prometheus", Format::Prometheus),
        ("openmetrics", Format::OpenMetrics),
    ] {
        let text = handle.render_as(format);
        assert_eq!(sample_lines(&text), baseline + 10_000, "{name}");
        group.bench_function(name, |b| {
            b.iter(|| std::hint::black_box(handle.render_as(format)));
        });
    }
    let om = handle.render_as(Format::OpenMetrics);
    assert!(
        om.matches(" # {trace_id=").count() > 4_000,
        "exemplars rendered"
    );
    group.finish();
}

criterion_group!(benches, record, render);
criterion_main!(benches);
