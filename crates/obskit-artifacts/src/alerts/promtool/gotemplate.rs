//! Expands the annotation templates the stock rules use, exactly as Prometheus would, so the
//! promtool tests can state the annotations an alert must carry (promtool compares them
//! byte for byte).
//!
//! Only the constructs the stock rules use are supported: `{{ $labels.<name> }}`, `{{ $value }}`
//! piped through `humanizePercentage` or `humanizeDuration`. Anything else is an error, so a
//! new construct in a rule cannot silently produce a wrong expectation.

use std::collections::BTreeMap;

/// Why a template could not be expanded.
#[derive(Debug, PartialEq)]
pub(crate) struct TemplateError(pub(crate) String);

/// Expands `template` for an alert whose sample has `labels` and `value`.
pub(crate) fn expand(
    template: &str,
    labels: &BTreeMap<String, String>,
    value: f64,
) -> Result<String, TemplateError> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| TemplateError(format!("unclosed action in `{template}`")))?;
        out.push_str(&action(after[..close].trim(), labels, value)?);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn action(
    action: &str,
    labels: &BTreeMap<String, String>,
    value: f64,
) -> Result<String, TemplateError> {
    if let Some(name) = action.strip_prefix("$labels.") {
        return labels
            .get(name)
            .cloned()
            .ok_or_else(|| TemplateError(format!("label `{name}` is not on the alert's sample")));
    }
    let parts: Vec<&str> = action.split('|').map(str::trim).collect();
    match parts.as_slice() {
        ["$value"] => plain_integer(value),
        ["$value", "humanizePercentage"] => Ok(format!("{}%", go_g4(value * 100.0)?)),
        ["$value", "humanizeDuration"] => humanize_duration(value),
        _ => Err(TemplateError(format!(
            "unsupported template action `{{{{ {action} }}}}`"
        ))),
    }
}

/// `{{ $value }}` of a whole number, as Go prints a float64 with `%v` (no exponent below
/// 1e21). Other values are refused: the rules print `$value` bare only for counts.
fn plain_integer(v: f64) -> Result<String, TemplateError> {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        Ok(format!("{}", v as i64))
    } else {
        Err(TemplateError(format!(
            "{v} is not a whole number; print it through a humanize function"
        )))
    }
}

/// Prometheus' `humanizeDuration`.
fn humanize_duration(v: f64) -> Result<String, TemplateError> {
    if v.is_nan() || v.is_infinite() {
        return go_g4(v);
    }
    if v == 0.0 {
        return Ok(format!("{}s", go_g4(v)?));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        let v = v.abs();
        // Go converts with int64(v): truncation toward zero, like `as`.
        let duration = v as i64;
        let (seconds, minutes) = (duration % 60, (duration / 60) % 60);
        let (hours, days) = ((duration / 3600) % 24, duration / 86_400);
        return Ok(if days != 0 {
            format!("{sign}{days}d {hours}h {minutes}m {seconds}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {minutes}m {seconds}s")
        } else if minutes != 0 {
            format!("{sign}{minutes}m {seconds}s")
        } else {
            format!("{sign}{}s", go_g4(v)?)
        });
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    Ok(format!("{}{prefix}s", go_g4(v)?))
}

/// Go's `fmt.Sprintf("%.4g", v)`: four significant digits, trailing zeros dropped, exponent form
/// when the exponent is below -4 or at least 4. A value exactly halfway between two 4-digit
/// results is refused: Go and Rust agree on how to round it, but an expectation that close to
/// the edge is too fragile to state.
pub(crate) fn go_g4(v: f64) -> Result<String, TemplateError> {
    if v.is_nan() {
        return Ok("NaN".to_owned());
    }
    if v.is_infinite() {
        return Ok(if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned());
    }
    if v == 0.0 {
        return Ok(if v.is_sign_negative() { "-0" } else { "0" }.to_owned());
    }
    let precise = format!("{:.40e}", v.abs());
    let tail = &precise[precise.find('.').map_or(0, |i| i + 4)..precise.find('e').unwrap_or(0)];
    if tail.starts_with('5') && tail[1..].bytes().all(|b| b == b'0') {
        return Err(TemplateError(format!(
            "{v} is a rounding tie for 4 significant digits"
        )));
    }
    let rounded = format!("{:.3e}", v.abs());
    let (mantissa, exp) = rounded
        .split_once('e')
        .ok_or_else(|| TemplateError(format!("unexpected float format `{rounded}`")))?;
    let exp: i32 = exp
        .parse()
        .map_err(|_| TemplateError(format!("unexpected float exponent in `{rounded}`")))?;
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if v < 0.0 { "-" } else { "" };
    if !(-4..4).contains(&exp) {
        let mut m = format!("{}.{}", &digits[..1], &digits[1..]);
        trim_fraction(&mut m);
        let esign = if exp < 0 { '-' } else { '+' };
        return Ok(format!("{sign}{m}e{esign}{:02}", exp.abs()));
    }
    let mut text = if exp >= 0 {
        let int_len = (exp + 1) as usize;
        format!("{}.{}", &digits[..int_len], &digits[int_len..])
    } else {
        format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
    };
    trim_fraction(&mut text);
    Ok(format!("{sign}{text}"))
}

fn trim_fraction(text: &mut String) {
    if text.contains('.') {
        while text.ends_with('0') {
            text.pop();
        }
        if text.ends_with('.') {
            text.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_go_percent_g_with_precision_4() {
        // Expected strings are what Go's fmt.Sprintf("%.4g", v) prints.
        let cases = [
            (2.0, "2"),
            (1.584, "1.584"),
            (1.5845001, "1.585"),
            (99.99999, "100"),
            (1234.4, "1234"),
            (12346.0, "1.235e+04"),
            (0.000_123_44, "0.0001234"),
            (0.000_012_34, "1.234e-05"),
            (747.5000001, "747.5"),
            (-0.5, "-0.5"),
            (0.0, "0"),
        ];
        for (v, want) in cases {
            assert_eq!(go_g4(v).unwrap(), want, "{v}");
        }
        assert!(go_g4(1.0625).is_err(), "exact binary tie must be refused");
    }

    #[test]
    fn expands_labels_and_humanized_values() {
        let labels: BTreeMap<String, String> =
            [("service_name".to_owned(), "checkout".to_owned())].into();
        let text = "{{ $labels.service_name }}: {{ $value | humanizePercentage }} / {{$value|humanizeDuration}}";
        assert_eq!(
            expand(text, &labels, 0.0158).unwrap(),
            "checkout: 1.58% / 15.8ms"
        );
        assert_eq!(humanize_duration(0.7475).unwrap(), "747.5ms");
        assert_eq!(humanize_duration(3725.0).unwrap(), "1h 2m 5s");
        assert_eq!(humanize_duration(1.5).unwrap(), "1.5s");
        assert!(expand("{{ $labels.nope }}", &labels, 0.0).is_err());
        assert!(expand("{{ $value | humanize }}", &labels, 0.0).is_err());
        assert_eq!(
            expand("{{ $value }} left", &labels, 1200.0).unwrap(),
            "1200 left"
        );
        assert!(expand("{{ $value }}", &labels, 0.5).is_err());
        assert!(expand("{{ $value", &labels, 0.0).is_err());
    }
}
