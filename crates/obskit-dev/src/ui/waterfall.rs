//! One trace as a waterfall: the span tree in start order, bars to scale under a time axis
//! and coloured by service, each span's attributes, events, links (both ways) and status
//! folded under its name and shown in the detail pane when selected, links to its log
//! lines, and the trace's log lines below.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use super::html::{ago, duration, escape, push_escaped, service_colour, time_of_day};
use super::logs::log_rows;
use super::traces::{code, display_name};
use crate::log_line::LogLine;
use crate::model::{Span, SpanId, StatusCode, TraceId};

/// Indentation stops growing past this depth (a deep chain stays readable).
const MAX_INDENT_DEPTH: usize = 40;

/// The spans in tree order with their depth: roots (and spans whose parent did not
/// arrive) first, children after their parent, siblings by start time.
pub fn tree_order(spans: &[Arc<Span>]) -> Vec<(&Span, usize)> {
    let index: HashMap<SpanId, usize> = spans
        .iter()
        .enumerate()
        .map(|(i, span)| (span.span_id, i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut roots = Vec::new();
    for (i, span) in spans.iter().enumerate() {
        match span.parent_span_id.and_then(|p| index.get(&p)) {
            Some(&parent) if parent != i => children[parent].push(i),
            _ => roots.push(i),
        }
    }
    let by_start = |list: &mut Vec<usize>| {
        list.sort_by_key(|&i| (spans[i].start_unix_nanos, spans[i].span_id));
    };
    by_start(&mut roots);
    children.iter_mut().for_each(by_start);
    let mut order = Vec::with_capacity(spans.len());
    let mut seen = vec![false; spans.len()];
    // Depth-first without recursion; reversed so the earliest sibling comes out first.
    let mut stack: Vec<(usize, usize)> = roots.iter().rev().map(|&i| (i, 0)).collect();
    while let Some((i, depth)) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        order.push((&*spans[i], depth));
        stack.extend(children[i].iter().rev().map(|&c| (c, depth + 1)));
    }
    // Spans in a parent cycle are unreachable from a root: list them at the end.
    for (i, span) in spans.iter().enumerate() {
        if !seen[i] {
            order.push((&**span, 0));
        }
    }
    order
}

/// A span of another trace linking to one of this trace's: (its trace, its span, its name,
/// the span of this trace it links to).
pub type LinkedFrom = (TraceId, SpanId, String, SpanId);

/// The page body of trace `trace_id` with its `spans`, its log `lines` and the spans of
/// other traces that link to it, at `now` (ns since the epoch).
pub fn body(
    trace_id: &TraceId,
    spans: &[Arc<Span>],
    lines: &[Arc<LogLine>],
    linked_from: &[LinkedFrom],
    now: u64,
) -> String {
    let order = tree_order(spans);
    let start = spans.iter().map(|s| s.start_unix_nanos).min().unwrap_or(0);
    let end = spans
        .iter()
        .map(|s| s.end_unix_nanos)
        .max()
        .unwrap_or(start);
    let total = end.saturating_sub(start).max(1) as f64;
    let mut lines_per_span: HashMap<SpanId, usize> = HashMap::new();
    for line in lines {
        if let Some(span) = line.span_id {
            *lines_per_span.entry(span).or_default() += 1;
        }
    }
    let mut colours: Vec<(&str, String)> = Vec::new();
    for span in spans {
        if !colours.iter().any(|(name, _)| *name == &*span.service) {
            colours.push((&span.service, service_colour(&span.service)));
        }
    }
    let head = order.first().map(|(span, _)| *span);
    let mut out = String::with_capacity(spans.len() * 1000 + 4096);
    out.push_str("<h1>Trace ");
    if let Some(head) = head {
        push_escaped(&mut out, &display_name(head));
    }
    let _ = write!(
        out,
        "</h1><p id=\"trace-summary\" data-live=\"1\"><span class=\"mono\" id=\"trace-id\">{trace_id}</span> · started {} UTC ({}) · {} · <span id=\"span-count\">{}</span> spans · \
         <a href=\"/logs?trace_id={trace_id}\">{} log line{}</a></p>",
        time_of_day(start),
        ago(start, now),
        duration(total),
        spans.len(),
        lines.len(),
        if lines.len() == 1 { "" } else { "s" },
    );
    out.push_str("<div class=\"legend\" id=\"legend\" data-live=\"1\">");
    for (name, colour) in &colours {
        let _ = write!(
            out,
            "<span><span class=\"swatch\" style=\"background:{colour}\"></span>"
        );
        push_escaped(&mut out, name);
        out.push_str("</span>");
    }
    out.push_str("<button type=\"button\" id=\"expand-all\">expand all</button></div>");
    out.push_str("<div class=\"trace-layout\"><div><table id=\"waterfall\"><thead><tr><th>Span</th><th class=\"bar-cell\">Timeline<div class=\"axis\" id=\"axis\" data-live=\"1\">");
    for tick in 0..=4 {
        let _ = write!(
            out,
            "<span style=\"left:{}%\">{}</span>",
            tick * 25,
            if tick == 0 {
                "0".to_owned()
            } else {
                duration(total * f64::from(tick) / 4.0)
            }
        );
    }
    out.push_str(
        "</div></th><th class=\"num\">Start</th><th class=\"num\">Duration</th></tr></thead><tbody id=\"spans\" data-live=\"1\">",
    );
    let mut linked_by: HashMap<SpanId, Vec<&LinkedFrom>> = HashMap::new();
    for link in linked_from {
        linked_by.entry(link.3).or_default().push(link);
    }
    for (span, depth) in order {
        let colour = colours
            .iter()
            .find(|(name, _)| *name == &*span.service)
            .map_or("", |(_, c)| c.as_str());
        row(
            &mut out,
            &Row {
                trace_id,
                span,
                depth,
                trace_start: start,
                total,
                colour,
                lines: lines_per_span.get(&span.span_id).copied().unwrap_or(0),
                linked_from: linked_by.get(&span.span_id).map_or(&[][..], Vec::as_slice),
            },
        );
    }
    out.push_str(
        "</tbody></table></div><aside id=\"detail\"><p class=\"muted\">Click a span to see its attributes, events and links here.</p></aside></div>\
         <h2>Log lines of this trace</h2><div id=\"trace-logs\" data-live=\"1\">",
    );
    if lines.is_empty() {
        out.push_str("<p class=\"muted\">None received (obskit dev reads the log lines of the command it runs, and OTLP log records).</p>");
    } else {
        log_rows(&mut out, lines.iter().map(|l| &**l), true);
    }
    out.push_str("</div>");
    out
}

/// What one row shows.
struct Row<'a> {
    trace_id: &'a TraceId,
    span: &'a Span,
    depth: usize,
    trace_start: u64,
    total: f64,
    colour: &'a str,
    lines: usize,
    linked_from: &'a [&'a LinkedFrom],
}

