//! promtool cases for the RED and availability alerts: each rule fires for the service that
//! should page and stays silent for a healthy one and for the case its guard exists for.

use super::series::{Counter, Gauge, Labels, firing};
use super::{
    AlertTest, InputSeries, TestFile, TestGroup, TestOut, alert_rule, alert_test, expect,
    for_steps, from_tests_dir, model_error, steps,
};
use crate::Error;
use crate::alerts::RED_RULES;
use crate::alerts::red::{GROUP, Traffic};
use crate::alerts::rule_file::{Rule, RuleFile};
use crate::duration::Dur;
use crate::names::{self, INSTANCE, JOB};
use crate::policy::{
    ABSENT_MEMORY, AVAILABILITY_FOR, ERROR_RATIO_FOR, LATENCY_FOR, LATENCY_QUANTILE,
    RED_ERROR_RATIO, RED_MIN_REQUESTS, RED_WINDOW,
};
use obskit_names as n;

pub(super) const STEP: Dur = Dur::mins(1);
/// Requests per minute of the busy services.
const RPM: u64 = 1000;
/// Clean minutes before a problem starts.
pub(super) const CLEAN: usize = 10;
/// Length of every RED case.
pub(super) const HORIZON: usize = 40;
/// Latency threshold of the latency cases: deliberately not a bucket boundary.
const LATENCY_THRESHOLD: f64 = 0.3;

/// The RED test file.
pub(crate) fn file(rules: &RuleFile) -> Result<TestOut, Error> {
    Ok(TestOut {
        path: "alerts/tests/obskit-red.test.yml".to_owned(),
        file: TestFile {
            rule_files: vec![from_tests_dir(RED_RULES)],
            evaluation_interval: STEP.to_string(),
            group_eval_order: vec![GROUP.to_owned()],
            tests: vec![
                error_ratio(rules, Traffic::Http)?,
                latency(rules, Traffic::Http)?,
                error_ratio(rules, Traffic::Grpc)?,
                latency(rules, Traffic::Grpc)?,
                target_down(rules)?,
                service_absent(rules)?,
                not_ready(rules)?,
            ],
        },
    })
}

fn server_labels(service: &str, traffic: Traffic) -> Labels {
    match traffic {
        Traffic::Http => Labels::of(&[
            (n::SERVICE_NAME, service),
            (n::HTTP_REQUEST_METHOD, "GET"),
            (n::HTTP_ROUTE, "/orders"),
        ]),
        Traffic::Grpc => Labels::of(&[
            (n::SERVICE_NAME, service),
            (n::RPC_SYSTEM_NAME, n::RPC_SYSTEM_GRPC),
            (n::RPC_METHOD, "shop.v1.Orders/Get"),
        ]),
    }
}

/// The labels of a successful answer.
fn ok_labels(service: &str, traffic: Traffic) -> Labels {
    let base = server_labels(service, traffic);
    match traffic {
        Traffic::Http => base.with(n::HTTP_RESPONSE_STATUS_CODE, "200"),
        Traffic::Grpc => base.with(n::RPC_STATUS_CODE, "OK"),
    }
}

/// The labels of a server failure.
fn error_labels(service: &str, traffic: Traffic) -> Labels {
    let base = server_labels(service, traffic);
    match traffic {
        Traffic::Http => base
            .with(n::HTTP_RESPONSE_STATUS_CODE, "500")
            .with(n::ERROR_TYPE, "500"),
        Traffic::Grpc => base
            .with(n::RPC_STATUS_CODE, "UNAVAILABLE")
            .with(n::ERROR_TYPE, "UNAVAILABLE"),
    }
}

/// Per-service firing state of one alert over the horizon.
pub(super) struct Fired {
    /// `(labels, values per step)` per service.
    services: Vec<(Labels, Vec<Option<f64>>)>,
    firing: Vec<Vec<bool>>,
}

