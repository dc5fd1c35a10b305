//! Writes a registry snapshot as OpenMetrics 1.0 text, with exemplars:
//! what `/metrics` answers a scraper that asks for
//! `application/openmetrics-text` (Prometheus does by default).
//!
//! The same series as the Prometheus text format, with these differences,
//! each required or recommended by the OpenMetrics specification:
//!
//! - Metadata in the order `# TYPE`, `# UNIT` (when the metric was described
//!   with a unit and its family name ends in `_<unit>`), `# HELP` (double
//!   quotes escaped), and `# EOF` at the end.
//! - A counter registered as `x_total` is the family `x`
//!   (`# TYPE x counter`), its samples still `x_total`: Prometheus stores
//!   the same series name from both formats. A counter whose name does not
//!   end in `_total` is written as `unknown` under its own name, so that
//!   switching the scrape format never renames a user's series.
//! - `obskit_build_info` is an info metric (`# TYPE obskit_build info`).
//! - Histogram `le` values are canonical numbers (`1.0`, `10.0`; `0.005`
//!   unchanged), as the specification requires; `_count` then `_sum` follow
//!   the buckets. A histogram with a negative bound, a negative or a NaN sum
//!   has no `_count`/`_sum` (the specification forbids a sum there).
//! - **Exemplars**: a bucket whose bucket (not cumulative) slot holds an
//!   exemplar ends with `# {trace_id="…",span_id="…"} value timestamp`, as
//!   does a `_total` counter sample; see `exemplar` for when they are kept.
//! - **No `_created` samples.** The specification makes them optional
//!   (SHOULD). Prometheus before 2.50 stores each as one more series per
//!   counter and histogram series, doubling what the kit costs a Prometheus
//!   for no use in its queries; the names stay reserved (see `registry`), so
//!   they can be added later without a clash.
//!
//! Like the Prometheus renderer it allocates nothing per series.

use super::exemplar::Exemplar;
use super::series::HistogramSeries;
use super::snapshot::{FamilyView, Kind, Series, Snapshot};
use super::text::{
    DECIMAL_MAX_LEN, F64Text, INTEGER_LIMIT, UNIX_MILLIS_MAX_LEN, UnixMillisText, write_decimal,
};
use crate::hex::write_hex_lanes;

/// Appends every family of `snapshot` to `out`, then `# EOF`. Every byte
/// comes from a `&str` or is ASCII written here, so `out` holds UTF-8.
pub(super) fn write(snapshot: &Snapshot, out: &mut Vec<u8>) {
    let mut clock = UnixMillisText::new();
    for family in &snapshot.families {
        let name = &*family.name;
        match family.kind {
            Kind::Counter => match name.strip_suffix("_total") {
                Some(base) => {
                    metadata(out, family, base, "counter");
                    let start = NameBlock::new(name);
                    for series in family.series.iter() {
                        if let Series::Counter(c) = series {
                            start.sample_start(out, &c.labels);
                            let value = c.get();
                            match c.exemplar() {
                                Some(e) => value_with_exemplar(out, value, &e, &mut clock),
                                None => value_line(out, value),
                            }
                        }
                    }
                }
                None => {
                    metadata(out, family, name, "unknown");
                    let start = NameBlock::new(name);
                    for series in family.series.iter() {
                        if let Series::Counter(c) = series {
                            start.sample_start(out, &c.labels);
                            value_line(out, c.get());
                        }
                    }
                }
            },
            Kind::Gauge => {
                match name.strip_suffix("_info").filter(|_| family.info) {
                    Some(base) => metadata(out, family, base, "info"),
                    None => metadata(out, family, name, "gauge"),
                }
                let start = NameBlock::new(name);
                for series in family.series.iter() {
                    if let Series::Gauge(g) = series {
                        start.sample_start(out, &g.labels);
                        put(out, F64Text::new().format(g.get()));
                        out.push(b'\n');
                    }
                }
            }
            Kind::Histogram => {
                metadata(out, family, name, "histogram");
                for series in family.series.iter() {
                    if let Series::Histogram(h) = series {
                        histogram(out, name, h, &mut clock);
                    }
                }
            }
        }
    }
    put(out, "# EOF\n");
}

