//! The small text rules of the Prometheus exposition format 0.0.4 and of
//! OpenMetrics 1.0: valid metric and label names, escaped label values and
//! HELP text, numbers written the way Prometheus writes them (`1`, `0.25`,
//! `+Inf`, `NaN`), OpenMetrics' canonical `le` values (`1.0`, `1e+06`),
//! hex ids and exemplar timestamps.
//!
//! Names and label values are sanitized and escaped once, when a series is
//! registered; only numbers are written at render time, straight into the
//! output with `itoa`/`ryu` and no allocation.

use crate::digits::DIGIT_PAIRS;

/// `name` as a valid metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`: every other
/// character becomes `_`, and a leading digit gets a `_` in front of it
/// (`2xx` → `_2xx`) so the digit survives. An empty name becomes `_`.
pub(super) fn metric_name(name: &str) -> String {
    sanitize(name, true)
}

/// `name` as a valid label name, `[a-zA-Z_][a-zA-Z0-9_]*` (the format
/// allows `:` in metric names only); otherwise as [`metric_name`].
pub(super) fn label_name(name: &str) -> String {
    sanitize(name, false)
}

fn sanitize(name: &str, colon: bool) -> String {
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':');
    if name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
        && name.chars().all(valid)
    {
        return name.to_owned();
    }
    let mut out = String::with_capacity(name.len() + 1);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    out.extend(name.chars().map(|c| if valid(c) { c } else { '_' }));
    out
}

/// Appends `value` escaped for a label value: `\` → `\\`, `"` → `\"`,
/// newline → `\n`; everything else, any Unicode included, as it is.
pub(super) fn push_label_value(out: &mut String, value: &str) {
    push_escaped(out, value, true);
}

/// Appends `help` escaped for a 0.0.4 `# HELP` line: `\` → `\\`, newline →
/// `\n` (double quotes need no escape there).
pub(super) fn push_help(out: &mut String, help: &str) {
    push_escaped(out, help, false);
}

/// Appends `help` escaped for an OpenMetrics `# HELP` line, which escapes
/// double quotes too (`\"`), as label values do.
pub(super) fn push_help_openmetrics(out: &mut String, help: &str) {
    push_escaped(out, help, true);
}

fn push_escaped(out: &mut String, s: &str, quote: bool) {
    let special = |b: u8| b == b'\\' || b == b'\n' || (quote && b == b'"');
    if !s.bytes().any(special) {
        out.push_str(s);
        return;
    }
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        if special(b) {
            out.push_str(&s[start..i]);
            out.push_str(match b {
                b'\\' => "\\\\",
                b'\n' => "\\n",
                _ => "\\\"",
            });
            start = i + 1;
        }
    }
    out.push_str(&s[start..]);
}

/// Appends `v` in decimal.
#[inline]
pub(super) fn push_u64(out: &mut String, v: u64) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// Integers up to here are written exactly as integers (`1e15` < 2^53, so
/// every such `f64` is an exact integer); larger ones in exponent form.
pub(super) const INTEGER_LIMIT: f64 = 1e15;

/// Appends `v` as Prometheus writes floats: `+Inf`, `-Inf`, `NaN`, whole
/// numbers without a fraction (`1`, `-3`, `0`), others in the shortest form
/// that reads back to the same `f64` (`0.005`, `1.5e-7`, `1e20`).
#[inline]
pub(super) fn push_f64(out: &mut String, v: f64) {
    out.push_str(F64Text::new().format(v));
}

/// The text [`push_f64`] appends, formatted in buffers on the stack: at
/// most [`F64Text::MAX_LEN`] bytes, all ASCII.
pub(super) struct F64Text {
    integer: itoa::Buffer,
    float: ryu::Buffer,
}

impl F64Text {
    /// The longest text of a float: `-1.2345678901234567e-308`.
    pub(super) const MAX_LEN: usize = 24;

    #[inline]
    pub(super) fn new() -> Self {
        Self {
            integer: itoa::Buffer::new(),
            float: ryu::Buffer::new(),
        }
    }

    /// `v` as Prometheus writes it.
    #[inline]
    pub(super) fn format(&mut self, v: f64) -> &str {
        if v.is_nan() {
            "NaN"
        } else if v.is_infinite() {
            if v > 0.0 { "+Inf" } else { "-Inf" }
        } else if v.fract() == 0.0 && v.abs() < INTEGER_LIMIT {
            // Exact: a whole number below 2^53 converts to i64 without loss.
            self.integer.format(v as i64)
        } else {
            self.float.format_finite(v)
        }
    }
}

/// `v` formatted by [`push_f64`], for strings built once (bucket bounds).
pub(super) fn f64_string(v: f64) -> String {
    let mut s = String::new();
    push_f64(&mut s, v);
    s
}