impl Fired {
    pub(super) fn new(
        case: &str,
        services: Vec<(Labels, Vec<Option<f64>>)>,
        for_: Dur,
    ) -> Result<Self, Error> {
        let for_steps = for_steps(case, for_, STEP)?;
        let firing = services
            .iter()
            .map(|(_, values)| {
                firing(
                    &values.iter().map(Option::is_some).collect::<Vec<_>>(),
                    for_steps,
                )
            })
            .collect();
        Ok(Self { services, firing })
    }
    pub(super) fn first_firing(&self, case: &str, service: usize) -> Result<usize, Error> {
        self.firing[service].iter().position(|&f| f).ok_or_else(|| {
            model_error(
                case,
                format!("{} never fires", self.services[service].0.series("service")),
            )
        })
    }
    pub(super) fn never_fires(&self, case: &str, service: usize) -> Result<(), Error> {
        match self.firing[service].iter().position(|&f| f) {
            Some(t) => Err(model_error(
                case,
                format!("service #{service} fires at step {t}"),
            )),
            None => Ok(()),
        }
    }
    /// The alert test at step `t`: every service firing then, with its value.
    pub(super) fn test_at(&self, case: &str, rule: &Rule, t: usize) -> Result<AlertTest, Error> {
        let mut exp = Vec::new();
        for (i, (labels, values)) in self.services.iter().enumerate() {
            if self.firing[i][t] {
                let value = values[t].ok_or_else(|| model_error(case, "firing without a value"))?;
                exp.push(expect(case, rule, labels, value)?);
            }
        }
        Ok(alert_test(
            STEP,
            t,
            rule.alert.as_deref().unwrap_or_default(),
            exp,
        ))
    }
}

/// Successes and server errors of one service.
struct Requests {
    ok: Counter,
    err: Counter,
}

impl Requests {
    fn new() -> Self {
        Self {
            ok: Counter::new(),
            err: Counter::new(),
        }
    }
    fn phase(self, ok: u64, err: u64, steps: usize) -> Self {
        Self {
            ok: self.ok.run(ok, steps),
            err: self.err.run(err, steps),
        }
    }
    fn series(&self, service: &str, traffic: Traffic) -> Vec<InputSeries> {
        vec![
            InputSeries {
                series: ok_labels(service, traffic).series(&traffic.count()),
                values: self.ok.notation(),
            },
            InputSeries {
                series: error_labels(service, traffic).series(&traffic.count()),
                values: self.err.notation(),
            },
        ]
    }
    /// The `ObskitHighErrorRatio` sample at `t`, with or without the traffic guard.
    fn value(&self, t: usize, guard: bool) -> Option<f64> {
        let w = RED_WINDOW.steps_of(STEP)?;
        if t == 0 {
            return None;
        }
        let secs = RED_WINDOW.as_secs();
        let err = self.err.rate(t, w, secs);
        let ratio = err / (self.ok.rate(t, w, secs) + err);
        let requests = self.ok.increase(t, w) + self.err.increase(t, w);
        (ratio > RED_ERROR_RATIO && (requests >= RED_MIN_REQUESTS as f64 || !guard))
            .then_some(ratio)
    }
}

/// The error-ratio alert of `traffic`.
fn error_ratio_alert(traffic: Traffic) -> &'static str {
    match traffic {
        Traffic::Http => names::ALERT_HIGH_ERROR_RATIO,
        Traffic::Grpc => names::ALERT_GRPC_HIGH_ERROR_RATIO,
    }
}

/// The latency alert of `traffic`.
fn latency_alert(traffic: Traffic) -> &'static str {
    match traffic {
        Traffic::Http => names::ALERT_HIGH_LATENCY,
        Traffic::Grpc => names::ALERT_GRPC_HIGH_LATENCY,
    }
}

fn error_ratio(rules: &RuleFile, traffic: Traffic) -> Result<TestGroup, Error> {
    let case = "error ratio";
    let alert = error_ratio_alert(traffic);
    let rule = alert_rule(rules, alert, None)?;
    let burst = (RPM as f64 * RED_ERROR_RATIO * 2.0).round() as u64;
    let background = (RPM as f64 * RED_ERROR_RATIO / 2.0).round() as u64;
    let window = steps(case, RED_WINDOW, STEP)?;
    let quiet_rpm = RED_MIN_REQUESTS / window as u64 / 2;
    let rest = HORIZON - CLEAN;
    let services = [
        (
            "checkout",
            Requests::new()
                .phase(RPM, 0, CLEAN)
                .phase(RPM - burst, burst, rest),
        ),
        (
            "billing",
            Requests::new().phase(RPM - background, background, HORIZON),
        ),
        (
            "quiet",
            Requests::new().phase(quiet_rpm / 2, quiet_rpm / 2, HORIZON),
        ),
    ];
    let model = |guard: bool| {
        services
            .iter()
            .map(|(name, r)| {
                (
                    Labels::of(&[(n::SERVICE_NAME, name)]),
                    (0..=HORIZON).map(|t| r.value(t, guard)).collect(),
                )
            })
            .collect::<Vec<_>>()
    };
    let fired = Fired::new(case, model(true), ERROR_RATIO_FOR)?;
    let at = fired.first_firing(case, 0)?;
    fired.never_fires(case, 1)?;
    fired.never_fires(case, 2)?;
    Fired::new(case, model(false), ERROR_RATIO_FOR)?
        .first_firing(case, 2)
        .map_err(|_| {
            model_error(
                case,
                "the quiet service would not fire without the guard either",
            )
        })?;
    Ok(TestGroup {
        name: format!(
            "{}: {burst}‰ errors fire at {} ({ERROR_RATIO_FOR} after the {RED_WINDOW} ratio crosses {RED_ERROR_RATIO}); {background}‰ does not; 50% of {quiet_rpm} req/min is under the {RED_MIN_REQUESTS}-request guard",
            alert,
            STEP.times(at as u64)
        ),
        interval: STEP.to_string(),
        input_series: services
            .iter()
            .flat_map(|(name, r)| r.series(name, traffic))
            .collect(),
        alert_rule_test: vec![
            fired.test_at(case, rule, at - 1)?,
            fired.test_at(case, rule, at)?,
            fired.test_at(case, rule, HORIZON)?,
        ],
        promql_expr_test: Vec::new(),
    })
}

