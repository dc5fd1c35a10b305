//! promtool unit tests (`alerts/tests/*.yml`), generated with the rules they test.
//!
//! Each case builds its input series in Rust from the policy (tier factors, windows, `for`,
//! thresholds), predicts with a small model of the rule which alerts fire at which evaluation
//! and with which annotations, and writes both down for promtool. The model mirrors each rule's
//! arithmetic operation by operation, so the values (and the humanized figures in the
//! annotations) are the ones Prometheus 2.x computes. The expectations are therefore computed,
//! never hand-typed, and a case whose model contradicts its intent (a "just below" series that
//! would fire) is a generation error.
//!
//! The model follows Prometheus 2.x range selection, where `[w]` includes the sample at its
//! left edge (the promtool of Debian's `prometheus` package, which CI installs). Prometheus 3
//! selects left-open ranges; under it some expected firing times move by one step.

mod datastore_cases;
mod gotemplate;
mod kit;
mod messaging_cases;
mod red_cases;
mod series;
mod slo_cases;

use super::AlertOptions;
use super::rule_file::{Rule, RuleFile};
use crate::Error;
use crate::duration::Dur;
use serde::Serialize;
use series::Labels;
use std::collections::BTreeMap;

/// A generated test file and where it goes.
pub(crate) struct TestOut {
    pub(crate) path: String,
    pub(crate) file: TestFile,
}

/// A promtool rule test file.
#[derive(Debug, Serialize)]
pub(crate) struct TestFile {
    pub(crate) rule_files: Vec<String>,
    pub(crate) evaluation_interval: String,
    pub(crate) group_eval_order: Vec<String>,
    pub(crate) tests: Vec<TestGroup>,
}

/// One test group: input series and the assertions on them.
#[derive(Debug, Serialize)]
pub(crate) struct TestGroup {
    pub(crate) name: String,
    pub(crate) interval: String,
    pub(crate) input_series: Vec<InputSeries>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) alert_rule_test: Vec<AlertTest>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) promql_expr_test: Vec<ExprTest>,
}

/// One input series.
#[derive(Debug, Serialize)]
pub(crate) struct InputSeries {
    pub(crate) series: String,
    pub(crate) values: String,
}

/// The alerts named `alertname` that must be firing at `eval_time` (all of them: an empty list
/// asserts silence).
#[derive(Debug, Serialize)]
pub(crate) struct AlertTest {
    pub(crate) eval_time: String,
    pub(crate) alertname: String,
    pub(crate) exp_alerts: Vec<ExpAlert>,
}

/// One expected alert.
#[derive(Debug, Serialize)]
pub(crate) struct ExpAlert {
    pub(crate) exp_labels: BTreeMap<String, String>,
    pub(crate) exp_annotations: BTreeMap<String, String>,
}

/// An expression and the samples it must return.
#[derive(Debug, Serialize)]
pub(crate) struct ExprTest {
    pub(crate) expr: String,
    pub(crate) eval_time: String,
    pub(crate) exp_samples: Vec<ExpSample>,
}

/// One expected sample.
#[derive(Debug, Serialize)]
pub(crate) struct ExpSample {
    pub(crate) labels: String,
    pub(crate) value: f64,
}

/// All promtool test files for the given rule files.
pub(crate) fn files(
    opts: &AlertOptions,
    slo: &RuleFile,
    red: &RuleFile,
) -> Result<Vec<TestOut>, Error> {
    let mut out = slo_cases::files(opts, slo)?;
    out.push(red_cases::file(red)?);
    out.push(messaging_cases::file(red)?);
    out.push(datastore_cases::file(red)?);
    Ok(out)
}

/// The rule file path as seen from `alerts/tests/`.
fn from_tests_dir(rule_path: &str) -> String {
    format!("../{}", rule_path.trim_start_matches("alerts/"))
}

