//! The service page: RED per route over the last minutes, the messaging destinations (see
//! [`super::messaging`]) and each declared SLO's error ratio and burn rate over the stock
//! tiers' windows, from the scraped `/metrics`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use super::html::{
    duration, escape, histogram_duration, param, percent, push_escaped, query_value,
};
use crate::figures::{self, Coverage, SloFigures, WindowFigures};
use crate::scrape::Scrape;
use crate::store::MessageHop;

/// The windows the RED table offers, in seconds.
const RED_WINDOWS: [u64; 4] = [60, 300, 900, 3600];

/// The page's options, from the query string.
#[derive(Debug, Default, Clone)]
pub struct ServiceQuery {
    /// RED window in seconds (default: the stock RED alerts' window).
    pub window: Option<u64>,
}

impl ServiceQuery {
    /// Reads the options from query pairs: `window` in seconds (`300`) or as a duration
    /// (`5m`, `1h`); returns the problems with values that could not be used.
    ///
    /// ```
    /// use obskit_dev::ui::html::parse_query;
    /// use obskit_dev::ui::service::ServiceQuery;
    /// assert_eq!(ServiceQuery::from_query(&parse_query("window=1h")).0.window, Some(3600));
    /// assert_eq!(ServiceQuery::from_query(&parse_query("window=300")).0.window, Some(300));
    /// assert_eq!(ServiceQuery::from_query(&parse_query("window=")).0.window, None);
    /// assert_eq!(ServiceQuery::from_query(&parse_query("window=soon")).1.len(), 1);
    /// ```
    pub fn from_query(pairs: &[(String, String)]) -> (Self, Vec<String>) {
        let text = param(pairs, "window");
        if text.is_empty() {
            return (Self::default(), Vec::new());
        }
        let secs = text
            .parse::<u64>()
            .ok()
            .or_else(|| humantime::parse_duration(text).ok().map(|d| d.as_secs()));
        match secs {
            Some(secs) if secs > 0 => (Self { window: Some(secs) }, Vec::new()),
            _ => (
                Self::default(),
                vec![format!(
                    "window `{text}` is not a duration such as 5m, 1h or 300 (seconds); showing the default window"
                )],
            ),
        }
    }
}

/// Durations (ns, sorted) of the server spans the store holds, by (service, method, route).
pub type SpanDurations = HashMap<(String, String, String), Vec<u64>>;

/// Where the scrapes come from and how they went, for the page's header.
#[derive(Debug, Clone, Default)]
pub struct ScrapeInfo {
    /// The URL scraped, if any.
    pub url: Option<String>,
    /// When scraping started (seconds since the epoch).
    pub since: f64,
    /// When the last scrape succeeded.
    pub last_ok: Option<f64>,
    /// The latest error, if the latest attempt failed.
    pub error: Option<String>,
    /// Whether the figures come from metrics received over OTLP rather than a scrape.
    pub otlp: bool,
}

