//! promtool cases for the SLO rules: for each burn-rate tier a series burning just above its
//! threshold (the alert fires exactly when the model says) and one just below (it never fires);
//! the minimum-traffic guard; the traffic-weighted period SLI and remaining budget.
//!
//! Each tier's cases run at the coarsest step that keeps its firing time exact (1m for the
//! 5-minute window, 15m for the others): the windows span days, and a finer step would only make
//! promtool slower.

use super::series::{Counter, Gauge, Labels, firing};
use super::{
    AlertTest, ExpAlert, ExpSample, ExprTest, InputSeries, TestFile, TestGroup, TestOut,
    alert_rule, alert_test, expect, for_steps, from_tests_dir, model_error, steps,
};
use crate::Error;
use crate::alerts::rule_file::{Rule, RuleFile};
use crate::alerts::slo::{ALERT_GROUP, PERIOD_GROUP, RECORDING_GROUP};
use crate::alerts::{AlertOptions, SLO_RULES};
use crate::duration::Dur;
use crate::names;
use crate::policy::{Severity, TIERS, Tier};
use obskit_names as n;

const SERVICE: &str = "checkout";
const SLO_NAME: &str = "availability";
const OBJECTIVE: f64 = 0.999;
/// Traffic of the burn cases: large, so a burn rate is a whole number of bad requests per step.
const REQUESTS_PER_MIN: u64 = 100_000;
/// "Just above" and "just below" a tier's threshold.
const ABOVE: f64 = 1.1;
const BELOW: f64 = 0.9;

/// The evaluation step of a tier's cases: the coarsest of 15m, 5m and 1m that divides its short
/// window and its `for`, so that firing times are exact and promtool has few evaluations to run
/// over windows that span days.
fn step_for(tier: &Tier) -> Dur {
    [Dur::mins(15), Dur::mins(5), Dur::mins(1)]
        .into_iter()
        .find(|&s| tier.short.steps_of(s).is_some() && tier.for_.steps_of(s).is_some())
        .unwrap_or(Dur::mins(1))
}

/// The budget exactly as the recording rule computes it: `1 - objective`.
fn budget() -> f64 {
    1.0 - OBJECTIVE
}

fn slo_labels(service: &str) -> Labels {
    slo_labels_of(service, SLO_NAME)
}

fn slo_labels_of(service: &str, slo: &str) -> Labels {
    Labels::of(&[(n::SERVICE_NAME, service), (n::SLO, slo)])
}

/// Good and bad request counters of one service's SLO.
struct Traffic {
    slo: &'static str,
    good: Counter,
    bad: Counter,
}

impl Traffic {
    fn new() -> Self {
        Self {
            slo: SLO_NAME,
            good: Counter::new(),
            bad: Counter::new(),
        }
    }
    /// `steps` steps with `good` and `bad` requests each.
    fn phase(self, good: u64, bad: u64, steps: usize) -> Self {
        Self {
            slo: self.slo,
            good: self.good.run(good, steps),
            bad: self.bad.run(bad, steps),
        }
    }
    /// The same counts, for SLO `slo`.
    fn for_slo(self, slo: &'static str) -> Self {
        Self { slo, ..self }
    }
    fn series(&self, service: &str) -> Vec<InputSeries> {
        let labels = slo_labels_of(service, self.slo);
        let mut out = Vec::new();
        for (result, counter) in [
            (n::SLO_RESULT_GOOD, &self.good),
            (n::SLO_RESULT_BAD, &self.bad),
        ] {
            out.push(InputSeries {
                series: labels
                    .with(n::SLO_RESULT, result)
                    .series(n::SLO_REQUESTS_TOTAL),
                values: counter.notation(),
            });
        }
        out.push(objective_series_of(service, self.slo, self.good.len() - 1));
        out
    }
}

fn objective_series(service: &str, steps: usize) -> InputSeries {
    objective_series_of(service, SLO_NAME, steps)
}