/// The alerting rule named `alert` (and with label `tier`, when given).
fn alert_rule<'a>(file: &'a RuleFile, alert: &str, tier: Option<&str>) -> Result<&'a Rule, Error> {
    file.groups
        .iter()
        .flat_map(|g| &g.rules)
        .find(|r| {
            r.alert.as_deref() == Some(alert)
                && tier.is_none_or(|t| {
                    r.labels.get(crate::names::TIER_LABEL).map(String::as_str) == Some(t)
                })
        })
        .ok_or_else(|| Error::TestModel {
            case: alert.to_owned(),
            problem: format!("no alerting rule {alert} (tier {tier:?}) in the rule file"),
        })
}

/// The alert `rule` raises for a sample with `labels` and `value`: its labels plus the rule's,
/// and its annotations expanded.
fn expect(case: &str, rule: &Rule, labels: &Labels, value: f64) -> Result<ExpAlert, Error> {
    let sample = labels.map();
    let mut exp_labels = sample.clone();
    exp_labels.extend(rule.labels.clone());
    let mut exp_annotations = BTreeMap::new();
    if let Some(annotations) = &rule.annotations {
        for (name, template) in annotations.pairs() {
            let text =
                gotemplate::expand(template, &sample, value).map_err(|e| Error::TestModel {
                    case: case.to_owned(),
                    problem: format!("annotation {name}: {}", e.0),
                })?;
            exp_annotations.insert(name.to_owned(), text);
        }
    }
    Ok(ExpAlert {
        exp_labels,
        exp_annotations,
    })
}

/// An alert assertion at step `t` of a group evaluated every `step`.
fn alert_test(step: Dur, t: usize, alert: &str, exp_alerts: Vec<ExpAlert>) -> AlertTest {
    AlertTest {
        eval_time: step.times(t as u64).to_string(),
        alertname: alert.to_owned(),
        exp_alerts,
    }
}

/// A model inconsistency in `case`.
fn model_error(case: &str, problem: impl Into<String>) -> Error {
    Error::TestModel {
        case: case.to_owned(),
        problem: problem.into(),
    }
}

/// Evaluations an alert needs to be pending before it fires: its `for` rounded up to whole
/// steps (Prometheus fires at the first evaluation at least `for` after the alert became active).
fn for_steps(case: &str, for_: Dur, step: Dur) -> Result<usize, Error> {
    for_.steps_to_cover(step)
        .ok_or_else(|| model_error(case, format!("cannot evaluate every {step}")))
}

/// Steps in `d` for a group evaluated every `step`.
fn steps(case: &str, d: Dur, step: Dur) -> Result<usize, Error> {
    d.steps_of(step)
        .ok_or_else(|| model_error(case, format!("{d} is not a multiple of the {step} step")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_paths_are_relative_to_the_tests_dir() {
        assert_eq!(
            from_tests_dir("alerts/obskit-slo.rules.yml"),
            "../obskit-slo.rules.yml"
        );
    }

    /// Every stock alert has a case in which it fires, asserted at evaluations where it fires
    /// for different sets of subjects (one of which is not yet or no longer firing), so no
    /// rule ships without a test of both sides.
    #[test]
    fn every_alert_is_tested_firing_and_silent() {
        let opts = AlertOptions::default();
        let slo = RuleFile {
            groups: crate::alerts::slo::groups(&opts),
        };
        let mut groups = crate::alerts::red::groups(&opts);
        groups.push(crate::alerts::messaging::group(&opts));
        groups.push(crate::alerts::datastore::group(&opts));
        let red = RuleFile { groups };
        let tests: Vec<AlertTest> = files(&opts, &slo, &red)
            .unwrap()
            .into_iter()
            .flat_map(|f| f.file.tests)
            .flat_map(|g| g.alert_rule_test)
            .collect();
        for alert in crate::names::ALL_ALERTS {
            let of = || tests.iter().filter(|t| t.alertname == alert);
            assert!(
                of().any(|t| !t.exp_alerts.is_empty()),
                "{alert} never fires"
            );
            let states: std::collections::BTreeSet<usize> =
                of().map(|t| t.exp_alerts.len()).collect();
            assert!(states.len() >= 2, "{alert} is asserted in one state only");
        }
    }
}