/// Prometheus' classic-histogram quantile (`bucketQuantile`) over `(upper bound, rate)` pairs
/// sorted by bound and ending with `+Inf`, operation for operation.
pub(super) fn bucket_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let last = buckets.last()?;
    if buckets.len() < 2 || !last.0.is_infinite() || last.1 == 0.0 {
        return None;
    }
    let mut rank = q * last.1;
    let b = buckets[..buckets.len() - 1]
        .iter()
        .position(|&(_, count)| count >= rank)
        .unwrap_or(buckets.len() - 1);
    if b == buckets.len() - 1 {
        return Some(buckets[buckets.len() - 2].0);
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return Some(buckets[0].0);
    }
    let (mut start, end, mut count) = (0.0, buckets[b].0, buckets[b].1);
    if b > 0 {
        start = buckets[b - 1].0;
        count -= buckets[b - 1].1;
        rank -= buckets[b - 1].1;
    }
    Some(start + (end - start) * (rank / count))
}

/// A histogram of request durations: one cumulative counter per bucket bound and `+Inf`.
struct Histogram {
    buckets: Vec<(f64, Counter)>,
}

impl Histogram {
    /// Observations per step, each `(count, duration)`, for `steps` steps after a previous phase.
    fn new() -> Self {
        let bounds = n::HTTP_DURATION_BUCKETS
            .iter()
            .copied()
            .chain([f64::INFINITY]);
        Self {
            buckets: bounds.map(|b| (b, Counter::new())).collect(),
        }
    }
    fn phase(self, count: u64, duration: f64, steps: usize) -> Self {
        let buckets = self
            .buckets
            .into_iter()
            .map(|(bound, c)| {
                (
                    bound,
                    c.run(if duration <= bound { count } else { 0 }, steps),
                )
            })
            .collect();
        Self { buckets }
    }
    fn le(bound: f64) -> String {
        if bound.is_infinite() {
            "+Inf".to_owned()
        } else {
            format!("{bound}")
        }
    }
    fn series(&self, service: &str, traffic: Traffic) -> Vec<InputSeries> {
        let base = ok_labels(service, traffic);
        let mut out: Vec<InputSeries> = self
            .buckets
            .iter()
            .map(|(bound, c)| InputSeries {
                series: base.with("le", &Self::le(*bound)).series(&traffic.bucket()),
                values: c.notation(),
            })
            .collect();
        if let Some((_, total)) = self.buckets.last() {
            out.push(InputSeries {
                series: base.series(&traffic.count()),
                values: total.notation(),
            });
        }
        out
    }
    /// p99 over the RED window and the requests in it, at step `t`.
    fn p99_and_requests(&self, t: usize) -> Option<(f64, f64)> {
        let w = RED_WINDOW.steps_of(STEP)?;
        if t == 0 {
            return None;
        }
        let rates: Vec<(f64, f64)> = self
            .buckets
            .iter()
            .map(|(b, c)| (*b, c.rate(t, w, RED_WINDOW.as_secs())))
            .collect();
        let requests = self.buckets.last()?.1.increase(t, w);
        Some((bucket_quantile(LATENCY_QUANTILE, &rates)?, requests))
    }
}

