//! Metrics over OTLP (`OTEL_METRICS_EXPORTER=otlp`): obskit's own registry
//! pushed every `OTEL_METRIC_EXPORT_INTERVAL` through the shared export
//! pipeline, as the export thread's own collection (see
//! `BatchExporter::collect`), and once more at shutdown.
//!
//! Every family and series `/metrics` has, with the same values: a counter
//! is a monotonic sum (an integer), a gauge a gauge (an info metric too), a
//! histogram a histogram with its explicit bounds and per-bucket counts.
//! Names are the Prometheus names, unit and description come from the
//! family's description, and every point keeps its labels as attributes,
//! `service_name` included, so the stock dashboards keep working behind a
//! Collector's Prometheus exporter. Counters and histograms are cumulative
//! from the telemetry's start, or deltas since the previous push
//! (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`). Exemplars (trace
//! and span ids of sampled requests) go with their point: a counter's
//! latest, a histogram's per bucket; with deltas, only those of the interval.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;

use super::MetricsHandle;
use super::exemplar::Exemplar;
use super::snapshot::{FamilyView, Series, Snapshot};
use crate::config::Temporality;
use crate::export::Transport;
use crate::export::pipeline::{BatchExporter, Retrying};
use crate::export::proto::{
    FIXED64, LEN, VARINT, bytes_field, fixed64_field, key, nested, opt_bytes_field,
    opt_varint_field, resource, varint,
};

/// `AGGREGATION_TEMPORALITY_DELTA` and `..._CUMULATIVE`.
const DELTA: u64 = 1;
const CUMULATIVE: u64 = 2;

/// What a delta is taken from: a series' values at the previous push.
#[derive(Debug, Clone)]
enum Previous {
    Counter(u64),
    Histogram { buckets: Vec<u64>, sum: f64 },
}

/// Pushes the registry's values to the OTLP metrics endpoint.
pub(crate) struct MetricsExporter {
    metrics: MetricsHandle,
    transport: Transport,
    temporality: Temporality,
    resource: Vec<u8>,
    schema_url: String,
    /// When cumulative values start: the telemetry's start.
    start_unix_nano: u64,
    /// When the previous push was collected: where deltas start.
    last_unix_nano: u64,
    previous: HashMap<(Arc<str>, Arc<str>), Previous>,
}

impl std::fmt::Debug for MetricsExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsExporter")
            .field("temporality", &self.temporality)
            .finish_non_exhaustive()
    }
}

