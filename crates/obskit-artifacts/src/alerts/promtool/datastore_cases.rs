//! promtool cases for the datastore alerts: each fires for the pool or datastore with the
//! problem, exactly when the model says, and stays silent for a healthy one and for the case
//! its threshold, override or guard exists for.

use super::kit::{Histogram, alert_group, error_ratio_group, gauge_series, subject};
use super::red_cases::{CLEAN, HORIZON, STEP};
use super::series::{Counter, Gauge, Labels};
use super::{InputSeries, TestFile, TestGroup, TestOut, alert_rule, from_tests_dir, steps};
use crate::Error;
use crate::alerts::RED_RULES;
use crate::alerts::datastore::GROUP;
use crate::alerts::rule_file::RuleFile;
use crate::names::{self, DB_LATENCY_THRESHOLD, INSTANCE};
use crate::policy::{
    AT_ONCE, DB_LATENCY_DEFAULT, DB_POOL_FOR, DB_POOL_SATURATION, ERROR_RATIO_FOR, LATENCY_FOR,
    RED_MIN_REQUESTS, RED_WINDOW,
};
use obskit_names as n;

const SERVICE: &str = "shop";

/// The datastore test file.
pub(crate) fn file(rules: &RuleFile) -> Result<TestOut, Error> {
    Ok(TestOut {
        path: "alerts/tests/obskit-datastore.test.yml".to_owned(),
        file: TestFile {
            rule_files: vec![from_tests_dir(RED_RULES)],
            evaluation_interval: STEP.to_string(),
            group_eval_order: vec![GROUP.to_owned()],
            tests: vec![
                pool_saturated(rules)?,
                pool_waiting(rules)?,
                acquire_timeouts(rules)?,
                error_ratio(rules)?,
                latency(rules)?,
            ],
        },
    })
}

fn system(service: &str, system: &str) -> Labels {
    Labels::of(&[(n::SERVICE_NAME, service), (n::DB_SYSTEM_NAME, system)])
}

/// The labels of pool `pool` (PostgreSQL) of the test service.
fn pool(name: &str) -> Labels {
    system(SERVICE, n::DB_SYSTEM_POSTGRESQL).with(n::DB_CLIENT_CONNECTION_POOL_NAME, name)
}

fn constant(value: u64) -> Counter {
    Counter::starting(value).run(0, HORIZON)
}

fn pool_saturated(rules: &RuleFile) -> Result<TestGroup, Error> {
    let case = "pool saturated";
    let rule = alert_rule(rules, names::ALERT_DB_POOL_SATURATED, None)?;
    let max = 10;
    // (pool, instance, used connections)
    let pools = [
        (
            "main",
            "10.0.0.1:8080",
            Counter::starting(5)
                .run(0, CLEAN)
                .run(5, 1)
                .run(0, HORIZON - CLEAN - 1),
        ),
        ("main", "10.0.0.2:8080", constant(3)),
        ("replica", "10.0.0.1:8080", constant(9)),
    ];
    let mut input = Vec::new();
    for (name, instance, used) in &pools {
        let labels = pool(name).with(INSTANCE, instance);
        let state = |s| labels.with(n::DB_CLIENT_CONNECTION_STATE, s);
        let idle = Gauge::constant((max - used.at(0)) as f64, CLEAN)
            .then((max - used.at(HORIZON)) as f64, HORIZON - CLEAN);
        input.push(gauge_series(
            &state(n::DB_CONNECTION_STATE_USED),
            n::DB_CLIENT_CONNECTIONS,
            used,
        ));
        input.push(InputSeries {
            series: state(n::DB_CONNECTION_STATE_IDLE).series(n::DB_CLIENT_CONNECTIONS),
            values: idle.notation(),
        });
        input.push(InputSeries {
            series: labels.series(n::DB_CLIENT_CONNECTION_MAX),
            values: Gauge::constant(max as f64, HORIZON).notation(),
        });
    }
    let share = |used: &Counter, t: usize| used.at(t) as f64 / max as f64;
    let model = ["main", "replica"]
        .into_iter()
        .map(|name| {
            let of_pool: Vec<&Counter> = pools
                .iter()
                .filter(|(p, _, _)| *p == name)
                .map(|(_, _, used)| used)
                .collect();
            subject(pool(name), move |t| {
                let worst = of_pool
                    .iter()
                    .map(|used| share(used, t))
                    .fold(f64::MIN, f64::max);
                (worst > DB_POOL_SATURATION).then_some(worst)
            })
        })
        .collect();
    alert_group(case, rule, DB_POOL_FOR, input, model, &[0], |at| {
        format!(
            "{}: one instance with all {max} connections used from {} fires at {at} although the other uses 3; 9 of {max} is not above {DB_POOL_SATURATION}",
            names::ALERT_DB_POOL_SATURATED,
            STEP.times(CLEAN as u64 + 1)
        )
    })
}