fn histogram(out: &mut Vec<u8>, name: &str, h: &HistogramSeries, clock: &mut UnixMillisText) {
    let labels = &*h.labels;
    // `name_bucket{labels` is written once, then copied from the output
    // for each other bucket: one copy where there were four appends.
    let prefix_start = out.len();
    put(out, name);
    put(out, "_bucket{");
    put(out, labels);
    let prefix = prefix_start..out.len();
    let bounds = h.buckets.le_openmetrics();
    let mut cumulative = 0u64;
    for (i, le) in bounds.iter().enumerate() {
        if i > 0 {
            out.extend_from_within(prefix.clone());
        }
        // `,le="…"} `, the comma left out for no other labels.
        if labels.is_empty() {
            out.extend_from_slice(le.text().get(1..).unwrap_or_default());
        } else {
            let start = out.len();
            out.extend_from_slice(le.block());
            out.truncate(start + le.len());
        }
        cumulative += h.bucket(i);
        match h.exemplar(i) {
            Some(e) => value_with_exemplar(out, cumulative, &e, clock),
            None => value_line(out, cumulative),
        }
    }
    let last = bounds.len();
    if last > 0 {
        out.extend_from_within(prefix);
    }
    let inf = ",le=\"+Inf\"} ";
    out.extend_from_slice(&inf.as_bytes()[usize::from(labels.is_empty())..]);
    cumulative += h.bucket(last);
    match h.exemplar(last) {
        Some(e) => value_with_exemplar(out, cumulative, &e, clock),
        None => value_line(out, cumulative),
    }
    let sum = h.sum();
    let negative_bounds = h.buckets.bounds().first().is_some_and(|b| *b < 0.0);
    if !negative_bounds && sum >= 0.0 {
        sample_start(out, name, "_count", labels);
        value_line(out, cumulative);
        sample_start(out, name, "_sum", labels);
        put(out, F64Text::new().format(sum));
        out.push(b'\n');
    }
}

/// `# TYPE`, `# UNIT` and `# HELP` of `family`, under the OpenMetrics family
/// name `base` with type word `word`.
fn metadata(out: &mut Vec<u8>, family: &FamilyView, base: &str, word: &str) {
    put(out, "# TYPE ");
    put(out, base);
    out.push(b' ');
    put(out, word);
    out.push(b'\n');
    // Info metrics have no unit, and a unit must end the family name.
    if let Some(unit) = family.unit
        && word != "info"
        && base
            .strip_suffix(unit)
            .is_some_and(|rest| rest.ends_with('_'))
    {
        put(out, "# UNIT ");
        put(out, base);
        out.push(b' ');
        put(out, unit);
        out.push(b'\n');
    }
    if let Some(help) = family.help.as_ref().filter(|h| !h.openmetrics.is_empty()) {
        put(out, "# HELP ");
        put(out, base);
        out.push(b' ');
        put(out, &help.openmetrics);
        out.push(b'\n');
    }
}

/// A family's sample name and `{`, in a block of fixed size when it fits:
/// each series' line starts with a copy of the whole block (a few moves,
/// no call) cut to length.
struct NameBlock<'a> {
    name: &'a str,
    /// `name{`, then spaces; empty when it does not fit.
    block: [u8; NAME_BLOCK],
}

/// The size of a [`NameBlock`]'s block.
const NAME_BLOCK: usize = 64;

impl<'a> NameBlock<'a> {
    fn new(name: &'a str) -> Self {
        let mut block = [b' '; NAME_BLOCK];
        if let Some(start) = block.get_mut(..name.len() + 1) {
            start[..name.len()].copy_from_slice(name.as_bytes());
            start[name.len()] = b'{';
        }
        Self { name, block }
    }