fn now_unix_nano() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl MetricsExporter {
    pub(crate) fn new(
        metrics: MetricsHandle,
        transport: Transport,
        temporality: Temporality,
    ) -> Self {
        let start = now_unix_nano();
        Self {
            metrics,
            transport,
            temporality,
            resource: Vec::new(),
            schema_url: String::new(),
            start_unix_nano: start,
            last_unix_nano: start,
            previous: HashMap::new(),
        }
    }

    /// The `ExportMetricsServiceRequest` of the registry's values now.
    fn encode(&mut self, snapshot: &Snapshot, now: u64) -> Vec<u8> {
        let mut scope_metrics = Vec::new();
        let mut scope = Vec::new();
        opt_bytes_field(&mut scope, 1, b"obskit");
        opt_bytes_field(&mut scope, 2, env!("CARGO_PKG_VERSION").as_bytes());
        nested(&mut scope_metrics, 1, &scope);
        let mut metric = Vec::new();
        for family in &snapshot.families {
            metric.clear();
            if self.family(&mut metric, family, now) {
                nested(&mut scope_metrics, 2, &metric);
            }
        }
        let mut resource_metrics = Vec::new();
        nested(&mut resource_metrics, 1, &self.resource);
        nested(&mut resource_metrics, 2, &scope_metrics);
        opt_bytes_field(&mut resource_metrics, 3, self.schema_url.as_bytes());
        let mut out = Vec::with_capacity(resource_metrics.len() + 8);
        nested(&mut out, 1, &resource_metrics);
        self.last_unix_nano = now;
        out
    }

    /// Whether `family`'s points are deltas: counters and histograms under
    /// `delta`; under `lowmemory`, not the observed counters (as the
    /// specification keeps asynchronous counters cumulative there).
    fn is_delta(&self, family: &FamilyView) -> bool {
        match self.temporality {
            Temporality::Cumulative => false,
            Temporality::Delta => true,
            Temporality::LowMemory => !self.metrics.is_observed_counter(&family.name),
        }
    }

    /// One `Metric`; `false` when the family has no series.
    fn family(&mut self, out: &mut Vec<u8>, family: &FamilyView, now: u64) -> bool {
        if family.series.is_empty() {
            return false;
        }
        let delta = self.is_delta(family);
        let start = if delta {
            self.last_unix_nano
        } else {
            self.start_unix_nano
        };
        opt_bytes_field(out, 1, family.name.as_bytes());
        if let Some(help) = &family.help {
            opt_bytes_field(out, 2, unescape_help(&help.prometheus).as_bytes());
        }
        opt_bytes_field(out, 3, ucum(family.unit).as_bytes());
        let exemplars_since = if delta { start } else { 0 };
        let mut data = Vec::new();
        let mut point = Vec::new();
        let temporality = if delta { DELTA } else { CUMULATIVE };
        let field = match family.series.first() {
            Some(Series::Counter(_)) => 7,
            Some(Series::Gauge(_)) => 5,
            _ => 9,
        };
        for series in family.series.iter() {
            point.clear();
            match series {
                Series::Counter(c) => {
                    let total = c.get();
                    let value = if delta {
                        let key = (Arc::clone(&family.name), Arc::clone(&c.labels));
                        let before = match self.previous.insert(key, Previous::Counter(total)) {
                            Some(Previous::Counter(v)) => v,
                            _ => 0,
                        };
                        total.saturating_sub(before)
                    } else {
                        total
                    };
                    labels(&mut point, 7, &c.labels);
                    fixed64_field(&mut point, 2, start);
                    fixed64_field(&mut point, 3, now);
                    if let Some(e) = c.exemplar().filter(|e| e.nanos() > exemplars_since) {
                        exemplar(&mut point, 5, &e);
                    }
                    key(&mut point, 6, FIXED64);
                    point
                        .extend_from_slice(&i64::try_from(value).unwrap_or(i64::MAX).to_le_bytes());
                }
                Series::Gauge(g) => {
                    labels(&mut point, 7, &g.labels);
                    fixed64_field(&mut point, 3, now);
                    key(&mut point, 4, FIXED64);
                    point.extend_from_slice(&g.get().to_le_bytes());
                }
                Series::Histogram(h) => {
                    let slots = h.buckets.bounds().len() + 1;
                    let mut buckets: Vec<u64> = (0..slots).map(|i| h.bucket(i)).collect();
                    let mut sum = h.sum();
                    if delta {
                        let key = (Arc::clone(&family.name), Arc::clone(&h.labels));
                        let now_values = Previous::Histogram {
                            buckets: buckets.clone(),
                            sum,
                        };
                        if let Some(Previous::Histogram {
                            buckets: before,
                            sum: sum_before,
                        }) = self.previous.insert(key, now_values)
                        {
                            for (b, prev) in buckets.iter_mut().zip(before) {
                                *b = b.saturating_sub(prev);
                            }
                            sum -= sum_before;
                        }
                    }
                    let count: u64 = buckets.iter().sum();
                    labels(&mut point, 9, &h.labels);
                    fixed64_field(&mut point, 2, start);
                    fixed64_field(&mut point, 3, now);
                    key(&mut point, 4, FIXED64);
                    point.extend_from_slice(&count.to_le_bytes());
                    key(&mut point, 5, FIXED64);
                    point.extend_from_slice(&sum.to_le_bytes());
                    key(&mut point, 6, LEN);
                    varint(&mut point, (buckets.len() * 8) as u64);
                    for b in &buckets {
                        point.extend_from_slice(&b.to_le_bytes());
                    }
                    let bounds = h.buckets.bounds();
                    if !bounds.is_empty() {
                        key(&mut point, 7, LEN);
                        varint(&mut point, (bounds.len() * 8) as u64);
                        for b in bounds {
                            point.extend_from_slice(&b.to_le_bytes());
                        }
                    }
                    for i in 0..slots {
                        if let Some(e) = h.exemplar(i).filter(|e| e.nanos() > exemplars_since) {
                            exemplar(&mut point, 8, &e);
                        }
                    }
                }
            }
            nested(&mut data, 1, &point);
        }
        match field {
            7 => {
                opt_varint_field(&mut data, 2, temporality);
                key(&mut data, 3, VARINT);
                data.push(1);
            }
            9 => opt_varint_field(&mut data, 2, temporality),
            _ => {}
        }
        nested(out, field, &data);
        true
    }
}