fn pool_waiting(rules: &RuleFile) -> Result<TestGroup, Error> {
    let case = "pool waiting";
    let rule = alert_rule(rules, names::ALERT_DB_POOL_WAITING, None)?;
    let blip = steps(case, DB_POOL_FOR, STEP)? - 2;
    let waiters = [
        (
            "main",
            Gauge::constant(0.0, CLEAN).then(3.0, HORIZON - CLEAN),
        ),
        (
            "replica",
            Gauge::constant(0.0, CLEAN)
                .then(2.0, blip)
                .then(0.0, HORIZON - CLEAN - blip),
        ),
    ];
    let input = waiters
        .iter()
        .map(|(name, g)| InputSeries {
            series: pool(name).series(n::DB_CLIENT_CONNECTION_PENDING_REQUESTS),
            values: g.notation(),
        })
        .collect();
    let model = waiters
        .iter()
        .map(|(name, g)| subject(pool(name), |t| g.at(t).filter(|&w| w > 0.0)))
        .collect();
    alert_group(case, rule, DB_POOL_FOR, input, model, &[0], |at| {
        format!(
            "{}: 3 requests waiting from {} on fire at {at}; waiters for {} only do not",
            names::ALERT_DB_POOL_WAITING,
            STEP.times(CLEAN as u64 + 1),
            STEP.times(blip as u64)
        )
    })
}

fn acquire_timeouts(rules: &RuleFile) -> Result<TestGroup, Error> {
    let case = "acquire timeouts";
    let rule = alert_rule(rules, names::ALERT_DB_ACQUIRE_TIMEOUTS, None)?;
    let window = steps(case, RED_WINDOW, STEP)?;
    let at = CLEAN + 5;
    let main = Counter::new().run(0, at).run(2, 1).run(0, HORIZON - at - 1);
    let replica = Counter::new().run(0, HORIZON);
    let input = vec![
        gauge_series(&pool("main"), n::DB_CLIENT_CONNECTION_TIMEOUTS_TOTAL, &main),
        gauge_series(
            &pool("replica"),
            n::DB_CLIENT_CONNECTION_TIMEOUTS_TOTAL,
            &replica,
        ),
    ];
    let model = vec![
        subject(pool("main"), |t| {
            let d = main.delta(t, window) as f64;
            (d > 0.0).then_some(d)
        }),
        subject(pool("replica"), |_| None),
    ];
    alert_group(case, rule, AT_ONCE, input, model, &[0], |fire| {
        format!(
            "{}: two acquire timeouts at {fire} fire at once and stay {RED_WINDOW}; a pool without timeouts never fires",
            names::ALERT_DB_ACQUIRE_TIMEOUTS
        )
    })
}