/// `v` as an OpenMetrics canonical number, which `le` label values must
/// use: Go's `%g` of the shortest representation (exponent form when the
/// decimal exponent is below -4 or at least 6, two exponent digits at
/// least), with `.0` appended when there is neither a point nor an
/// exponent: `0.0`, `0.005`, `1.0`, `10.0`, `100000.0`, `1e+06`, `1e-05`.
/// Built once per bucket bound, so it may allocate.
pub(super) fn canonical_f64(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let mut out = String::new();
    if v < 0.0 {
        out.push('-');
    }
    // Rust's `{:e}` is the shortest round-trip form: `5e-3`, `1.1e23`, `0e0`.
    let scientific = format!("{:e}", v.abs());
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` always writes an exponent");
    let exp: i32 = exponent.parse().expect("`{:e}` writes an integer exponent");
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let digit = |i: usize| char::from(digits[i]);
    if !(-4..6).contains(&exp) {
        out.push(digit(0));
        if digits.len() > 1 {
            out.push('.');
            (1..digits.len()).for_each(|i| out.push(digit(i)));
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        if exp.abs() < 10 {
            out.push('0');
        }
        out.push_str(itoa::Buffer::new().format(exp.abs()));
        return out;
    }
    // Fixed notation; `point` is how many digits stand before the point.
    let point = exp + 1;
    if point <= 0 {
        out.push_str("0.");
        (0..-point).for_each(|_| out.push('0'));
        (0..digits.len()).for_each(|i| out.push(digit(i)));
        return out;
    }
    let point = point.unsigned_abs() as usize;
    for i in 0..point {
        out.push(if i < digits.len() { digit(i) } else { '0' });
    }
    out.push('.');
    if digits.len() > point {
        (point..digits.len()).for_each(|i| out.push(digit(i)));
    } else {
        out.push('0');
    }
    out
}

/// The longest timestamp [`write_unix_millis`] writes: `u64::MAX / 1000`
/// has 17 digits, then the point and three more.
pub(super) const UNIX_MILLIS_MAX_LEN: usize = 21;

/// Writes a Unix time given in milliseconds as OpenMetrics writes
/// timestamps, seconds with three decimals (`1764630000.123`), at the start
/// of `out` (at least [`UNIX_MILLIS_MAX_LEN`] bytes long); returns its
/// length.
pub(super) fn write_unix_millis(out: &mut [u8], millis: u64) -> usize {
    let point = write_decimal(out, millis / 1000);
    out[point] = b'.';
    // Below 1000: the cast keeps it.
    write_millis(&mut out[point + 1..point + 4], (millis % 1000) as usize);
    point + 4
}

/// Writes timestamps as [`write_unix_millis`] does, keeping the digits of
/// the last seconds of ten digits (2001 to 2286) it wrote: a scrape's
/// exemplars mostly hold the newest observation of each series, so on a
/// busy service many fall in the same few seconds, and their seconds are
/// copied rather than worked out again.
///
/// One slot per second modulo [`UnixMillisText::SLOTS`], so that exemplars
/// of a few neighbouring seconds, in whatever order the series come, find
/// theirs; the slot used last is tried first, with no division.
pub(super) struct UnixMillisText {
    /// The slot used last.
    last: usize,
    /// The first millisecond of the second each slot holds, one of ten
    /// digits.
    starts: [u64; Self::SLOTS],
    /// The ten digits of each slot's second.
    digits: [[u8; 10]; Self::SLOTS],
}

impl UnixMillisText {
    /// Seconds kept, a power of two.
    const SLOTS: usize = 8;

    /// Each slot holding a second of ten digits (the first ones), so that
    /// only such seconds are ever found.
    #[inline]
    pub(super) fn new() -> Self {
        const FIRST: UnixMillisText = {
            let mut text = UnixMillisText {
                last: 0,
                starts: [0; UnixMillisText::SLOTS],
                digits: [*b"1000000000"; UnixMillisText::SLOTS],
            };
            let mut slot = 0;
            while slot < UnixMillisText::SLOTS {
                // 10^9 is a multiple of the slot count, so second 10^9 + i
                // falls in slot i; i is a single digit.
                text.starts[slot] = (1_000_000_000 + slot as u64) * 1000;
                text.digits[slot][9] = b'0' + slot as u8;
                slot += 1;
            }
            text
        };
        FIRST
    }

    /// Writes `millis` as [`write_unix_millis`] does, at the start of `out`
    /// (at least [`UNIX_MILLIS_MAX_LEN`] bytes long); returns its length.
    #[inline]
    pub(super) fn write(&mut self, out: &mut [u8], millis: u64) -> usize {
        let mut slot = self.last % Self::SLOTS;
        let mut ms = millis.wrapping_sub(self.starts[slot]);
        if ms >= 1000 {
            let seconds = millis / 1000;
            // Below the slot count: the cast keeps it.
            slot = (seconds % Self::SLOTS as u64) as usize;
            ms = millis % 1000;
            if self.starts[slot] != millis - ms && !self.keep(slot, seconds) {
                return write_unix_millis(out, millis);
            }
            self.last = slot;
        }
        let Some(text) = out.first_chunk_mut::<14>() else {
            return write_unix_millis(out, millis);
        };
        text[..10].copy_from_slice(&self.digits[slot]);
        text[10] = b'.';
        // Below 1000: the cast keeps it.
        write_millis(&mut text[11..], ms as usize);
        14
    }

    /// Keeps `seconds` in `slot` if it has ten digits; says whether.
    #[inline(never)]
    fn keep(&mut self, slot: usize, seconds: u64) -> bool {
        if !(1_000_000_000..10_000_000_000).contains(&seconds) {
            return false;
        }
        let digits = &mut self.digits[slot];
        // Below 100 and below 10^8: the casts keep them.
        digits[..2].copy_from_slice(&DIGIT_PAIRS[(seconds / 100_000_000) as usize]);
        digits[2..].copy_from_slice(&eight_digits((seconds % 100_000_000) as u32));
        self.starts[slot] = seconds * 1000;
        true
    }
}

/// Writes `ms` (below 1000) as three digits into `out`.
#[inline]
fn write_millis(out: &mut [u8], ms: usize) {
    let hundreds = ms / 100;
    // Below 10: the cast keeps it.
    out[0] = b'0' + hundreds as u8;
    out[1..3].copy_from_slice(&DIGIT_PAIRS[ms - hundreds * 100]);
}

/// The longest decimal [`write_decimal`] writes: `u64::MAX` has 20 digits.
pub(super) const DECIMAL_MAX_LEN: usize = 20;

/// Writes `v` in decimal at the start of `out` (at least as long as the
/// number, [`DECIMAL_MAX_LEN`] bytes always suffice); returns its length.
/// The same digits as [`push_u64`], written in place; one and two digits
/// (most counts and increments) without a call.
#[inline]
pub(super) fn write_decimal(out: &mut [u8], v: u64) -> usize {
    if v < 10 {
        // A single digit: the cast keeps it.
        out[0] = b'0' + v as u8;
        1
    } else if v < 100 {
        out[..2].copy_from_slice(&DIGIT_PAIRS[v as usize]);
        2
    } else {
        write_long_decimal(out, v)
    }
}

/// [`write_decimal`] of three digits or more: two at a time from a table,
/// eight at a time while more than eight remain.
#[inline(never)]
fn write_long_decimal(out: &mut [u8], v: u64) -> usize {
    let len = decimal_len(v);
    let digits = &mut out[..len];
    let mut end = len;
    let mut rest = v;
    while rest >= 100_000_000 {
        // Below 10^8: fits a u32.
        let low = (rest % 100_000_000) as u32;
        rest /= 100_000_000;
        digits[end - 8..end].copy_from_slice(&eight_digits(low));
        end -= 8;
    }
    // Below 10^8 now.
    let mut rest = rest as u32;
    while rest >= 100 {
        let pair = DIGIT_PAIRS[(rest % 100) as usize];
        rest /= 100;
        digits[end - 2..end].copy_from_slice(&pair);
        end -= 2;
    }
    if rest >= 10 {
        digits[..2].copy_from_slice(&DIGIT_PAIRS[rest as usize]);
    } else {
        // A single digit: the cast keeps it.
        digits[0] = b'0' + rest as u8;
    }
    len
}

/// How many decimal digits `v` has (1 for 0).
#[inline]
fn decimal_len(v: u64) -> usize {
    // The bit length times log10(2) (1233 / 4096) is the digit count or
    // one less; one comparison settles which. `| 1` counts 0 as 1.
    let v = v | 1;
    let bits = 64 - v.leading_zeros() as usize;
    let guess = (bits * 1233) >> 12;
    guess + usize::from(v >= POWERS_OF_TEN[guess])
}

/// 10^0 to 10^19.
const POWERS_OF_TEN: [u64; 20] = {
    let mut table = [1_u64; 20];
    let mut i = 1;
    while i < 20 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// `v` (below 10^8) as eight digits, zero-padded: four digits a 32-bit
/// lane, two a 16-bit lane, then one a byte, each division by a constant
/// a multiply and a shift (exact for the ranges the lanes hold).
#[inline]
fn eight_digits(v: u32) -> [u8; 8] {
    let v = u64::from(v);
    let x = (v / 10_000) | ((v % 10_000) << 32);
    let hundreds = ((x * 10_486) >> 20) & 0x0000_007F_0000_007F;
    let x = hundreds | ((x - hundreds * 100) << 16);
    let tens = ((x * 103) >> 10) & 0x000F_000F_000F_000F;
    let x = tens | ((x - tens * 10) << 8);
    (x + 0x3030_3030_3030_3030).to_le_bytes()
}

/// `name` + `suffix` + `{labels} `, the braces left out for no labels.
#[inline]
pub(super) fn sample_start(out: &mut String, name: &str, suffix: &str, labels: &str) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() {
        out.push('{');
        out.push_str(labels);
        out.push('}');
    }
    out.push(' ');
}

/// `name_bucket{labels,le="…"} `, the start of a bucket sample in both formats.
#[inline]
pub(super) fn bucket_start(out: &mut String, name: &str, labels: &str, le: &str) {
    out.push_str(name);
    out.push_str("_bucket{");
    if !labels.is_empty() {
        out.push_str(labels);
        out.push(',');
    }
    out.push_str("le=\"");
    out.push_str(le);
    out.push_str("\"} ");
}

#[cfg(test)]
mod tests;