fn objective_series_of(service: &str, slo: &str, steps: usize) -> InputSeries {
    InputSeries {
        series: slo_labels_of(service, slo).series(n::SLO_OBJECTIVE_RATIO),
        values: Gauge::constant(OBJECTIVE, steps).notation(),
    }
}

/// The SLO rules, evaluated on one service's traffic.
struct Model<'a> {
    traffic: &'a Traffic,
    step: Dur,
    /// Whether the minimum-traffic guard is applied (off only to prove the guard matters).
    guard: bool,
}

impl Model<'_> {
    /// `(bad rate, total rate)` over `window` at step `t`, as the recording rules compute them.
    fn rates(&self, t: usize, window: Dur) -> Option<(f64, f64)> {
        let w = window.steps_of(self.step)?;
        if t == 0 {
            return None; // one sample: rate() returns nothing
        }
        let secs = window.as_secs();
        let bad = self.traffic.bad.rate(t, w, secs);
        let good = self.traffic.good.rate(t, w, secs);
        Some((bad, good + bad))
    }
    /// `slo_error_ratio` over `window`: bad / total.
    fn ratio(&self, t: usize, window: Dur) -> Option<f64> {
        self.rates(t, window).map(|(bad, total)| bad / total)
    }
    /// The sample the tier's expression returns at `t` (its value is the long-window ratio).
    fn value(&self, t: usize, tier: &Tier) -> Option<f64> {
        let threshold = tier.factor * budget();
        let long = self.ratio(t, tier.long)?;
        let short = self.ratio(t, tier.short)?;
        let (_, requests) = self.rates(t, tier.long)?;
        let enough = requests * tier.long.as_secs() as f64 >= 1.0 / threshold;
        (long > threshold && short > threshold && (enough || !self.guard)).then_some(long)
    }
    /// For each step up to `horizon`, the firing tiers (index into `TIERS`) and their values.
    fn firing(&self, case: &str, horizon: usize) -> Result<Vec<Vec<(usize, f64)>>, Error> {
        let mut at = vec![Vec::new(); horizon + 1];
        for (i, tier) in TIERS.iter().enumerate() {
            let values: Vec<Option<f64>> = (0..=horizon).map(|t| self.value(t, tier)).collect();
            let active: Vec<bool> = values.iter().map(Option::is_some).collect();
            let for_steps = for_steps(case, tier.for_, self.step)?;
            for (t, fires) in firing(&active, for_steps).into_iter().enumerate() {
                if let (true, Some(v)) = (fires, values[t]) {
                    at[t].push((i, v));
                }
            }
        }
        Ok(at)
    }
}

/// Everything the SLO test cases need from the rule file.
struct Rules<'a> {
    tiers: Vec<&'a Rule>,
}

impl Rules<'_> {
    fn expected(&self, case: &str, firing: &[(usize, f64)]) -> Result<Vec<ExpAlert>, Error> {
        self.expected_for(case, SLO_NAME, firing)
    }
    fn expected_for(
        &self,
        case: &str,
        slo: &str,
        firing: &[(usize, f64)],
    ) -> Result<Vec<ExpAlert>, Error> {
        firing
            .iter()
            .map(|&(i, value)| expect(case, self.tiers[i], &slo_labels_of(SERVICE, slo), value))
            .collect()
    }
}

/// One test file per tier (its step is the tier's), and one for the guard and period figures.
pub(crate) fn files(opts: &AlertOptions, rule_file: &RuleFile) -> Result<Vec<TestOut>, Error> {
    let rules = Rules {
        tiers: TIERS
            .iter()
            .map(|t| alert_rule(rule_file, names::ALERT_SLO_BURN, Some(t.name)))
            .collect::<Result<_, _>>()?,
    };
    let file = |name: &str, step: Dur, tests: Vec<TestGroup>| TestOut {
        path: format!("alerts/tests/obskit-slo-{name}.test.yml"),
        file: TestFile {
            rule_files: vec![from_tests_dir(SLO_RULES)],
            evaluation_interval: step.to_string(),
            group_eval_order: [RECORDING_GROUP, PERIOD_GROUP, ALERT_GROUP]
                .map(str::to_owned)
                .to_vec(),
            tests,
        },
    };
    let mut out = Vec::new();
    for tier in &TIERS {
        let mut tests = vec![burn_above(&rules, tier)?, burn_below(&rules, tier)?];
        if tier.name == TIERS[0].name {
            tests.push(freshness_burn(&rules, tier)?);
        }
        out.push(file(tier.name, step_for(tier), tests));
    }
    out.push(file(
        "figures",
        Dur::mins(1),
        vec![low_traffic(&rules)?, period_figures(opts)?],
    ));
    Ok(out)
}

