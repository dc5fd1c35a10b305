//! Which exposition format a scrape gets: HTTP content negotiation on the
//! `Accept` header, as the OpenMetrics specification asks of `/metrics`.

/// The content type of the Prometheus text format 0.0.4.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The content type of OpenMetrics 1.0 text, as the specification spells it.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// An exposition format of [`MetricsHandle::render_as`](super::MetricsHandle::render_as).
///
/// ```
/// use obskit::metrics::Format;
///
/// // What Prometheus 2.x sends on every scrape.
/// let prometheus = "application/openmetrics-text;version=1.0.0,\
///     application/openmetrics-text;version=0.0.1;q=0.75,\
///     text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/// assert_eq!(Format::from_accept(Some(prometheus)), Format::OpenMetrics);
/// assert_eq!(Format::from_accept(Some("*/*")), Format::Prometheus);
/// assert_eq!(Format::from_accept(None), Format::Prometheus);
/// assert_eq!(
///     Format::OpenMetrics.content_type(),
///     "application/openmetrics-text; version=1.0.0; charset=utf-8"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Format {
    /// Prometheus text format 0.0.4, the default: no exemplars.
    #[default]
    Prometheus,
    /// OpenMetrics 1.0 text, with exemplars from sampled requests.
    OpenMetrics,
}

impl Format {
    /// The format to answer a request with this `Accept` header (all of its
    /// values joined with `,` when there are several).
    ///
    /// OpenMetrics when the header names `application/openmetrics-text`
    /// (without a `version` or with `version=1.0.0`) with a quality above 0
    /// and at least that of the best range the Prometheus text format
    /// matches (`text/plain` without a version or with `version=0.0.4`,
    /// `text/*`, `*/*`). Everything else — no header, a header that names
    /// neither, only OpenMetrics versions this crate does not write, a
    /// malformed quality — gets the Prometheus text format: an unexpected
    /// scraper still gets numbers rather than a 406.
    pub fn from_accept(accept: Option<&str>) -> Self {
        let Some(accept) = accept else {
            return Self::Prometheus;
        };
        let mut openmetrics = 0.0_f32;
        let mut prometheus = 0.0_f32;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim();
            let mut quality = 1.0_f32;
            let mut version = None;
            let mut valid = true;
            for param in parts {
                let Some((key, value)) = param.split_once('=') else {
                    continue;
                };
                let value = value.trim().trim_matches('"');
                match key.trim().to_ascii_lowercase().as_str() {
                    "q" => match value.parse::<f32>() {
                        Ok(q) if (0.0..=1.0).contains(&q) => quality = q,
                        _ => valid = false,
                    },
                    "version" => version = Some(value),
                    _ => {}
                }
            }
            if !valid {
                continue;
            }
            let is = |name: &str| media.eq_ignore_ascii_case(name);
            if is("application/openmetrics-text") {
                if version.is_none_or(|v| v == "1.0.0") {
                    openmetrics = openmetrics.max(quality);
                }
            } else if is("text/plain") {
                if version.is_none_or(|v| v == "0.0.4") {
                    prometheus = prometheus.max(quality);
                }
            } else if is("text/*") || is("*/*") {
                prometheus = prometheus.max(quality);
            }
        }
        if openmetrics > 0.0 && openmetrics >= prometheus {
            Self::OpenMetrics
        } else {
            Self::Prometheus
        }
    }

    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Prometheus => PROMETHEUS_CONTENT_TYPE,
            Self::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_choose_the_format() {
        let om = Format::OpenMetrics;
        let text = Format::Prometheus;
        for (accept, expected) in [
            // Prometheus 2.x's scrape header.
            (
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                om,
            ),
            // Prometheus 3.x's default (scrape_protocols), protobuf first.
            (
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,application/openmetrics-text;version=1.0.0;q=0.4,application/openmetrics-text;version=0.0.1;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
                om,
            ),
            ("application/openmetrics-text", om),
            ("Application/OpenMetrics-Text; Version=\"1.0.0\"", om),
            (
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                om,
            ),
            ("text/plain, application/openmetrics-text", om),
            ("text/plain;q=0.9, application/openmetrics-text;q=0.8", text),
            ("application/openmetrics-text;q=0", text),
            ("application/openmetrics-text;version=0.0.1", text),
            ("application/openmetrics-text;version=2.0.0", text),
            ("application/openmetrics-text;q=high", text),
            ("application/openmetrics-text;q=1.5", text),
            ("*/*", text),
            ("text/plain", text),
            ("text/plain;version=0.0.4", text),
            (
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                text,
            ),
            ("application/json", text),
            ("", text),
            (",;;=,", text),
        ] {
            assert_eq!(Format::from_accept(Some(accept)), expected, "{accept}");
        }
        assert_eq!(Format::from_accept(None), text);
        assert_eq!(Format::default(), text);
        assert_eq!(
            Format::Prometheus.content_type(),
            "text/plain; version=0.0.4; charset=utf-8"
        );
    }
}