    /// `name{labels} `, as [`sample_start`] writes it.
    #[inline]
    fn sample_start(&self, out: &mut Vec<u8>, labels: &str) {
        if labels.is_empty() || self.name.len() >= NAME_BLOCK {
            sample_start(out, self.name, "", labels);
            return;
        }
        let start = out.len();
        out.extend_from_slice(&self.block);
        out.truncate(start + self.name.len() + 1);
        put(out, labels);
        out.extend_from_slice(b"} ");
    }
}

/// Appends `s`.
#[inline]
fn put(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
}

/// `name` + `suffix` + `{labels} `, the braces left out for no labels.
#[inline]
fn sample_start(out: &mut Vec<u8>, name: &str, suffix: &str, labels: &str) {
    put(out, name);
    put(out, suffix);
    if !labels.is_empty() {
        out.push(b'{');
        put(out, labels);
        out.push(b'}');
    }
    out.push(b' ');
}

/// `value` and the end of the line, written in place like an exemplar:
/// the room is made of newlines, so the one after the digits is there.
#[inline]
fn value_line(out: &mut Vec<u8>, value: u64) {
    let start = out.len();
    out.extend_from_slice(&[b'\n'; DECIMAL_MAX_LEN + 1]);
    let len = write_decimal(&mut out[start..], value);
    out.truncate(start + len + 1);
}

/// Where the parts of an exemplar lie, from the space before its `#`.
const TRACE_AT: usize = b" # {trace_id=\"".len();
const SPAN_AT: usize = TRACE_AT + 32 + b"\",span_id=\"".len();
const VALUE_AT: usize = SPAN_AT + 16 + b"\"} ".len();
/// An exemplar's fixed part, its ids to be written over the zeros.
const EXEMPLAR: &[u8; VALUE_AT] =
    b" # {trace_id=\"00000000000000000000000000000000\",span_id=\"0000000000000000\"} ";
/// The longest exemplar and newline [`write_exemplar`] writes.
const EXEMPLAR_MAX: usize = VALUE_AT + F64Text::MAX_LEN + 1 + UNIX_MILLIS_MAX_LEN + 1;

/// `value # {trace_id="…",span_id="…"} exemplar-value timestamp` and the
/// end of the line.
///
/// Written in place at the end of `out` (room made once, cut to length at
/// the end): a scrape writes thousands of these, and bytes written straight
/// into the output cost less than appends, and need no check that they are
/// text as a `String` would.
#[inline]
fn value_with_exemplar(out: &mut Vec<u8>, value: u64, e: &Exemplar, clock: &mut UnixMillisText) {
    let start = out.len();
    // Newlines: the one that ends the line is there already.
    out.extend_from_slice(&[b'\n'; DECIMAL_MAX_LEN + EXEMPLAR_MAX]);
    let line = &mut out[start..];
    let at = write_decimal(line, value);
    // There is room: the value takes at most `DECIMAL_MAX_LEN`.
    if let Some(exemplar) = line[at..].first_chunk_mut::<EXEMPLAR_MAX>() {
        let len = at + write_exemplar(exemplar, e, clock);
        out.truncate(start + len);
    } else {
        out.truncate(start);
        value_line(out, value);
    }
}

/// Writes ` # {trace_id="…",span_id="…"} value timestamp` at the start of
/// `out`, at fixed places up to the value; returns its length plus one for
/// the newline `out` holds after it.
#[inline]
fn write_exemplar(out: &mut [u8; EXEMPLAR_MAX], e: &Exemplar, clock: &mut UnixMillisText) -> usize {
    out[..VALUE_AT].copy_from_slice(EXEMPLAR);
    write_hex_lanes(&mut out[TRACE_AT..TRACE_AT + 32], &e.trace_id);
    write_hex_lanes(&mut out[SPAN_AT..SPAN_AT + 16], &e.span_id);
    let (_, rest) = out.split_at_mut(VALUE_AT);
    let value = write_f64(rest, e.value);
    let (_, rest) = rest.split_at_mut(value);
    rest[0] = b' ';
    let time = clock.write(&mut rest[1..], e.unix_millis);
    VALUE_AT + value + time + 2
}