fn error_ratio(rules: &RuleFile) -> Result<TestGroup, Error> {
    let case = "datastore error ratio";
    let rule = alert_rule(rules, names::ALERT_DB_HIGH_ERROR_RATIO, None)?;
    let subjects = [
        (SERVICE, n::DB_SYSTEM_POSTGRESQL),
        (SERVICE, n::DB_SYSTEM_REDIS),
        ("reports", n::DB_SYSTEM_POSTGRESQL),
        ("billing", n::DB_SYSTEM_POSTGRESQL),
    ]
    .map(|(service, sys)| {
        (
            system(service, sys).with(n::DB_OPERATION_NAME, "SELECT"),
            system(service, sys),
        )
    });
    error_ratio_group(
        case,
        rule,
        ERROR_RATIO_FOR,
        subjects,
        &format!("{}_count", n::DB_CLIENT_OPERATION_DURATION),
        "57014",
    )
}

fn latency(rules: &RuleFile) -> Result<TestGroup, Error> {
    let case = "datastore latency";
    let rule = alert_rule(rules, names::ALERT_DB_HIGH_LATENCY, None)?;
    let (fast, slow) = (0.004, 0.8);
    let lax = 2.0;
    let per_min = 100;
    let quiet = RED_MIN_REQUESTS / 10;
    let buckets = n::DB_DURATION_BUCKETS;
    // (service, system, durations, threshold override)
    let cases = [
        (
            SERVICE,
            n::DB_SYSTEM_POSTGRESQL,
            Histogram::new(buckets).phase(per_min, fast, CLEAN).phase(
                per_min,
                slow,
                HORIZON - CLEAN,
            ),
            None,
        ),
        (
            SERVICE,
            n::DB_SYSTEM_REDIS,
            Histogram::new(buckets).phase(per_min, slow, HORIZON),
            Some(lax),
        ),
        (
            "reports",
            n::DB_SYSTEM_POSTGRESQL,
            Histogram::new(buckets).phase(per_min, fast, HORIZON),
            None,
        ),
        (
            "billing",
            n::DB_SYSTEM_POSTGRESQL,
            Histogram::new(buckets).phase(quiet, slow, HORIZON),
            None,
        ),
    ];
    let mut input = Vec::new();
    let mut model = Vec::new();
    for (service, sys, durations, threshold) in &cases {
        let labels = system(service, sys);
        input.extend(durations.series(
            &labels.with(n::DB_OPERATION_NAME, "SELECT"),
            n::DB_CLIENT_OPERATION_DURATION,
        ));
        if let Some(seconds) = threshold {
            input.push(InputSeries {
                series: labels.series(DB_LATENCY_THRESHOLD),
                values: Gauge::constant(*seconds, HORIZON).notation(),
            });
        }
        let limit = threshold.unwrap_or(DB_LATENCY_DEFAULT);
        model.push(subject(labels, |t| {
            let (p99, count) = durations.p99(t)?;
            (p99 > limit && count >= RED_MIN_REQUESTS as f64).then_some(p99)
        }));
    }
    alert_group(case, rule, LATENCY_FOR, input, model, &[0], |at| {
        format!(
            "{}: {slow}s queries against the default {DB_LATENCY_DEFAULT}s fire at {at}; the same against a {lax}s override do not, nor {fast}s ones, nor {quiet} a minute (under the {RED_MIN_REQUESTS} guard)",
            names::ALERT_DB_HIGH_LATENCY
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::promtool::kit::eval_times;
    use crate::alerts::{AlertOptions, datastore};

    #[test]
    fn every_datastore_case_fires_where_the_policy_says() {
        let rules = RuleFile {
            groups: vec![datastore::group(&AlertOptions::default())],
        };
        let out = file(&rules).unwrap();
        let times = eval_times(&out);
        assert_eq!(times[0], ["15m", "16m", "40m"]);
        assert_eq!(times[1], ["15m", "16m", "40m"]);
        assert_eq!(times[2], ["15m", "16m", "40m"]);
        let saturated = &out.file.tests[0].alert_rule_test[1].exp_alerts[0];
        assert!(
            saturated.exp_annotations["description"].starts_with("100% of the connections"),
            "{:?}",
            saturated.exp_annotations
        );
        let slow = &out.file.tests[4].alert_rule_test[1].exp_alerts[0];
        assert!(
            slow.exp_annotations["description"].contains(" is 995ms, above"),
            "{:?}",
            slow.exp_annotations
        );
    }
}
