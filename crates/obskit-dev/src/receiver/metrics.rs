//! OTLP metrics into the samples the service page reads, named the way Prometheus names
//! them (as the Collector's Prometheus exporter does): `http.server.request.duration` in
//! `s` becomes `http_server_request_duration_seconds_bucket`/`_count`/`_sum`, a monotonic
//! sum gets `_total`, attribute keys and `service.name` become labels. Only the series the
//! page reads are kept (see [`crate::scrape::is_kept`]).
//!
//! Cumulative points replace a series' value; delta points add to it, so the page sees
//! counters either way. Each export then yields a snapshot of every series, which the store
//! keeps like a scrape.

use std::collections::HashMap;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{exemplar, metric, number_data_point};

use super::{ReceiveError, owned_value_text};
use crate::scrape::is_kept;
use crate::scrape::parse::{Exemplar, Sample};

/// OTLP's `AGGREGATION_TEMPORALITY_DELTA`.
const DELTA: i32 = 1;

/// One converted sample, and whether it is a delta to add.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The sample, named and labelled as Prometheus would.
    pub sample: Sample,
    /// Added to the series (delta temporality) rather than replacing it.
    pub delta: bool,
}

/// A Prometheus-style name for an OTLP metric.
///
/// ```
/// use obskit_dev::receiver::metrics::prometheus_name;
/// assert_eq!(prometheus_name("http.server.request.duration", "s", false, false), "http_server_request_duration_seconds");
/// assert_eq!(prometheus_name("obskit_slo_requests", "{request}", true, false), "obskit_slo_requests_total");
/// assert_eq!(prometheus_name("obskit_slo_objective_ratio", "1", false, true), "obskit_slo_objective_ratio");
/// ```
pub fn prometheus_name(name: &str, unit: &str, monotonic: bool, gauge: bool) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let suffix = match unit {
        "s" => "seconds",
        "ms" => "milliseconds",
        "By" => "bytes",
        "1" if gauge => "ratio",
        unit if unit.is_empty() || unit.starts_with('{') || unit == "1" => "",
        _ => "",
    };
    if !suffix.is_empty() && !out.ends_with(&format!("_{suffix}")) {
        out.push('_');
        out.push_str(suffix);
    }
    if monotonic && !out.ends_with("_total") {
        out.push_str("_total");
    }
    out
}

fn label_name(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn labels(service: &str, attributes: &[KeyValue]) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = attributes
        .iter()
        .map(|kv| {
            (
                label_name(&kv.key),
                kv.value.clone().map(owned_value_text).unwrap_or_default(),
            )
        })
        .collect();
    if !labels.iter().any(|(k, _)| k == "service_name") {
        labels.push(("service_name".to_owned(), service.to_owned()));
    }
    labels.sort();
    labels
}

fn exemplar_of(e: &opentelemetry_proto::tonic::metrics::v1::Exemplar) -> Option<Exemplar> {
    let trace: [u8; 16] = e.trace_id.as_slice().try_into().ok()?;
    let value = match e.value? {
        exemplar::Value::AsDouble(v) => v,
        exemplar::Value::AsInt(v) => v as f64,
    };
    let mut labels = vec![(
        "trace_id".to_owned(),
        crate::model::TraceId(trace).to_string(),
    )];
    if let Ok(span) = <[u8; 8]>::try_from(e.span_id.as_slice()) {
        labels.push(("span_id".to_owned(), crate::model::SpanId(span).to_string()));
    }
    Some(Exemplar {
        labels,
        value,
        timestamp: Some(e.time_unix_nano as f64 / 1e9),
    })
}