fn latency(rules: &RuleFile, traffic: Traffic) -> Result<TestGroup, Error> {
    let case = "latency";
    let alert = latency_alert(traffic);
    let rule = alert_rule(rules, alert, None)?;
    let bounds = n::HTTP_DURATION_BUCKETS;
    // A duration inside the highest bucket at or below the threshold, and one inside the first
    // bucket entirely above it.
    let fast_upper = bounds
        .iter()
        .rev()
        .find(|&&b| b <= LATENCY_THRESHOLD)
        .copied();
    let slow_lower = bounds.iter().find(|&&b| b >= LATENCY_THRESHOLD).copied();
    let (Some(fast_upper), Some(slow_lower)) = (fast_upper, slow_lower) else {
        return Err(model_error(
            case,
            "the threshold is outside the bucket range",
        ));
    };
    let fast = fast_upper * 0.9;
    let slow = slow_lower * 1.2;
    let rest = HORIZON - CLEAN;
    // (service, histogram, has a latency SLO)
    let services = [
        (
            "checkout",
            Histogram::new()
                .phase(RPM, fast, CLEAN)
                .phase(RPM, slow, rest),
            true,
        ),
        ("billing", Histogram::new().phase(RPM, fast, HORIZON), true),
        ("reports", Histogram::new().phase(RPM, slow, HORIZON), false),
    ];
    let slo = "latency";
    let model: Vec<(Labels, Vec<Option<f64>>)> = services
        .iter()
        .map(|(name, h, has_slo)| {
            let values = (0..=HORIZON)
                .map(|t| {
                    let (p99, requests) = h.p99_and_requests(t)?;
                    let fires =
                        *has_slo && p99 > LATENCY_THRESHOLD && requests >= RED_MIN_REQUESTS as f64;
                    fires.then_some(p99)
                })
                .collect();
            (
                Labels::of(&[(n::SERVICE_NAME, name), (n::SLO, slo)]),
                values,
            )
        })
        .collect();
    let fired = Fired::new(case, model, LATENCY_FOR)?;
    let at = fired.first_firing(case, 0)?;
    fired.never_fires(case, 1)?;
    fired.never_fires(case, 2)?;
    let mut input_series: Vec<InputSeries> = services
        .iter()
        .flat_map(|(name, h, _)| h.series(name, traffic))
        .collect();
    for (name, _, has_slo) in &services {
        if *has_slo {
            input_series.push(InputSeries {
                series: Labels::of(&[(n::SERVICE_NAME, name), (n::SLO, slo)])
                    .series(n::SLO_LATENCY_THRESHOLD),
                values: Gauge::constant(LATENCY_THRESHOLD, HORIZON).notation(),
            });
        }
    }
    Ok(TestGroup {
        name: format!(
            "{}: requests of {slow}s against a {LATENCY_THRESHOLD}s SLO threshold fire at {}; {fast}s requests do not; a service without a latency SLO never does",
            alert,
            STEP.times(at as u64)
        ),
        interval: STEP.to_string(),
        input_series,
        alert_rule_test: vec![
            fired.test_at(case, rule, at - 1)?,
            fired.test_at(case, rule, at)?,
        ],
        promql_expr_test: Vec::new(),
    })
}

fn target(instance: &str) -> Labels {
    Labels::of(&[(JOB, "checkout"), (INSTANCE, instance)])
}

fn build_info(service: &str, instance: &str) -> Labels {
    target(instance)
        .with(n::SERVICE_NAME, service)
        .with(n::SERVICE_VERSION, "1.4.2")
        .with(n::VCS_REVISION, "9f1c2ab")
        .with(n::OBSKIT_VERSION, "0.1.0")
}

/// Steps at which an instant selector over the build info of one service returns nothing while
/// a sample was seen within the absent memory (`ObskitServiceAbsent`'s expression).
fn absent_steps(case: &str, infos: &[&Gauge]) -> Result<Vec<Option<f64>>, Error> {
    let memory = steps(case, ABSENT_MEMORY, STEP)?;
    Ok((0..=HORIZON)
        .map(|t| {
            let seen = infos.iter().filter(|g| g.seen_within(t, memory)).count();
            let present = infos.iter().any(|g| g.at(t).is_some());
            (seen > 0 && !present).then_some(seen as f64)
        })
        .collect())
}