impl Exemplar {
    fn nanos(&self) -> u64 {
        self.unix_millis.saturating_mul(1_000_000)
    }
}

/// An `Exemplar` in field `field`: value, time, trace and span id.
fn exemplar(out: &mut Vec<u8>, field: u32, e: &Exemplar) {
    let mut body = Vec::new();
    fixed64_field(&mut body, 2, e.nanos());
    key(&mut body, 3, FIXED64);
    body.extend_from_slice(&e.value.to_le_bytes());
    bytes_field(&mut body, 4, &e.span_id);
    bytes_field(&mut body, 5, &e.trace_id);
    nested(out, field, &body);
}

/// The series' labels (`a="x",b="y\"z"`, escaped as the text format
/// escapes them) as repeated `KeyValue`s in field `field`.
fn labels(out: &mut Vec<u8>, field: u32, text: &str) {
    let mut kv = Vec::new();
    let mut value = Vec::new();
    for (k, v) in parse_labels(text) {
        kv.clear();
        value.clear();
        bytes_field(&mut value, 1, v.as_bytes());
        bytes_field(&mut kv, 1, k.as_bytes());
        nested(&mut kv, 2, &value);
        nested(out, field, &kv);
    }
}

/// Splits a rendered label set back into names and unescaped values.
pub(super) fn parse_labels(text: &str) -> Vec<(&str, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq].trim_start_matches(',');
        let mut value = String::new();
        let mut chars = rest[eq + 2..].char_indices();
        let mut end = rest.len() - eq - 2;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => value.push(other),
                    None => {}
                },
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        out.push((name, value));
        rest = &rest[eq + 2 + end..];
    }
    out
}

/// A 0.0.4 HELP text back to its words (`\\` and `\n` unescaped).
fn unescape_help(help: &str) -> String {
    let mut out = String::with_capacity(help.len());
    let mut chars = help.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The UCUM unit OTLP expects for an OpenMetrics unit word.
fn ucum(unit: Option<&str>) -> &str {
    match unit {
        None => "",
        Some("seconds") => "s",
        Some("bytes") => "By",
        Some("ratio") => "1",
        Some(other) => other,
    }
}

impl BatchExporter<Vec<u8>> for MetricsExporter {
    async fn export(&self, batch: &[Vec<u8>], retrying: Retrying<'_>) -> OTelSdkResult {
        for body in batch {
            self.transport.send(body.clone(), retrying).await?;
        }
        Ok(())
    }

    fn collect(&mut self) -> Option<Vec<u8>> {
        let snapshot = self.metrics.refreshed_snapshot();
        Some(self.encode(&snapshot, now_unix_nano()))
    }

    fn set_resource(&mut self, r: &Resource) {
        self.resource = resource(r);
        self.schema_url = r.schema_url().unwrap_or_default().to_owned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_sets_are_read_back_unescaped() {
        assert_eq!(
            parse_labels(r#"service_name="svc",route="/a \"b\"\\c",multi="x\ny",empty="""#),
            vec![
                ("service_name", "svc".to_owned()),
                ("route", "/a \"b\"\\c".to_owned()),
                ("multi", "x\ny".to_owned()),
                ("empty", String::new()),
            ]
        );
        assert!(parse_labels("").is_empty());
    }

    #[test]
    fn help_and_units() {
        assert_eq!(unescape_help(r"a \\ b\nc"), "a \\ b\nc");
        assert_eq!(ucum(Some("seconds")), "s");
        assert_eq!(ucum(None), "");
    }
}