fn attribute_list(out: &mut String, attributes: &[crate::model::Attribute]) {
    for attribute in attributes {
        out.push_str("<dt>");
        push_escaped(out, &attribute.key);
        out.push_str("</dt><dd>");
        push_escaped(out, &attribute.value);
        if let Some(original) = attribute.truncated_from {
            let _ = write!(
                out,
                "<span class=\"truncated\"> … cut from {original} bytes (--max-attribute-bytes)</span>"
            );
        }
        out.push_str("</dd>");
    }
}

fn row(out: &mut String, row: &Row<'_>) {
    let span = row.span;
    let trace_id = row.trace_id;
    let offset = span.start_unix_nanos.saturating_sub(row.trace_start) as f64;
    let left = (offset / row.total * 100.0).clamp(0.0, 100.0);
    let width = (span.duration_nanos() as f64 / row.total * 100.0).clamp(0.0, 100.0 - left);
    let failed = span.status == StatusCode::Error;
    let _ = write!(
        out,
        "<tr class=\"span{}\" id=\"span-{}\" data-depth=\"{}\"><td style=\"padding-left:{}px\"><details><summary>",
        if failed { " failed" } else { "" },
        span.span_id,
        row.depth,
        8 + 16 * row.depth.min(MAX_INDENT_DEPTH),
    );
    out.push_str("<span class=\"name\">");
    push_escaped(out, &display_name(span));
    out.push_str("</span> <span class=\"muted\">");
    push_escaped(out, &span.service);
    let _ = write!(out, " · {}</span>", span.kind.as_str());
    if let Some(code) = code(span) {
        out.push_str(" <span class=\"muted code\">");
        push_escaped(out, &code);
        out.push_str("</span>");
    }
    if failed {
        out.push_str(" <span class=\"error\">error</span>");
    }
    out.push_str("</summary><div class=\"span-detail\"><dl>");
    let _ = write!(
        out,
        "<dt>span id</dt><dd>{}</dd><dt>parent</dt><dd>{}</dd><dt>status</dt><dd class=\"{}\">{}",
        span.span_id,
        span.parent_span_id
            .map(|p| p.to_string())
            .unwrap_or_else(|| "none (root)".to_owned()),
        span.status.as_str(),
        span.status.as_str(),
    );
    if !span.status_message.is_empty() {
        out.push_str(": ");
        push_escaped(out, &span.status_message);
    }
    let _ = write!(
        out,
        "</dd><dt>start</dt><dd>+{}</dd><dt>duration</dt><dd>{}</dd>",
        duration(offset),
        duration(span.duration_nanos() as f64)
    );
    attribute_list(out, &span.attributes);
    out.push_str("</dl>");
    for event in &span.events {
        let _ = write!(
            out,
            "<div class=\"event\">event at +{}: <b>",
            duration(event.time_unix_nanos.saturating_sub(span.start_unix_nanos) as f64)
        );
        push_escaped(out, &event.name);
        out.push_str("</b><dl>");
        attribute_list(out, &event.attributes);
        out.push_str("</dl></div>");
    }
    for link in &span.links {
        let target = if link.trace_id == *trace_id {
            format!("#span-{}", link.span_id)
        } else {
            format!("/traces/{}#span-{}", link.trace_id, link.span_id)
        };
        let _ = write!(
            out,
            "<div class=\"link\">links to <a class=\"span-link-out mono\" href=\"{target}\">span {} of trace {}</a><dl>",
            link.span_id,
            &link.trace_id.to_string()[..16],
        );
        attribute_list(out, &link.attributes);
        out.push_str("</dl></div>");
    }
    for (from_trace, from_span, name, _) in row.linked_from {
        let _ = write!(
            out,
            "<div class=\"link\">linked from <a class=\"span-link-in mono\" href=\"/traces/{from_trace}#span-{from_span}\">"
        );
        push_escaped(out, name);
        let _ = write!(out, " (trace {})</a></div>", &from_trace.to_string()[..16]);
    }
    out.push_str("</div></details>");
    if row.lines > 0 {
        let _ = write!(
            out,
            " <a class=\"span-logs\" href=\"/logs?trace_id={trace_id}&amp;span_id={}\">{} log line{}</a>",
            span.span_id,
            row.lines,
            if row.lines == 1 { "" } else { "s" }
        );
    }
    let style = if failed || row.colour.is_empty() {
        format!("left:{left:.3}%;width:{width:.3}%")
    } else {
        format!(
            "left:{left:.3}%;width:{width:.3}%;background:{}",
            row.colour
        )
    };
    let _ = write!(
        out,
        "</td><td class=\"bar-cell\"><div class=\"bar{}\" style=\"{style}\"></div></td>\
         <td class=\"num\">+{}</td><td class=\"num\">{}</td></tr>",
        if failed { " error" } else { "" },
        duration(offset),
        duration(span.duration_nanos() as f64),
    );
}

