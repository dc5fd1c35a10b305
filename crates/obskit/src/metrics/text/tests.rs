//! Tests of the exposition formats' shared text helpers (numbers, label
//! escaping).

use super::*;

fn f(v: f64) -> String {
    f64_string(v)
}

#[test]
fn floats_are_written_as_prometheus_writes_them() {
    assert_eq!(f(1.0), "1");
    assert_eq!(f(0.0), "0");
    assert_eq!(f(-0.0), "0");
    assert_eq!(f(-3.0), "-3");
    assert_eq!(f(10.0), "10");
    assert_eq!(f(0.005), "0.005");
    assert_eq!(f(2.5), "2.5");
    assert_eq!(f(0.1 + 0.2), "0.30000000000000004");
    assert_eq!(f(1.5e-7), "1.5e-7");
    assert_eq!(f(1e20), "1e20");
    assert_eq!(f(123_456_789_012_345.0), "123456789012345");
    assert_eq!(f(f64::INFINITY), "+Inf");
    assert_eq!(f(f64::NEG_INFINITY), "-Inf");
    assert_eq!(f(f64::NAN), "NaN");
    for v in [
        0.005,
        1.5e-7,
        1e20,
        0.1 + 0.2,
        4_503_599_627_370_497.0,
        -2.5e-300,
    ] {
        assert_eq!(f(v).parse::<f64>().unwrap(), v, "{v} reads back");
    }
}

#[test]
fn le_values_are_openmetrics_canonical_numbers() {
    let c = canonical_f64;
    // The examples of the OpenMetrics specification, "Canonical Numbers".
    for (v, expected) in [
        (0.0, "0.0"),
        (0.001, "0.001"),
        (0.002, "0.002"),
        (0.01, "0.01"),
        (0.1, "0.1"),
        (0.9, "0.9"),
        (0.95, "0.95"),
        (0.99, "0.99"),
        (0.999, "0.999"),
        (1.0, "1.0"),
        (1.7, "1.7"),
        (10.0, "10.0"),
        (1e-10, "1e-10"),
        (1e-9, "1e-09"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (100_000.0, "100000.0"),
        (1e6, "1e+06"),
        (1e10, "1e+10"),
        (1e23, "1e+23"),
        (1.1e23, "1.1e+23"),
        (f64::INFINITY, "+Inf"),
    ] {
        assert_eq!(c(v), expected, "{v:?}");
    }
    // obskit's default duration buckets, and a few more shapes.
    let defaults: Vec<String> = [
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    ]
    .into_iter()
    .map(c)
    .collect();
    assert_eq!(
        defaults,
        [
            "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1.0", "2.5",
            "5.0", "7.5", "10.0"
        ]
    );
    assert_eq!(c(-2.5), "-2.5");
    assert_eq!(c(-0.0), "0.0");
    assert_eq!(c(123_456.7), "123456.7");
    assert_eq!(c(1_234_567.0), "1.234567e+06");
    assert_eq!(c(0.000_123), "0.000123");
    assert_eq!(c(1.5e-7), "1.5e-07");
    assert_eq!(c(1e100), "1e+100");
    for v in [0.005, 1.234_567e6, 1.5e-7, 123_456.7, 2.0_f64.powi(60)] {
        assert_eq!(c(v).parse::<f64>().unwrap(), v, "{v} reads back");
    }
}

#[test]
fn timestamps_are_seconds_with_three_decimals() {
    let text = |millis| {
        let mut out = [b'-'; UNIX_MILLIS_MAX_LEN + 1];
        let len = write_unix_millis(&mut out, millis);
        assert_eq!(out[len], b'-', "nothing written past the length returned");
        String::from_utf8(out[..len].to_vec()).unwrap()
    };
    assert_eq!(text(0), "0.000");
    assert_eq!(text(u64::MAX), "18446744073709551.615");
    assert_eq!(text(1_764_630_000_123), "1764630000.123");
    assert_eq!(text(1_764_630_000_007), "1764630000.007");
    assert_eq!(text(1_764_630_000_050), "1764630000.050");
}

#[test]
fn timestamps_written_with_a_kept_second_match_those_written_alone() {
    let mut millis = vec![
        0,
        999,
        1_000,
        999_999_999_999,
        1_000_000_000_000,
        1_000_000_000_999,
        1_000_000_007_123,
        1_000_000_008_123,
        1_764_630_000_123,
        1_764_630_000_999,
        1_764_630_001_000,
        1_764_629_999_999,
        9_999_999_999_999,
        10_000_000_000_000,
        u64::MAX,
    ];
    // Runs in one second, each followed by a jump, in and out of the range
    // of ten digits.
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..500 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let at = 1_000_000_000_000 + x % 9_000_000_000_000;
        millis.extend([at, at + x % 7, at + x % 1_000, at + 1_000, x, x >> (x % 64)]);
    }
    let mut kept = UnixMillisText::new();
    for m in millis.iter().copied().chain(millis.iter().rev().copied()) {
        let mut alone = [b'-'; UNIX_MILLIS_MAX_LEN + 1];
        let len = write_unix_millis(&mut alone, m);
        let mut out = [b'-'; UNIX_MILLIS_MAX_LEN + 1];
        assert_eq!(kept.write(&mut out, m), len, "{m}");
        assert_eq!(out, alone, "{m}");
    }
}

