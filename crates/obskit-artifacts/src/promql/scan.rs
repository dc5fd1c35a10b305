//! A PromQL scanner that finds the metric names, label names and vector selectors of an
//! expression. It tokenizes (strings, `{...}` matchers, `[...]` ranges, Grafana `$variables`)
//! and classifies identifiers by what follows them, which is all these questions need.

use std::collections::BTreeSet;

/// Keywords followed by a parenthesised list of label names.
const LABEL_LIST_KEYWORDS: [&str; 6] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];
/// Keywords and literals that are neither metrics nor functions.
const OTHER_KEYWORDS: [&str; 8] = [
    "and", "or", "unless", "bool", "offset", "atan2", "inf", "nan",
];

#[derive(Debug, PartialEq)]
enum Tok<'a> {
    Ident(&'a str),
    /// The text between `{` and `}`.
    Matchers(&'a str),
    Open,
    Close,
    Other,
}

fn tokenize(expr: &str) -> Vec<Tok<'_>> {
    let bytes = expr.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'"' | b'\'' | b'`' => {
                i = skip_string(bytes, i);
                toks.push(Tok::Other);
            }
            b'{' => {
                let end = find_close(bytes, i + 1, b'}');
                toks.push(Tok::Matchers(&expr[i + 1..end.min(bytes.len())]));
                i = end + 1;
            }
            b'[' => {
                i = find_close(bytes, i + 1, b']') + 1;
                toks.push(Tok::Other);
            }
            b'(' => {
                toks.push(Tok::Open);
                i += 1;
            }
            b')' => {
                toks.push(Tok::Close);
                i += 1;
            }
            b'$' => {
                // Grafana variable: `$name` or `${name}` / `${name:format}`.
                i += 1;
                if bytes.get(i) == Some(&b'{') {
                    i = find_close(bytes, i + 1, b'}') + 1;
                } else {
                    while i < bytes.len() && is_ident_byte(bytes[i]) {
                        i += 1;
                    }
                }
                toks.push(Tok::Other);
            }
            _ if c.is_ascii_digit()
                || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                while i < bytes.len() && (is_ident_byte(bytes[i]) || bytes[i] == b'.') {
                    i += 1;
                }
                toks.push(Tok::Other);
            }
            _ if c.is_ascii_alphabetic() || c == b'_' || c == b':' => {
                let start = i;
                while i < bytes.len() && is_ident_byte(bytes[i]) {
                    i += 1;
                }
                toks.push(Tok::Ident(&expr[start..i]));
            }
            _ if c.is_ascii_whitespace() => i += 1,
            _ => {
                toks.push(Tok::Other);
                i += 1;
            }
        }
    }
    toks
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

/// Index just past the string literal starting at `start`.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        if bytes[i] == b'\\' && quote != b'`' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// Index of the `close` byte that ends a block opened before `from`, skipping string literals.
fn find_close(bytes: &[u8], from: usize, close: u8) -> usize {
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' | b'`' => i = skip_string(bytes, i),
            b if b == close => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Label names on the left of each matcher in `{...}`.
fn matcher_labels(matchers: &str) -> Vec<String> {
    let bytes = matchers.as_bytes();
    let mut labels = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b',') {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && is_ident_byte(bytes[i]) {
            i += 1;
        }
        if i > start {
            labels.push(matchers[start..i].to_owned());
        }
        // Skip the operator and the quoted value.
        while i < bytes.len() && !matches!(bytes[i], b'"' | b'\'' | b'`' | b',') {
            i += 1;
        }
        if i < bytes.len() && bytes[i] != b',' {
            i = skip_string(bytes, i);
        }
    }
    labels
}

#[derive(Default)]
struct Found {
    selectors: Vec<String>,
    metrics: BTreeSet<String>,
    labels: BTreeSet<String>,
}

