//! A log line of the service: obskit's JSON lines parsed into level, message, ids and
//! fields; anything else kept as raw text. Also the one-line "pretty" form printed on the
//! terminal.

use std::fmt::Write as _;

use crate::model::{SpanId, TraceId};

/// Keys of obskit's JSON line that are shown in their own column rather than as fields.
const OWN_COLUMNS: [&str; 6] = [
    "timestamp",
    "level",
    "target",
    "message",
    "trace_id",
    "span_id",
];

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `TRACE`.
    Trace,
    /// `DEBUG`.
    Debug,
    /// `INFO`, and lines that are not JSON.
    Info,
    /// `WARN`.
    Warn,
    /// `ERROR`.
    Error,
}

impl Level {
    /// Parses a level name in any case (`warning` is `warn`).
    ///
    /// ```
    /// use obskit_dev::log_line::Level;
    /// assert_eq!(Level::parse("WARN"), Some(Level::Warn));
    /// assert_eq!(Level::parse("loud"), None);
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "trace" => Some(Self::Trace),
            "debug" => Some(Self::Debug),
            "info" => Some(Self::Info),
            "warn" | "warning" => Some(Self::Warn),
            "error" => Some(Self::Error),
            _ => None,
        }
    }

    /// Uppercase name, as the JSON lines spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trace => "TRACE",
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Warn => "WARN",
            Self::Error => "ERROR",
        }
    }
}

/// One line the service wrote on stdout.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// Position in the store (assigned when stored; 0 before).
    pub seq: u64,
    /// The `timestamp` field, as written (empty for raw lines).
    pub timestamp: String,
    /// The level (`INFO` for raw lines).
    pub level: Level,
    /// The `target` field (the module that logged).
    pub target: String,
    /// The `message` field, or the whole line when it is not JSON.
    pub message: String,
    /// The trace the line was written in, when it carries a valid `trace_id`.
    pub trace_id: Option<TraceId>,
    /// The span the line was written in, when it carries a valid `span_id`.
    pub span_id: Option<SpanId>,
    /// Every other field in key order, values as text (strings unquoted, the rest as JSON).
    pub fields: Vec<(String, String)>,
    /// Whether the line was a JSON object.
    pub structured: bool,
}

impl LogLine {
    /// Parses one line of output.
    ///
    /// ```
    /// use obskit_dev::log_line::{Level, LogLine};
    /// let line = LogLine::parse(r#"{"level":"WARN","message":"slow","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","ms":12}"#);
    /// assert_eq!(line.level, Level::Warn);
    /// assert_eq!(line.message, "slow");
    /// assert_eq!(line.trace_id.unwrap().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    /// assert_eq!(line.fields, [("ms".to_owned(), "12".to_owned())]);
    /// assert_eq!(LogLine::parse("compiling...").message, "compiling...");
    /// ```
    pub fn parse(raw: &str) -> Self {
        match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(raw) {
            Ok(object) => Self::from_object(object),
            Err(_) => Self {
                seq: 0,
                timestamp: String::new(),
                level: Level::Info,
                target: String::new(),
                message: raw.trim_end().to_owned(),
                trace_id: None,
                span_id: None,
                fields: Vec::new(),
                structured: false,
            },
        }
    }

    fn from_object(object: serde_json::Map<String, serde_json::Value>) -> Self {
        let text = |key: &str| {
            object
                .get(key)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let trace_id = TraceId::parse(&text("trace_id")).filter(|id| id.0 != [0; 16]);
        let span_id = SpanId::parse(&text("span_id")).filter(|id| id.0 != [0; 8]);
        let fields = object
            .iter()
            .filter(|(key, _)| !OWN_COLUMNS.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value_text(value)))
            .collect();
        Self {
            seq: 0,
            timestamp: text("timestamp"),
            level: Level::parse(&text("level")).unwrap_or(Level::Info),
            target: text("target"),
            message: text("message"),
            trace_id,
            span_id,
            fields,
            structured: true,
        }
    }

    /// Roughly how many bytes the line takes in memory (for the store's budget).
    pub fn approximate_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.timestamp.len()
            + self.target.len()
            + self.message.len()
            + self
                .fields
                .iter()
                .map(|(k, v)| k.len() + v.len() + 48)
                .sum::<usize>()
    }

    /// Whether `needle` occurs (case-insensitively) in the message, target or a field.
    pub fn contains(&self, needle_lowercase: &str) -> bool {
        let hit = |text: &str| text.to_lowercase().contains(needle_lowercase);
        hit(&self.message) || hit(&self.target) || self.fields.iter().any(|(k, v)| hit(k) || hit(v))
    }

    /// The line for a human: `time LEVEL target: message key=value ... trace=<first 8>`.
    ///
    /// ```
    /// use obskit_dev::log_line::LogLine;
    /// let line = LogLine::parse(r#"{"timestamp":"2026-12-01T10:00:00.123456Z","level":"INFO","target":"svc","message":"listening","port":8080}"#);
    /// assert_eq!(line.pretty(), "10:00:00.123  INFO svc: listening port=8080");
    /// ```
    pub fn pretty(&self) -> String {
        if !self.structured {
            return self.message.clone();
        }
        let mut out = String::new();
        // `2026-12-01T10:00:00.123456Z` → `10:00:00.123`.
        let time = self
            .timestamp
            .split_once('T')
            .map_or(self.timestamp.as_str(), |(_, time)| time);
        let time = time.get(..12).unwrap_or(time);
        let _ = write!(out, "{time} {:>5} ", self.level.as_str());
        if !self.target.is_empty() {
            let _ = write!(out, "{}: ", self.target);
        }
        out.push_str(&self.message);
        for (key, value) in &self.fields {
            if key == "service_name" || key == "spans" {
                continue;
            }
            let _ = write!(out, " {key}={value}");
        }
        if let Some(trace) = self.trace_id {
            let _ = write!(out, " trace={}", &trace.to_string()[..8]);
        }
        out
    }
}

/// A field value as text: strings without quotes, everything else as compact JSON.
fn value_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_obskit_line_is_split_into_columns_and_fields() {
        let line = LogLine::parse(
            r#"{"timestamp":"2026-12-01T10:00:00.1Z","level":"ERROR","target":"svc::db","service_name":"svc","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","message":"lost","spans":[{"name":"q"}],"retry":true}"#,
        );
        assert_eq!(line.level, Level::Error);
        assert_eq!(line.target, "svc::db");
        assert_eq!(line.span_id.unwrap().to_string(), "00f067aa0ba902b7");
        // In key order (serde_json's map is sorted).
        assert_eq!(
            line.fields,
            [
                ("retry".to_owned(), "true".to_owned()),
                ("service_name".to_owned(), "svc".to_owned()),
                ("spans".to_owned(), r#"[{"name":"q"}]"#.to_owned()),
            ]
        );
        assert!(line.contains("retry"));
        assert!(line.contains("lost"));
        assert!(!line.contains("found"));
    }

    #[test]
    fn invalid_or_zero_ids_are_not_links() {
        let line =
            LogLine::parse(r#"{"message":"m","trace_id":"xyz","span_id":"0000000000000000"}"#);
        assert_eq!((line.trace_id, line.span_id), (None, None));
        let zero = LogLine::parse(&format!(r#"{{"trace_id":"{}"}}"#, "0".repeat(32)));
        assert_eq!(zero.trace_id, None);
    }

    #[test]
    fn a_json_value_that_is_not_an_object_is_a_raw_line() {
        let line = LogLine::parse("[1,2]");
        assert!(!line.structured);
        assert_eq!(line.pretty(), "[1,2]");
    }
}
