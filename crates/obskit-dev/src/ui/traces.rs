//! The traces list: newest first, filtered by service, status, minimum duration, route
//! and trace id (a prefix), with a duration histogram over the list whose bars filter it.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::html::{
    ago, duration, escape, param, push_escaped, query_value, service_colour, time_of_day,
};
use crate::model::{Span, StatusCode};
use crate::store::TraceSummary;

/// Most rows shown; the filters narrow the rest.
pub const MAX_ROWS: usize = 500;

/// The route of a server span that matched no route, as the metrics and access lines name it.
pub const UNMATCHED: &str = obskit_names::ROUTE_UNMATCHED;

/// The statuses the filter offers.
const STATUSES: [&str; 3] = ["error", "ok", "unset"];

/// The list's filters, from the query string (empty means "any").
#[derive(Debug, Default, Clone)]
pub struct TraceFilter {
    /// Traces with a span from this service.
    pub service: String,
    /// `error`, `ok` or `unset`.
    pub status: String,
    /// Traces lasting at least this many milliseconds.
    pub min_ms: Option<f64>,
    /// Traces whose head span has this `http.route` (or [`UNMATCHED`]).
    pub route: String,
    /// Traces whose id starts with these hex digits.
    pub trace_id: String,
}

impl TraceFilter {
    /// Reads the filters from query pairs as a browser sends them (empty fields mean "any");
    /// returns the problems with values that could not be used, each naming the fix.
    ///
    /// ```
    /// use obskit_dev::ui::html::parse_query;
    /// use obskit_dev::ui::traces::TraceFilter;
    /// let (filter, problems) = TraceFilter::from_query(&parse_query("service=&status=error&min_ms=&route="));
    /// assert_eq!((filter.status.as_str(), filter.min_ms), ("error", None));
    /// assert!(problems.is_empty());
    /// let (filter, problems) = TraceFilter::from_query(&parse_query("min_ms=fast&status=broken"));
    /// assert_eq!(filter.min_ms, None);
    /// assert_eq!(problems.len(), 2);
    /// ```
    pub fn from_query(pairs: &[(String, String)]) -> (Self, Vec<String>) {
        let mut problems = Vec::new();
        let status = param(pairs, "status").to_ascii_lowercase();
        let status = if status.is_empty() || STATUSES.contains(&status.as_str()) {
            status
        } else {
            problems.push(format!(
                "status `{status}` is not one of error, ok, unset; showing every status"
            ));
            String::new()
        };
        let min_ms = match param(pairs, "min_ms") {
            "" => None,
            text => match text.parse::<f64>() {
                Ok(ms) if ms.is_finite() && ms >= 0.0 => Some(ms),
                _ => {
                    problems.push(format!(
                        "minimum duration `{text}` is not a number of milliseconds such as 250 or 0.5; showing every duration"
                    ));
                    None
                }
            },
        };
        let trace_id = param(pairs, "trace_id").to_ascii_lowercase();
        let trace_id = if trace_id.len() <= 32 && trace_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            trace_id
        } else {
            problems.push(format!(
                "trace id `{trace_id}` is not hex digits (up to 32); showing every trace"
            ));
            String::new()
        };
        (
            Self {
                service: param(pairs, "service").to_owned(),
                status,
                min_ms,
                route: param(pairs, "route").to_owned(),
                trace_id,
            },
            problems,
        )
    }

    /// Whether `trace` passes every filter.
    pub fn matches(&self, trace: &TraceSummary) -> bool {
        (self.service.is_empty() || trace.services.iter().any(|s| **s == *self.service))
            && (self.status.is_empty() || trace.status().as_str() == self.status)
            && self
                .min_ms
                .is_none_or(|ms| trace.duration_nanos() as f64 >= ms * 1e6)
            && (self.route.is_empty() || route(trace.head()) == Some(self.route.as_str()))
            && (self.trace_id.is_empty() || trace.trace_id.to_string().starts_with(&self.trace_id))
    }

    /// The query string of this filter with `min_ms` replaced (for the chart's bars).
    fn with_min_ms(&self, min_ms: f64) -> String {
        let mut query = format!("min_ms={min_ms}");
        for (name, value) in [
            ("service", &self.service),
            ("status", &self.status),
            ("route", &self.route),
            ("trace_id", &self.trace_id),
        ] {
            if !value.is_empty() {
                let _ = write!(query, "&{name}={}", query_value(value));
            }
        }
        query
    }
}

