//! Builders for the few PromQL shapes the generators need, so label and metric names come from
//! `obskit-names` constants and are never retyped inside format strings.

use std::fmt;

/// A vector selector: a metric name and its label matchers, printed as `metric{l="v", ...}`.
#[derive(Debug, Clone)]
pub(crate) struct Selector {
    metric: String,
    matchers: Vec<(String, &'static str, String)>,
}

impl Selector {
    /// A selector for `metric` without matchers.
    pub(crate) fn new(metric: impl Into<String>) -> Self {
        Self {
            metric: metric.into(),
            matchers: Vec::new(),
        }
    }
    /// Adds `label="value"`.
    pub(crate) fn eq(self, label: &str, value: &str) -> Self {
        self.with(label, "=", value)
    }
    /// Adds `label!="value"`.
    pub(crate) fn ne(self, label: &str, value: &str) -> Self {
        self.with(label, "!=", value)
    }
    /// Adds `label=~"regex"`.
    pub(crate) fn re(self, label: &str, regex: &str) -> Self {
        self.with(label, "=~", regex)
    }
    fn with(mut self, label: &str, op: &'static str, value: &str) -> Self {
        self.matchers.push((label.to_owned(), op, value.to_owned()));
        self
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.metric)?;
        if self.matchers.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, (label, op, value)) in self.matchers.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
            write!(f, "{label}{op}\"{escaped}\"")?;
        }
        f.write_str("}")
    }
}

/// `rate(selector[window])`.
pub(crate) fn rate(selector: &Selector, window: impl fmt::Display) -> String {
    format!("rate({selector}[{window}])")
}

/// `increase(selector[window])`.
pub(crate) fn increase(selector: &Selector, window: impl fmt::Display) -> String {
    format!("increase({selector}[{window}])")
}

/// `sum by (labels) (inner)`.
pub(crate) fn sum_by(labels: &[&str], inner: &str) -> String {
    format!("sum by ({}) ({inner})", labels.join(", "))
}

/// A float literal PromQL parses back to the same `f64` (`14.4`, `6`, `0.01`).
pub(crate) fn number(value: f64) -> String {
    format!("{value}")
}

#[cfg(test)]
mod tests {
    use super::{Selector, number, rate, sum_by};

    #[test]
    fn selector_prints_matchers_in_order_and_escapes_values() {
        let sel = Selector::new("m")
            .eq("a", "x")
            .ne("b", "")
            .re("c", "a\"b\\");
        assert_eq!(sel.to_string(), r#"m{a="x", b!="", c=~"a\"b\\"}"#);
        assert_eq!(Selector::new("up").to_string(), "up");
    }

    #[test]
    fn helpers_compose() {
        let inner = rate(&Selector::new("m"), "5m");
        assert_eq!(sum_by(&["a", "b"], &inner), "sum by (a, b) (rate(m[5m]))");
        assert_eq!(number(14.4), "14.4");
        assert_eq!(number(6.0), "6");
        assert_eq!(number(0.01), "0.01");
    }
}
