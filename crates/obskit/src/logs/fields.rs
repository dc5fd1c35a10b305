//! Field values written straight into JSON text.
//!
//! Span fields are serialized once, when they are recorded, into a JSON
//! fragment kept in the span's extensions; an event copies the fragment
//! as it is. Nothing is ever parsed back, which is where the usual JSON
//! formatter spends its time.

use std::fmt::{self, Write};

use tracing::field::{Field, Visit};

use crate::digits::two_digits;

/// Where JSON text is appended: a `String`, or the bytes of a line
/// written straight to the log writer (text appended to bytes needs no
/// check that it is text, as bytes appended to a `String` would).
pub(crate) trait Out {
    /// Appends `s`.
    fn push_str(&mut self, s: &str);
    /// Appends one ASCII character.
    fn push_ascii(&mut self, c: u8);
    /// Appends `text`, ASCII (a `String` checks it; text that is not is
    /// left out).
    fn push_ascii_text(&mut self, text: &[u8]);
}

impl Out for String {
    #[inline]
    fn push_str(&mut self, s: &str) {
        String::push_str(self, s);
    }
    #[inline]
    fn push_ascii(&mut self, c: u8) {
        self.push(char::from(c));
    }
    #[inline]
    fn push_ascii_text(&mut self, text: &[u8]) {
        String::push_str(self, std::str::from_utf8(text).unwrap_or_default());
    }
}

impl Out for Vec<u8> {
    #[inline]
    fn push_str(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }
    #[inline]
    fn push_ascii(&mut self, c: u8) {
        self.push(c);
    }
    #[inline]
    fn push_ascii_text(&mut self, text: &[u8]) {
        self.extend_from_slice(text);
    }
}

/// Appends `s` as a JSON string literal, quotes included.
pub(crate) fn push_json_str<O: Out + ?Sized>(out: &mut O, s: &str) {
    out.push_ascii(b'"');
    push_escaped(out, s);
    out.push_ascii(b'"');
}

/// Room for a span's fields when they are first written: a few short pairs
/// (`"order_id":42`) fit without the string growing.
pub(crate) const SPAN_FIELDS_CAPACITY: usize = 64;

/// Appends the pairs `record` visits to a span's `out`, after a comma when
/// it already holds some.
pub(crate) fn append_fields(out: &mut String, record: impl FnOnce(&mut JsonFields<'_>)) {
    let any = !out.is_empty();
    record(&mut JsonFields {
        out,
        any,
        skip_message: false,
    });
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
///
/// Most text needs no escaping: the scan looks at eight bytes at a time
/// (the last, short word padded with spaces) and copies a clean string in
/// one piece. Only a string that holds a quote, a backslash or a control
/// character is escaped byte by byte.
pub(crate) fn push_escaped<O: Out + ?Sized>(out: &mut O, s: &str) {
    if needs_escape(s.as_bytes()) {
        push_escaped_slow(out, s);
    } else {
        out.push_str(s);
    }
}

/// Whether any byte of `bytes` must be escaped: a table lookup a byte for
/// short text (field names, methods, routes), eight bytes at a time for
/// longer text.
fn needs_escape(bytes: &[u8]) -> bool {
    if bytes.len() <= 16 {
        return bytes.iter().any(|&b| ESCAPED[usize::from(b)]);
    }
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut w = [0; 8];
        w.copy_from_slice(word);
        if word_needs_escape(u64::from_le_bytes(w)) {
            return true;
        }
    }
    let tail = words.remainder();
    if tail.is_empty() {
        return false;
    }
    let mut w = [b' '; 8];
    for (to, from) in w.iter_mut().zip(tail) {
        *to = *from;
    }
    word_needs_escape(u64::from_le_bytes(w))
}

fn push_escaped_slow<O: Out + ?Sized>(out: &mut O, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if let Some(escape) = escape_of(b) {
            out.push_str(&s[start..i]);
            match escape {
                Escape::Short(e) => out.push_str(e),
                Escape::Unicode(b) => {
                    // `\u00XX`: `b` is below 0x80.
                    let mut hex = [0; 2];
                    crate::hex::write_hex(&mut hex, &[b]);
                    out.push_str("\\u00");
                    out.push_ascii(hex[0]);
                    out.push_ascii(hex[1]);
                }
            }
            start = i + 1;
        }
    }
    out.push_str(&s[start..]);
}

