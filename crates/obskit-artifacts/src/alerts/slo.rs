//! The generic SLO rules: per-window error ratios and request rates, the error budget from the
//! exported objective, traffic-weighted period figures, and one burn-rate alert rule per tier.

use super::annotations::{self, VALUE_PERCENT};
use super::rule_file::{Annotations, Rule, RuleGroup};
use super::{AlertOptions, Period};
use crate::names::{self, SLO_KEYS};
use crate::policy::{PERIOD_GROUP_INTERVAL, SLO_WINDOWS, TIERS, Tier};
use crate::promql::{Selector, increase, number, rate, sum_by};
use obskit_names as n;

/// Group of the per-window recording rules and the error budget.
pub(crate) const RECORDING_GROUP: &str = "obskit-slo-recording";
/// Group of the period (28/30-day) recording rules.
pub(crate) const PERIOD_GROUP: &str = "obskit-slo-period";
/// Group of the burn-rate alerts.
pub(crate) const ALERT_GROUP: &str = "obskit-slo-alerts";

/// The three SLO groups, in evaluation order.
pub(crate) fn groups(opts: &AlertOptions) -> Vec<RuleGroup> {
    vec![recording(), period(opts.period), alerts(opts)]
}

fn keys() -> String {
    SLO_KEYS.join(", ")
}

fn all_requests() -> Selector {
    Selector::new(n::SLO_REQUESTS_TOTAL)
}

fn bad_requests() -> Selector {
    all_requests().eq(n::SLO_RESULT, n::SLO_RESULT_BAD)
}

/// `bad or on (keys) 0 * total`: a service that never had a bad request may not export the bad
/// series at all; its ratio is then 0 rather than missing.
fn bad_or_zero(bad_sum: &str, total: &str) -> String {
    format!("{bad_sum}\nor on ({k})\n0 * {total}", k = keys())
}

fn recording() -> RuleGroup {
    let k = keys();
    let mut rules = vec![Rule::record(
        names::slo_error_budget(),
        format!("1 - max by ({k}) ({})", n::SLO_OBJECTIVE_RATIO),
    )];
    for window in SLO_WINDOWS {
        let requests = names::slo_requests_rate(window);
        rules.push(Rule::record(
            requests.clone(),
            sum_by(&SLO_KEYS, &rate(&all_requests(), window)),
        ));
        let bad = sum_by(&SLO_KEYS, &rate(&bad_requests(), window));
        rules.push(Rule::record(
            names::slo_error_ratio(window),
            format!(
                "(\n{}\n)\n/ on ({k})\n{requests}\n",
                indent(&bad_or_zero(&bad, &requests))
            ),
        ));
    }
    RuleGroup {
        name: RECORDING_GROUP.to_owned(),
        interval: None,
        rules,
    }
}

fn period(period: Period) -> RuleGroup {
    let k = keys();
    let p = period.dur();
    let requests = names::slo_requests_period();
    let errors = names::slo_errors_period();
    let sli = names::slo_sli_period();
    let bad = sum_by(&SLO_KEYS, &increase(&bad_requests(), p));
    let rules = vec![
        Rule::record(
            requests.clone(),
            sum_by(&SLO_KEYS, &increase(&all_requests(), p)),
        ),
        Rule::record(
            errors.clone(),
            format!("{}\n", bad_or_zero(&bad, &requests)),
        ),
        Rule::record(
            sli.clone(),
            format!("1 - (\n  {errors}\n  / on ({k})\n  {requests}\n)\n"),
        ),
        Rule::record(
            names::slo_budget_remaining_period(),
            format!(
                "1 - (\n  (1 - {sli})\n  / on ({k})\n  {}\n)\n",
                names::slo_error_budget()
            ),
        ),
    ]
    .into_iter()
    .map(|rule| rule.label(names::PERIOD_LABEL, &period.to_string()))
    .collect();
    RuleGroup {
        name: PERIOD_GROUP.to_owned(),
        interval: Some(PERIOD_GROUP_INTERVAL.to_string()),
        rules,
    }
}

fn alerts(opts: &AlertOptions) -> RuleGroup {
    RuleGroup {
        name: ALERT_GROUP.to_owned(),
        interval: None,
        rules: TIERS.iter().map(|tier| burn_alert(opts, tier)).collect(),
    }
}