/// The page body for a trace that is not stored.
pub fn missing(trace_id: &str) -> String {
    format!(
        "<h1>Trace not found</h1><p>No trace <span class=\"mono\">{}</span> is stored: it has not arrived yet, \
         or it was dropped to keep the last traces only. <a href=\"/traces\">All traces</a></p>",
        escape(trace_id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SpanKind;

    fn span(id: u8, parent: Option<u8>, start: u64) -> Arc<Span> {
        Arc::new(Span {
            trace_id: TraceId([7; 16]),
            span_id: SpanId([id; 8]),
            parent_span_id: parent.map(|p| SpanId([p; 8])),
            name: format!("s{id}"),
            kind: SpanKind::Internal,
            start_unix_nanos: start,
            end_unix_nanos: start + 10,
            status: StatusCode::Unset,
            status_message: String::new(),
            service: Arc::from("svc"),
            attributes: Vec::new(),
            events: Vec::new(),
            links: Vec::new(),
        })
    }

    #[test]
    fn children_follow_their_parent_in_start_order() {
        // Arrival order is not tree order; span 9's parent never arrived.
        let spans = [
            span(3, Some(1), 30),
            span(2, Some(1), 20),
            span(4, Some(2), 25),
            span(1, None, 10),
            span(9, Some(8), 5),
        ];
        let order: Vec<(String, usize)> = tree_order(&spans)
            .into_iter()
            .map(|(s, d)| (s.name.clone(), d))
            .collect();
        let expected = [("s9", 0), ("s1", 0), ("s2", 1), ("s4", 2), ("s3", 1)];
        let expected: Vec<(String, usize)> = expected
            .iter()
            .map(|(n, d)| ((*n).to_owned(), *d))
            .collect();
        assert_eq!(order, expected);
    }

    #[test]
    fn a_cut_attribute_is_marked_and_links_go_both_ways() {
        let mut cut = crate::model::Attribute::new("blob", "x".repeat(16));
        cut.truncated_from = Some(20_000_000);
        let mut root = (*span(1, None, 0)).clone();
        root.attributes = vec![cut];
        root.links = vec![crate::model::SpanLink {
            trace_id: TraceId([9; 16]),
            span_id: SpanId([8; 8]),
            attributes: Vec::new(),
        }];
        let linked_from = [(
            TraceId([5; 16]),
            SpanId([6; 8]),
            "consume".to_owned(),
            SpanId([1; 8]),
        )];
        let html = body(&TraceId([7; 16]), &[Arc::new(root)], &[], &linked_from, 0);
        assert!(html.contains("cut from 20000000 bytes"), "{html}");
        assert!(
            html.contains(&format!(
                "href=\"/traces/{}#span-{}\"",
                TraceId([9; 16]),
                SpanId([8; 8])
            )),
            "{html}"
        );
        assert!(
            html.contains(&format!(
                "href=\"/traces/{}#span-{}\"",
                TraceId([5; 16]),
                SpanId([6; 8])
            )),
            "{html}"
        );
        assert!(
            html.contains(">consume (trace 0505050505050505)<"),
            "{html}"
        );
    }

    #[test]
    fn a_parent_cycle_still_lists_every_span() {
        let spans = [span(1, Some(2), 0), span(2, Some(1), 0)];
        assert_eq!(tree_order(&spans).len(), 2);
    }
}