/// The route a span served: its `http.route`, or [`UNMATCHED`] for an HTTP server span
/// without one (a 404: the HTTP conventions leave the route out when none matched).
pub fn route(span: &Span) -> Option<&str> {
    span.route()
}

/// The name to show for a span: `GET _unmatched` for an HTTP server span named after its
/// method alone because no route matched, else its own name.
pub fn display_name(span: &Span) -> std::borrow::Cow<'_, str> {
    match (span.attribute("http.request.method"), route(span)) {
        (Some(method), Some(UNMATCHED)) if span.name == method => {
            format!("{method} {UNMATCHED}").into()
        }
        _ => span.name.as_str().into(),
    }
}

/// The response code of a span: `404` (HTTP) or `gRPC 5`, if it carries one.
pub fn code(span: &Span) -> Option<String> {
    if let Some(status) = span.attribute("http.response.status_code") {
        return Some(status.to_owned());
    }
    span.attribute("rpc.grpc.status_code")
        .map(|code| format!("gRPC {code}"))
}

/// Upper bounds of the chart's bars, in milliseconds (the last is open).
const CHART_BOUNDS_MS: [f64; 14] = [
    1.0,
    2.0,
    5.0,
    10.0,
    20.0,
    50.0,
    100.0,
    200.0,
    500.0,
    1000.0,
    2000.0,
    5000.0,
    10_000.0,
    f64::INFINITY,
];

/// An inline SVG histogram of the traces' durations, errors stacked in red; each bar links
/// to the list filtered from its lower bound.
fn chart(out: &mut String, shown: &[&TraceSummary], filter: &TraceFilter) {
    let mut counts = [(0usize, 0usize); CHART_BOUNDS_MS.len()];
    for trace in shown {
        let ms = trace.duration_nanos() as f64 / 1e6;
        let bucket = CHART_BOUNDS_MS
            .iter()
            .position(|&le| ms < le)
            .unwrap_or(CHART_BOUNDS_MS.len() - 1);
        counts[bucket].0 += 1;
        if trace.status() == StatusCode::Error {
            counts[bucket].1 += 1;
        }
    }
    let highest = counts.iter().map(|c| c.0).max().unwrap_or(0).max(1) as f64;
    let width = 1000.0 / CHART_BOUNDS_MS.len() as f64;
    out.push_str(
        "<svg class=\"chart\" id=\"chart\" data-live=\"1\" viewBox=\"0 0 1000 110\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"durations\">",
    );
    let mut lower = 0.0;
    for (i, (&le, &(all, errors))) in CHART_BOUNDS_MS.iter().zip(counts.iter()).enumerate() {
        let x = i as f64 * width;
        let label = if le.is_infinite() {
            format!("≥ {}", duration(lower * 1e6))
        } else {
            format!("< {}", duration(le * 1e6))
        };
        let _ = write!(
            out,
            "<a href=\"/traces?{}\"><title>{label}: {all} trace{}</title>",
            escape(&filter.with_min_ms(lower)),
            if all == 1 { "" } else { "s" }
        );
        let full = all as f64 / highest * 90.0;
        let failed = errors as f64 / highest * 90.0;
        let _ = write!(
            out,
            "<rect class=\"ok\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"></rect>",
            x + 2.0,
            92.0 - full,
            width - 4.0,
            full - failed
        );
        if errors > 0 {
            let _ = write!(
                out,
                "<rect class=\"error\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"></rect>",
                x + 2.0,
                92.0 - failed,
                width - 4.0,
                failed
            );
        }
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"106\">{label}</text></a>",
            x + 4.0
        );
        lower = le;
    }
    out.push_str("</svg>");
}