/// The expression of one tier: both windows above `factor` × budget, and enough requests in the
/// long window that a single bad request cannot cross the threshold on its own (the
/// minimum-traffic guard: at least 1 / (factor × budget) requests).
pub(crate) fn burn_expr(tier: &Tier) -> String {
    let k = keys();
    let budget = names::slo_error_budget();
    let f = number(tier.factor);
    let above = |window| {
        format!(
            "(\n  {}\n    > on ({k}) ({f} * {budget})\n)",
            names::slo_error_ratio(window)
        )
    };
    format!(
        "{}\nand on ({k})\n{}\nand on ({k})\n(\n  {} * {}\n    >= on ({k}) (1 / ({f} * {budget}))\n)\n",
        above(tier.long),
        above(tier.short),
        names::slo_requests_rate(tier.long),
        tier.long.as_secs(),
    )
}

fn burn_alert(opts: &AlertOptions, tier: &Tier) -> Rule {
    let service = annotations::label(n::SERVICE_NAME);
    let slo = annotations::label(n::SLO);
    let f = number(tier.factor);
    let period_days = opts.period.days() as f64;
    let lasts_days = period_days / tier.factor;
    let spent = tier.factor * tier.long.as_secs() as f64 / opts.period.dur().as_secs() as f64;
    let annotations = Annotations {
        summary: format!(
            "{service}: SLO {slo} burns its error budget faster than {f}× the sustainable rate"
        ),
        description: format!(
            "{VALUE_PERCENT} of the {service} requests counted by SLO {slo} failed over the last {long} \
             (and over the last {short} too), more than {f}× the error budget. \
             At this rate the {period} budget lasts {lasts} days; the last {long} alone used {spent}% of it.",
            long = tier.long,
            short = tier.short,
            period = opts.period,
            lasts = annotations::short_number(lasts_days),
            spent = annotations::short_number(spent * 100.0),
        ),
        runbook_url: annotations::runbook_url(opts, names::ALERT_SLO_BURN),
        dashboard_url: annotations::dashboard_url(opts, names::SLO_DASHBOARD_UID, true),
    };
    Rule::alert(
        names::ALERT_SLO_BURN,
        burn_expr(tier),
        tier.for_.to_string(),
        annotations,
    )
    .label(names::SEVERITY_LABEL, tier.severity.label())
    .label(names::TIER_LABEL, tier.name)
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("  {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_alert_rule_per_tier_with_stable_labels() {
        let group = alerts(&AlertOptions::default());
        let tiers: Vec<_> = group
            .rules
            .iter()
            .map(|r| (r.labels["tier"].as_str(), r.labels["severity"].as_str()))
            .collect();
        assert_eq!(
            tiers,
            [
                ("page-1h", "page"),
                ("page-6h", "page"),
                ("ticket-1d", "ticket"),
                ("ticket-3d", "ticket")
            ]
        );
    }

    #[test]
    fn burn_expression_joins_both_windows_and_the_guard() {
        let expr = burn_expr(&TIERS[0]);
        assert!(expr.contains("service_name_slo:obskit_slo_error_ratio:rate1h\n    > on (service_name, slo) (14.4 * service_name_slo:obskit_slo_error_budget:ratio)"), "{expr}");
        assert!(
            expr.contains("service_name_slo:obskit_slo_error_ratio:rate5m\n"),
            "{expr}"
        );
        assert!(expr.contains("service_name_slo:obskit_slo_requests:rate1h * 3600\n    >= on (service_name, slo) (1 / (14.4 * "), "{expr}");
    }

    #[test]
    fn period_rules_follow_the_period_and_weight_by_traffic() {
        let group = period(Period::Days28);
        assert!(group.rules.iter().all(|r| r.labels["period"] == "28d"));
        assert!(group.rules[0].expr.contains("[28d]"));
        // The SLI divides summed counts, never averages ratios.
        assert!(!group.rules.iter().any(|r| r.expr.contains("avg")));
        let group = alerts(&AlertOptions {
            period: Period::Days28,
            ..AlertOptions::default()
        });
        let description = &group.rules[0].annotations.as_ref().unwrap().description;
        assert!(
            description.contains("28d budget lasts 1.9 days; the last 1h alone used 2.1%"),
            "{description}"
        );
    }
}