fn target_down(rules: &RuleFile) -> Result<TestGroup, Error> {
    let case = "target down";
    let rule = alert_rule(rules, names::ALERT_TARGET_DOWN, None)?;
    let absent_rule = alert_rule(rules, names::ALERT_SERVICE_ABSENT, None)?;
    let down_at = 30;
    // Instance a stops answering scrapes: `up` drops to 0 and its series go stale.
    let up_a = Gauge::constant(1.0, down_at).then(0.0, HORIZON - down_at);
    let info_a = Gauge::constant(1.0, down_at).stale();
    let up_b = Gauge::constant(1.0, HORIZON);
    let info_b = Gauge::constant(1.0, HORIZON);
    let memory = steps(case, ABSENT_MEMORY, STEP)?;
    let down = |up: &Gauge, info: &Gauge| -> Vec<Option<f64>> {
        (0..=HORIZON)
            .map(|t| (up.at(t) == Some(0.0) && info.seen_within(t, memory)).then_some(0.0))
            .collect()
    };
    let with_service = |i: &str| target(i).with(n::SERVICE_NAME, "checkout");
    let fired = Fired::new(
        case,
        vec![
            (with_service("10.0.0.1:8080"), down(&up_a, &info_a)),
            (with_service("10.0.0.2:8080"), down(&up_b, &info_b)),
        ],
        AVAILABILITY_FOR,
    )?;
    let at = fired.first_firing(case, 0)?;
    fired.never_fires(case, 1)?;
    let absent = Fired::new(
        case,
        vec![(
            Labels::of(&[(n::SERVICE_NAME, "checkout")]),
            absent_steps(case, &[&info_a, &info_b])?,
        )],
        AVAILABILITY_FOR,
    )?;
    absent.never_fires(case, 0)?;
    Ok(TestGroup {
        name: format!(
            "{}: one of two instances failing its scrapes from {} fires at {}; the service is not absent",
            names::ALERT_TARGET_DOWN,
            STEP.times(down_at as u64 + 1),
            STEP.times(at as u64)
        ),
        interval: STEP.to_string(),
        input_series: vec![
            InputSeries {
                series: target("10.0.0.1:8080").series("up"),
                values: up_a.notation(),
            },
            InputSeries {
                series: target("10.0.0.2:8080").series("up"),
                values: up_b.notation(),
            },
            InputSeries {
                series: build_info("checkout", "10.0.0.1:8080").series(n::BUILD_INFO),
                values: info_a.notation(),
            },
            InputSeries {
                series: build_info("checkout", "10.0.0.2:8080").series(n::BUILD_INFO),
                values: info_b.notation(),
            },
        ],
        alert_rule_test: vec![
            fired.test_at(case, rule, at - 1)?,
            fired.test_at(case, rule, at)?,
            absent.test_at(case, absent_rule, at)?,
        ],
        promql_expr_test: Vec::new(),
    })
}

fn service_absent(rules: &RuleFile) -> Result<TestGroup, Error> {
    let case = "service absent";
    let rule = alert_rule(rules, names::ALERT_SERVICE_ABSENT, None)?;
    let gone_at = 30;
    // ledger's only target disappears from service discovery: all its series go stale.
    let ledger_up = Gauge::constant(1.0, gone_at).stale();
    let ledger_info = Gauge::constant(1.0, gone_at).stale();
    let checkout_info = Gauge::constant(1.0, HORIZON);
    let fired = Fired::new(
        case,
        vec![
            (
                Labels::of(&[(n::SERVICE_NAME, "ledger")]),
                absent_steps(case, &[&ledger_info])?,
            ),
            (
                Labels::of(&[(n::SERVICE_NAME, "checkout")]),
                absent_steps(case, &[&checkout_info])?,
            ),
        ],
        AVAILABILITY_FOR,
    )?;
    let at = fired.first_firing(case, 0)?;
    fired.never_fires(case, 1)?;
    let ledger = Labels::of(&[(JOB, "ledger"), (INSTANCE, "10.0.0.3:8080")]);
    Ok(TestGroup {
        name: format!(
            "{}: a service whose only target vanished at {} fires at {}; a present one does not",
            names::ALERT_SERVICE_ABSENT,
            STEP.times(gone_at as u64 + 1),
            STEP.times(at as u64)
        ),
        interval: STEP.to_string(),
        input_series: vec![
            InputSeries {
                series: ledger.series("up"),
                values: ledger_up.notation(),
            },
            InputSeries {
                series: ledger
                    .with(n::SERVICE_NAME, "ledger")
                    .with(n::SERVICE_VERSION, "2.0.0")
                    .series(n::BUILD_INFO),
                values: ledger_info.notation(),
            },
            InputSeries {
                series: build_info("checkout", "10.0.0.1:8080").series(n::BUILD_INFO),
                values: checkout_info.notation(),
            },
        ],
        alert_rule_test: vec![
            fired.test_at(case, rule, at - 1)?,
            fired.test_at(case, rule, at)?,
        ],
        promql_expr_test: Vec::new(),
    })
}

