//! Writes a registry snapshot as Prometheus text format 0.0.4, into one
//! pre-sized `String`, allocating nothing per series: names and label sets
//! were rendered at registration, numbers go through `itoa`/`ryu` buffers
//! on the stack. This is what `/metrics` answers unless the scraper asks for
//! OpenMetrics (see `openmetrics`); it carries no exemplars, and its bytes
//! are pinned by a test.
//!
//! Per family: `# HELP` (when described) and `# TYPE` once, then its series.
//! Counters are written under the name they were registered with — the
//! 0.0.4 format requires no `_total` suffix, so obskit adds none (OpenMetrics
//! would; `promtool check metrics` lints its absence). Histograms are
//! written as histograms, never summaries: one cumulative `_bucket` line per
//! bound with `le` last among the labels, `le="+Inf"`, `_sum`, `_count`.
//! Units are not written (the format has no unit line); info metrics are
//! gauges.

use super::snapshot::{Series, Snapshot};
use super::text::{bucket_start, push_f64, push_u64, sample_start};

/// Appends every family of `snapshot` to `out`.
pub(super) fn write(snapshot: &Snapshot, out: &mut String) {
    for family in &snapshot.families {
        let name = &*family.name;
        if let Some(help) = &family.help {
            out.push_str("# HELP ");
            out.push_str(name);
            out.push(' ');
            out.push_str(&help.prometheus);
            out.push('\n');
        }
        out.push_str("# TYPE ");
        out.push_str(name);
        out.push(' ');
        out.push_str(family.kind.as_str());
        out.push('\n');
        for series in family.series.iter() {
            match series {
                Series::Counter(c) => {
                    sample_start(out, name, "", &c.labels);
                    push_u64(out, c.get());
                    out.push('\n');
                }
                Series::Gauge(g) => {
                    sample_start(out, name, "", &g.labels);
                    push_f64(out, g.get());
                    out.push('\n');
                }
                Series::Histogram(h) => {
                    let labels = &*h.labels;
                    let le = h.buckets.le();
                    let mut cumulative = 0u64;
                    for (i, bound) in le.iter().enumerate() {
                        cumulative += h.bucket(i);
                        bucket_line(out, name, labels, bound, cumulative);
                    }
                    // The count is the buckets' total from this same pass, so
                    // `+Inf` and `_count` agree even during concurrent records.
                    cumulative += h.bucket(le.len());
                    bucket_line(out, name, labels, "+Inf", cumulative);
                    sample_start(out, name, "_sum", labels);
                    push_f64(out, h.sum());
                    out.push('\n');
                    sample_start(out, name, "_count", labels);
                    push_u64(out, cumulative);
                    out.push('\n');
                }
            }
        }
    }
}

/// One `_bucket` sample line.
#[inline]
fn bucket_line(out: &mut String, name: &str, labels: &str, le: &str, count: u64) {
    bucket_start(out, name, labels, le);
    push_u64(out, count);
    out.push('\n');
}

#[cfg(test)]
mod tests;