/// The page body for `traces` (newest first), `filter`, the query's `problems`, at `now`
/// (ns since the epoch, for the relative times).
pub fn body(
    traces: &[TraceSummary],
    filter: &TraceFilter,
    problems: &[String],
    now: u64,
) -> String {
    let services: BTreeSet<&str> = traces
        .iter()
        .flat_map(|t| t.services.iter().map(|s| &**s))
        .collect();
    let routes: BTreeSet<&str> = traces.iter().filter_map(|t| route(t.head())).collect();
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<h1>Traces</h1>");
    super::html::problems(&mut out, problems);
    out.push_str("<form class=\"filters\" id=\"trace-filters\" method=\"get\" action=\"/traces\">");
    let _ = write!(
        out,
        "<label>Trace id<input name=\"trace_id\" size=\"34\" placeholder=\"hex, or its start\" value=\"{}\"></label>",
        escape(&filter.trace_id)
    );
    select(&mut out, "service", "Service", &services, &filter.service);
    select(
        &mut out,
        "status",
        "Status",
        &STATUSES.into_iter().collect(),
        &filter.status,
    );
    let min_ms = filter.min_ms.map(|ms| ms.to_string()).unwrap_or_default();
    let _ = write!(
        out,
        "<label>Min duration (ms)<input name=\"min_ms\" type=\"number\" min=\"0\" step=\"any\" value=\"{}\"></label>",
        escape(&min_ms)
    );
    select(&mut out, "route", "Route", &routes, &filter.route);
    out.push_str("<button type=\"submit\">Filter</button> <a href=\"/traces\">clear</a></form>");

    let shown: Vec<&TraceSummary> = traces.iter().filter(|t| filter.matches(t)).collect();
    chart(&mut out, &shown, filter);
    let _ = write!(
        out,
        "<p class=\"muted\" id=\"trace-count\" data-live=\"1\">{} of {} traces{}</p>",
        shown.len(),
        traces.len(),
        if shown.len() > MAX_ROWS {
            format!(", the newest {MAX_ROWS} shown")
        } else {
            String::new()
        }
    );
    out.push_str(
        "<table id=\"traces\"><thead><tr><th>Start</th><th>Service</th><th>Root</th><th>Route</th>\
         <th class=\"num\">Duration</th><th>Code</th><th>Status</th><th class=\"num\">Spans</th></tr></thead>\
         <tbody id=\"trace-rows\" data-live=\"1\">",
    );
    for trace in shown.iter().take(MAX_ROWS) {
        let head = trace.head();
        let status = trace.status();
        let _ = write!(
            out,
            "<tr class=\"trace\" data-trace-id=\"{id}\"><td class=\"mono\" title=\"{start} UTC\">{ago}</td><td>",
            id = trace.trace_id,
            start = time_of_day(trace.start_unix_nanos),
            ago = ago(trace.start_unix_nanos, now),
        );
        for (i, service) in trace.services.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(
                out,
                "<span class=\"swatch\" style=\"background:{}\"></span>",
                service_colour(service)
            );
            push_escaped(&mut out, service);
        }
        let _ = write!(out, "</td><td><a href=\"/traces/{}\">", trace.trace_id);
        push_escaped(&mut out, &display_name(head));
        out.push_str("</a>");
        if trace.root.is_none() {
            out.push_str(" <span class=\"muted\">(root not received)</span>");
        }
        out.push_str("</td><td>");
        if let Some(route) = route(head) {
            let _ = write!(
                out,
                "<a href=\"/traces?route={}\">{}</a>",
                escape(&query_value(route)),
                escape(route)
            );
        }
        let _ = write!(
            out,
            "</td><td class=\"num\">{}</td><td class=\"code {class}\">{}</td><td class=\"{class}\">{class}</td><td class=\"num\">{}</td></tr>",
            duration(trace.duration_nanos() as f64),
            escape(&code(head).unwrap_or_default()),
            trace.span_count,
            class = status_class(status),
        );
    }
    out.push_str("</tbody></table>");
    if traces.is_empty() {
        out.push_str(
            "<p class=\"muted\">No traces yet. Point an OTLP exporter here (obskit dev prints the \
             endpoint) or run your service with <code>obskit dev -- cargo run</code>.</p>",
        );
    }
    out
}

