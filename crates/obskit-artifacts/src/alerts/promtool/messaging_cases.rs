//! promtool cases for the messaging alerts: each fires for the destination with the problem,
//! exactly when the model says, and stays silent for a healthy destination, for a destination
//! whose depth readings are stale, and for the case its guard or override exists for.

use super::kit::{Histogram, Subject, alert_group, error_ratio_group, gauge_series, subject};
use super::red_cases::{CLEAN, HORIZON, STEP};
use super::series::{Counter, Gauge, Labels};
use super::{InputSeries, TestFile, TestGroup, TestOut, alert_rule, from_tests_dir, steps};
use crate::Error;
use crate::alerts::RED_RULES;
use crate::alerts::messaging::GROUP;
use crate::alerts::rule_file::RuleFile;
use crate::names::{self, QUEUE_DEPTH_THRESHOLD};
use crate::policy::{
    AT_ONCE, DEAD_LETTER_WINDOW, ERROR_RATIO_FOR, MESSAGE_AGE_FOR, NO_CONSUMER_FOR,
    QUEUE_DEPTH_DEFAULT, QUEUE_DEPTH_FOR, QUEUE_GROWTH_FOR, QUEUE_GROWTH_WINDOW, RED_MIN_REQUESTS,
};
use obskit_names as n;

const SERVICE: &str = "shop";
const SYSTEM: &str = "rabbitmq";

/// The messaging test file.
pub(crate) fn file(rules: &RuleFile) -> Result<TestOut, Error> {
    Ok(TestOut {
        path: "alerts/tests/obskit-messaging.test.yml".to_owned(),
        file: TestFile {
            rule_files: vec![from_tests_dir(RED_RULES)],
            evaluation_interval: STEP.to_string(),
            group_eval_order: vec![GROUP.to_owned()],
            tests: vec![
                depth_high(rules)?,
                growing(rules)?,
                no_consumer(rules)?,
                age_high(rules)?,
                dead_lettered(rules)?,
                error_ratio(rules)?,
            ],
        },
    })
}

/// The labels of destination `dest` of the test service.
fn destination(dest: &str) -> Labels {
    destination_of(SERVICE, dest)
}

fn destination_of(service: &str, dest: &str) -> Labels {
    Labels::of(&[
        (n::SERVICE_NAME, service),
        (n::MESSAGING_SYSTEM, SYSTEM),
        (n::MESSAGING_DESTINATION_NAME, dest),
    ])
}

/// What the depth poll of one destination reports: ready and unacknowledged messages,
/// consumers, and whether the readings are stale (the poll failed).
struct Queue {
    name: &'static str,
    ready: Counter,
    unacked: u64,
    consumers: Gauge,
    stale: bool,
}

impl Queue {
    fn new(name: &'static str, ready: Counter, unacked: u64, consumers: Gauge) -> Self {
        Self {
            name,
            ready,
            unacked,
            consumers,
            stale: false,
        }
    }
    fn stale(mut self) -> Self {
        self.stale = true;
        self
    }
    fn depth(&self, t: usize) -> f64 {
        (self.ready.at(t) + self.unacked) as f64
    }
    fn series(&self) -> Vec<InputSeries> {
        let labels = destination(self.name);
        let state = |s| labels.with(n::MESSAGING_QUEUE_STATE, s);
        vec![
            gauge_series(
                &state(n::QUEUE_STATE_READY),
                n::MESSAGING_QUEUE_MESSAGES,
                &self.ready,
            ),
            InputSeries {
                series: state(n::QUEUE_STATE_UNACKED).series(n::MESSAGING_QUEUE_MESSAGES),
                values: Gauge::constant(self.unacked as f64, HORIZON).notation(),
            },
            InputSeries {
                series: labels.series(n::MESSAGING_QUEUE_CONSUMERS),
                values: self.consumers.notation(),
            },
            InputSeries {
                series: labels.series(n::MESSAGING_QUEUE_STALE),
                values: Gauge::constant(if self.stale { 1.0 } else { 0.0 }, HORIZON).notation(),
            },
        ]
    }
}

