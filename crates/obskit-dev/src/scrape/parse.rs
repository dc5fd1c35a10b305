//! A parser for the sample lines of Prometheus text 0.0.4 and OpenMetrics 1.0, with
//! OpenMetrics exemplars (`# {trace_id="…",span_id="…"} value [timestamp]`).
//!
//! Only what the dev viewer needs: sample name, labels, value, exemplar. Comments, `TYPE`
//! and `HELP` lines and `# EOF` are skipped.

/// An exemplar attached to a sample (OpenMetrics only).
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    /// The exemplar's labels, e.g. `trace_id` and `span_id`.
    pub labels: Vec<(String, String)>,
    /// The observed value (seconds, for a duration histogram).
    pub value: f64,
    /// When it was observed, in seconds since the epoch, if given.
    pub timestamp: Option<f64>,
}

impl Exemplar {
    /// The value of label `name`.
    pub fn label(&self, name: &str) -> Option<&str> {
        label(&self.labels, name)
    }
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The sample name, e.g. `http_server_request_duration_seconds_bucket`.
    pub name: String,
    /// Its labels, in the order written.
    pub labels: Vec<(String, String)>,
    /// Its value.
    pub value: f64,
    /// Its exemplar, if any.
    pub exemplar: Option<Exemplar>,
}

impl Sample {
    /// The value of label `name`.
    pub fn label(&self, name: &str) -> Option<&str> {
        label(&self.labels, name)
    }
}

fn label<'a>(labels: &'a [(String, String)], name: &str) -> Option<&'a str> {
    labels
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Why a line could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("line {line} of the metrics is not a sample ({reason}): `{text}`")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub reason: &'static str,
    /// The line.
    pub text: String,
}

/// Parses a whole exposition, keeping only samples whose name `keep` accepts.
///
/// ```
/// use obskit_dev::scrape::parse::parse;
/// let text = "# TYPE up gauge\nup{job=\"a\\\"b\"} 1\n";
/// let samples = parse(text, |_| true).unwrap();
/// assert_eq!(samples[0].label("job"), Some("a\"b"));
/// assert_eq!(samples[0].value, 1.0);
/// ```
pub fn parse(text: &str, keep: impl Fn(&str) -> bool) -> Result<Vec<Sample>, ParseError> {
    let mut samples = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        if !keep(&line[..name_end]) {
            continue;
        }
        let error = |reason| ParseError {
            line: index + 1,
            reason,
            text: line.to_owned(),
        };
        samples.push(parse_sample(line).map_err(error)?);
    }
    Ok(samples)
}

fn parse_sample(line: &str) -> Result<Sample, &'static str> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = line[..name_end].to_owned();
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if rest.starts_with('{') {
        let (parsed, after) = parse_labels(rest)?;
        labels = parsed;
        rest = after;
    }
    let (value_part, exemplar_part) = match rest.find(" # ") {
        Some(at) => (&rest[..at], Some(&rest[at + 3..])),
        None => (rest, None),
    };
    let value = value_part
        .split_whitespace()
        .next()
        .ok_or("no value")
        .and_then(parse_value)?;
    let exemplar = exemplar_part.map(parse_exemplar).transpose()?;
    Ok(Sample {
        name,
        labels,
        value,
        exemplar,
    })
}

fn parse_exemplar(text: &str) -> Result<Exemplar, &'static str> {
    let text = text.trim_start();
    if !text.starts_with('{') {
        return Err("an exemplar must start with `{`");
    }
    let (labels, rest) = parse_labels(text)?;
    let mut parts = rest.split_whitespace();
    let value = parts
        .next()
        .ok_or("an exemplar needs a value")
        .and_then(parse_value)?;
    let timestamp = parts.next().map(parse_value).transpose()?;
    Ok(Exemplar {
        labels,
        value,
        timestamp,
    })
}

fn parse_value(text: &str) -> Result<f64, &'static str> {
    match text {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        other => other.parse().map_err(|_| "the value is not a number"),
    }
}

/// Label pairs in the order written.
type Labels = Vec<(String, String)>;

/// Parses `{a="x",b="y"}` at the start of `text`; returns the labels and what follows.
fn parse_labels(text: &str) -> Result<(Labels, &str), &'static str> {
    let mut labels = Vec::new();
    let mut rest = &text[1..];
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let eq = rest.find('=').ok_or("a label has no `=`")?;
        let key = rest[..eq].trim().to_owned();
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("a label value must be quoted")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                Some((at, '"')) => break at,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => value.push(other),
                    None => return Err("a label value is not closed"),
                },
                Some((_, c)) => value.push(c),
                None => return Err("a label value is not closed"),
            }
        };
        labels.push((key, value));
        rest = &rest[end + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_prometheus_text() {
        let text = "\
# HELP http_server_request_duration_seconds Duration.
# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{http_route=\"/a\",le=\"0.005\"} 3
http_server_request_duration_seconds_bucket{http_route=\"/a\",le=\"+Inf\"} 4
http_server_request_duration_seconds_count{http_route=\"/a\"} 4 1700000000000
process_threads 7
";
        let samples = parse(text, |name| name.starts_with("http_")).unwrap();
        assert_eq!(samples.len(), 3);
        assert_eq!(samples[1].label("le"), Some("+Inf"));
        assert_eq!(samples[2].value, 4.0);
        assert!(samples.iter().all(|s| s.exemplar.is_none()));
    }

    #[test]
    fn reads_openmetrics_exemplars() {
        let text = "\
# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{le=\"0.01\",http_route=\"/a # b\"} 2 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\",span_id=\"00f067aa0ba902b7\"} 0.0042 1733000000.123
obskit_slo_requests_total{slo=\"availability\",result=\"good\"} 5
# EOF
";
        let samples = parse(text, |_| true).unwrap();
        assert_eq!(samples[0].label("http_route"), Some("/a # b"));
        assert_eq!(samples[0].value, 2.0);
        let exemplar = samples[0].exemplar.as_ref().unwrap();
        assert_eq!(
            exemplar.label("trace_id"),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(exemplar.value, 0.0042);
        assert_eq!(exemplar.timestamp, Some(1_733_000_000.123));
        assert_eq!(samples[1].value, 5.0);
    }

    #[test]
    fn a_broken_line_names_its_number() {
        let err = parse("a 1\nb{x=\"1} 2\n", |_| true).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.to_string().contains("not closed"), "{err}");
        assert!(parse("c nope\n", |_| true).is_err());
    }
}
