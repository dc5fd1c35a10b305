//! Field values written straight into JSON text.
//!
//! Span fields are serialized once, when they are recorded, into a JSON
//! fragment kept in the span's extensions; an event copies the fragment
//! as it is. Nothing is ever parsed back, which is where the usual JSON
//! formatter spends its time.

use std::fmt::{self, Write};

use tracing::field::{Field, Visit};

/// Appends `s` as a JSON string literal, quotes included.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    push_escaped(out, s);
    out.push('"');
}

/// A `fmt::Write` that escapes what is written into a JSON string body, so
/// `Debug` and `Display` values are formatted straight into the line.
pub(crate) struct Escaped<'a>(pub(crate) &'a mut String);

impl Write for Escaped<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        push_escaped(self.0, s);
        Ok(())
    }
}

/// Appends `s` escaped for the inside of a JSON string.
fn push_escaped(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f | 0x7f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// Keys obskit writes itself; a field with one of these names is written
/// as `field.<name>` so the line stays valid, unambiguous JSON.
const RESERVED: &[&str] = &[
    "timestamp",
    "level",
    "target",
    "service_name",
    "trace_id",
    "span_id",
    "request_id",
    "spans",
];

/// A [`Visit`]or appending `"name":value` pairs, comma-separated, to a buffer.
pub(crate) struct JsonFields<'a> {
    pub(crate) out: &'a mut String,
    /// Whether a pair was already written (so the next needs a comma).
    pub(crate) any: bool,
    /// Whether the field called `message` is skipped (written first by the caller).
    pub(crate) skip_message: bool,
}

impl JsonFields<'_> {
    fn key(&mut self, field: &Field) -> bool {
        let name = field.name();
        if self.skip_message && name == "message" {
            return false;
        }
        if self.any {
            self.out.push(',');
        }
        self.any = true;
        if RESERVED.contains(&name) {
            let mut prefixed = String::with_capacity(name.len() + 6);
            prefixed.push_str("field.");
            prefixed.push_str(name);
            push_json_str(self.out, &prefixed);
        } else {
            push_json_str(self.out, name);
        }
        self.out.push(':');
        true
    }
}

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.key(field) {
            push_json_str(self.out, value);
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.key(field) {
            self.out.push_str(itoa::Buffer::new().format(value));
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.key(field) {
            self.out.push_str(itoa::Buffer::new().format(value));
        }
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        if self.key(field) {
            self.out.push_str(itoa::Buffer::new().format(value));
        }
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        if self.key(field) {
            self.out.push_str(itoa::Buffer::new().format(value));
        }
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.key(field) {
            self.out.push_str(if value { "true" } else { "false" });
        }
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        if self.key(field) {
            if value.is_finite() {
                self.out.push_str(ryu::Buffer::new().format_finite(value));
            } else {
                push_json_str(self.out, &value.to_string());
            }
        }
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if self.key(field) {
            push_json_str(self.out, &value.to_string());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.key(field) {
            self.out.push('"');
            let _ = write!(Escaped(self.out), "{value:?}");
            self.out.push('"');
        }
    }
}

/// Writes the `message` field of an event, escaped, into a JSON string body.
pub(crate) struct Message<'a>(pub(crate) &'a mut String);

impl Visit for Message<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            push_escaped(self.0, value);
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(Escaped(self.0), "{value:?}");
        }
    }
}

/// Appends the RFC 3339 UTC timestamp of `now` with microseconds, e.g.
/// `2026-11-21T10:00:00.123456Z`. The date and time part is formatted
/// once per second per thread.
pub(crate) fn push_timestamp(out: &mut String, now: std::time::SystemTime) {
    use std::cell::RefCell;
    thread_local! {
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let since = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    SECOND.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs {
            let whole = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
            cached.1 = humantime::format_rfc3339_seconds(whole).to_string();
            cached.1.pop(); // the trailing `Z`
            cached.0 = secs;
        }
        out.push_str(&cached.1);
    });
    let micros = since.subsec_micros();
    out.push('.');
    let mut digits = itoa::Buffer::new();
    let text = digits.format(micros);
    for _ in text.len()..6 {
        out.push('0');
    }
    out.push_str(text);
    out.push('Z');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_with_microseconds() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_micros(1_795_000_000_000_042);
        let mut out = String::new();
        push_timestamp(&mut out, t);
        assert_eq!(out, humantime::format_rfc3339_micros(t).to_string());
        out.clear();
        push_timestamp(&mut out, t + std::time::Duration::from_micros(999_000));
        assert!(out.ends_with(".999042Z"), "{out}");
    }

    #[test]
    fn strings_are_escaped_as_json_requires() {
        let mut out = String::new();
        push_json_str(&mut out, "a\"b\\c\nd\te\u{1}f\u{7f}é");
        assert_eq!(out, r#""a\"b\\c\nd\te\u0001f\u007fé""#);
        let parsed: String = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed, "a\"b\\c\nd\te\u{1}f\u{7f}é");
    }
}
