//! One trace as a waterfall: the span tree in start order, bars to scale, each span's
//! attributes, events and status folded under its name, links to its log lines, and the
//! trace's log lines below.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use super::html::{duration, escape, push_escaped, time_of_day};
use super::logs::log_rows;
use crate::dev::log_line::LogLine;
use crate::dev::model::{Span, SpanId, StatusCode, TraceId};

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

/// The page body of trace `trace_id` with its `spans` and its log `lines`.
pub fn body(trace_id: &TraceId, spans: &[Arc<Span>], lines: &[Arc<LogLine>]) -> String {
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
    let head = order.first().map(|(span, _)| *span);
    let mut out = String::with_capacity(spans.len() * 900 + 4096);
    out.push_str("<h1>Trace ");
    if let Some(head) = head {
        push_escaped(&mut out, &head.name);
    }
    let _ = write!(
        out,
        "</h1><p><span class=\"mono\" id=\"trace-id\">{trace_id}</span> · started {} UTC · {} · <span id=\"span-count\">{}</span> spans · \
         <a href=\"/logs?trace_id={trace_id}\">{} log line{}</a></p>",
        time_of_day(start),
        duration(total),
        spans.len(),
        lines.len(),
        if lines.len() == 1 { "" } else { "s" },
    );
    out.push_str(
        "<table id=\"waterfall\"><thead><tr><th>Span</th><th class=\"bar-cell\">Timeline</th>\
         <th class=\"num\">Start</th><th class=\"num\">Duration</th></tr></thead><tbody>",
    );
    for (span, depth) in order {
        row(
            &mut out,
            trace_id,
            span,
            depth,
            start,
            total,
            &lines_per_span,
        );
    }
    out.push_str("</tbody></table><h2>Log lines of this trace</h2>");
    if lines.is_empty() {
        out.push_str("<p class=\"muted\">None received (obskit dev reads the log lines of the command it runs).</p>");
    } else {
        log_rows(&mut out, lines.iter().map(|l| &**l), true);
    }
    out
}

fn row(
    out: &mut String,
    trace_id: &TraceId,
    span: &Span,
    depth: usize,
    trace_start: u64,
    total: f64,
    lines_per_span: &HashMap<SpanId, usize>,
) {
    let offset = span.start_unix_nanos.saturating_sub(trace_start) as f64;
    let left = (offset / total * 100.0).clamp(0.0, 100.0);
    let width = (span.duration_nanos() as f64 / total * 100.0).clamp(0.0, 100.0 - left);
    let failed = span.status == StatusCode::Error;
    let _ = write!(
        out,
        "<tr class=\"span{}\" id=\"span-{}\" data-depth=\"{depth}\"><td style=\"padding-left:{}px\"><details><summary>",
        if failed { " failed" } else { "" },
        span.span_id,
        8 + 16 * depth.min(MAX_INDENT_DEPTH),
    );
    out.push_str("<span class=\"name\">");
    push_escaped(out, &span.name);
    out.push_str("</span> <span class=\"muted\">");
    push_escaped(out, &span.service);
    let _ = write!(out, " · {}</span>", span.kind.as_str());
    if failed {
        out.push_str(" <span class=\"error\">error</span>");
    }
    out.push_str("</summary><dl>");
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
    out.push_str("</dd>");
    for attribute in &span.attributes {
        out.push_str("<dt>");
        push_escaped(out, &attribute.key);
        out.push_str("</dt><dd>");
        push_escaped(out, &attribute.value);
        out.push_str("</dd>");
    }
    out.push_str("</dl>");
    for event in &span.events {
        let _ = write!(
            out,
            "<div class=\"event\">event at +{}: <b>",
            duration(event.time_unix_nanos.saturating_sub(span.start_unix_nanos) as f64)
        );
        push_escaped(out, &event.name);
        out.push_str("</b><dl>");
        for attribute in &event.attributes {
            out.push_str("<dt>");
            push_escaped(out, &attribute.key);
            out.push_str("</dt><dd>");
            push_escaped(out, &attribute.value);
            out.push_str("</dd>");
        }
        out.push_str("</dl></div>");
    }
    out.push_str("</details>");
    let lines = lines_per_span.get(&span.span_id).copied().unwrap_or(0);
    if lines > 0 {
        let _ = write!(
            out,
            " <a class=\"span-logs\" href=\"/logs?trace_id={trace_id}&amp;span_id={}\">{lines} log line{}</a>",
            span.span_id,
            if lines == 1 { "" } else { "s" }
        );
    }
    let _ = write!(
        out,
        "</td><td class=\"bar-cell\"><div class=\"bar{}\" style=\"left:{left:.3}%;width:{width:.3}%\"></div></td>\
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
    use crate::dev::model::SpanKind;

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
    fn a_parent_cycle_still_lists_every_span() {
        let spans = [span(1, Some(2), 0), span(2, Some(1), 0)];
        assert_eq!(tree_order(&spans).len(), 2);
    }
}
