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
use super::text::{bucket_start, push_f64, push_hex, push_u64, push_unix_millis, sample_start};

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
#[inline]
fn push_exemplar(out: &mut String, e: &Exemplar) {
    out.push_str(" # {trace_id=\"");
    push_hex(out, &e.trace_id);
    out.push_str("\",span_id=\"");
    push_hex(out, &e.span_id);
    out.push_str("\"} ");
    push_f64(out, e.value);
    out.push(' ');
    push_unix_millis(out, e.unix_millis);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::exemplar::{context, fix_exemplar_times, now_millis};
    use crate::metrics::registry::Registry;
    use metrics::{Key, Label, Recorder, Unit};

    static META: metrics::Metadata<'static> =
        metrics::Metadata::new("t", metrics::Level::INFO, None);

    fn key(name: &'static str, labels: &[(&'static str, &'static str)]) -> Key {
        Key::from_parts(
            name,
            labels
                .iter()
                .map(|(k, v)| Label::new(*k, *v))
                .collect::<Vec<_>>(),
        )
    }

    fn render(r: &Registry) -> String {
        let mut out = String::new();
        write(&r.snapshot(), &mut out);
        out
    }

    #[test]
    fn an_empty_registry_is_just_eof() {
        assert_eq!(render(&Registry::new(&[], &[1.0])), "# EOF\n");
    }

    #[test]
    fn counters_are_families_without_total_and_keep_their_sample_names() {
        let r = Registry::new(&[("service_name", "svc")], &[1.0]);
        r.describe_counter(
            "process_cpu_seconds_total".into(),
            Some(Unit::Seconds),
            "CPU \"time\".".into(),
        );
        r.register_counter(&key("process_cpu_seconds_total", &[]), &META)
            .increment(4);
        r.describe_counter("jobs_total".into(), Some(Unit::Count), "Jobs.".into());
        r.register_counter(&key("jobs_total", &[("queue", "a")]), &META)
            .increment(3);
        // No `_total`: written as `unknown` under its own name, not renamed.
        r.describe_counter("requests".into(), None, "Requests.".into());
        r.register_counter(&key("requests", &[]), &META)
            .increment(1);
        assert_eq!(
            render(&r),
            "# TYPE jobs counter\n\
             # HELP jobs Jobs.\n\
             jobs_total{service_name=\"svc\",queue=\"a\"} 3\n\
             # TYPE process_cpu_seconds counter\n\
             # UNIT process_cpu_seconds seconds\n\
             # HELP process_cpu_seconds CPU \\\"time\\\".\n\
             process_cpu_seconds_total{service_name=\"svc\"} 4\n\
             # TYPE requests unknown\n\
             # HELP requests Requests.\n\
             requests{service_name=\"svc\"} 1\n\
             # EOF\n"
        );
    }

    #[test]
    fn gauges_units_and_info_metrics() {
        let r = Registry::new(&[("service_name", "svc")], &[1.0]);
        r.describe_gauge("obskit_build_info".into(), None, "Always 1.".into());
        r.register_gauge(&key("obskit_build_info", &[("v", "1.2.3")]), &META)
            .set(1.0);
        r.mark_info("obskit_build_info");
        // A unit the name does not end in is left out.
        r.describe_gauge("queue_depth".into(), Some(Unit::Bytes), "Depth.".into());
        r.register_gauge(&key("queue_depth", &[]), &META).set(-2.5);
        r.describe_gauge("heap_bytes".into(), Some(Unit::Bytes), "".into());
        r.register_gauge(&key("heap_bytes", &[]), &META)
            .set(f64::NAN);
        // `_info` without being marked stays a gauge.
        r.register_gauge(&key("user_info", &[]), &META).set(2.0);
        r.mark_info("not_an_info_name");
        assert_eq!(
            render(&r),
            "# TYPE heap_bytes gauge\n\
             # UNIT heap_bytes bytes\n\
             heap_bytes{service_name=\"svc\"} NaN\n\
             # TYPE obskit_build info\n\
             # HELP obskit_build Always 1.\n\
             obskit_build_info{service_name=\"svc\",v=\"1.2.3\"} 1\n\
             # TYPE queue_depth gauge\n\
             # HELP queue_depth Depth.\n\
             queue_depth{service_name=\"svc\"} -2.5\n\
             # TYPE user_info gauge\n\
             user_info{service_name=\"svc\"} 2\n\
             # EOF\n"
        );
    }

    #[test]
    fn histograms_have_canonical_le_count_then_sum_and_exemplars_per_bucket() {
        let r = Registry::new(&[("service_name", "svc")], &[0.25, 1.0, 10.0]);
        r.describe_histogram(
            "job_duration_seconds".into(),
            Some(Unit::Seconds),
            "How long a job took.".into(),
        );
        let h = r.register_histogram(&key("job_duration_seconds", &[("queue", "a")]), &META);
        let from = now_millis();
        h.record(0.1); // outside any span: no exemplar
        {
            let _cx = context(
                0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c,
                0xb7ad_6b71_6920_3331,
                true,
            )
            .attach();
            h.record(0.2);
            h.record(0.25); // on the bound: the same bucket, newest wins
            h.record(20.0); // above the last bound: the +Inf bucket
        }
        {
            let _cx = context(0x1111, 0x2222, false).attach();
            h.record(5.0); // unsampled: counted, no exemplar
        }
        {
            let _cx = context(0x3333, 0x4444, true).attach();
            h.record(1.0);
        }
        let to = now_millis();
        assert_eq!(
            fix_exemplar_times(&render(&r), from, to),
            "# TYPE job_duration_seconds histogram\n\
             # UNIT job_duration_seconds seconds\n\
             # HELP job_duration_seconds How long a job took.\n\
             job_duration_seconds_bucket{service_name=\"svc\",queue=\"a\",le=\"0.25\"} 3 # {trace_id=\"0af7651916cd43dd8448eb211c80319c\",span_id=\"b7ad6b7169203331\"} 0.25 T\n\
             job_duration_seconds_bucket{service_name=\"svc\",queue=\"a\",le=\"1.0\"} 4 # {trace_id=\"00000000000000000000000000003333\",span_id=\"0000000000004444\"} 1 T\n\
             job_duration_seconds_bucket{service_name=\"svc\",queue=\"a\",le=\"10.0\"} 5\n\
             job_duration_seconds_bucket{service_name=\"svc\",queue=\"a\",le=\"+Inf\"} 6 # {trace_id=\"0af7651916cd43dd8448eb211c80319c\",span_id=\"b7ad6b7169203331\"} 20 T\n\
             job_duration_seconds_count{service_name=\"svc\",queue=\"a\"} 6\n\
             job_duration_seconds_sum{service_name=\"svc\",queue=\"a\"} 26.55\n\
             # EOF\n"
        );
    }

    #[test]
    fn a_histogram_that_cannot_have_a_sum_has_neither_sum_nor_count() {
        let r = Registry::new(&[], &[1.0]);
        r.register_histogram(&key("delta", &[]), &META).record(-3.0);
        r.register_histogram(&key("broken", &[]), &META)
            .record(f64::NAN);
        r.set_buckets("below_zero", &[-1.0, 1.0]).unwrap();
        r.register_histogram(&key("below_zero", &[]), &META)
            .record(0.5);
        assert_eq!(
            render(&r),
            "# TYPE below_zero histogram\n\
             below_zero_bucket{le=\"-1.0\"} 0\n\
             below_zero_bucket{le=\"1.0\"} 1\n\
             below_zero_bucket{le=\"+Inf\"} 1\n\
             # TYPE broken histogram\n\
             broken_bucket{le=\"1.0\"} 0\n\
             broken_bucket{le=\"+Inf\"} 1\n\
             # TYPE delta histogram\n\
             delta_bucket{le=\"1.0\"} 1\n\
             delta_bucket{le=\"+Inf\"} 1\n\
             # EOF\n"
        );
    }

    #[test]
    fn counter_exemplars_come_from_sampled_increments() {
        let r = Registry::new(&[], &[1.0]);
        let c = r.register_counter(&key("errors_total", &[]), &META);
        let from = now_millis();
        {
            let _cx = context(0xabc, 0xdef, true).attach();
            c.increment(2);
            c.increment(0); // nothing happened: the exemplar stays
        }
        {
            let _cx = context(0x999, 0x888, false).attach();
            c.increment(1);
        }
        c.absolute(10);
        let to = now_millis();
        assert_eq!(
            fix_exemplar_times(&render(&r), from, to),
            "# TYPE errors counter\n\
             errors_total 10 # {trace_id=\"00000000000000000000000000000abc\",span_id=\"0000000000000def\"} 2 T\n\
             # EOF\n"
        );
    }

    #[test]
    fn names_that_would_collide_in_openmetrics_are_refused() {
        let r = Registry::new(&[], &[1.0]);
        r.register_counter(&key("hits_total", &[]), &META)
            .increment(1);
        // `hits` is the counter's OpenMetrics family name; `hits_created` its
        // created sample.
        r.register_gauge(&key("hits", &[]), &META).set(5.0);
        r.register_gauge(&key("hits_created", &[]), &META).set(5.0);
        r.register_gauge(&key("lag", &[]), &META).set(1.0);
        r.register_counter(&key("lag_total", &[]), &META)
            .increment(7);
        r.register_histogram(&key("h", &[]), &META).record(1.0);
        r.register_gauge(&key("h_created", &[]), &META).set(1.0);
        let text = render(&r);
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("# TYPE"))
                .collect::<Vec<_>>(),
            [
                "# TYPE h histogram",
                "# TYPE hits counter",
                "# TYPE lag gauge"
            ],
            "{text}"
        );
        assert!(!text.contains(" 5\n") && !text.contains(" 7"), "{text}");
    }
}