#[test]
fn decimals_written_in_place_match_push_u64() {
    let mut values = vec![0, 1, 9, 10, 11, 99, 100, 101, u64::MAX, u64::MAX - 1];
    let mut power = 1_u64;
    while let Some(next) = power.checked_mul(10) {
        values.extend([power - 1, power, power + 1, next - 1]);
        power = next;
    }
    // A spread of other values, every length and digit.
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..2_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        values.extend([x, x >> (x % 64)]);
    }
    for v in values {
        let mut out = [b'-'; DECIMAL_MAX_LEN + 1];
        let len = write_decimal(&mut out, v);
        let mut expected = String::new();
        push_u64(&mut expected, v);
        assert_eq!(&out[..len], expected.as_bytes(), "{v}");
        assert_eq!(
            out[len], b'-',
            "{v}: nothing written past the length returned"
        );
    }
}

#[test]
fn integers_are_decimal() {
    let mut s = String::new();
    push_u64(&mut s, 0);
    s.push(' ');
    push_u64(&mut s, u64::MAX);
    assert_eq!(s, "0 18446744073709551615");
}

#[test]
fn metric_names_are_sanitized() {
    assert_eq!(metric_name("http_requests_total"), "http_requests_total");
    assert_eq!(metric_name("job:rate5m"), "job:rate5m");
    assert_eq!(
        metric_name("my.app-latency seconds"),
        "my_app_latency_seconds"
    );
    assert_eq!(metric_name("2xx_total"), "_2xx_total");
    assert_eq!(metric_name("größe"), "gr__e");
    assert_eq!(metric_name(""), "_");
    assert_eq!(metric_name(":x"), ":x");
}

#[test]
fn label_names_are_sanitized_without_colons() {
    assert_eq!(label_name("http_route"), "http_route");
    assert_eq!(label_name("a:b"), "a_b");
    assert_eq!(label_name(":a"), "_a");
    assert_eq!(label_name("service.name"), "service_name");
    assert_eq!(label_name("9lives"), "_9lives");
    assert_eq!(label_name(""), "_");
}

#[test]
fn label_values_and_help_are_escaped() {
    let mut s = String::new();
    push_label_value(&mut s, r#"a\b "q" line1"#);
    s.push('|');
    push_label_value(&mut s, "x\ny\\");
    s.push('|');
    push_label_value(&mut s, "plain ünïcode");
    assert_eq!(s, r#"a\\b \"q\" line1|x\ny\\|plain ünïcode"#);

    let mut h = String::new();
    push_help(&mut h, "say \"hi\"\\\nbye");
    assert_eq!(h, r#"say "hi"\\\nbye"#);
    let mut h = String::new();
    push_help_openmetrics(&mut h, "say \"hi\"\\\nbye");
    assert_eq!(h, r#"say \"hi\"\\\nbye"#);
}
