//! Pieces the messaging and datastore cases share: a histogram fed per step, success/failure
//! counters with the RED error-ratio model, and a test group that asserts one alert fires
//! exactly when the model says for the subjects that should fire, and never for the others.

use super::red_cases::{CLEAN, Fired, HORIZON, STEP, bucket_quantile};
use super::series::{Counter, Labels};
use super::{InputSeries, TestGroup, model_error, steps};
use crate::Error;
use crate::alerts::rule_file::Rule;
use crate::duration::Dur;
use crate::policy::{RED_ERROR_RATIO, RED_MIN_REQUESTS, RED_WINDOW};
use obskit_names as n;

/// What an alert's expression returns per step for one subject (a destination, a pool, ...).
pub(super) type Subject = (Labels, Vec<Option<f64>>);

/// The alert `rule` fires for each of `fire` (indices into `subjects`), the first of them
/// exactly at the step the model says and not one earlier, and never for the other subjects.
/// `name` describes the case given the first firing step.
pub(super) fn alert_group(
    case: &str,
    rule: &Rule,
    for_: Dur,
    input_series: Vec<InputSeries>,
    subjects: Vec<Subject>,
    fire: &[usize],
    name: impl FnOnce(Dur) -> String,
) -> Result<TestGroup, Error> {
    let count = subjects.len();
    let fired = Fired::new(case, subjects, for_)?;
    let mut at = None;
    for &i in fire {
        let t = fired.first_firing(case, i)?;
        at.get_or_insert(t);
    }
    let at = at.ok_or_else(|| model_error(case, "no subject is meant to fire"))?;
    if at <= CLEAN {
        return Err(model_error(
            case,
            "the alert fires before the problem starts",
        ));
    }
    for i in (0..count).filter(|i| !fire.contains(i)) {
        fired.never_fires(case, i)?;
    }
    let mut times = vec![at - 1, at, HORIZON];
    times.dedup();
    Ok(TestGroup {
        name: name(STEP.times(at as u64)),
        interval: STEP.to_string(),
        input_series,
        alert_rule_test: times
            .into_iter()
            .map(|t| fired.test_at(case, rule, t))
            .collect::<Result<_, _>>()?,
        promql_expr_test: Vec::new(),
    })
}

/// `(labels, value at each step)` for a subject whose expression returns `value(t)`.
pub(super) fn subject(labels: Labels, value: impl Fn(usize) -> Option<f64>) -> Subject {
    (labels, (0..=HORIZON).map(value).collect())
}

/// A gauge input series from a never-falling sequence of whole numbers.
pub(super) fn gauge_series(labels: &Labels, metric: &str, values: &Counter) -> InputSeries {
    InputSeries {
        series: labels.series(metric),
        values: values.notation(),
    }
}

/// A classic histogram fed per step: one counter per bucket bound and `+Inf`.
pub(super) struct Histogram {
    buckets: Vec<(f64, Counter)>,
}

impl Histogram {
    /// An empty histogram with `bounds` (sorted, finite; `+Inf` is added).
    pub(super) fn new(bounds: &[f64]) -> Self {
        Self {
            buckets: bounds
                .iter()
                .copied()
                .chain([f64::INFINITY])
                .map(|b| (b, Counter::new()))
                .collect(),
        }
    }

    /// `steps` steps of `count` observations of `value` each.
    pub(super) fn phase(self, count: u64, value: f64, steps: usize) -> Self {
        Self {
            buckets: self
                .buckets
                .into_iter()
                .map(|(b, c)| (b, c.run(if value <= b { count } else { 0 }, steps)))
                .collect(),
        }
    }

    /// The `_bucket` series and the `_count` series of `metric` with `labels`.
    pub(super) fn series(&self, labels: &Labels, metric: &str) -> Vec<InputSeries> {
        let mut out: Vec<InputSeries> = self
            .buckets
            .iter()
            .map(|(bound, c)| {
                let le = if bound.is_infinite() {
                    "+Inf".to_owned()
                } else {
                    format!("{bound}")
                };
                InputSeries {
                    series: labels.with("le", &le).series(&format!("{metric}_bucket")),
                    values: c.notation(),
                }
            })
            .collect();
        if let Some((_, total)) = self.buckets.last() {
            out.push(InputSeries {
                series: labels.series(&format!("{metric}_count")),
                values: total.notation(),
            });
        }
        out
    }

    /// The p99 over the RED window at step `t` and the observations in it.
    pub(super) fn p99(&self, t: usize) -> Option<(f64, f64)> {
        let w = RED_WINDOW.steps_of(STEP)?;
        if t == 0 {
            return None;
        }
        let rates: Vec<(f64, f64)> = self
            .buckets
            .iter()
            .map(|(b, c)| (*b, c.rate(t, w, RED_WINDOW.as_secs())))
            .collect();
        let count = self.buckets.last()?.1.increase(t, w);
        Some((bucket_quantile(0.99, &rates)?, count))
    }
}