/// How long the burn cases of a severity start with clean traffic: the longest window of its
/// tiers, so that every window of the file's tiers is full of clean traffic when a burn starts
/// and the tested tier is the first to fire.
fn clean_prefix(severity: Severity) -> Dur {
    TIERS
        .iter()
        .filter(|t| t.severity == severity)
        .map(|t| t.long)
        .max()
        .unwrap_or(Dur::hours(1))
}

/// Clean traffic, then `burn_steps` steps of a burn at `multiple` × the tier's threshold.
/// Returns the traffic and the bad requests per step.
fn burn_traffic(
    tier: &Tier,
    multiple: f64,
    clean: usize,
    burn_steps: usize,
    step: Dur,
) -> (Traffic, u64) {
    let per_step = REQUESTS_PER_MIN * step.as_secs() / 60;
    let bad = (per_step as f64 * tier.factor * budget() * multiple).round() as u64;
    let traffic = Traffic::new()
        .phase(per_step, 0, clean)
        .phase(per_step - bad, bad, burn_steps);
    (traffic, bad)
}

fn group(
    name: String,
    step: Dur,
    input_series: Vec<InputSeries>,
    alert_rule_test: Vec<AlertTest>,
) -> TestGroup {
    TestGroup {
        name,
        interval: step.to_string(),
        input_series,
        alert_rule_test,
        promql_expr_test: Vec::new(),
    }
}

fn burn_above(rules: &Rules<'_>, tier: &Tier) -> Result<TestGroup, Error> {
    let case = format!("{} above", tier.name);
    let step = step_for(tier);
    let tier_index = TIERS.iter().position(|t| t.name == tier.name).unwrap_or(0);
    let clean = steps(&case, clean_prefix(tier.severity), step)?;
    let horizon = clean + 2 * steps(&case, tier.long, step)? + for_steps(&case, tier.for_, step)?;
    let (traffic, _) = burn_traffic(tier, ABOVE, clean, horizon - clean, step);
    let model = Model {
        traffic: &traffic,
        step,
        guard: true,
    };
    let fired = model.firing(&case, horizon)?;
    let fire_at = (0..=horizon)
        .find(|&t| fired[t].iter().any(|&(i, _)| i == tier_index))
        .ok_or_else(|| model_error(&case, format!("a burn at {ABOVE}× never fires")))?;
    if fire_at <= clean {
        return Err(model_error(&case, "the alert fires before the burn starts"));
    }
    // Cut the series at the last evaluation asserted.
    let (traffic, bad) = burn_traffic(tier, ABOVE, clean, fire_at - clean, step);
    let tests = vec![
        alert_test(
            step,
            fire_at - 1,
            names::ALERT_SLO_BURN,
            rules.expected(&case, &fired[fire_at - 1])?,
        ),
        alert_test(
            step,
            fire_at,
            names::ALERT_SLO_BURN,
            rules.expected(&case, &fired[fire_at])?,
        ),
    ];
    let name = format!(
        "{}: after {} of clean traffic, {bad} bad requests per {step} ({ABOVE}× the {}× threshold) fire at {}, not one step earlier",
        tier.name,
        step.times(clean as u64),
        tier.factor,
        step.times(fire_at as u64)
    );
    Ok(group(name, step, traffic.series(SERVICE), tests))
}

