//! The traces list: newest first, filtered by service, status, minimum duration and route.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Deserialize;

use super::html::{duration, escape, push_escaped, query_value, time_of_day};
use crate::dev::model::StatusCode;
use crate::dev::store::TraceSummary;

/// Most rows shown; the filters narrow the rest.
pub const MAX_ROWS: usize = 500;

/// The list's filters, from the query string (empty means "any").
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct TraceFilter {
    /// Traces with a span from this service.
    pub service: String,
    /// `error`, `ok` or `unset`.
    pub status: String,
    /// Traces lasting at least this many milliseconds.
    pub min_ms: Option<f64>,
    /// Traces whose head span has this `http.route`.
    pub route: String,
}

impl TraceFilter {
    /// Whether `trace` passes every filter.
    pub fn matches(&self, trace: &TraceSummary) -> bool {
        (self.service.is_empty() || trace.services.iter().any(|s| **s == *self.service))
            && (self.status.is_empty() || trace.status().as_str() == self.status)
            && self
                .min_ms
                .is_none_or(|ms| trace.duration_nanos() as f64 >= ms * 1e6)
            && (self.route.is_empty() || trace.route() == Some(self.route.as_str()))
    }
}

/// The page body for `traces` (newest first) and `filter`.
pub fn body(traces: &[TraceSummary], filter: &TraceFilter) -> String {
    let services: BTreeSet<&str> = traces
        .iter()
        .flat_map(|t| t.services.iter().map(|s| &**s))
        .collect();
    let routes: BTreeSet<&str> = traces.iter().filter_map(TraceSummary::route).collect();
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<h1>Traces</h1><form class=\"filters\" method=\"get\" action=\"/traces\">");
    select(&mut out, "service", "Service", &services, &filter.service);
    select(
        &mut out,
        "status",
        "Status",
        &BTreeSet::from(["error", "ok", "unset"]),
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
    let _ = write!(
        out,
        "<p class=\"muted\" id=\"trace-count\">{} of {} traces{}</p>",
        shown.len(),
        traces.len(),
        if shown.len() > MAX_ROWS {
            format!(", the newest {MAX_ROWS} shown")
        } else {
            String::new()
        }
    );
    out.push_str(
        "<table id=\"traces\"><thead><tr><th>Start (UTC)</th><th>Service</th><th>Root</th><th>Route</th>\
         <th class=\"num\">Duration</th><th>Status</th><th class=\"num\">Spans</th></tr></thead><tbody>",
    );
    for trace in shown.iter().take(MAX_ROWS) {
        let head = trace.head();
        let status = trace.status();
        let _ = write!(
            out,
            "<tr class=\"trace\" data-trace-id=\"{id}\"><td class=\"mono\">{start}</td><td>",
            id = trace.trace_id,
            start = time_of_day(trace.start_unix_nanos),
        );
        push_escaped(
            &mut out,
            &trace
                .services
                .iter()
                .map(|s| &**s)
                .collect::<Vec<_>>()
                .join(", "),
        );
        let _ = write!(out, "</td><td><a href=\"/traces/{}\">", trace.trace_id);
        push_escaped(&mut out, &head.name);
        out.push_str("</a>");
        if trace.root.is_none() {
            out.push_str(" <span class=\"muted\">(root not received)</span>");
        }
        out.push_str("</td><td>");
        if let Some(route) = trace.route() {
            let _ = write!(
                out,
                "<a href=\"/traces?route={}\">{}</a>",
                escape(&query_value(route)),
                escape(route)
            );
        }
        let _ = write!(
            out,
            "</td><td class=\"num\">{}</td><td class=\"{class}\">{class}</td><td class=\"num\">{}</td></tr>",
            duration(trace.duration_nanos() as f64),
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
    use crate::dev::model::{Attribute, Span, SpanId, SpanKind, TraceId};
    use crate::dev::store::{Limits, Store};

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
            attributes: vec![Attribute {
                key: "http.route".to_owned(),
                value: route.to_owned(),
            }],
            events: Vec::new(),
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
        let page = body(&traces, &by(|f| f.route = "/y".to_owned()));
        assert!(page.contains("2 of 3 traces"), "{page}");
        assert!(
            page.contains("<option value=\"/y\" selected>/y</option>"),
            "{page}"
        );
    }
}
