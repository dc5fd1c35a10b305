//! The logs: newest first, filtered by minimum level, text and trace (and span) id; every
//! line written inside a trace links to it.

use std::fmt::Write as _;
use std::sync::Arc;

use super::html::{escape, is_paused, param, push_escaped};
use crate::log_line::{Level, LogLine};
use crate::model::{SpanId, TraceId};

/// Most lines shown.
pub const MAX_ROWS: usize = 1_000;

/// The filters, from the query string (empty means "any").
#[derive(Debug, Default, Clone)]
pub struct LogFilter {
    /// Minimum level: `trace`, `debug`, `info`, `warn`, `error`.
    pub level: String,
    /// Text to find in the message, target or fields (case-insensitive).
    pub q: String,
    /// Lines of this trace (32 hex digits).
    pub trace_id: String,
    /// Lines of this span (16 hex digits).
    pub span_id: String,
    /// Whether the page stays as it is (`live=0`) instead of showing new lines as they come.
    pub paused: bool,
}

/// A filter checked once, ready to apply to many lines.
struct Compiled {
    level: Option<Level>,
    text: String,
    trace_id: Option<Option<TraceId>>,
    span_id: Option<Option<SpanId>>,
}

impl LogFilter {
    /// Reads the filters from query pairs as a browser sends them (empty fields mean "any");
    /// returns the problems with values that could not be used, each naming the fix.
    ///
    /// ```
    /// use obskit_dev::ui::html::parse_query;
    /// use obskit_dev::ui::logs::LogFilter;
    /// let (filter, problems) = LogFilter::from_query(&parse_query("level=&q=&trace_id=&live=1"));
    /// assert!(problems.is_empty() && filter.is_live());
    /// let (filter, problems) = LogFilter::from_query(&parse_query("level=loud&trace_id=xyz&live=off"));
    /// assert_eq!(problems.len(), 2);
    /// assert!(!filter.is_live());
    /// ```
    pub fn from_query(pairs: &[(String, String)]) -> (Self, Vec<String>) {
        let mut problems = Vec::new();
        let level = param(pairs, "level");
        let level = if level.is_empty() || Level::parse(level).is_some() {
            level.to_ascii_lowercase()
        } else {
            problems.push(format!(
                "level `{level}` is not one of trace, debug, info, warn, error; showing every level"
            ));
            String::new()
        };
        let trace_id = param(pairs, "trace_id");
        let trace_id = if trace_id.is_empty() || TraceId::parse(trace_id).is_some() {
            trace_id.to_ascii_lowercase()
        } else {
            problems.push(format!(
                "trace id `{trace_id}` is not 32 hex digits; showing the lines of every trace"
            ));
            String::new()
        };
        let span_id = param(pairs, "span_id");
        let span_id = if span_id.is_empty() || SpanId::parse(span_id).is_some() {
            span_id.to_ascii_lowercase()
        } else {
            problems.push(format!(
                "span id `{span_id}` is not 16 hex digits; showing the lines of every span"
            ));
            String::new()
        };
        (
            Self {
                level,
                q: param(pairs, "q").to_owned(),
                trace_id,
                span_id,
                paused: is_paused(param(pairs, "live")),
            },
            problems,
        )
    }

    fn compile(&self) -> Compiled {
        let trace = self.trace_id.trim();
        let span = self.span_id.trim();
        Compiled {
            level: Level::parse(self.level.trim()),
            text: self.q.trim().to_lowercase(),
            // An id that does not parse matches nothing, rather than everything.
            trace_id: (!trace.is_empty()).then(|| TraceId::parse(trace)),
            span_id: (!span.is_empty()).then(|| SpanId::parse(span)),
        }
    }

    /// Whether the page shows new lines as they come.
    pub fn is_live(&self) -> bool {
        !self.paused
    }
}

impl Compiled {
    fn matches(&self, line: &LogLine) -> bool {
        self.level.is_none_or(|min| line.level >= min)
            && self
                .trace_id
                .is_none_or(|id| id.is_some() && line.trace_id == id)
            && self
                .span_id
                .is_none_or(|id| id.is_some() && line.span_id == id)
            && (self.text.is_empty() || line.contains(&self.text))
    }
}