/// A freshness SLO (messages too old when their processing starts) counts its good and bad
/// messages in the same counter as every SLO, so the same rules cover it: the burn case of
/// `tier`, for a worker's freshness SLO that also exports its threshold, fires at the same
/// step with `slo="freshness"`.
fn freshness_burn(rules: &Rules<'_>, tier: &Tier) -> Result<TestGroup, Error> {
    const FRESHNESS: &str = "freshness";
    let case = format!("{} freshness", tier.name);
    let step = step_for(tier);
    let tier_index = TIERS.iter().position(|t| t.name == tier.name).unwrap_or(0);
    let clean = steps(&case, clean_prefix(tier.severity), step)?;
    let horizon = clean + 2 * steps(&case, tier.long, step)? + for_steps(&case, tier.for_, step)?;
    let (traffic, _) = burn_traffic(tier, ABOVE, clean, horizon - clean, step);
    let fired = Model {
        traffic: &traffic,
        step,
        guard: true,
    }
    .firing(&case, horizon)?;
    let fire_at = (0..=horizon)
        .find(|&t| fired[t].iter().any(|&(i, _)| i == tier_index))
        .ok_or_else(|| model_error(&case, "the freshness burn never fires"))?;
    let (traffic, bad) = burn_traffic(tier, ABOVE, clean, fire_at - clean, step);
    let traffic = traffic.for_slo(FRESHNESS);
    let mut input = traffic.series(SERVICE);
    input.push(InputSeries {
        series: slo_labels_of(SERVICE, FRESHNESS).series(n::SLO_FRESHNESS_THRESHOLD),
        values: Gauge::constant(30.0, fire_at).notation(),
    });
    let tests = [fire_at - 1, fire_at]
        .into_iter()
        .map(|t| {
            Ok(alert_test(
                step,
                t,
                names::ALERT_SLO_BURN,
                rules.expected_for(&case, FRESHNESS, &fired[t])?,
            ))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let name = format!(
        "{}: a freshness SLO burning {bad} stale messages per {step} fires at {} like any SLO (no rule of its own)",
        tier.name,
        step.times(fire_at as u64)
    );
    Ok(group(name, step, input, tests))
}

fn burn_below(rules: &Rules<'_>, tier: &Tier) -> Result<TestGroup, Error> {
    let case = format!("{} below", tier.name);
    let step = step_for(tier);
    let tier_index = TIERS.iter().position(|t| t.name == tier.name).unwrap_or(0);
    let clean = steps(&case, clean_prefix(tier.severity), step)?;
    // Both windows full of the burn, `for` elapsed, and one more step.
    let check = clean + steps(&case, tier.long, step)? + for_steps(&case, tier.for_, step)? + 1;
    let (traffic, bad) = burn_traffic(tier, BELOW, clean, check - clean, step);
    let model = Model {
        traffic: &traffic,
        step,
        guard: true,
    };
    let fired = model.firing(&case, check)?;
    if let Some(t) = (0..=check).find(|&t| fired[t].iter().any(|&(i, _)| i == tier_index)) {
        return Err(model_error(
            &case,
            format!("a burn at {BELOW}× fires at step {t}"),
        ));
    }
    // Silence asserted as the burn fills the long window, and once it is full.
    let long = steps(&case, tier.long, step)?;
    let first = clean + for_steps(&case, tier.for_, step)? + 1;
    let mut times: Vec<usize> = (0..4).map(|q| first + q * long / 4).collect();
    times.push(check);
    times.dedup();
    let tests = times
        .into_iter()
        .map(|t| {
            Ok(alert_test(
                step,
                t,
                names::ALERT_SLO_BURN,
                rules.expected(&case, &fired[t])?,
            ))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let name = format!(
        "{}: {bad} bad requests per {step} ({BELOW}× the {}× threshold) never fire it, checked as the long window fills and at {} when both are full",
        tier.name,
        tier.factor,
        step.times(check as u64)
    );
    Ok(group(name, step, traffic.series(SERVICE), tests))
}

/// A quiet service (one request a minute) has one bad request: both page-1h windows exceed
/// 14.4× the budget, but one error in an hour must not page.
fn low_traffic(rules: &Rules<'_>) -> Result<TestGroup, Error> {
    let case = "low-traffic guard";
    let tier = &TIERS[0];
    let step = step_for(tier);
    let clean = steps(case, tier.long, step)?;
    let after = 2 * steps(case, tier.short, step)?;
    let traffic = Traffic::new()
        .phase(1, 0, clean)
        .phase(0, 1, 1)
        .phase(1, 0, after);
    let horizon = clean + 1 + after;
    let unguarded = Model {
        traffic: &traffic,
        step,
        guard: false,
    }
    .firing(case, horizon)?;
    let would_fire = (0..=horizon)
        .find(|&t| unguarded[t].iter().any(|&(i, _)| i == 0))
        .ok_or_else(|| {
            model_error(
                case,
                "without the guard the case would not fire either, so it does not test the guard",
            )
        })?;
    let guarded = Model {
        traffic: &traffic,
        step,
        guard: true,
    }
    .firing(case, horizon)?;
    if guarded[would_fire].iter().any(|&(i, _)| i == 0) {
        return Err(model_error(case, "the guard does not stop the page"));
    }
    let tests = vec![alert_test(
        step,
        would_fire,
        names::ALERT_SLO_BURN,
        rules.expected(case, &guarded[would_fire])?,
    )];
    let name = format!(
        "minimum-traffic guard: one bad request among one request per minute would page at {} without the guard; it does not",
        step.times(would_fire as u64)
    );
    Ok(group(name, step, traffic.series(SERVICE), tests))
}

/// The period figures divide summed counts: an hour of heavy clean traffic then an hour of
/// light traffic with 50 % errors gives an SLI near 99.5 %, where averaging ratios would give
/// about 75 %. A service that never exported a bad series gets a ratio of 0, not nothing.
fn period_figures(opts: &AlertOptions) -> Result<TestGroup, Error> {
    let case = "period figures";
    let step = Dur::mins(1);
    let heavy = Traffic::new().phase(1000, 0, 60).phase(5, 5, 60);
    let t = 120;
    let clean_only = Counter::new().run(1000, t);
    let period_steps = steps(case, opts.period.dur(), step)?;

    // checkout: errors over the period / requests over the period.
    let errors = heavy.bad.increase(t, period_steps);
    let requests = heavy.good.increase(t, period_steps) + errors;
    let sli = 1.0 - (errors / requests);
    let remaining = 1.0 - ((1.0 - sli) / budget());
    // payments exports no bad series: errors = 0 * requests.
    let payments_requests = clean_only.increase(t, period_steps);
    let payments_sli = 1.0 - ((0.0 * payments_requests) / payments_requests);
    let payments_remaining = 1.0 - ((1.0 - payments_sli) / budget());

    let model = Model {
        traffic: &heavy,
        step,
        guard: true,
    };
    let averaged = (1..=t)
        .filter_map(|s| model.ratio(s, Dur::mins(5)))
        .sum::<f64>()
        / t as f64;
    if averaged < 10.0 * (errors / requests) {
        return Err(model_error(
            case,
            "averaging ratios would give nearly the same SLI, so the case cannot tell them apart",
        ));
    }
    let ratio_1h = model
        .ratio(t, Dur::hours(1))
        .ok_or_else(|| model_error(case, "no 1h ratio"))?;

    let period = opts.period.to_string();
    let with_period = |service: &str| slo_labels(service).with(names::PERIOD_LABEL, &period);
    let sample = |metric: &str, labels: Labels, value: f64| ExpSample {
        labels: labels.series(metric),
        value,
    };
    let at = step.times(t as u64).to_string();
    let sli_name = names::slo_sli_period();
    let remaining_name = names::slo_budget_remaining_period();
    let ratio_name = names::slo_error_ratio(Dur::hours(1));
    let promql_expr_test = vec![
        ExprTest {
            expr: sli_name.clone(),
            eval_time: at.clone(),
            exp_samples: vec![
                sample(&sli_name, with_period(SERVICE), sli),
                sample(&sli_name, with_period("payments"), payments_sli),
            ],
        },
        ExprTest {
            expr: remaining_name.clone(),
            eval_time: at.clone(),
            exp_samples: vec![
                sample(&remaining_name, with_period(SERVICE), remaining),
                sample(&remaining_name, with_period("payments"), payments_remaining),
            ],
        },
        ExprTest {
            expr: ratio_name.clone(),
            eval_time: at,
            exp_samples: vec![
                sample(&ratio_name, slo_labels(SERVICE), ratio_1h),
                sample(&ratio_name, slo_labels("payments"), 0.0),
            ],
        },
    ];
    let mut input_series = heavy.series(SERVICE);
    input_series.push(InputSeries {
        series: slo_labels("payments")
            .with(n::SLO_RESULT, n::SLO_RESULT_GOOD)
            .series(n::SLO_REQUESTS_TOTAL),
        values: clean_only.notation(),
    });
    input_series.push(objective_series("payments", t));
    Ok(TestGroup {
        name: format!(
            "period SLI is traffic-weighted ({sli:.5} where averaging 5m ratios gives {:.5}); a service without bad series has ratio 0",
            1.0 - averaged
        ),
        interval: step.to_string(),
        input_series,
        alert_rule_test: Vec::new(),
        promql_expr_test,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::slo;

    fn rule_file() -> RuleFile {
        RuleFile {
            groups: slo::groups(&AlertOptions::default()),
        }
    }

    #[test]
    fn page_1h_above_fires_when_the_long_window_crosses_plus_for() {
        // 1584 bad per minute after 6 clean hours: the 1h ratio exceeds 14.4 ‰ once
        // 1584 k / 6e6 > 0.0144, i.e. k = 55 minutes into the burn; `for: 2m` adds two (k = 57: 1.505 %).
        let file = rule_file();
        let rules = Rules {
            tiers: TIERS
                .iter()
                .map(|t| alert_rule(&file, names::ALERT_SLO_BURN, Some(t.name)).unwrap())
                .collect(),
        };
        let group = burn_above(&rules, &TIERS[0]).unwrap();
        assert!(
            group
                .name
                .contains("after 6h of clean traffic, 1584 bad requests per 1m"),
            "{}",
            group.name
        );
        assert_eq!(group.alert_rule_test[1].eval_time, "6h57m");
        assert_eq!(group.alert_rule_test[0].eval_time, "6h56m");
        assert!(group.alert_rule_test[0].exp_alerts.is_empty());
        assert_eq!(group.alert_rule_test[1].exp_alerts.len(), 1);
        let fired = &group.alert_rule_test[1].exp_alerts[0];
        assert_eq!(fired.exp_labels["tier"], "page-1h");
        assert!(
            fired.exp_annotations["description"].starts_with("1.505% of the checkout requests")
        );
    }

    #[test]
    fn every_case_is_generated_consistently() {
        let files = files(&AlertOptions::default(), &rule_file()).unwrap();
        let steps: Vec<(&str, &str, usize)> = files
            .iter()
            .map(|f| {
                (
                    f.path.as_str(),
                    f.file.evaluation_interval.as_str(),
                    f.file.tests.len(),
                )
            })
            .collect();
        assert_eq!(
            steps,
            [
                ("alerts/tests/obskit-slo-page-1h.test.yml", "1m", 3),
                ("alerts/tests/obskit-slo-page-6h.test.yml", "15m", 2),
                ("alerts/tests/obskit-slo-ticket-1d.test.yml", "15m", 2),
                ("alerts/tests/obskit-slo-ticket-3d.test.yml", "15m", 2),
                ("alerts/tests/obskit-slo-figures.test.yml", "1m", 2),
            ]
        );
    }

    #[test]
    fn guard_case_would_page_without_the_guard() {
        let file = rule_file();
        let rules = Rules {
            tiers: TIERS
                .iter()
                .map(|t| alert_rule(&file, names::ALERT_SLO_BURN, Some(t.name)).unwrap())
                .collect(),
        };
        let group = low_traffic(&rules).unwrap();
        assert!(group.alert_rule_test[0].exp_alerts.is_empty());
        assert_eq!(group.alert_rule_test[0].eval_time, "1h3m");
    }
}