fn flat(value: u64) -> Counter {
    Counter::starting(value).run(0, HORIZON)
}

fn consumers(n: f64) -> Gauge {
    Gauge::constant(n, HORIZON)
}

fn override_series(dest: &str, threshold: f64) -> InputSeries {
    InputSeries {
        series: Labels::of(&[
            (n::SERVICE_NAME, SERVICE),
            (n::MESSAGING_DESTINATION_NAME, dest),
        ])
        .series(QUEUE_DEPTH_THRESHOLD),
        values: Gauge::constant(threshold, HORIZON).notation(),
    }
}

fn depth_high(rules: &RuleFile) -> Result<TestGroup, Error> {
    let case = "queue depth";
    let rule = alert_rule(rules, names::ALERT_QUEUE_DEPTH_HIGH, None)?;
    let growth = 100;
    // (queue, its threshold override)
    let queues = [
        (
            Queue::new(
                "orders",
                Counter::starting(0)
                    .run(0, CLEAN)
                    .run(growth, HORIZON - CLEAN),
                10,
                consumers(2.0),
            ),
            None,
        ),
        (
            Queue::new(
                "emails",
                Counter::starting(0)
                    .run(0, CLEAN)
                    .run(growth, HORIZON - CLEAN),
                10,
                consumers(2.0),
            ),
            Some(5000.0),
        ),
        (
            Queue::new("audit", flat(150), 0, consumers(1.0)),
            Some(100.0),
        ),
        (
            Queue::new("billing", flat(5000), 0, consumers(1.0)).stale(),
            None,
        ),
    ];
    let mut input = Vec::new();
    let mut model = Vec::new();
    for (queue, threshold) in &queues {
        input.extend(queue.series());
        if let Some(t) = threshold {
            input.push(override_series(queue.name, *t));
        }
        let limit = threshold.unwrap_or(QUEUE_DEPTH_DEFAULT);
        model.push(subject(destination(queue.name), |t| {
            let depth = queue.depth(t);
            (!queue.stale && depth > limit).then_some(depth)
        }));
    }
    alert_group(case, rule, QUEUE_DEPTH_FOR, input, model, &[0, 2], |at| {
        format!(
            "{}: a queue growing {growth}/min passes the default {QUEUE_DEPTH_DEFAULT} and fires at {at}; the same queue with a 5000 override does not; 150 messages fire against a 100 override; stale readings of 5000 never fire",
            names::ALERT_QUEUE_DEPTH_HIGH
        )
    })
}

/// `deriv`'s sign over the closed window ending at `t`: positive once the window holds a rise
/// (the depths never fall in these cases, so any rise makes the least-squares slope positive).
fn rising(values: &Counter, t: usize, window: usize) -> bool {
    t > 0 && values.at(t) > values.at(t.saturating_sub(window))
}

fn growing(rules: &RuleFile) -> Result<TestGroup, Error> {
    let case = "queue growing";
    let rule = alert_rule(rules, names::ALERT_QUEUE_GROWING, None)?;
    let window = steps(case, QUEUE_GROWTH_WINDOW, STEP)?;
    let rising_queue = || Counter::starting(50).run(0, CLEAN).run(20, HORIZON - CLEAN);
    let queues = [
        Queue::new("orders", rising_queue(), 5, consumers(2.0)),
        Queue::new("emails", flat(500), 5, consumers(2.0)),
        Queue::new("audit", rising_queue(), 0, consumers(0.0)),
        Queue::new("billing", rising_queue(), 0, consumers(2.0)).stale(),
    ];
    let model: Vec<Subject> = queues
        .iter()
        .map(|q| {
            subject(destination(q.name), |t| {
                let attached = q.consumers.at(t).is_some_and(|c| c > 0.0);
                (!q.stale && attached && rising(&q.ready, t, window)).then(|| q.depth(t))
            })
        })
        .collect();
    let input = queues.iter().flat_map(Queue::series).collect();
    alert_group(case, rule, QUEUE_GROWTH_FOR, input, model, &[0], |at| {
        format!(
            "{}: a backlog rising 20/min from {} with consumers attached fires at {at}; a flat one does not, nor one without consumers, nor stale readings",
            names::ALERT_QUEUE_GROWING,
            STEP.times(CLEAN as u64)
        )
    })
}