/// Converts the data points of the series the page reads; other metrics are skipped.
pub fn convert(request: ExportMetricsServiceRequest) -> Result<Vec<Point>, ReceiveError> {
    let mut points = Vec::new();
    for resource_metrics in request.resource_metrics {
        let service = super::service_name(resource_metrics.resource.as_ref());
        for scope_metrics in resource_metrics.scope_metrics {
            for metric in scope_metrics.metrics {
                let Some(data) = metric.data else { continue };
                let sample = |name: String, labels: Vec<(String, String)>, value: f64| Sample {
                    name,
                    labels,
                    value,
                    exemplar: None,
                };
                match data {
                    metric::Data::Gauge(gauge) => {
                        let name = prometheus_name(&metric.name, &metric.unit, false, true);
                        if !is_kept(&name) {
                            continue;
                        }
                        for point in gauge.data_points {
                            points.push(Point {
                                sample: sample(
                                    name.clone(),
                                    labels(&service, &point.attributes),
                                    number(point.value),
                                ),
                                delta: false,
                            });
                        }
                    }
                    metric::Data::Sum(sum) => {
                        let name =
                            prometheus_name(&metric.name, &metric.unit, sum.is_monotonic, false);
                        if !is_kept(&name) {
                            continue;
                        }
                        for point in sum.data_points {
                            points.push(Point {
                                sample: sample(
                                    name.clone(),
                                    labels(&service, &point.attributes),
                                    number(point.value),
                                ),
                                delta: sum.aggregation_temporality == DELTA,
                            });
                        }
                    }
                    metric::Data::Histogram(histogram) => {
                        let base = prometheus_name(&metric.name, &metric.unit, false, false);
                        if !is_kept(&format!("{base}_count")) {
                            continue;
                        }
                        let delta = histogram.aggregation_temporality == DELTA;
                        for point in histogram.data_points {
                            let labels = labels(&service, &point.attributes);
                            let exemplars: Vec<Exemplar> =
                                point.exemplars.iter().filter_map(exemplar_of).collect();
                            let mut cumulative = 0u64;
                            let bounds = point
                                .explicit_bounds
                                .iter()
                                .copied()
                                .chain(std::iter::once(f64::INFINITY));
                            for (i, le) in bounds.enumerate() {
                                cumulative += point.bucket_counts.get(i).copied().unwrap_or(0);
                                let mut with_le = labels.clone();
                                with_le.push((
                                    "le".to_owned(),
                                    if le.is_infinite() {
                                        "+Inf".to_owned()
                                    } else {
                                        le.to_string()
                                    },
                                ));
                                let lower = if i == 0 {
                                    f64::NEG_INFINITY
                                } else {
                                    point
                                        .explicit_bounds
                                        .get(i - 1)
                                        .copied()
                                        .unwrap_or(f64::NEG_INFINITY)
                                };
                                let exemplar = exemplars
                                    .iter()
                                    .find(|e| e.value > lower && e.value <= le)
                                    .cloned();
                                points.push(Point {
                                    sample: Sample {
                                        name: format!("{base}_bucket"),
                                        labels: with_le,
                                        value: cumulative as f64,
                                        exemplar,
                                    },
                                    delta,
                                });
                            }
                            points.push(Point {
                                sample: sample(
                                    format!("{base}_count"),
                                    labels.clone(),
                                    point.count as f64,
                                ),
                                delta,
                            });
                            points.push(Point {
                                sample: sample(
                                    format!("{base}_sum"),
                                    labels,
                                    point.sum.unwrap_or(0.0),
                                ),
                                delta,
                            });
                        }
                    }
                    // Exponential histograms and summaries: not read by the page.
                    metric::Data::ExponentialHistogram(_) | metric::Data::Summary(_) => {}
                }
            }
        }
    }
    Ok(points)
}

fn number(value: Option<number_data_point::Value>) -> f64 {
    match value {
        Some(number_data_point::Value::AsDouble(v)) => v,
        Some(number_data_point::Value::AsInt(v)) => v as f64,
        None => 0.0,
    }
}

/// The running value of every series received over OTLP.
#[derive(Debug, Default)]
pub struct Series {
    by_key: HashMap<String, Sample>,
    order: Vec<String>,
}

/// Most series kept (a service with unbounded label values cannot grow the viewer).
pub const MAX_SERIES: usize = 20_000;

impl Series {
    /// Applies `points` (deltas added, cumulative values replacing) and returns every
    /// series' value.
    ///
    /// ```
    /// use obskit_dev::receiver::metrics::{Point, Series};
    /// use obskit_dev::scrape::parse::Sample;
    /// let point = |value, delta| Point {
    ///     sample: Sample { name: "obskit_slo_requests_total".into(), labels: vec![], value, exemplar: None },
    ///     delta,
    /// };
    /// let mut series = Series::default();
    /// series.apply(vec![point(2.0, true)]);
    /// assert_eq!(series.apply(vec![point(3.0, true)])[0].value, 5.0);
    /// assert_eq!(series.apply(vec![point(4.0, false)])[0].value, 4.0);
    /// ```
    pub fn apply(&mut self, points: Vec<Point>) -> Vec<Sample> {
        for point in points {
            let full = self.by_key.len() >= MAX_SERIES;
            let mut key = point.sample.name.clone();
            for (name, value) in &point.sample.labels {
                key.push('\u{1}');
                key.push_str(name);
                key.push('=');
                key.push_str(value);
            }
            match self.by_key.get_mut(&key) {
                Some(existing) => {
                    if point.delta {
                        existing.value += point.sample.value;
                    } else {
                        existing.value = point.sample.value;
                    }
                    if point.sample.exemplar.is_some() {
                        existing.exemplar = point.sample.exemplar;
                    }
                }
                None if !full => {
                    self.order.push(key.clone());
                    self.by_key.insert(key, point.sample);
                }
                None => {}
            }
        }
        self.order
            .iter()
            .filter_map(|key| self.by_key.get(key).cloned())
            .collect()
    }
}
