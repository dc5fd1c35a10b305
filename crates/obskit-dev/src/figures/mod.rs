//! RED and SLO figures computed from the scrape history the way the stock Prometheus rules
//! compute them: increases of counters over a window (resets handled like `increase()`),
//! quantiles interpolated within histogram buckets (like `histogram_quantile()`), errors
//! as requests with an `error_type`, and each SLO's error ratio and burn rate over the
//! windows of obskit-artifacts' burn-rate tiers. The messaging figures are in [`messaging`].

pub mod messaging;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use obskit_names as names;

use crate::scrape::Scrape;
use crate::scrape::parse::Sample;

/// The stretch of history a window covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coverage {
    /// Seconds of the window that history covers (the whole window, or less in a young session).
    pub covered_secs: f64,
    /// The window asked for, in seconds.
    pub window_secs: f64,
}

impl Coverage {
    /// Whether history covers the whole window.
    pub fn is_full(&self) -> bool {
        self.covered_secs + 1e-9 >= self.window_secs
    }
}

/// Increases of the counters whose names `keep` accepts over the last `window`, ending at
/// the latest scrape.
///
/// When history is shorter than the window, counters count from zero: the service was
/// started after the viewer, so everything it counted happened inside the window. `since`
/// is when the viewer started scraping (seconds since the epoch).
pub fn increases(
    scrapes: &[Arc<Scrape>],
    window: Duration,
    since: f64,
    keep: impl Fn(&str) -> bool,
) -> (Vec<(&Sample, f64)>, Coverage) {
    let window_secs = window.as_secs_f64();
    let Some(last) = scrapes.last() else {
        return (
            Vec::new(),
            Coverage {
                covered_secs: 0.0,
                window_secs,
            },
        );
    };
    let start_at = last.at_unix_secs - window_secs;
    // The latest scrape at or before the window's start is the base.
    let base = scrapes
        .iter()
        .rposition(|scrape| scrape.at_unix_secs <= start_at);
    let (mut previous, rest, covered_secs) = match base {
        Some(index) => (
            values(&scrapes[index], &keep),
            &scrapes[index + 1..],
            window_secs,
        ),
        None => (
            HashMap::new(),
            scrapes,
            (last.at_unix_secs - since).clamp(0.0, window_secs),
        ),
    };
    let mut order: Vec<String> = Vec::new();
    let mut totals: HashMap<String, (&Sample, f64)> = HashMap::new();
    for scrape in rest {
        for sample in scrape.samples.iter().filter(|s| keep(&s.name)) {
            let key = series_key(sample);
            let before = previous.get(&key).copied().unwrap_or(0.0);
            // A counter that went down was reset (the service restarted): it counted from 0.
            let delta = if sample.value >= before {
                sample.value - before
            } else {
                sample.value
            };
            match totals.get_mut(&key) {
                Some(entry) => {
                    entry.0 = sample;
                    entry.1 += delta;
                }
                None => {
                    order.push(key.clone());
                    totals.insert(key.clone(), (sample, delta));
                }
            }
            previous.insert(key, sample.value);
        }
    }
    let increases = order
        .iter()
        .filter_map(|key| totals.get(key).copied())
        .collect();
    (
        increases,
        Coverage {
            covered_secs,
            window_secs,
        },
    )
}

fn values(scrape: &Scrape, keep: &impl Fn(&str) -> bool) -> HashMap<String, f64> {
    scrape
        .samples
        .iter()
        .filter(|s| keep(&s.name))
        .map(|s| (series_key(s), s.value))
        .collect()
}

/// Name and labels, as one string.
fn series_key(sample: &Sample) -> String {
    let mut key = sample.name.clone();
    for (name, value) in &sample.labels {
        key.push('\u{1}');
        key.push_str(name);
        key.push('=');
        key.push_str(value);
    }
    key
}

/// The `q` quantile of a histogram given as cumulative `(le, count)` buckets, interpolated
/// linearly inside the bucket like Prometheus' `histogram_quantile()`; `None` without
/// observations. A quantile in the `+Inf` bucket is the highest finite bound.
///
/// ```
/// use obskit_dev::figures::quantile;
/// let buckets = [(0.1, 50.0), (0.2, 100.0), (f64::INFINITY, 100.0)];
/// assert_eq!(quantile(0.5, &buckets), Some(0.1));
/// assert!((quantile(0.75, &buckets).unwrap() - 0.15).abs() < 1e-9);
/// ```
pub fn quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let mut buckets = buckets.to_vec();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut lower_bound = 0.0;
    let mut lower_count = 0.0;
    for &(le, count) in &buckets {
        if count >= rank {
            if le.is_infinite() {
                return Some(lower_bound);
            }
            if count == lower_count {
                return Some(le);
            }
            return Some(
                lower_bound + (le - lower_bound) * (rank - lower_count) / (count - lower_count),
            );
        }
        lower_bound = le;
        lower_count = count;
    }
    Some(lower_bound)
}