/// The page body for `lines` (oldest first), `filter` and the query's `problems`.
pub fn body(lines: &[Arc<LogLine>], filter: &LogFilter, problems: &[String]) -> String {
    let compiled = filter.compile();
    let shown: Vec<&LogLine> = lines
        .iter()
        .rev()
        .map(|l| &**l)
        .filter(|l| compiled.matches(l))
        .collect();
    let mut out = String::with_capacity(shown.len().min(MAX_ROWS) * 400 + 4096);
    out.push_str("<h1>Logs</h1>");
    super::html::problems(&mut out, problems);
    out.push_str("<form class=\"filters\" id=\"log-filters\" method=\"get\" action=\"/logs\"><label>Level at least<select name=\"level\"><option value=\"\">any</option>");
    for level in [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Warn,
        Level::Error,
    ] {
        let name = level.as_str().to_ascii_lowercase();
        let selected = if compiled.level == Some(level) {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            out,
            "<option value=\"{name}\"{selected}>{}</option>",
            level.as_str()
        );
    }
    let _ = write!(
        out,
        "</select></label><label>Text<input name=\"q\" value=\"{}\"></label>\
         <label>Trace id<input name=\"trace_id\" size=\"34\" value=\"{}\"></label>",
        escape(&filter.q),
        escape(&filter.trace_id)
    );
    if !filter.span_id.is_empty() {
        let _ = write!(
            out,
            "<label>Span id<input name=\"span_id\" size=\"18\" value=\"{}\"></label>",
            escape(&filter.span_id)
        );
    }
    let _ = write!(
        out,
        "<label>Live<select name=\"live\"><option value=\"1\">on</option><option value=\"0\"{}>paused</option></select></label>\
         <button type=\"submit\">Filter</button> <a href=\"/logs\">clear</a></form>",
        if filter.is_live() { "" } else { " selected" }
    );
    if let Some(trace) = compiled.trace_id.flatten() {
        let _ = write!(
            out,
            "<p>Lines of trace <a href=\"/traces/{trace}\" class=\"mono\">{trace}</a></p>"
        );
    }
    let _ = write!(
        out,
        "<p class=\"muted\" id=\"log-count\" data-live=\"1\">{} of {} lines, newest first{}</p>",
        shown.len(),
        lines.len(),
        if shown.len() > MAX_ROWS {
            format!(", the newest {MAX_ROWS} shown")
        } else {
            String::new()
        }
    );
    log_rows(&mut out, shown.into_iter().take(MAX_ROWS), false);
    out
}

/// A table of log lines. On a trace's page (`in_trace`), span links point at the span's
/// row on the same page; elsewhere trace ids link to their trace.
pub fn log_rows<'a>(out: &mut String, lines: impl Iterator<Item = &'a LogLine>, in_trace: bool) {
    out.push_str(
        "<table class=\"logs\" id=\"logs\"><thead><tr><th>Time</th><th>Level</th><th>Target</th><th>Message</th>\
         <th>Fields</th><th>Trace</th></tr></thead><tbody id=\"log-rows\" data-live=\"1\">",
    );
    for line in lines {
        let time = line
            .timestamp
            .split_once('T')
            .map_or(line.timestamp.as_str(), |(_, t)| t);
        let _ = write!(
            out,
            "<tr class=\"log\" data-seq=\"{}\"><td class=\"mono\">{}</td><td class=\"{level}\">{level}</td><td class=\"mono\">",
            line.seq,
            escape(time.get(..12).unwrap_or(time)),
            level = line.level.as_str(),
        );
        push_escaped(out, &line.target);
        out.push_str("</td><td class=\"message\">");
        push_escaped(out, &line.message);
        out.push_str("</td><td class=\"fields\">");
        for (i, (key, value)) in line.fields.iter().enumerate() {
            if key == "spans" || key == "service_name" {
                continue;
            }
            if i > 0 {
                out.push(' ');
            }
            push_escaped(out, key);
            out.push('=');
            push_escaped(out, value);
        }
        out.push_str("</td><td>");
        match (line.trace_id, line.span_id, in_trace) {
            (Some(_), Some(span), true) => {
                let _ = write!(
                    out,
                    "<a class=\"span-link mono\" href=\"#span-{span}\">span {span}</a>"
                );
            }
            (Some(trace), _, false) => {
                let _ = write!(
                    out,
                    "<a class=\"trace-link mono\" href=\"/traces/{trace}\">{}</a>",
                    &trace.to_string()[..16]
                );
            }
            _ => {}
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</tbody></table>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines() -> Vec<Arc<LogLine>> {
        [
            r#"{"level":"INFO","message":"a","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}"#,
            r#"{"level":"WARN","message":"b <i>"}"#,
            "plain text",
        ]
        .iter()
        .map(|raw| Arc::new(LogLine::parse(raw)))
        .collect()
    }

    fn shown(filter: &LogFilter) -> Vec<String> {
        let compiled = filter.compile();
        lines()
            .iter()
            .filter(|l| compiled.matches(l))
            .map(|l| l.message.clone())
            .collect()
    }

    #[test]
    fn filters_by_level_text_and_ids() {
        let level = LogFilter {
            level: "warn".to_owned(),
            ..LogFilter::default()
        };
        assert_eq!(shown(&level), ["b <i>"]);
        let text = LogFilter {
            q: "PLAIN".to_owned(),
            ..LogFilter::default()
        };
        assert_eq!(shown(&text), ["plain text"]);
        let trace = LogFilter {
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".to_owned(),
            ..LogFilter::default()
        };
        assert_eq!(shown(&trace), ["a"]);
        let bad = LogFilter {
            trace_id: "nope".to_owned(),
            ..LogFilter::default()
        };
        assert!(shown(&bad).is_empty());
    }

    #[test]
    fn lines_are_escaped_and_linked() {
        let html = body(&lines(), &LogFilter::default(), &[]);
        assert!(html.contains("b &lt;i&gt;"), "{html}");
        assert!(!html.contains("<i>"));
        assert!(html.contains("href=\"/traces/4bf92f3577b34da6a3ce929d0e0e4736\""));
    }
}
