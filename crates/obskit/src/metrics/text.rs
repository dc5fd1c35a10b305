//! The small text rules of the Prometheus exposition format 0.0.4: valid
//! metric and label names, escaped label values and HELP text, and numbers
//! written the way Prometheus writes them (`1`, `0.25`, `+Inf`, `NaN`).
//!
//! Names and label values are sanitized and escaped once, when a series is
//! registered; only numbers are written at render time, straight into the
//! output with `itoa`/`ryu` and no allocation.

/// `name` as a valid metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`: every other
/// character becomes `_`, and a leading digit gets a `_` in front of it
/// (`2xx` → `_2xx`) so the digit survives. An empty name becomes `_`.
pub(super) fn metric_name(name: &str) -> String {
    sanitize(name, true)
}

/// `name` as a valid label name, `[a-zA-Z_][a-zA-Z0-9_]*` (the format
/// allows `:` in metric names only); otherwise as [`metric_name`].
pub(super) fn label_name(name: &str) -> String {
    sanitize(name, false)
}

fn sanitize(name: &str, colon: bool) -> String {
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':');
    if name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
        && name.chars().all(valid)
    {
        return name.to_owned();
    }
    let mut out = String::with_capacity(name.len() + 1);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    out.extend(name.chars().map(|c| if valid(c) { c } else { '_' }));
    out
}

/// Appends `value` escaped for a label value: `\` → `\\`, `"` → `\"`,
/// newline → `\n`; everything else, any Unicode included, as it is.
pub(super) fn push_label_value(out: &mut String, value: &str) {
    push_escaped(out, value, true);
}

/// Appends `help` escaped for a `# HELP` line: `\` → `\\`, newline → `\n`
/// (double quotes need no escape there).
pub(super) fn push_help(out: &mut String, help: &str) {
    push_escaped(out, help, false);
}

fn push_escaped(out: &mut String, s: &str, quote: bool) {
    let special = |b: u8| b == b'\\' || b == b'\n' || (quote && b == b'"');
    if !s.bytes().any(special) {
        out.push_str(s);
        return;
    }
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        if special(b) {
            out.push_str(&s[start..i]);
            out.push_str(match b {
                b'\\' => "\\\\",
                b'\n' => "\\n",
                _ => "\\\"",
            });
            start = i + 1;
        }
    }
    out.push_str(&s[start..]);
}

/// Appends `v` in decimal.
#[inline]
pub(super) fn push_u64(out: &mut String, v: u64) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// Integers up to here are written exactly as integers (`1e15` < 2^53, so
/// every such `f64` is an exact integer); larger ones in exponent form.
const INTEGER_LIMIT: f64 = 1e15;

/// Appends `v` as Prometheus writes floats: `+Inf`, `-Inf`, `NaN`, whole
/// numbers without a fraction (`1`, `-3`, `0`), others in the shortest form
/// that reads back to the same `f64` (`0.005`, `1.5e-7`, `1e20`).
#[inline]
pub(super) fn push_f64(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < INTEGER_LIMIT {
        // Exact: a whole number below 2^53 converts to i64 without loss.
        out.push_str(itoa::Buffer::new().format(v as i64));
    } else {
        out.push_str(ryu::Buffer::new().format_finite(v));
    }
}

/// `v` formatted by [`push_f64`], for strings built once (bucket bounds).
pub(super) fn f64_string(v: f64) -> String {
    let mut s = String::new();
    push_f64(&mut s, v);
    s
}

#[cfg(test)]
mod tests {
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
    }
}