/// The upper bound of the lowest bucket when the `q` quantile's rank falls in it (the
/// histogram then only says "below that bound").
///
/// ```
/// use obskit_dev::figures::in_first_bucket;
/// let buckets = [(0.005, 90.0), (0.01, 100.0), (f64::INFINITY, 100.0)];
/// assert_eq!(in_first_bucket(0.5, &buckets), Some(0.005));
/// assert_eq!(in_first_bucket(0.95, &buckets), None);
/// ```
pub fn in_first_bucket(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let mut buckets = buckets.to_vec();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last()?.1;
    let &(le, count) = buckets.first()?;
    (total > 0.0 && le.is_finite() && q * total <= count).then_some(le)
}

/// The `q` quantile of `durations` (sorted ascending) by nearest rank.
///
/// ```
/// use obskit_dev::figures::nearest_rank;
/// let sorted = [1, 2, 3, 4, 100];
/// assert_eq!(nearest_rank(0.5, &sorted), Some(3));
/// assert_eq!(nearest_rank(0.99, &sorted), Some(100));
/// assert_eq!(nearest_rank(0.5, &[]), None);
/// ```
pub fn nearest_rank(q: f64, sorted: &[u64]) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// An exemplar to link: the trace of one observed request.
#[derive(Debug, Clone, PartialEq)]
pub struct ExemplarLink {
    /// Its trace id (hex).
    pub trace_id: String,
    /// The observed duration, in seconds.
    pub seconds: f64,
}

/// RED figures of one route over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteFigures {
    /// `service_name` label.
    pub service: String,
    /// `http_request_method`.
    pub method: String,
    /// `http_route`.
    pub route: String,
    /// Requests in the window.
    pub requests: f64,
    /// Requests per second.
    pub rate: f64,
    /// Failed requests (with an `error_type`) in the window.
    pub errors: f64,
    /// p50, p95, p99 in seconds, interpolated in the histogram's buckets.
    pub quantiles: [Option<f64>; 3],
    /// For p50, p95, p99: the upper bound of the lowest bucket (seconds) when the quantile's
    /// rank falls in it, where interpolation says nothing (`< 5 ms` is all that is known).
    pub below_first_bucket: [Option<f64>; 3],
    /// The slowest exemplars of the latest scrape, slowest first (at most 3).
    pub exemplars: Vec<ExemplarLink>,
}

impl RouteFigures {
    /// Errors over requests (0 without requests).
    pub fn error_ratio(&self) -> f64 {
        if self.requests > 0.0 {
            self.errors / self.requests
        } else {
            0.0
        }
    }
}

/// RED per (service, method, route) over `window`, busiest first.
pub fn red(scrapes: &[Arc<Scrape>], window: Duration, since: f64) -> (Vec<RouteFigures>, Coverage) {
    let duration = names::HTTP_SERVER_REQUEST_DURATION;
    let bucket_name = format!("{duration}_bucket");
    type Key = (String, String, String);
    let key_of = |sample: &Sample| -> Key {
        let label = |name| sample.label(name).unwrap_or_default().to_owned();
        (
            label(names::SERVICE_NAME),
            label(names::HTTP_REQUEST_METHOD),
            label(names::HTTP_ROUTE),
        )
    };
    let (histograms, coverage) = histograms(scrapes, window, since, duration, key_of);
    let exemplars = latest_exemplars(scrapes, &bucket_name, key_of);
    let rate_secs = coverage.covered_secs.max(1.0);
    let mut routes: Vec<RouteFigures> = histograms
        .into_iter()
        .filter(|(_, histogram)| histogram.count > 0.0)
        .map(|(key, histogram)| {
            let exemplars = exemplars.get(&key).cloned().unwrap_or_default();
            let (service, method, route) = key;
            RouteFigures {
                service,
                method,
                route,
                requests: histogram.count,
                rate: histogram.count / rate_secs,
                errors: histogram.errors,
                quantiles: histogram.quantiles(),
                below_first_bucket: histogram.below_first_bucket(),
                exemplars,
            }
        })
        .collect();
    routes.sort_by(|a, b| b.requests.total_cmp(&a.requests));
    (routes, coverage)
}