fn not_ready(rules: &RuleFile) -> Result<TestGroup, Error> {
    let case = "not ready";
    let rule = alert_rule(rules, names::ALERT_NOT_READY, None)?;
    let for_steps = for_steps(case, AVAILABILITY_FOR, STEP)?;
    // Instance a turns unready for good; instance b blips for less than `for`.
    let a = Gauge::constant(1.0, CLEAN).then(0.0, HORIZON - CLEAN);
    let blip = for_steps - 2;
    let b = Gauge::constant(1.0, CLEAN)
        .then(0.0, blip)
        .then(1.0, HORIZON - CLEAN - blip);
    let labels = |i: &str| {
        Labels::of(&[
            (n::SERVICE_NAME, "checkout"),
            (JOB, "checkout"),
            (INSTANCE, i),
        ])
    };
    let values = |g: &Gauge| {
        (0..=HORIZON)
            .map(|t| (g.at(t) == Some(0.0)).then_some(0.0))
            .collect()
    };
    let fired = Fired::new(
        case,
        vec![
            (labels("10.0.0.1:8080"), values(&a)),
            (labels("10.0.0.2:8080"), values(&b)),
        ],
        AVAILABILITY_FOR,
    )?;
    let at = fired.first_firing(case, 0)?;
    fired.never_fires(case, 1)?;
    Ok(TestGroup {
        name: format!(
            "{}: an instance unready from {} fires at {}; one unready for {} only does not",
            names::ALERT_NOT_READY,
            STEP.times(CLEAN as u64 + 1),
            STEP.times(at as u64),
            STEP.times(blip as u64)
        ),
        interval: STEP.to_string(),
        input_series: vec![
            InputSeries {
                series: labels("10.0.0.1:8080").series(n::HEALTH_READY),
                values: a.notation(),
            },
            InputSeries {
                series: labels("10.0.0.2:8080").series(n::HEALTH_READY),
                values: b.notation(),
            },
        ],
        alert_rule_test: vec![
            fired.test_at(case, rule, at - 1)?,
            fired.test_at(case, rule, at)?,
            fired.test_at(case, rule, HORIZON)?,
        ],
        promql_expr_test: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::promtool::kit::eval_times;
    use crate::alerts::{AlertOptions, red};

    #[test]
    fn bucket_quantile_interpolates_inside_the_bucket() {
        let buckets = [(0.25, 0.0), (0.5, 0.0), (0.75, 10.0), (f64::INFINITY, 10.0)];
        let p99 = bucket_quantile(0.99, &buckets).unwrap();
        assert!((p99 - 0.7475).abs() < 1e-12, "{p99}");
        assert_eq!(
            bucket_quantile(0.99, &[(1.0, 0.0), (f64::INFINITY, 0.0)]),
            None
        );
        // Everything above the last finite bound: the quantile is that bound.
        assert_eq!(
            bucket_quantile(0.5, &[(1.0, 0.0), (f64::INFINITY, 4.0)]),
            Some(1.0)
        );
    }

    #[test]
    fn every_red_case_fires_where_the_policy_says() {
        let rules = RuleFile {
            groups: red::groups(&AlertOptions::default()),
        };
        let out = file(&rules).unwrap();
        let times = eval_times(&out);
        // Error ratio: 20‰ from 10m; the 5m ratio passes 1% at 13m; for 5m -> 18m.
        assert_eq!(times[0], ["17m", "18m", "40m"]);
        // Latency: the first slow minute already moves p99 (11m); for 10m -> 21m.
        assert_eq!(times[1], ["20m", "21m"]);
        // The gRPC twins fire exactly when the HTTP ones do.
        assert_eq!(times[2], times[0]);
        assert_eq!(times[3], times[1]);
        // Availability: down/absent/unready from 31m (11m); for 5m.
        assert_eq!(times[4], ["35m", "36m", "36m"]);
        assert_eq!(times[5], ["35m", "36m"]);
        assert_eq!(times[6], ["15m", "16m", "40m"]);
        let latency = &out.file.tests[1].alert_rule_test[1].exp_alerts[0];
        assert_eq!(latency.exp_labels["slo"], "latency");
        assert!(
            latency.exp_annotations["description"].contains(" is 747.5ms: above"),
            "{:?}",
            latency.exp_annotations
        );
    }
}