fn scan(expr: &str) -> Found {
    let toks = tokenize(expr);
    let mut found = Found::default();
    let mut i = 0;
    while i < toks.len() {
        match toks[i] {
            Tok::Ident(word) => {
                let lower = word.to_ascii_lowercase();
                let next = toks.get(i + 1);
                if LABEL_LIST_KEYWORDS.contains(&lower.as_str()) {
                    if next == Some(&Tok::Open) {
                        i += 2;
                        while i < toks.len() && toks[i] != Tok::Close {
                            if let Tok::Ident(label) = toks[i] {
                                found.labels.insert(label.to_owned());
                            }
                            i += 1;
                        }
                    }
                } else if OTHER_KEYWORDS.contains(&lower.as_str())
                    || next == Some(&Tok::Open)
                    || matches!(next, Some(Tok::Ident(w)) if ["by", "without"].contains(&w.to_ascii_lowercase().as_str()))
                {
                    // A keyword, a function call, or an aggregation (`sum by (...) (...)`).
                } else if let Some(Tok::Matchers(m)) = next {
                    found.metrics.insert(word.to_owned());
                    found.selectors.push(format!("{word}{{{m}}}"));
                    found.labels.extend(matcher_labels(m));
                    i += 1;
                } else {
                    found.metrics.insert(word.to_owned());
                    found.selectors.push(word.to_owned());
                }
            }
            Tok::Matchers(m) => {
                found.selectors.push(format!("{{{m}}}"));
                found.labels.extend(matcher_labels(m));
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// Every metric name an expression selects (`up`, `http_server_request_duration_seconds_bucket`,
/// recording-rule names...). Function names, keywords, label names, strings, durations and
/// Grafana variables are not metric names.
///
/// ```
/// let names = obskit_artifacts::promql::metric_names(
///     r#"sum by (le) (rate(http_server_request_duration_seconds_bucket{http_route=~"$route"}[$__rate_interval]))"#,
/// );
/// assert_eq!(names.into_iter().collect::<Vec<_>>(), ["http_server_request_duration_seconds_bucket"]);
/// ```
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    scan(expr).metrics
}

/// Every label name an expression mentions, in matchers and in `by`/`without`/`on`/`ignoring`/
/// `group_left`/`group_right` lists.
pub fn label_names(expr: &str) -> BTreeSet<String> {
    scan(expr).labels
}

/// Every vector selector of an expression, in order of appearance, as PromQL that can be sent on
/// its own (`metric{matchers}`): the series an expression depends on. A live test can query each
/// one to prove that a rule or panel does not rest on a series nobody exports.
pub fn vector_selectors(expr: &str) -> Vec<String> {
    scan(expr).selectors
}

#[cfg(test)]
mod tests {
    use super::{label_names, metric_names, vector_selectors};

    fn set(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn finds_metrics_not_functions_keywords_or_labels() {
        let expr = r#"
            histogram_quantile(0.99, sum by (service_name, le) (rate(a_bucket{x="}"}[5m])))
              > on (service_name) group_right () max by (service_name, slo) (b)
            and on (service_name) sum by (service_name) (increase(c_count[5m] offset 1h)) >= 100
            or vector(0) unless bool_metric * Inf
        "#;
        assert_eq!(
            metric_names(expr).into_iter().collect::<Vec<_>>(),
            set(&["a_bucket", "b", "bool_metric", "c_count"])
        );
        assert_eq!(
            label_names(expr).into_iter().collect::<Vec<_>>(),
            set(&["le", "service_name", "slo", "x"])
        );
    }

    #[test]
    fn skips_grafana_variables_strings_and_recording_rule_colons() {
        let expr = r#"label_replace(vector(0), "tier", "none firing", "", "") or a:b:rate5m{s=~"$service", r=~"${route:regex}"} / on (s) c[$__rate_interval]"#;
        assert_eq!(
            metric_names(expr).into_iter().collect::<Vec<_>>(),
            set(&["a:b:rate5m", "c"])
        );
        assert_eq!(
            vector_selectors(expr),
            set(&[r#"a:b:rate5m{s=~"$service", r=~"${route:regex}"}"#, "c"])
        );
    }

    #[test]
    fn selectors_keep_their_matchers() {
        assert_eq!(
            vector_selectors(
                r#"(up == 0) * on (job) group_left (svc) max_over_time(info{a!=""}[1d])"#
            ),
            set(&["up", r#"info{a!=""}"#])
        );
        assert_eq!(
            vector_selectors(r#"{__name__="x"}"#),
            set(&[r#"{__name__="x"}"#])
        );
        assert_eq!(
            label_names(r#"{__name__="x", y=~"a,b"}"#)
                .into_iter()
                .collect::<Vec<_>>(),
            set(&["__name__", "y"])
        );
    }
}