/// The page body; `spans` gives the percentiles of the routes whose spans the store holds,
/// `messages` the latest messages processed.
pub fn body(
    scrapes: &[Arc<Scrape>],
    query: &ServiceQuery,
    info: &ScrapeInfo,
    now: f64,
    problems: &[String],
    spans: &SpanDurations,
    messages: &[MessageHop],
) -> String {
    let window = Duration::from_secs(
        query
            .window
            .unwrap_or_else(|| obskit_artifacts::red_window().as_secs())
            .clamp(10, 3 * 86_400),
    );
    let mut out = String::with_capacity(16 * 1024);
    out.push_str("<h1>Service</h1>");
    super::html::problems(&mut out, problems);
    out.push_str("<p id=\"scrape\" data-live=\"1\">");
    match &info.url {
        None if info.otlp => {
            out.push_str("Figures from the metrics received over OTLP (nothing is scraped).")
        }
        None => out.push_str(
            "Nothing is scraped: run the service under <code>obskit dev -- COMMAND</code>, or pass \
             <code>--metrics-url</code>.",
        ),
        Some(url) => {
            out.push_str("Scraping <span class=\"mono\">");
            push_escaped(&mut out, url);
            out.push_str("</span>: ");
            match info.last_ok {
                Some(at) => {
                    let _ = write!(out, "last scrape {:.0} s ago", (now - at).max(0.0));
                }
                None => out.push_str("no successful scrape yet"),
            }
            if let Some(error) = &info.error {
                out.push_str(" · <span class=\"error\">");
                push_escaped(&mut out, error);
                out.push_str("</span>");
            }
        }
    }
    if info.otlp && info.url.is_some() {
        out.push_str(" · figures from the metrics received over OTLP");
    }
    out.push_str("</p>");

    let (routes, coverage) = figures::red(scrapes, window, info.since);
    out.push_str("<h2>RED by route</h2><form class=\"filters\" method=\"get\" action=\"/service\"><label>Window<select name=\"window\">");
    // A window asked for in the address (`?window=2h`) is offered too, selected.
    let mut windows = RED_WINDOWS.to_vec();
    if !windows.contains(&window.as_secs()) {
        windows.push(window.as_secs());
        windows.sort_unstable();
    }
    for secs in windows {
        let selected = if secs == window.as_secs() {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            out,
            "<option value=\"{secs}\"{selected}>{}</option>",
            window_name(secs)
        );
    }
    let _ = write!(
        out,
        "</select></label><button type=\"submit\">Show</button><span class=\"muted\">{}</span></form>",
        coverage_note(&coverage)
    );
    out.push_str(
        "<table id=\"red\"><thead><tr><th>Service</th><th>Method</th><th>Route</th><th class=\"num\">Requests</th>\
         <th class=\"num\">Rate</th><th class=\"num\">Errors</th><th class=\"num\">p50</th><th class=\"num\">p95</th>\
         <th class=\"num\">p99</th><th>Example traces</th></tr></thead><tbody id=\"red-rows\" data-live=\"1\">",
    );
    let threshold = obskit_artifacts::RED_ERROR_RATIO_THRESHOLD;
    for route in &routes {
        out.push_str("<tr class=\"route\" data-route=\"");
        push_escaped(&mut out, &route.route);
        out.push_str("\"><td>");
        push_escaped(&mut out, &route.service);
        out.push_str("</td><td>");
        push_escaped(&mut out, &route.method);
        let _ = write!(
            out,
            "</td><td><a href=\"/traces?route={}\">{}</a></td><td class=\"num\">{:.0}</td><td class=\"num\">{:.2}/s</td>\
             <td class=\"num{}\">{}</td>",
            escape(&query_value(&route.route)),
            escape(&route.route),
            route.requests,
            route.rate,
            if route.error_ratio() > threshold {
                " error"
            } else {
                ""
            },
            percent(route.error_ratio()),
        );
        let held = spans.get(&(
            route.service.clone(),
            route.method.clone(),
            route.route.clone(),
        ));
        for (i, q) in [0.5, 0.95, 0.99].into_iter().enumerate() {
            let cell = match held.and_then(|d| figures::nearest_rank(q, d)) {
                Some(nanos) => format!(
                    "<span title=\"from the {} spans held\">{}</span>",
                    held.map_or(0, Vec::len),
                    duration(nanos as f64)
                ),
                None => histogram_duration(route.below_first_bucket[i], route.quantiles[i]),
            };
            let _ = write!(out, "<td class=\"num\">{cell}</td>");
        }
        out.push_str("<td>");
        for exemplar in &route.exemplars {
            let _ = write!(
                out,
                "<a class=\"exemplar mono\" href=\"/traces/{}\">{}</a> ({}) ",
                escape(&exemplar.trace_id),
                escape(exemplar.trace_id.get(..8).unwrap_or(&exemplar.trace_id)),
                duration(exemplar.seconds * 1e9)
            );
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</tbody></table>");
    if routes.is_empty() {
        out.push_str("<p class=\"muted\">No requests in this window.</p>");
    }

    let (destinations, _) = figures::messaging::destinations(scrapes, window, info.since);
    super::messaging::section(&mut out, &destinations, messages, (now * 1e9) as u64);
    slo_section(&mut out, &figures::slos(scrapes, info.since));
    out
}

fn slo_section(out: &mut String, slos: &[SloFigures]) {
    out.push_str(
        "<h2>SLOs</h2><p class=\"muted\">Error ratio and burn rate (error ratio ÷ error budget) over the windows of the \
         stock multi-window burn-rate alerts; a tier would fire when both its windows burn faster than its factor \
         (the alerts also wait for their <code>for</code> duration and a minimum of traffic).</p>",
    );
    if slos.is_empty() {
        out.push_str("<p class=\"muted\">No SLO declared in the scraped metrics.</p>");
        return;
    }
    out.push_str(
        "<table id=\"slos\"><thead><tr><th>Service</th><th>SLO</th><th class=\"num\">Objective</th><th>Tier</th>\
         <th class=\"num\">Factor</th><th>Long window</th><th>Short window</th><th>Burning</th></tr></thead><tbody id=\"slo-rows\" data-live=\"1\">",
    );
    for slo in slos {
        for tier in &slo.tiers {
            out.push_str("<tr class=\"slo\" data-slo=\"");
            push_escaped(out, &slo.slo);
            out.push_str("\"><td>");
            push_escaped(out, &slo.service);
            out.push_str("</td><td>");
            push_escaped(out, &slo.slo);
            if let Some(threshold) = slo.latency_threshold {
                let _ = write!(
                    out,
                    " <span class=\"muted\">(≤ {})</span>",
                    duration(threshold * 1e9)
                );
            }
            let _ = write!(
                out,
                "</td><td class=\"num\">{}</td><td>{} <span class=\"muted\">{}</span></td><td class=\"num\">{}×</td><td>{}</td><td>{}</td>",
                percent(slo.objective),
                tier.tier.name,
                tier.tier.severity,
                tier.tier.factor,
                window_cell(&tier.long),
                window_cell(&tier.short),
            );
            let _ = write!(
                out,
                "<td class=\"{0}\">{1}</td></tr>",
                if tier.burning() { "error" } else { "ok" },
                if tier.burning() { "yes" } else { "no" },
            );
        }
    }
    out.push_str("</tbody></table>");
}

fn window_cell(figures: &WindowFigures) -> String {
    let mut cell = format!("<b>{}</b>: ", window_name(figures.window.as_secs()));
    match (figures.error_ratio, figures.burn_rate) {
        (Some(ratio), Some(burn)) => {
            let _ = write!(cell, "{} errors, burn {burn:.2}×", percent(ratio));
        }
        (Some(ratio), None) => {
            let _ = write!(cell, "{} errors", percent(ratio));
        }
        _ => cell.push_str("no requests"),
    }
    if !figures.coverage.is_full() {
        let _ = write!(
            cell,
            " <span class=\"muted\">(first {})</span>",
            window_name(figures.coverage.covered_secs as u64)
        );
    }
    cell
}

fn coverage_note(coverage: &Coverage) -> String {
    if coverage.is_full() {
        String::new()
    } else {
        format!(
            " only {} of history so far",
            window_name(coverage.covered_secs as u64)
        )
    }
}

/// `45s`, `5m`, `1h`, `3d`, `1h30m`: Prometheus' spelling.
///
/// ```
/// use obskit_dev::ui::service::window_name;
/// assert_eq!(window_name(300), "5m");
/// assert_eq!(window_name(5400), "1h30m");
/// assert_eq!(window_name(0), "0s");
/// ```
pub fn window_name(secs: u64) -> String {
    if secs == 0 {
        return "0s".to_owned();
    }
    let mut rest = secs;
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if rest >= size {
            let _ = write!(out, "{}{unit}", rest / size);
            rest %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scrape::parse;

    #[test]
    fn percentiles_come_from_the_spans_held_else_below_the_first_bucket() {
        let text = "http_server_request_duration_seconds_count{service_name=\"s\",http_request_method=\"GET\",http_route=\"/a\"} 10\n\
                    http_server_request_duration_seconds_bucket{service_name=\"s\",http_request_method=\"GET\",http_route=\"/a\",le=\"0.005\"} 10\n\
                    http_server_request_duration_seconds_bucket{service_name=\"s\",http_request_method=\"GET\",http_route=\"/a\",le=\"+Inf\"} 10\n";
        let scrape = |at: f64, text: &str| {
            Arc::new(Scrape {
                at_unix_secs: at,
                samples: parse::parse(text, |_| true).unwrap(),
            })
        };
        let scrapes = [scrape(100.0, text)];
        let info = ScrapeInfo::default();
        let page = body(
            &scrapes,
            &ServiceQuery::default(),
            &info,
            100.0,
            &[],
            &SpanDurations::new(),
            &[],
        );
        // 150–400 µs requests: the histogram only knows they are under 5 ms.
        assert!(
            page.contains("<td class=\"num\">&lt; 5.0 ms</td>"),
            "{page}"
        );
        let held: SpanDurations = [(
            ("s".to_owned(), "GET".to_owned(), "/a".to_owned()),
            vec![150_000, 200_000, 250_000, 300_000, 400_000],
        )]
        .into();
        let page = body(
            &scrapes,
            &ServiceQuery::default(),
            &info,
            100.0,
            &[],
            &held,
            &[],
        );
        let two_hours = ServiceQuery { window: Some(7200) };
        let other = body(&scrapes, &two_hours, &info, 100.0, &[], &held, &[]);
        assert!(
            other.contains("<option value=\"7200\" selected>2h</option>"),
            "{other}"
        );
        assert!(page.contains(">250 µs</span>"), "p50 of the spans: {page}");
        assert!(page.contains(">400 µs</span>"), "p99 of the spans: {page}");
    }
}