/// What a histogram observed over a window: how many, how many with an `error_type`, and
/// its cumulative buckets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// Observations.
    pub count: f64,
    /// Observations with a non-empty `error_type` label.
    pub errors: f64,
    /// Cumulative `(le, count)` buckets, ascending.
    pub buckets: Vec<(f64, f64)>,
}

impl Histogram {
    /// p50, p95 and p99 in seconds, interpolated in the buckets.
    pub fn quantiles(&self) -> [Option<f64>; 3] {
        QUANTILES.map(|q| quantile(q, &self.buckets))
    }

    /// For p50, p95, p99: the lowest bucket's bound when the quantile falls in it.
    pub fn below_first_bucket(&self) -> [Option<f64>; 3] {
        QUANTILES.map(|q| in_first_bucket(q, &self.buckets))
    }

    /// Errors over observations (0 without observations).
    pub fn error_ratio(&self) -> f64 {
        if self.count > 0.0 {
            self.errors / self.count
        } else {
            0.0
        }
    }
}

/// The quantiles the pages show.
pub const QUANTILES: [f64; 3] = [0.5, 0.95, 0.99];

/// The increases over `window` of the histogram `base` (its `_count` and `_bucket` series),
/// summed by `key_of` of each series.
pub fn histograms<K: Ord>(
    scrapes: &[Arc<Scrape>],
    window: Duration,
    since: f64,
    base: &str,
    key_of: impl Fn(&Sample) -> K,
) -> (BTreeMap<K, Histogram>, Coverage) {
    let count_name = format!("{base}_count");
    let bucket_name = format!("{base}_bucket");
    let (increases, coverage) = increases(scrapes, window, since, |name| {
        name == count_name || name == bucket_name
    });
    let mut totals: BTreeMap<K, (f64, f64)> = BTreeMap::new();
    let mut buckets: BTreeMap<K, BTreeMap<u64, f64>> = BTreeMap::new();
    for (sample, increase) in increases {
        let key = key_of(sample);
        if sample.name == count_name {
            let entry = totals.entry(key).or_default();
            entry.0 += increase;
            if sample
                .label(names::ERROR_TYPE)
                .is_some_and(|e| !e.is_empty())
            {
                entry.1 += increase;
            }
        } else if let Some(le) = sample.label("le").and_then(parse_le) {
            *buckets
                .entry(key)
                .or_default()
                .entry(le.to_bits())
                .or_default() += increase;
        }
    }
    let histograms = totals
        .into_iter()
        .map(|(key, (count, errors))| {
            let mut cumulative: Vec<(f64, f64)> = buckets
                .remove(&key)
                .map(|b| b.iter().map(|(le, n)| (f64::from_bits(*le), *n)).collect())
                .unwrap_or_default();
            cumulative.sort_by(|a, b| a.0.total_cmp(&b.0));
            (
                key,
                Histogram {
                    count,
                    errors,
                    buckets: cumulative,
                },
            )
        })
        .collect();
    (histograms, coverage)
}

fn parse_le(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        other => other.parse().ok(),
    }
}

/// The exemplars of the latest scrape by route key, slowest first, one per trace, at most 3.
fn latest_exemplars<K: Ord>(
    scrapes: &[Arc<Scrape>],
    bucket_name: &str,
    key_of: impl Fn(&Sample) -> K,
) -> BTreeMap<K, Vec<ExemplarLink>> {
    let mut by_key: BTreeMap<K, Vec<ExemplarLink>> = BTreeMap::new();
    let Some(last) = scrapes.last() else {
        return by_key;
    };
    for sample in last.samples.iter().filter(|s| s.name == bucket_name) {
        let Some(exemplar) = &sample.exemplar else {
            continue;
        };
        let Some(trace_id) = exemplar.label("trace_id") else {
            continue;
        };
        let links = by_key.entry(key_of(sample)).or_default();
        if !links.iter().any(|l| l.trace_id == trace_id) {
            links.push(ExemplarLink {
                trace_id: trace_id.to_owned(),
                seconds: exemplar.value,
            });
        }
    }
    for links in by_key.values_mut() {
        links.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
        links.truncate(3);
    }
    by_key
}

/// One window's SLO figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowFigures {
    /// The window.
    pub window: Duration,
    /// Requests counted in it.
    pub requests: f64,
    /// Bad requests over requests (`None` without requests).
    pub error_ratio: Option<f64>,
    /// Error ratio over the error budget (`None` without requests).
    pub burn_rate: Option<f64>,
    /// How much of the window history covers.
    pub coverage: Coverage,
}

