//! Tests of the OpenMetrics 1.0 renderer, line by line.

use super::*;
use crate::metrics::exemplar::{context, fix_exemplar_times, now_millis};
use crate::metrics::registry::Registry;
use crate::metrics::test_support::{META, key, type_lines};
use metrics::{Recorder, Unit};

fn render(r: &Registry) -> String {
    let mut out = Vec::new();
    write(&r.snapshot(), &mut out);
    String::from_utf8(out).expect("the exposition is UTF-8")
}

#[test]
fn an_empty_registry_is_just_eof() {
    assert_eq!(render(&Registry::new(&[], &[1.0])), "# EOF\n");
}

#[test]
fn counters_are_families_without_total_and_keep_their_sample_names() {
    let r = Registry::new(&[("service_name", "svc")], &[1.0]);
    r.describe_counter(
        "process_cpu_seconds_total".into(),
        Some(Unit::Seconds),
        "CPU \"time\".".into(),
    );
    r.register_counter(&key("process_cpu_seconds_total", &[]), &META)
        .increment(4);
    r.describe_counter("jobs_total".into(), Some(Unit::Count), "Jobs.".into());
    r.register_counter(&key("jobs_total", &[("queue", "a")]), &META)
        .increment(3);
    // No `_total`: written as `unknown` under its own name, not renamed.
    r.describe_counter("requests".into(), None, "Requests.".into());
    r.register_counter(&key("requests", &[]), &META)
        .increment(1);
    assert_eq!(
        render(&r),
        "# TYPE jobs counter\n\
             # HELP jobs Jobs.\n\
             jobs_total{service_name=\"svc\",queue=\"a\"} 3\n\
             # TYPE process_cpu_seconds counter\n\
             # UNIT process_cpu_seconds seconds\n\
             # HELP process_cpu_seconds CPU \\\"time\\\".\n\
             process_cpu_seconds_total{service_name=\"svc\"} 4\n\
             # TYPE requests unknown\n\
             # HELP requests Requests.\n\
             requests{service_name=\"svc\"} 1\n\
             # EOF\n"
    );
}

#[test]
fn gauges_units_and_info_metrics() {
    let r = Registry::new(&[("service_name", "svc")], &[1.0]);
    r.describe_gauge("obskit_build_info".into(), None, "Always 1.".into());
    r.register_gauge(&key("obskit_build_info", &[("v", "1.2.3")]), &META)
        .set(1.0);
    r.mark_info("obskit_build_info");
    // A unit the name does not end in is left out.
    r.describe_gauge("queue_depth".into(), Some(Unit::Bytes), "Depth.".into());
    r.register_gauge(&key("queue_depth", &[]), &META).set(-2.5);
    r.describe_gauge("heap_bytes".into(), Some(Unit::Bytes), "".into());
    r.register_gauge(&key("heap_bytes", &[]), &META)
        .set(f64::NAN);
    // `_info` without being marked stays a gauge.
    r.register_gauge(&key("user_info", &[]), &META).set(2.0);
    r.mark_info("not_an_info_name");
    assert_eq!(
        render(&r),
        "# TYPE heap_bytes gauge\n\
             # UNIT heap_bytes bytes\n\
             heap_bytes{service_name=\"svc\"} NaN\n\
             # TYPE obskit_build info\n\
             # HELP obskit_build Always 1.\n\
             obskit_build_info{service_name=\"svc\",v=\"1.2.3\"} 1\n\
             # TYPE queue_depth gauge\n\
             # HELP queue_depth Depth.\n\
             queue_depth{service_name=\"svc\"} -2.5\n\
             # TYPE user_info gauge\n\
             user_info{service_name=\"svc\"} 2\n\
             # EOF\n"
    );
}