/// Operations of one subject by outcome: succeeded, failed, cancelled by the caller.
pub(super) struct Outcomes {
    ok: Counter,
    failed: Counter,
    cancelled: Counter,
}

impl Outcomes {
    pub(super) fn new() -> Self {
        Self {
            ok: Counter::new(),
            failed: Counter::new(),
            cancelled: Counter::new(),
        }
    }

    /// `steps` steps with `ok`, `failed` and `cancelled` operations each.
    pub(super) fn phase(self, ok: u64, failed: u64, cancelled: u64, steps: usize) -> Self {
        Self {
            ok: self.ok.run(ok, steps),
            failed: self.failed.run(failed, steps),
            cancelled: self.cancelled.run(cancelled, steps),
        }
    }

    /// The `count` series: successes under `labels`, failures with `error_type`, and the
    /// cancelled operations when there are any.
    pub(super) fn series(
        &self,
        labels: &Labels,
        count: &str,
        error_type: &str,
    ) -> Vec<InputSeries> {
        let mut out = vec![
            InputSeries {
                series: labels.series(count),
                values: self.ok.notation(),
            },
            InputSeries {
                series: labels.with(n::ERROR_TYPE, error_type).series(count),
                values: self.failed.notation(),
            },
        ];
        if self.cancelled.at(HORIZON) > 0 {
            out.push(InputSeries {
                series: labels
                    .with(n::ERROR_TYPE, n::ERROR_TYPE_CANCELLED)
                    .series(count),
                values: self.cancelled.notation(),
            });
        }
        out
    }

    /// The error-ratio alert's sample at `t`: failures / all over the RED window, above the RED
    /// threshold, with at least the minimum operations in the window.
    pub(super) fn error_ratio(&self, t: usize) -> Option<f64> {
        let w = RED_WINDOW.steps_of(STEP)?;
        if t == 0 {
            return None;
        }
        let secs = RED_WINDOW.as_secs();
        let failed = self.failed.rate(t, w, secs);
        let mut all = self.ok.rate(t, w, secs) + failed;
        if self.cancelled.at(HORIZON) > 0 {
            all += self.cancelled.rate(t, w, secs);
        }
        let ratio = failed / all;
        let operations =
            self.ok.increase(t, w) + self.failed.increase(t, w) + self.cancelled.increase(t, w);
        (ratio > RED_ERROR_RATIO && operations >= RED_MIN_REQUESTS as f64).then_some(ratio)
    }
}

/// The error-ratio case both groups share: a subject whose failures jump to 2 % fires; one at
/// 0.5 %, one below the minimum traffic and one whose "failures" are cancellations never do.
/// Each subject is given as its series' labels and the labels the alert keeps.
pub(super) fn error_ratio_group(
    case: &str,
    rule: &Rule,
    for_: Dur,
    subjects: [(Labels, Labels); 4],
    count: &str,
    error_type: &str,
) -> Result<TestGroup, Error> {
    let per_min = 1000;
    let burst = (per_min as f64 * RED_ERROR_RATIO * 2.0).round() as u64;
    let background = (per_min as f64 * RED_ERROR_RATIO / 2.0).round() as u64;
    let quiet = RED_MIN_REQUESTS / steps(case, RED_WINDOW, STEP)? as u64 / 2;
    let rest = HORIZON - CLEAN;
    let traffic = [
        Outcomes::new()
            .phase(per_min, 0, 0, CLEAN)
            .phase(per_min - burst, burst, 0, rest),
        Outcomes::new().phase(per_min - background, background, 0, HORIZON),
        Outcomes::new().phase(quiet / 2, quiet / 2, 0, HORIZON),
        Outcomes::new().phase(per_min - 50, 0, 50, HORIZON),
    ];
    let mut input = Vec::new();
    let mut model = Vec::new();
    for ((labels, out), outcomes) in subjects.into_iter().zip(&traffic) {
        input.extend(outcomes.series(&labels, count, error_type));
        model.push(subject(out, |t| outcomes.error_ratio(t)));
    }
    alert_group(case, rule, for_, input, model, &[0], |at| {
        format!(
            "{}: {burst}‰ failures fire at {at}; {background}‰ does not, nor 50% of {quiet} a minute (under the {RED_MIN_REQUESTS} guard), nor 5% cancelled",
            rule.alert.as_deref().unwrap_or_default()
        )
    })
}

/// The evaluation times of each test group's alert tests, group by group, as the tests of the
/// cases read them to compare with the policy.
#[cfg(test)]
pub(super) fn eval_times(out: &super::TestOut) -> Vec<Vec<&str>> {
    out.file
        .tests
        .iter()
        .map(|g| {
            g.alert_rule_test
                .iter()
                .map(|t| t.eval_time.as_str())
                .collect()
        })
        .collect()
}