/// One burn-rate tier of one SLO.
#[derive(Debug, Clone, PartialEq)]
pub struct TierFigures {
    /// The tier as the stock rules define it.
    pub tier: obskit_artifacts::BurnRateTier,
    /// Its long window.
    pub long: WindowFigures,
    /// Its short window.
    pub short: WindowFigures,
}

impl TierFigures {
    /// Whether both windows burn faster than the tier's factor: the stock alert's condition
    /// (without its `for` duration and minimum-traffic guard).
    pub fn burning(&self) -> bool {
        let above = |w: &WindowFigures| w.burn_rate.is_some_and(|b| b > self.tier.factor);
        above(&self.long) && above(&self.short)
    }
}

/// One declared SLO of one service.
#[derive(Debug, Clone, PartialEq)]
pub struct SloFigures {
    /// `service_name` label.
    pub service: String,
    /// The SLO's name (`slo` label).
    pub slo: String,
    /// Its objective, e.g. 0.999.
    pub objective: f64,
    /// Its latency threshold in seconds, for latency SLOs.
    pub latency_threshold: Option<f64>,
    /// The tiers, fastest first.
    pub tiers: Vec<TierFigures>,
}

/// Requests and bad requests by (service, SLO).
type SloCounts = HashMap<(String, String), (f64, f64)>;