fn no_consumer(rules: &RuleFile) -> Result<TestGroup, Error> {
    let case = "no consumer";
    let rule = alert_rule(rules, names::ALERT_QUEUE_NO_CONSUMER, None)?;
    let gone = Gauge::constant(2.0, CLEAN).then(0.0, HORIZON - CLEAN);
    let queues = [
        Queue::new("orders", flat(40), 0, gone),
        Queue::new("emails", flat(0), 0, consumers(0.0)),
        Queue::new("billing", flat(40), 0, consumers(0.0)).stale(),
    ];
    let model: Vec<Subject> = queues
        .iter()
        .map(|q| {
            subject(destination(q.name), |t| {
                let ready = q.ready.at(t) as f64;
                let none = q.consumers.at(t) == Some(0.0);
                (!q.stale && none && ready > 0.0).then_some(ready)
            })
        })
        .collect();
    let input = queues.iter().flat_map(Queue::series).collect();
    alert_group(case, rule, NO_CONSUMER_FOR, input, model, &[0], |at| {
        format!(
            "{}: 40 ready messages whose consumers left at {} fire at {at}; an empty queue without consumers does not, nor stale readings",
            names::ALERT_QUEUE_NO_CONSUMER,
            STEP.times(CLEAN as u64 + 1)
        )
    })
}

fn age_high(rules: &RuleFile) -> Result<TestGroup, Error> {
    let case = "message age";
    let rule = alert_rule(rules, names::ALERT_MESSAGE_AGE_HIGH, None)?;
    let (threshold, lax) = (30.0, 120.0);
    let (fresh, old) = (0.02, 90.0);
    let per_min = 100;
    let quiet = RED_MIN_REQUESTS / 10;
    let buckets = n::MESSAGING_AGE_BUCKETS;
    // (service, destination, ages, has freshness SLOs)
    let cases = [
        (
            SERVICE,
            "orders",
            Histogram::new(buckets).phase(per_min, fresh, CLEAN).phase(
                per_min,
                old,
                HORIZON - CLEAN,
            ),
        ),
        (
            SERVICE,
            "emails",
            Histogram::new(buckets).phase(per_min, fresh, HORIZON),
        ),
        (
            SERVICE,
            "audit",
            Histogram::new(buckets).phase(quiet, old, HORIZON),
        ),
        (
            "reports",
            "exports",
            Histogram::new(buckets).phase(per_min, old, HORIZON),
        ),
    ];
    let mut input = Vec::new();
    let mut model = Vec::new();
    for (service, dest, ages) in &cases {
        let labels = destination_of(service, dest);
        input.extend(ages.series(
            &labels.with(n::MESSAGING_OPERATION_NAME, "process"),
            n::MESSAGING_MESSAGE_AGE,
        ));
        let has_slo = *service == SERVICE;
        model.push(subject(labels, |t| {
            let (p99, count) = ages.p99(t)?;
            (has_slo && p99 > threshold && count >= RED_MIN_REQUESTS as f64).then_some(p99)
        }));
    }
    for (slo, seconds) in [("freshness", threshold), ("freshness-lax", lax)] {
        input.push(InputSeries {
            series: Labels::of(&[(n::SERVICE_NAME, SERVICE), (n::SLO, slo)])
                .series(n::SLO_FRESHNESS_THRESHOLD),
            values: Gauge::constant(seconds, HORIZON).notation(),
        });
    }
    alert_group(case, rule, MESSAGE_AGE_FOR, input, model, &[0], |at| {
        format!(
            "{}: messages {old}s old against the strictest of {threshold}s and {lax}s fire at {at}; fresh ones do not, nor {quiet} a minute (under the {RED_MIN_REQUESTS} guard), nor a service without a freshness SLO",
            names::ALERT_MESSAGE_AGE_HIGH
        )
    })
}

