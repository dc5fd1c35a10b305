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
use super::snapshot::{FamilyView, Kind, Series, Snapshot};
use super::text::{
    F64Text, UNIX_MILLIS_MAX_LEN, bucket_start, push_f64, push_u64, sample_start, write_unix_millis,
};
use crate::hex::write_hex;

/// Appends every family of `snapshot` to `out`, then `# EOF`.
pub(super) fn write(snapshot: &Snapshot, out: &mut String) {
    for family in &snapshot.families {
        let name = &*family.name;
        match family.kind {
            Kind::Counter => match name.strip_suffix("_total") {
                Some(base) => {
                    metadata(out, family, base, "counter");
                    for series in family.series.iter() {
                        if let Series::Counter(c) = series {
                            sample_start(out, name, "", &c.labels);
                            push_u64(out, c.get());
                            if let Some(e) = c.exemplar() {
                                push_exemplar(out, &e);
                            }
                            out.push('\n');
                        }
                    }
                }
                None => {
                    metadata(out, family, name, "unknown");
                    for series in family.series.iter() {
                        if let Series::Counter(c) = series {
                            sample_start(out, name, "", &c.labels);
                            push_u64(out, c.get());
                            out.push('\n');
                        }
                    }
                }
            },
            Kind::Gauge => {
                match name.strip_suffix("_info").filter(|_| family.info) {
                    Some(base) => metadata(out, family, base, "info"),
                    None => metadata(out, family, name, "gauge"),
                }
                for series in family.series.iter() {
                    if let Series::Gauge(g) = series {
                        sample_start(out, name, "", &g.labels);
                        push_f64(out, g.get());
                        out.push('\n');
                    }
                }
            }
            Kind::Histogram => {
                metadata(out, family, name, "histogram");
                for series in family.series.iter() {
                    if let Series::Histogram(h) = series {
                        histogram(out, name, h);
                    }
                }
            }
        }
    }
    out.push_str("# EOF\n");
}

fn histogram(out: &mut String, name: &str, h: &super::series::HistogramSeries) {
    let labels = &*h.labels;
    let le = h.buckets.le_openmetrics();
    let mut cumulative = 0u64;
    for (i, bound) in le.iter().enumerate() {
        cumulative += h.bucket(i);
        bucket_start(out, name, labels, bound);
        push_u64(out, cumulative);
        if let Some(e) = h.exemplar(i) {
            push_exemplar(out, &e);
        }
        out.push('\n');
    }
    let last = le.len();
    cumulative += h.bucket(last);
    bucket_start(out, name, labels, "+Inf");
    push_u64(out, cumulative);
    if let Some(e) = h.exemplar(last) {
        push_exemplar(out, &e);
    }
    out.push('\n');
    let sum = h.sum();
    let negative_bounds = h.buckets.bounds().first().is_some_and(|b| *b < 0.0);
    if !negative_bounds && sum >= 0.0 {
        sample_start(out, name, "_count", labels);
        push_u64(out, cumulative);
        out.push('\n');
        sample_start(out, name, "_sum", labels);
        push_f64(out, sum);
        out.push('\n');
    }
}

/// `# TYPE`, `# UNIT` and `# HELP` of `family`, under the OpenMetrics family
/// name `base` with type word `word`.
fn metadata(out: &mut String, family: &FamilyView, base: &str, word: &str) {
    out.push_str("# TYPE ");
    out.push_str(base);
    out.push(' ');
    out.push_str(word);
    out.push('\n');
    // Info metrics have no unit, and a unit must end the family name.
    if let Some(unit) = family.unit
        && word != "info"
        && base
            .strip_suffix(unit)
            .is_some_and(|rest| rest.ends_with('_'))
    {
        out.push_str("# UNIT ");
        out.push_str(base);
        out.push(' ');
        out.push_str(unit);
        out.push('\n');
    }
    if let Some(help) = family.help.as_ref().filter(|h| !h.openmetrics.is_empty()) {
        out.push_str("# HELP ");
        out.push_str(base);
        out.push(' ');
        out.push_str(&help.openmetrics);
        out.push('\n');
    }
}

/// ` # {trace_id="…",span_id="…"} value timestamp`.
///
/// Laid out on the stack and copied into `out` once: a scrape writes
/// thousands of these, and one copy (and one check that the bytes are
/// text) costs less than a dozen appends.
#[inline]
fn push_exemplar(out: &mut String, e: &Exemplar) {
    const TRACE: &[u8] = b" # {trace_id=\"";
    const SPAN: &[u8] = b"\",span_id=\"";
    const END: &[u8] = b"\"} ";
    const SPAN_AT: usize = TRACE.len() + 32;
    const END_AT: usize = SPAN_AT + SPAN.len() + 16;
    const VALUE_AT: usize = END_AT + END.len();
    let mut line = [0_u8; VALUE_AT + F64Text::MAX_LEN + 1 + UNIX_MILLIS_MAX_LEN];
    line[..TRACE.len()].copy_from_slice(TRACE);
    write_hex(&mut line[TRACE.len()..SPAN_AT], &e.trace_id);
    line[SPAN_AT..SPAN_AT + SPAN.len()].copy_from_slice(SPAN);
    write_hex(&mut line[SPAN_AT + SPAN.len()..END_AT], &e.span_id);
    line[END_AT..VALUE_AT].copy_from_slice(END);
    let mut number = F64Text::new();
    let value = number.format(e.value).as_bytes();
    let mut len = VALUE_AT + value.len();
    line[VALUE_AT..len].copy_from_slice(value);
    line[len] = b' ';
    len += 1;
    len += write_unix_millis(&mut line[len..], e.unix_millis);
    // Quotes, braces, hex digits, numbers and a point are ASCII.
    out.push_str(std::str::from_utf8(&line[..len]).unwrap_or_default());
}

#[cfg(test)]
mod tests;
