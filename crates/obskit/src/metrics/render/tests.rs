//! Tests of the Prometheus text 0.0.4 renderer, line by line.

use super::*;
use crate::metrics::registry::Registry;
use crate::metrics::snapshot::Kind;
use crate::metrics::test_support::{META, key, type_lines};
use metrics::Recorder;

/// Everything in `r`, as the Prometheus text format.
fn render(r: &Registry) -> String {
    let mut out = String::new();
    write(&r.snapshot(), &mut out);
    out
}

fn registry() -> Registry {
    Registry::new(&[("service_name", "svc")], &[0.25, 0.5, 1.0])
}

#[test]
fn counters_render_exactly() {
    let r = registry();
    r.describe_counter("jobs_total".into(), None, "Jobs run.".into());
    r.register_counter(&key("jobs_total", &[("queue", "a")]), &META)
        .increment(3);
    r.register_counter(&key("jobs_total", &[("queue", "b")]), &META)
        .increment(1);
    // Registered again: the same series.
    r.register_counter(&key("jobs_total", &[("queue", "a")]), &META)
        .increment(2);
    assert_eq!(
        render(&r),
        "# HELP jobs_total Jobs run.\n\
             # TYPE jobs_total counter\n\
             jobs_total{service_name=\"svc\",queue=\"a\"} 5\n\
             jobs_total{service_name=\"svc\",queue=\"b\"} 1\n"
    );
}

#[test]
fn a_counter_without_total_keeps_its_name() {
    let r = registry();
    r.register_counter(&key("requests", &[]), &META)
        .increment(1);
    assert_eq!(
        render(&r),
        "# TYPE requests counter\nrequests{service_name=\"svc\"} 1\n"
    );
}

#[test]
fn gauges_render_exactly() {
    let r = registry();
    let g = r.register_gauge(&key("temperature_celsius", &[("room", "x")]), &META);
    g.set(21.5);
    g.increment(1.0);
    g.decrement(0.25);
    r.register_gauge(&key("up", &[]), &META).set(1.0);
    r.register_gauge(&key("inf", &[]), &META)
        .set(f64::NEG_INFINITY);
    r.register_gauge(&key("nan", &[]), &META).set(f64::NAN);
    assert_eq!(
        render(&r),
        "# TYPE inf gauge\n\
             inf{service_name=\"svc\"} -Inf\n\
             # TYPE nan gauge\n\
             nan{service_name=\"svc\"} NaN\n\
             # TYPE temperature_celsius gauge\n\
             temperature_celsius{service_name=\"svc\",room=\"x\"} 22.25\n\
             # TYPE up gauge\n\
             up{service_name=\"svc\"} 1\n"
    );
}

#[test]
fn histograms_render_cumulative_buckets_sum_and_count() {
    let r = registry();
    r.describe_histogram(
        "job_duration_seconds".into(),
        Some(metrics::Unit::Seconds),
        "How long a job took.".into(),
    );
    let h = r.register_histogram(&key("job_duration_seconds", &[("queue", "a")]), &META);
    // On a bound counts in that bound's bucket.
    for v in [0.25, 0.125, 0.5, 0.75, 1.0, 3.0] {
        h.record(v);
    }
    assert_eq!(
        render(&r),
        "# HELP job_duration_seconds How long a job took.\n\
             # TYPE job_duration_seconds histogram\n\
             job_duration_seconds_bucket{service_name=\"svc\",queue=\"a\",le=\"0.25\"} 2\n\
             job_duration_seconds_bucket{service_name=\"svc\",queue=\"a\",le=\"0.5\"} 3\n\
             job_duration_seconds_bucket{service_name=\"svc\",queue=\"a\",le=\"1\"} 5\n\
             job_duration_seconds_bucket{service_name=\"svc\",queue=\"a\",le=\"+Inf\"} 6\n\
             job_duration_seconds_sum{service_name=\"svc\",queue=\"a\"} 5.625\n\
             job_duration_seconds_count{service_name=\"svc\",queue=\"a\"} 6\n"
    );
}

#[test]
fn an_empty_histogram_renders_zeros() {
    let r = Registry::new(&[], &[1.0]);
    let _ = r.register_histogram(&key("h", &[]), &META);
    assert_eq!(
        render(&r),
        "# TYPE h histogram\n\
             h_bucket{le=\"1\"} 0\n\
             h_bucket{le=\"+Inf\"} 0\n\
             h_sum 0\n\
             h_count 0\n"
    );
}

#[test]
fn label_values_are_escaped_and_names_sanitized() {
    let r = registry();
    r.describe_counter(
        "my.app-events".into(),
        None,
        "Events \"seen\"\nper C:\\path.".into(),
    );
    r.register_counter(
        &key(
            "my.app-events",
            &[
                ("http.route", "/a\"b\\c\nd"),
                ("1st:label", "ünï"),
                ("service_name", "spoofed"),
            ],
        ),
        &META,
    )
    .increment(1);
    assert_eq!(
        render(&r),
        "# HELP my_app_events Events \"seen\"\\nper C:\\\\path.\n\
             # TYPE my_app_events counter\n\
             my_app_events{service_name=\"svc\",http_route=\"/a\\\"b\\\\c\\nd\",_1st_label=\"ünï\"} 1\n"
    );
}