fn dead_lettered(rules: &RuleFile) -> Result<TestGroup, Error> {
    let case = "dead-lettered";
    let rule = alert_rule(rules, names::ALERT_MESSAGES_DEAD_LETTERED, None)?;
    let window = steps(case, DEAD_LETTER_WINDOW, STEP)?;
    let at = CLEAN + 5;
    let settle =
        |dest: &str, settlement: &str| destination(dest).with(n::MESSAGING_SETTLEMENT, settlement);
    let acks = Counter::new().run(100, HORIZON);
    let dead = Counter::new().run(0, at).run(1, 1).run(0, HORIZON - at - 1);
    let input = vec![
        gauge_series(
            &settle("orders", n::SETTLEMENT_ACK),
            n::MESSAGING_SETTLEMENTS_TOTAL,
            &acks,
        ),
        gauge_series(
            &settle("orders", n::SETTLEMENT_DEAD_LETTER),
            n::MESSAGING_SETTLEMENTS_TOTAL,
            &dead,
        ),
        gauge_series(
            &settle("emails", n::SETTLEMENT_ACK),
            n::MESSAGING_SETTLEMENTS_TOTAL,
            &acks,
        ),
    ];
    let model = vec![
        subject(destination("orders"), |t| {
            let d = dead.delta(t, window) as f64;
            (d > 0.0).then_some(d)
        }),
        subject(destination("emails"), |_| None),
    ];
    alert_group(case, rule, AT_ONCE, input, model, &[0], |fire| {
        format!(
            "{}: one dead letter at {fire} fires at once and stays {DEAD_LETTER_WINDOW}; acknowledged messages never fire",
            names::ALERT_MESSAGES_DEAD_LETTERED
        )
    })
}

fn error_ratio(rules: &RuleFile) -> Result<TestGroup, Error> {
    let case = "processing error ratio";
    let rule = alert_rule(rules, names::ALERT_MESSAGING_HIGH_ERROR_RATIO, None)?;
    let subjects = ["orders", "emails", "audit", "payments"].map(|dest| {
        (
            destination(dest).with(n::MESSAGING_OPERATION_NAME, "process"),
            destination(dest),
        )
    });
    error_ratio_group(
        case,
        rule,
        ERROR_RATIO_FOR,
        subjects,
        &format!("{}_count", n::MESSAGING_PROCESS_DURATION),
        "handler",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::promtool::kit::eval_times;
    use crate::alerts::{AlertOptions, messaging};

    #[test]
    fn every_messaging_case_fires_where_the_policy_says() {
        let rules = RuleFile {
            groups: vec![messaging::group(&AlertOptions::default())],
        };
        let out = file(&rules).unwrap();
        let times = eval_times(&out);
        // Depth: 10 + 100 k > 1000 from k = 10 (20m); for 10m, by when it holds 2010.
        assert_eq!(times[0], ["29m", "30m", "40m"]);
        // Growth: the window holds a rise from 11m; for 15m.
        assert_eq!(times[1], ["25m", "26m", "40m"]);
        // No consumer from 11m; for 5m.
        assert_eq!(times[2], ["15m", "16m", "40m"]);
        // Dead letter at 16m: at once; gone 10m later.
        assert_eq!(times[4], ["15m", "16m", "40m"]);
        let depth = &out.file.tests[0].alert_rule_test[1];
        assert_eq!(depth.exp_alerts.len(), 2, "orders and audit fire");
        assert!(
            depth.exp_alerts[0].exp_annotations["description"].starts_with(
                "orders (shop) has held more messages than its threshold for 10m: 2010 now"
            ),
            "{:?}",
            depth.exp_alerts[0].exp_annotations
        );
        assert!(out.file.tests[4].alert_rule_test[2].exp_alerts.is_empty());
    }
}