/// Writes `v` as [`F64Text`] formats it at the start of `out` (at least
/// [`F64Text::MAX_LEN`] bytes); returns its length. Whole numbers (what a
/// counter's exemplar always holds) and short decimals (a histogram's:
/// durations to the nanosecond, sizes) take shorter paths than `ryu`.
#[inline]
fn write_f64(out: &mut [u8], v: f64) -> usize {
    let abs = v.abs();
    // NaN and the infinities fail this test.
    if abs < INTEGER_LIMIT {
        // A whole number below 2^53 converts to i64 and back exactly.
        if (v as i64) as f64 == v {
            let whole = v as i64;
            let sign = usize::from(whole < 0);
            // Written over by the first digit when there is no sign.
            out[0] = b'-';
            return sign + write_decimal(&mut out[sign..], whole.unsigned_abs());
        }
        if abs >= FIXED_FROM
            && let Some((digits, places)) = short_decimal(abs)
        {
            return write_fixed(out, v < 0.0, digits, places);
        }
    }
    let mut text = F64Text::new();
    let text = text.format(v).as_bytes();
    out[..text.len()].copy_from_slice(text);
    text.len()
}

/// From here up (to 10^15), `ryu` writes the shortest form in fixed
/// notation (`0.00001`, `123.25`); below it in exponent form (`1e-6`).
const FIXED_FROM: f64 = 1e-5;

/// Decimal places [`short_decimal`] tries: a duration in seconds to the
/// nanosecond has at most nine.
const SHORT_PLACES: usize = 9;

/// 10^0 to 10^[`SHORT_PLACES`], exact as `f64` and as `u64`.
const SCALES: [(f64, u64); SHORT_PLACES + 1] = {
    let mut scales = [(1.0, 1); SHORT_PLACES + 1];
    let mut i = 1;
    while i <= SHORT_PLACES {
        scales[i] = (scales[i - 1].0 * 10.0, scales[i - 1].1 * 10);
        i += 1;
    }
    scales
};

/// `abs` (positive, finite, not whole) as `digits` × 10^-`places` with
/// the fewest places, 1 to [`SHORT_PLACES`], that read back as `abs`: the
/// shortest decimal, so the digits `ryu` writes. `None` when it needs more
/// places (then `ryu` writes it).
///
/// Exact: `digits` below 10^15 and the scale below 2^53 are exact `f64`s,
/// and IEEE division rounds `digits / scale` as parsing the decimal text
/// does, so the test is the round trip itself. Below 10^15 the rounding
/// interval of `abs × scale` is under 0.25 wide, so it holds at most one
/// whole number and the rounded product finds it: no shorter decimal is
/// passed over, and none with more places is shorter.
#[inline]
fn short_decimal(abs: f64) -> Option<(u64, usize)> {
    for (places, &(scale, _)) in SCALES.iter().enumerate().skip(1) {
        let scaled = abs * scale;
        if scaled >= INTEGER_LIMIT {
            return None;
        }
        // Positive and below 10^15: the cast rounds to the nearest whole
        // number exactly.
        let digits = (scaled + 0.5) as i64;
        if digits as f64 / scale == abs {
            return Some((digits.unsigned_abs(), places));
        }
    }
    None
}

/// `digits` × 10^-`places` in fixed notation, `-` first when `negative`,
/// `0.` before a fraction below one, as `ryu` writes it; returns its length.
#[inline]
fn write_fixed(out: &mut [u8], negative: bool, digits: u64, places: usize) -> usize {
    let scale = SCALES[places].1;
    let sign = usize::from(negative);
    // Written over by the first digit when there is no sign.
    out[0] = b'-';
    let point = sign + write_decimal(&mut out[sign..], digits / scale);
    out[point] = b'.';
    let mut fraction = digits % scale;
    for digit in out[point + 1..=point + places].iter_mut().rev() {
        // Below 10: the cast keeps it.
        *digit = b'0' + (fraction % 10) as u8;

        fraction /= 10;
    }
    point + 1 + places
}

#[cfg(test)]
mod tests;
