//! A small parser for the Prometheus text exposition, so metric tests can
//! assert on exact sample values for an exact label set instead of
//! searching the text for substrings.
//!
//! ```
//! use obskit_test_support::prom;
//!
//! let text = "# TYPE hits counter\nhits_total{route=\"/a\",code=\"200\"} 3\n";
//! assert_eq!(prom::value(text, "hits_total", &[("route", "/a")]), Some(3.0));
//! assert_eq!(prom::exact(text, "hits_total", &[("route", "/a")]), None);
//! ```

use std::collections::BTreeMap;

/// One sample line: `name{labels} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric name, with its `_bucket`, `_sum`, `_count` or `_total` suffix.
    pub name: String,
    /// The labels, unescaped.
    pub labels: BTreeMap<String, String>,
    /// The value; `+Inf`, `-Inf` and `NaN` as the special floats.
    pub value: f64,
}

/// Every sample line of `text`; comments and blank lines are skipped.
///
/// # Panics
///
/// On a line that is not a well-formed sample.
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| parse_line(l).unwrap_or_else(|e| panic!("bad exposition line ({e}): {l:?}")))
        .collect()
}

fn parse_line(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or_else(|| "no value".to_owned())?;
    let name = line[..name_end].to_owned();
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(after) = rest.strip_prefix('{') {
        let mut chars = after.char_indices().peekable();
        let consumed = loop {
            // label name
            let mut key = String::new();
            for (_, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                key.push(c);
            }
            match chars.next() {
                Some((_, '"')) => {}
                other => return Err(format!("expected '\"' after {key}=, found {other:?}")),
            }
            let mut value = String::new();
            loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, c)) => value.push(c),
                        None => return Err("dangling escape".to_owned()),
                    },
                    Some((_, '"')) => break,
                    Some((_, c)) => value.push(c),
                    None => return Err("unterminated label value".to_owned()),
                }
            }
            if labels.insert(key.clone(), value).is_some() {
                return Err(format!("label {key} repeated"));
            }
            match chars.next() {
                Some((_, ',')) => {
                    if let Some(&(i, '}')) = chars.peek() {
                        break i + 1;
                    }
                }
                Some((i, '}')) => break i + 1,
                other => return Err(format!("expected ',' or '}}', found {other:?}")),
            }
        };
        rest = &after[consumed..];
    }
    let value_text = rest
        .split_whitespace()
        .next()
        .ok_or_else(|| "no value".to_owned())?;
    let value = match value_text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().map_err(|e| format!("value {v:?}: {e}"))?,
    };
    Ok(Sample {
        name,
        labels,
        value,
    })
}

fn label_map(labels: &[(&str, &str)]) -> BTreeMap<String, String> {
    labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Samples named `name` whose labels include every pair of `subset`.
pub fn matching(text: &str, name: &str, subset: &[(&str, &str)]) -> Vec<Sample> {
    let want = label_map(subset);
    parse(text)
        .into_iter()
        .filter(|s| s.name == name && want.iter().all(|(k, v)| s.labels.get(k) == Some(v)))
        .collect()
}

/// The value of the sample named `name` whose label set is exactly
/// `labels` (every label, the service label included); `None` if absent.
///
/// # Panics
///
/// When that sample appears twice.
pub fn exact(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let want = label_map(labels);
    let found: Vec<_> = parse(text)
        .into_iter()
        .filter(|s| s.name == name && s.labels == want)
        .collect();
    assert!(found.len() <= 1, "sample {name}{want:?} appears twice");
    found.first().map(|s| s.value)
}

/// The value of the one sample named `name` whose labels include `subset`.
///
/// # Panics
///
/// When several samples match (the assertion would be ambiguous).
pub fn value(text: &str, name: &str, subset: &[(&str, &str)]) -> Option<f64> {
    let found = matching(text, name, subset);
    assert!(
        found.len() <= 1,
        "{} samples of {name} match {subset:?}: {found:#?}",
        found.len()
    );
    found.first().map(|s| s.value)
}

/// The distinct values of label `label` across the samples named `name`.
pub fn label_values(text: &str, name: &str, label: &str) -> std::collections::BTreeSet<String> {
    parse(text)
        .into_iter()
        .filter(|s| s.name == name)
        .filter_map(|s| s.labels.get(label).cloned())
        .collect()
}

/// The distinct label sets (the `le` label removed) across the samples
/// whose name starts with `family`: the number of series of a histogram.
pub fn series(text: &str, family: &str) -> std::collections::BTreeSet<Vec<(String, String)>> {
    parse(text)
        .into_iter()
        .filter(|s| {
            s.name.strip_prefix(family).is_some_and(|rest| {
                rest.is_empty() || ["_bucket", "_sum", "_count"].contains(&rest)
            })
        })
        .map(|s| {
            s.labels
                .into_iter()
                .filter(|(k, _)| k != "le")
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{exact, parse, value};

    #[test]
    fn the_exposition_parser_reads_labels_escapes_and_special_values() {
        let text = "# HELP x y\n# TYPE x counter\nx_total{a=\"1\",b=\"q\\\"uote\\\\\"} 3\nup 1\nh_bucket{le=\"+Inf\"} +Inf\n";
        let s = parse(text);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].labels["b"], "q\"uote\\");
        assert_eq!(
            exact(text, "x_total", &[("a", "1"), ("b", "q\"uote\\")]),
            Some(3.0)
        );
        assert_eq!(exact(text, "x_total", &[("a", "1")]), None);
        assert_eq!(value(text, "x_total", &[("a", "1")]), Some(3.0));
        assert_eq!(value(text, "up", &[]), Some(1.0));
        assert!(value(text, "h_bucket", &[]).unwrap().is_infinite());
    }
}