#[test]
fn histograms_have_canonical_le_count_then_sum_and_exemplars_per_bucket() {
    let r = Registry::new(&[("service_name", "svc")], &[0.25, 1.0, 10.0]);
    r.describe_histogram(
        "job_duration_seconds".into(),
        Some(Unit::Seconds),
        "How long a job took.".into(),
    );
    let h = r.register_histogram(&key("job_duration_seconds", &[("queue", "a")]), &META);
    let from = now_millis();
    h.record(0.1); // outside any span: no exemplar
    {
        let _cx = context(
            0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c,
            0xb7ad_6b71_6920_3331,
            true,
        )
        .attach();
        h.record(0.2);
        h.record(0.25); // on the bound: the same bucket, newest wins
        h.record(20.0); // above the last bound: the +Inf bucket
    }
    {
        let _cx = context(0x1111, 0x2222, false).attach();
        h.record(5.0); // unsampled: counted, no exemplar
    }
    {
        let _cx = context(0x3333, 0x4444, true).attach();
        h.record(1.0);
    }
    let to = now_millis();
    assert_eq!(
        fix_exemplar_times(&render(&r), from, to),
        "# TYPE job_duration_seconds histogram\n\
             # UNIT job_duration_seconds seconds\n\
             # HELP job_duration_seconds How long a job took.\n\
             job_duration_seconds_bucket{service_name=\"svc\",queue=\"a\",le=\"0.25\"} 3 # {trace_id=\"0af7651916cd43dd8448eb211c80319c\",span_id=\"b7ad6b7169203331\"} 0.25 T\n\
             job_duration_seconds_bucket{service_name=\"svc\",queue=\"a\",le=\"1.0\"} 4 # {trace_id=\"00000000000000000000000000003333\",span_id=\"0000000000004444\"} 1 T\n\
             job_duration_seconds_bucket{service_name=\"svc\",queue=\"a\",le=\"10.0\"} 5\n\
             job_duration_seconds_bucket{service_name=\"svc\",queue=\"a\",le=\"+Inf\"} 6 # {trace_id=\"0af7651916cd43dd8448eb211c80319c\",span_id=\"b7ad6b7169203331\"} 20 T\n\
             job_duration_seconds_count{service_name=\"svc\",queue=\"a\"} 6\n\
             job_duration_seconds_sum{service_name=\"svc\",queue=\"a\"} 26.55\n\
             # EOF\n"
    );
}

#[test]
fn a_histogram_that_cannot_have_a_sum_has_neither_sum_nor_count() {
    let r = Registry::new(&[], &[1.0]);
    r.register_histogram(&key("delta", &[]), &META).record(-3.0);
    r.register_histogram(&key("broken", &[]), &META)
        .record(f64::NAN);
    r.set_buckets("below_zero", &[-1.0, 1.0]).unwrap();
    r.register_histogram(&key("below_zero", &[]), &META)
        .record(0.5);
    assert_eq!(
        render(&r),
        "# TYPE below_zero histogram\n\
             below_zero_bucket{le=\"-1.0\"} 0\n\
             below_zero_bucket{le=\"1.0\"} 1\n\
             below_zero_bucket{le=\"+Inf\"} 1\n\
             # TYPE broken histogram\n\
             broken_bucket{le=\"1.0\"} 0\n\
             broken_bucket{le=\"+Inf\"} 1\n\
             # TYPE delta histogram\n\
             delta_bucket{le=\"1.0\"} 1\n\
             delta_bucket{le=\"+Inf\"} 1\n\
             # EOF\n"
    );
}

#[test]
fn counter_exemplars_come_from_sampled_increments() {
    let r = Registry::new(&[], &[1.0]);
    let c = r.register_counter(&key("errors_total", &[]), &META);
    let from = now_millis();
    {
        let _cx = context(0xabc, 0xdef, true).attach();
        c.increment(2);
        c.increment(0); // nothing happened: the exemplar stays
    }
    {
        let _cx = context(0x999, 0x888, false).attach();
        c.increment(1);
    }
    c.absolute(10);
    let to = now_millis();
    assert_eq!(
        fix_exemplar_times(&render(&r), from, to),
        "# TYPE errors counter\n\
             errors_total 10 # {trace_id=\"00000000000000000000000000000abc\",span_id=\"0000000000000def\"} 2 T\n\
             # EOF\n"
    );
}