/// Every SLO the latest scrape declares, with the stock tiers' windows and burn rates.
pub fn slos(scrapes: &[Arc<Scrape>], since: f64) -> Vec<SloFigures> {
    let Some(last) = scrapes.last() else {
        return Vec::new();
    };
    let label = |sample: &Sample, name| sample.label(name).unwrap_or_default().to_owned();
    let thresholds: HashMap<(String, String), f64> = last
        .samples
        .iter()
        .filter(|s| s.name == names::SLO_LATENCY_THRESHOLD)
        .map(|s| {
            (
                (label(s, names::SERVICE_NAME), label(s, names::SLO)),
                s.value,
            )
        })
        .collect();
    let tiers = obskit_artifacts::burn_rate_tiers();
    let mut windows: Vec<Duration> = tiers.iter().flat_map(|t| [t.short, t.long]).collect();
    windows.sort();
    windows.dedup();
    let per_window: Vec<(Duration, SloCounts, Coverage)> = windows
        .iter()
        .map(|&window| {
            let (increases, coverage) =
                increases(scrapes, window, since, |n| n == names::SLO_REQUESTS_TOTAL);
            let mut counts: HashMap<(String, String), (f64, f64)> = HashMap::new();
            for (sample, increase) in increases {
                let key = (
                    label(sample, names::SERVICE_NAME),
                    label(sample, names::SLO),
                );
                let entry = counts.entry(key).or_default();
                entry.0 += increase;
                if sample.label(names::SLO_RESULT) == Some(names::SLO_RESULT_BAD) {
                    entry.1 += increase;
                }
            }
            (window, counts, coverage)
        })
        .collect();
    let mut slos: Vec<SloFigures> = last
        .samples
        .iter()
        .filter(|s| s.name == names::SLO_OBJECTIVE_RATIO)
        .map(|s| {
            let key = (label(s, names::SERVICE_NAME), label(s, names::SLO));
            let objective = s.value;
            let figures = |window: Duration| {
                let (_, counts, coverage) = per_window
                    .iter()
                    .find(|(w, _, _)| *w == window)
                    .expect("every tier window was computed");
                let (requests, bad) = counts.get(&key).copied().unwrap_or_default();
                let error_ratio = (requests > 0.0).then(|| bad / requests);
                let budget = 1.0 - objective;
                WindowFigures {
                    window,
                    requests,
                    error_ratio,
                    burn_rate: error_ratio.filter(|_| budget > 0.0).map(|r| r / budget),
                    coverage: *coverage,
                }
            };
            SloFigures {
                latency_threshold: thresholds.get(&key).copied(),
                service: key.0.clone(),
                slo: key.1.clone(),
                objective,
                tiers: tiers
                    .iter()
                    .map(|&tier| TierFigures {
                        tier,
                        long: figures(tier.long),
                        short: figures(tier.short),
                    })
                    .collect(),
            }
        })
        .collect();
    slos.sort_by(|a, b| (&a.service, &a.slo).cmp(&(&b.service, &b.slo)));
    slos
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scrape::parse::parse;

    fn scrape(at: f64, text: &str) -> Arc<Scrape> {
        Arc::new(Scrape {
            at_unix_secs: at,
            samples: parse(text, |_| true).unwrap(),
        })
    }

    const ROUTE: &str = r#"service_name="svc",http_request_method="GET",http_route="/a""#;

    fn red_text(ok: u64, failed: u64, fast: u64) -> String {
        let total = ok + failed;
        format!(
            "http_server_request_duration_seconds_count{{{ROUTE},http_response_status_code=\"200\"}} {ok}\n\
             http_server_request_duration_seconds_count{{{ROUTE},http_response_status_code=\"500\",error_type=\"500\"}} {failed}\n\
             http_server_request_duration_seconds_bucket{{{ROUTE},le=\"0.1\"}} {fast}\n\
             http_server_request_duration_seconds_bucket{{{ROUTE},le=\"1\"}} {total}\n\
             http_server_request_duration_seconds_bucket{{{ROUTE},le=\"+Inf\"}} {total} # {{trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\"}} 0.7 1.0\n"
        )
    }

    #[test]
    fn red_over_a_covered_window_subtracts_the_base() {
        let scrapes = [
            scrape(0.0, &red_text(10, 0, 10)),
            scrape(300.0, &red_text(60, 0, 60)),
            scrape(600.0, &red_text(140, 20, 130)),
        ];
        let (routes, coverage) = red(&scrapes, Duration::from_secs(300), 0.0);
        assert!(coverage.is_full());
        let route = &routes[0];
        assert_eq!((route.method.as_str(), route.route.as_str()), ("GET", "/a"));
        assert_eq!(route.requests, 100.0);
        assert_eq!(route.errors, 20.0);
        assert!((route.rate - 100.0 / 300.0).abs() < 1e-9);
        assert!((route.error_ratio() - 0.2).abs() < 1e-9);
        // 70 of 100 under 0.1 s: p50 is inside the first bucket, p95 inside the second.
        assert!((route.quantiles[0].unwrap() - 0.1 * 50.0 / 70.0).abs() < 1e-9);
        assert!((route.quantiles[1].unwrap() - (0.1 + 0.9 * 25.0 / 30.0)).abs() < 1e-9);
        assert_eq!(
            route.exemplars[0].trace_id,
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
    }

    #[test]
    fn a_young_session_counts_from_zero_and_resets_count_from_zero() {
        let scrapes = [
            scrape(100.0, &red_text(5, 0, 5)),
            // The service restarted: its counters went down.
            scrape(110.0, &red_text(2, 1, 3)),
        ];
        let (routes, coverage) = red(&scrapes, Duration::from_secs(300), 90.0);
        assert!(!coverage.is_full());
        assert_eq!(coverage.covered_secs, 20.0);
        assert_eq!(routes[0].requests, 8.0);
        assert_eq!(routes[0].errors, 1.0);
    }

    #[test]
    fn slo_burn_rates_use_the_stock_tiers() {
        let slo = |good: u64, bad: u64| {
            format!(
                "obskit_slo_objective_ratio{{service_name=\"svc\",slo=\"availability\"}} 0.99\n\
                 obskit_slo_requests_total{{service_name=\"svc\",slo=\"availability\",result=\"good\"}} {good}\n\
                 obskit_slo_requests_total{{service_name=\"svc\",slo=\"availability\",result=\"bad\"}} {bad}\n"
            )
        };
        let scrapes = [scrape(0.0, &slo(0, 0)), scrape(600.0, &slo(80, 20))];
        let slos = slos(&scrapes, 0.0);
        assert_eq!(slos.len(), 1);
        assert_eq!(slos[0].objective, 0.99);
        let page = &slos[0].tiers[0];
        assert_eq!(page.tier.name, "page-1h");
        // Both windows: 20 bad of 100 = 20 %, a burn rate of 20 over a 1 % budget.
        assert_eq!(page.short.error_ratio, Some(0.2));
        assert!((page.long.burn_rate.unwrap() - 20.0).abs() < 1e-9);
        assert!(!page.long.coverage.is_full());
        assert!(page.burning());
        assert_eq!(slos[0].tiers.len(), 4);
    }

    #[test]
    fn quantiles_follow_histogram_quantile() {
        assert_eq!(quantile(0.5, &[(f64::INFINITY, 0.0)]), None);
        // Everything above the last finite bound: that bound.
        assert_eq!(
            quantile(0.99, &[(1.0, 0.0), (f64::INFINITY, 3.0)]),
            Some(1.0)
        );
    }
}