/// The bytes a JSON string must escape: `"`, `\\`, controls and DEL.
static ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table[0x7f] = true;
    table
};

/// How one byte is written inside a JSON string, when it must be escaped.
enum Escape {
    /// A two-character escape such as `\n`.
    Short(&'static str),
    /// `\u00XX`.
    Unicode(u8),
}

fn escape_of(b: u8) -> Option<Escape> {
    Some(match b {
        b'"' => Escape::Short("\\\""),
        b'\\' => Escape::Short("\\\\"),
        b'\n' => Escape::Short("\\n"),
        b'\r' => Escape::Short("\\r"),
        b'\t' => Escape::Short("\\t"),
        0..=0x1f | 0x7f => Escape::Unicode(b),
        _ => return None,
    })
}

/// Whether any of the eight bytes of `word` is `"`, `\\`, below 0x20 or 0x7f
/// (the classic "has zero byte" and "has byte less than" bit tricks).
fn word_needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS != 0;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS != 0;
    below_space
        || has_zero(word ^ (ONES * u64::from(b'"')))
        || has_zero(word ^ (ONES * u64::from(b'\\')))
        || has_zero(word ^ (ONES * 0x7f))
}

/// Whether obskit writes the key `name` itself; a field with one of these
/// names is written as `field.<name>` so the line stays valid, unambiguous
/// JSON.
fn is_reserved(name: &str) -> bool {
    matches!(
        name,
        "timestamp"
            | "level"
            | "target"
            | "service_name"
            | "trace_id"
            | "span_id"
            | "request_id"
            | "spans"
    )
}

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
        self.out.push('"');
        if is_reserved(name) {
            self.out.push_str("field.");
        }
        push_escaped(self.out, name);
        self.out.push('"');
        self.out.push(':');
        true
    }

    /// Appends an integer field, unless it is skipped.
    fn integer(&mut self, field: &Field, value: impl itoa::Integer) {
        if self.key(field) {
            self.out.push_str(itoa::Buffer::new().format(value));
        }
    }
}

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.key(field) {
            push_json_str(self.out, value);
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.integer(field, value);
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.integer(field, value);
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.integer(field, value);
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.integer(field, value);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.key(field) {
            self.out.push_str(if value { "true" } else { "false" });
        }
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        if self.key(field) {
            push_f64(self.out, value);
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

/// Appends `value` as a JSON number, or as a string (`"NaN"`, `"inf"`)
/// when JSON has no number for it.
pub(crate) fn push_f64<O: Out + ?Sized>(out: &mut O, value: f64) {
    if value.is_finite() {
        out.push_str(ryu::Buffer::new().format_finite(value));
    } else {
        push_json_str(out, &value.to_string());
    }
}

/// Appends `micros` microseconds as milliseconds, exactly as [`push_f64`]
/// prints the `f64` `micros / 1000.0` (`0.322`, `1.5`, `2000.0`), with
/// integer arithmetic instead of a float-to-text conversion.
pub(crate) fn push_millis<O: Out + ?Sized>(out: &mut O, micros: u128) {
    // Below 2^40 µs (12.7 days) the float's spacing is far below a
    // thousandth, so its shortest form is the three-decimal value; a longer
    // duration is printed from the float itself.
    // (Worked in `u64`: `u128` division is a call into a slow routine.)
    let micros = match u64::try_from(micros) {
        Ok(m) if m < 1 << 40 => m,
        _ => {
            #[allow(clippy::cast_precision_loss)]
            push_f64(out, micros as f64 / 1000.0);
            return;
        }
    };
    out.push_str(itoa::Buffer::new().format(micros / 1000));
    out.push_ascii(b'.');
    // The three decimals without their trailing zeros (`.0` for none).
    let frac = micros % 1000;
    if frac == 0 {
        out.push_ascii(b'0');
        return;
    }
    let (hundreds, rest) = (frac / 100, frac % 100);
    // `frac` is below 1000, so `hundreds` is one digit.
    out.push_ascii(b'0' + hundreds as u8);
    if rest != 0 {
        let pair = two_digits(rest as u32);
        out.push_str(if rest % 10 == 0 { &pair[..1] } else { pair });
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
/// once per second per thread and copied as text; the microseconds are
/// three pairs of digits from a table, so nothing is checked again.
pub(crate) fn push_timestamp<O: Out + ?Sized>(out: &mut O, now: std::time::SystemTime) {
    use std::cell::RefCell;
    thread_local! {
        /// The second last formatted and its `YYYY-MM-DDTHH:MM:SS.`.
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let since = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let cached = SECOND.try_with(|cell| {
        let mut second = cell.try_borrow_mut().ok()?;
        if second.0 != secs {
            let whole = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
            // `YYYY-MM-DDTHH:MM:SSZ` for every year this code will see.
            let text = humantime::format_rfc3339_seconds(whole).to_string();
            let prefix = text.trim_end_matches('Z');
            if prefix.len() != 19 {
                // A year past 9999: no fixed width, so no cache.
                return None;
            }
            second.1.clear();
            second.1.push_str(prefix);
            second.1.push('.');
            second.0 = secs;
        }
        out.push_str(&second.1);
        Some(())
    });
    if !matches!(cached, Ok(Some(()))) {
        out.push_str(&humantime::format_rfc3339_micros(now).to_string());
        return;
    }
    // `uuuuuuZ`, put together on the stack and appended at once.
    let micros = since.subsec_micros();
    let mut tail = [b'Z'; 7];
    for (pair, n) in tail
        .chunks_exact_mut(2)
        .zip([micros / 10_000, micros / 100, micros])
    {
        pair.copy_from_slice(two_digits(n % 100).as_bytes());
    }
    out.push_ascii_text(&tail);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-at-a-time escape the word-at-a-time one must equal.
    fn escaped_bytewise(s: &str) -> String {
        let mut out = String::new();
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                }
                c => out.push(c),
            }
        }
        out
    }

    #[test]
    fn word_at_a_time_escaping_equals_the_bytewise_rule() {
        let specials = [
            '"', '\\', '\n', '\r', '\t', '\u{0}', '\u{1f}', '\u{7f}', ' ', '~', 'é', '€', 'a',
        ];
        // Every special at every offset of strings long enough to span words.
        for len in 0..20 {
            for at in 0..len.max(1) {
                for special in specials {
                    let s: String = (0..len)
                        .map(|i| {
                            if i == at {
                                special
                            } else {
                                (b'a' + (i % 26) as u8) as char
                            }
                        })
                        .collect();
                    let mut out = String::new();
                    push_escaped(&mut out, &s);
                    assert_eq!(out, escaped_bytewise(&s), "input {s:?}");
                }
            }
        }
        // Pseudo-random text over every byte class.
        let mut x: u32 = 0x1234_5678;
        for _ in 0..2000 {
            let s: String = (0..(x % 40))
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    char::from_u32(x % 0x90).unwrap_or('?')
                })
                .collect();
            let mut out = String::new();
            push_escaped(&mut out, &s);
            assert_eq!(out, escaped_bytewise(&s), "input {s:?}");
        }
    }

    #[test]
    fn milliseconds_are_written_as_the_float_would_be() {
        let check = |micros: u128| {
            let mut fast = String::new();
            push_millis(&mut fast, micros);
            let mut float = String::new();
            #[allow(clippy::cast_precision_loss)]
            push_f64(&mut float, micros as f64 / 1000.0);
            assert_eq!(fast, float, "{micros} µs");
        };
        (0..200_000).for_each(check);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            check(u128::from(x >> (x % 40)));
            check(u128::from(x % (1 << 40)));
        }
        for micros in [(1 << 40) - 1, 1 << 40, 1 << 53, u128::from(u64::MAX)] {
            check(micros);
        }
    }

    #[test]
    fn timestamps_are_rfc3339_with_microseconds() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_micros(1_795_000_000_000_042);
        let mut out = String::new();
        push_timestamp(&mut out, t);
        assert_eq!(out, humantime::format_rfc3339_micros(t).to_string());
        out.clear();
        push_timestamp(&mut out, t + std::time::Duration::from_micros(999_000));
        assert!(out.ends_with(".999042Z"), "{out}");
        // Every digit of the microseconds, within one second and across seconds.
        for micros in [
            0,
            7,
            10,
            99,
            100,
            12_345,
            100_000,
            999_999,
            1_000_000,
            86_400_000_001,
        ] {
            let at = t + std::time::Duration::from_micros(micros);
            out.clear();
            push_timestamp(&mut out, at);
            assert_eq!(out, humantime::format_rfc3339_micros(at).to_string());
        }
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