#[test]
fn names_that_would_collide_in_openmetrics_are_refused() {
    let r = Registry::new(&[], &[1.0]);
    r.register_counter(&key("hits_total", &[]), &META)
        .increment(1);
    // `hits` is the counter's OpenMetrics family name; `hits_created` its
    // created sample.
    r.register_gauge(&key("hits", &[]), &META).set(5.0);
    r.register_gauge(&key("hits_created", &[]), &META).set(5.0);
    r.register_gauge(&key("lag", &[]), &META).set(1.0);
    r.register_counter(&key("lag_total", &[]), &META)
        .increment(7);
    r.register_histogram(&key("h", &[]), &META).record(1.0);
    r.register_gauge(&key("h_created", &[]), &META).set(1.0);
    let text = render(&r);
    assert_eq!(
        type_lines(&text),
        [
            "# TYPE h histogram",
            "# TYPE hits counter",
            "# TYPE lag gauge"
        ],
        "{text}"
    );
    assert!(!text.contains(" 5\n") && !text.contains(" 7"), "{text}");
}

#[test]
fn exemplar_values_are_written_as_prometheus_writes_floats() {
    let values = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        2.0,
        42.0,
        -7.0,
        0.004,
        0.25,
        -2.5,
        1e15 - 1.0,
        -(1e15 - 1.0),
        1e15,
        -1e15,
        2.0_f64.powi(53),
        1e20,
        1.5e-7,
        f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];
    for v in values {
        let mut out = [b'#'; F64Text::MAX_LEN + 1];
        let len = write_f64(&mut out, v);
        assert_eq!(&out[..len], F64Text::new().format(v).as_bytes(), "{v}");
        assert_eq!(
            out[len], b'#',
            "{v}: nothing written past the length returned"
        );
    }
}

#[test]
fn short_decimals_are_written_as_ryu_writes_them() {
    let check = |v: f64| {
        let mut out = [b'#'; F64Text::MAX_LEN + 1];
        let len = write_f64(&mut out, v);
        assert_eq!(&out[..len], F64Text::new().format(v).as_bytes(), "{v:e}");
        assert_eq!(
            out[len], b'#',
            "{v:e}: nothing written past the length returned"
        );
    };
    for v in [
        0.004,
        0.2,
        0.25,
        0.1,
        0.3,
        1.5,
        12.34,
        0.00001,
        0.000011,
        0.0000099,
        1e-6,
        9.999_999e-6,
        0.123_456_789,
        0.123_456_789_1,
        1.000_000_001,
        999_999_999_999_999.9,
        99_999_999.999_999,
        123_456.7,
        2.5e14,
        4.503_599_627_370_495_5e15,
        1.0 / 3.0,
        2.0 / 3.0,
        0.1 + 0.2,
    ] {
        check(v);
        check(-v);
    }
    // Every number of places, at every magnitude, and the floats next to them.
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..20_000 {
        let places = next() % 12;
        let digits = next() % 10_u64.pow(1 + (next() % 16) as u32);
        let v = digits as f64 / 10_f64.powi(places as i32);
        check(v);
        check(f64::from_bits(v.to_bits() + 1));
        check(f64::from_bits(v.to_bits().saturating_sub(1)));
        // A duration to the nanosecond, as `Duration::as_secs_f64` gives it.
        check(std::time::Duration::from_nanos(next() % 100_000_000_000).as_secs_f64());
        // Any finite float.
        let any = f64::from_bits(next());
        if any.is_finite() {
            check(any);
        }
    }
}

#[test]
fn a_name_block_starts_lines_as_sample_start_does() {
    for len in [
        1,
        20,
        NAME_BLOCK - 2,
        NAME_BLOCK - 1,
        NAME_BLOCK,
        NAME_BLOCK + 30,
    ] {
        let name = "n".repeat(len);
        let start = NameBlock::new(&name);
        for labels in ["", "a=\"b\"", "service_name=\"svc\",id=\"12\""] {
            let mut expected = b"x".to_vec();
            sample_start(&mut expected, &name, "", labels);
            let mut out = b"x".to_vec();
            start.sample_start(&mut out, labels);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                String::from_utf8(expected).unwrap(),
                "{len} {labels}"
            );
        }
    }
}