#[test]
fn a_user_le_label_is_dropped_from_histograms_only() {
    let r = Registry::new(&[], &[1.0]);
    r.register_histogram(&key("h", &[("le", "x"), ("a", "1")]), &META)
        .record(2.0);
    r.register_gauge(&key("g", &[("le", "x")]), &META).set(1.0);
    let text = render(&r);
    assert!(text.contains("h_bucket{a=\"1\",le=\"+Inf\"} 1\n"), "{text}");
    assert!(text.contains("g{le=\"x\"} 1\n"), "{text}");
}

#[test]
fn output_order_does_not_depend_on_registration_order() {
    let names = [
        ("b_total", "2"),
        ("a_total", "9"),
        ("b_total", "10"),
        ("a_total", "1"),
    ];
    let render = |order: &[usize]| {
        let r = registry();
        for &i in order {
            let (name, id) = names[i];
            r.register_counter(&key(name, &[("id", id)]), &META)
                .increment(1);
        }
        render(&r)
    };
    let first = render(&[0, 1, 2, 3]);
    assert_eq!(first, render(&[3, 2, 1, 0]));
    assert_eq!(first, render(&[2, 0, 3, 1]));
    assert_eq!(
        first,
        "# TYPE a_total counter\n\
             a_total{service_name=\"svc\",id=\"1\"} 1\n\
             a_total{service_name=\"svc\",id=\"9\"} 1\n\
             # TYPE b_total counter\n\
             b_total{service_name=\"svc\",id=\"10\"} 1\n\
             b_total{service_name=\"svc\",id=\"2\"} 1\n"
    );
}

#[test]
fn label_order_of_the_first_registration_is_kept() {
    let r = registry();
    r.register_counter(&key("c_total", &[("x", "1"), ("y", "2")]), &META)
        .increment(1);
    // The same key with its labels the other way round is the same series.
    r.register_counter(&key("c_total", &[("y", "2"), ("x", "1")]), &META)
        .increment(1);
    assert_eq!(
        render(&r),
        "# TYPE c_total counter\nc_total{service_name=\"svc\",x=\"1\",y=\"2\"} 2\n"
    );
}

#[test]
fn keys_that_render_alike_share_one_series() {
    let r = registry();
    r.register_counter(&key("a.b_total", &[]), &META)
        .increment(1);
    r.register_counter(&key("a_b_total", &[]), &META)
        .increment(2);
    assert_eq!(
        render(&r),
        "# TYPE a_b_total counter\na_b_total{service_name=\"svc\"} 3\n"
    );
}

#[test]
fn a_name_keeps_the_type_it_was_first_registered_with() {
    let r = registry();
    r.register_counter(&key("x", &[]), &META).increment(1);
    r.register_gauge(&key("x", &[]), &META).set(5.0);
    r.register_histogram(&key("x", &[("other", "labels")]), &META)
        .record(1.0);
    r.register_histogram(&key("h", &[]), &META).record(1.0);
    r.register_counter(&key("h_count", &[]), &META).increment(7);
    r.register_gauge(&key("g", &[]), &META).set(1.0);
    r.register_histogram(&key("g_sum", &[]), &META).record(1.0);
    r.register_histogram(&key("g", &[]), &META).record(1.0);
    let text = render(&r);
    assert_eq!(
        type_lines(&text),
        [
            "# TYPE g gauge",
            "# TYPE g_sum histogram",
            "# TYPE h histogram",
            "# TYPE x counter"
        ],
        "{text}"
    );
    assert!(text.contains("x{service_name=\"svc\"} 1\n"), "{text}");
    assert!(text.contains("h_count{service_name=\"svc\"} 1\n"), "{text}");
    assert!(!text.contains(" 7\n"), "{text}");
}

#[test]
fn size_hint_covers_the_rendered_text() {
    let r = registry();
    for i in 0..50 {
        let id: &'static str = Box::leak(i.to_string().into_boxed_str());
        r.register_counter(&key("c_total", &[("id", id)]), &META)
            .increment(u64::MAX);
        r.register_gauge(&key("g", &[("id", id)]), &META)
            .set(-1.234_567_890_123_4e-300);
        r.register_histogram(&key("h_seconds", &[("id", id)]), &META)
            .record(0.123_456_789);
    }
    let snapshot = r.snapshot();
    let text = render(&r);
    assert!(
        snapshot.size_hint >= text.len(),
        "{} < {}",
        snapshot.size_hint,
        text.len()
    );
    let samples = text.lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(
        samples,
        50 * (Kind::Counter.lines(3) + Kind::Gauge.lines(3) + Kind::Histogram.lines(3))
    );
}