/// CSS class (and label) of a status.
pub fn status_class(status: StatusCode) -> &'static str {
    status.as_str()
}

/// A `<select>` of `options` with an "any" entry, `current` selected.
fn select(out: &mut String, name: &str, label: &str, options: &BTreeSet<&str>, current: &str) {
    let _ = write!(
        out,
        "<label>{label}<select name=\"{name}\"><option value=\"\">any</option>"
    );
    let mut listed = false;
    for option in options {
        let selected = if *option == current {
            listed = true;
            " selected"
        } else {
            ""
        };
        let _ = write!(
            out,
            "<option value=\"{0}\"{selected}>{0}</option>",
            escape(option)
        );
    }
    if !current.is_empty() && !listed {
        let _ = write!(
            out,
            "<option value=\"{0}\" selected>{0}</option>",
            escape(current)
        );
    }
    out.push_str("</select></label>");
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{Attribute, Span, SpanId, SpanKind, TraceId};
    use crate::store::{Limits, Store};

    fn span(trace: u8, service: &str, millis: u64, status: StatusCode, route: &str) -> Span {
        Span {
            trace_id: TraceId([trace; 16]),
            span_id: SpanId([trace; 8]),
            parent_span_id: None,
            name: format!("GET {route}"),
            kind: SpanKind::Server,
            start_unix_nanos: 0,
            end_unix_nanos: millis * 1_000_000,
            status,
            status_message: String::new(),
            service: Arc::from(service),
            attributes: vec![Attribute::new("http.route", route)],
            events: Vec::new(),
            links: Vec::new(),
        }
    }

    #[test]
    fn every_filter_narrows_the_list() {
        let store = Store::new(Limits::default());
        store.insert_spans(vec![
            span(1, "a", 5, StatusCode::Unset, "/x"),
            span(2, "b", 50, StatusCode::Error, "/y"),
            span(3, "a", 500, StatusCode::Ok, "/y"),
        ]);
        let traces = store.trace_summaries();
        let shown = |filter: TraceFilter| -> Vec<u8> {
            traces
                .iter()
                .filter(|t| filter.matches(t))
                .map(|t| t.trace_id.0[0])
                .collect()
        };
        assert_eq!(shown(TraceFilter::default()), [3, 2, 1]);
        let by = |f: fn(&mut TraceFilter)| {
            let mut filter = TraceFilter::default();
            f(&mut filter);
            filter
        };
        assert_eq!(shown(by(|f| f.service = "a".to_owned())), [3, 1]);
        assert_eq!(shown(by(|f| f.status = "error".to_owned())), [2]);
        assert_eq!(shown(by(|f| f.min_ms = Some(50.0))), [3, 2]);
        assert_eq!(shown(by(|f| f.route = "/y".to_owned())), [3, 2]);
        assert_eq!(shown(by(|f| f.trace_id = "0202".to_owned())), [2]);
        let page = body(&traces, &by(|f| f.route = "/y".to_owned()), &[], 0);
        assert!(page.contains("2 of 3 traces"), "{page}");
        assert!(
            page.contains("<option value=\"/y\" selected>/y</option>"),
            "{page}"
        );
    }

    #[test]
    fn a_server_span_without_a_route_is_unmatched() {
        let mut span = span(1, "a", 5, StatusCode::Unset, "/x");
        span.attributes = vec![
            Attribute::new("http.request.method", "GET"),
            Attribute::new("http.response.status_code", "404"),
        ];
        span.name = "GET".to_owned();
        assert_eq!(route(&span), Some("_unmatched"));
        assert_eq!(display_name(&span), "GET _unmatched");
        assert_eq!(code(&span).as_deref(), Some("404"));
        let store = Store::new(Limits::default());
        store.insert_spans(vec![span]);
        let traces = store.trace_summaries();
        let (filter, _) = TraceFilter::from_query(&[("route".to_owned(), "_unmatched".to_owned())]);
        let page = body(&traces, &filter, &[], 0);
        assert!(page.contains("1 of 1 traces"), "{page}");
        assert!(page.contains("GET _unmatched"), "{page}");
    }
}
