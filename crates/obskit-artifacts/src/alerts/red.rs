//! The RED and availability alerts backend teams expect: error ratio, p99 latency against the
//! latency SLO threshold, a target down, a whole service absent, an instance not ready.

use super::AlertOptions;
use super::annotations::{self, VALUE_DURATION, VALUE_PERCENT};
use super::rule_file::{Annotations, Rule, RuleGroup};
use crate::names::{self, INSTANCE, JOB};
use crate::policy::{
    ABSENT_MEMORY, AVAILABILITY_FOR, ERROR_RATIO_FOR, LATENCY_FOR, LATENCY_QUANTILE,
    RED_ERROR_RATIO, RED_MIN_REQUESTS, RED_WINDOW, Severity,
};
use crate::promql::{Selector, increase, number, rate, sum_by};
use obskit_names as n;

/// The one RED group.
pub(crate) const GROUP: &str = "obskit-red-alerts";

/// The RED group.
pub(crate) fn groups(opts: &AlertOptions) -> Vec<RuleGroup> {
    vec![RuleGroup {
        name: GROUP.to_owned(),
        interval: None,
        rules: vec![
            high_error_ratio(opts),
            high_latency(opts),
            target_down(opts),
            service_absent(opts),
            not_ready(opts),
        ],
    }]
}

pub(crate) fn server_count() -> String {
    format!("{}_count", n::HTTP_SERVER_REQUEST_DURATION)
}

pub(crate) fn server_bucket() -> String {
    format!("{}_bucket", n::HTTP_SERVER_REQUEST_DURATION)
}

/// `and on (service_name) <requests in the RED window> >= RED_MIN_REQUESTS`.
fn traffic_guard() -> String {
    let s = n::SERVICE_NAME;
    format!(
        "and on ({s})\n{} >= {RED_MIN_REQUESTS}\n",
        sum_by(&[s], &increase(&Selector::new(server_count()), RED_WINDOW))
    )
}

fn annotations(
    opts: &AlertOptions,
    alert: &str,
    summary: String,
    description: String,
) -> Annotations {
    Annotations {
        summary,
        description,
        runbook_url: annotations::runbook_url(opts, alert),
        dashboard_url: annotations::dashboard_url(opts, names::SERVICE_DASHBOARD_UID, false),
    }
}

fn high_error_ratio(opts: &AlertOptions) -> Rule {
    let s = n::SERVICE_NAME;
    let all = Selector::new(server_count());
    let errors = all.clone().ne(n::ERROR_TYPE, "");
    let expr = format!(
        "(\n  {}\n  /\n  {}\n) > {}\n{}",
        sum_by(&[s], &rate(&errors, RED_WINDOW)),
        sum_by(&[s], &rate(&all, RED_WINDOW)),
        number(RED_ERROR_RATIO),
        traffic_guard()
    );
    let service = annotations::label(s);
    let threshold = annotations::short_number(RED_ERROR_RATIO * 100.0);
    let alert = names::ALERT_HIGH_ERROR_RATIO;
    Rule::alert(
        alert,
        expr,
        ERROR_RATIO_FOR.to_string(),
        annotations(
            opts,
            alert,
            format!("{service}: more than {threshold}% of requests fail"),
            format!(
                "{VALUE_PERCENT} of the requests {service} served over the last {RED_WINDOW} failed \
                 (5xx or an error before the response), above the {threshold}% threshold, \
                 for {ERROR_RATIO_FOR}. Only counted when the window holds at least {RED_MIN_REQUESTS} requests."
            ),
        ),
    )
    .label(names::SEVERITY_LABEL, Severity::Ticket.label())
}

fn high_latency(opts: &AlertOptions) -> Rule {
    let s = n::SERVICE_NAME;
    let buckets = sum_by(
        &[s, "le"],
        &rate(&Selector::new(server_bucket()), RED_WINDOW),
    );
    let expr = format!(
        "histogram_quantile({}, {buckets})\n  > on ({s}) group_right ()\n  max by ({s}, {slo}) ({})\n{}",
        number(LATENCY_QUANTILE),
        n::SLO_LATENCY_THRESHOLD,
        traffic_guard(),
        slo = n::SLO,
    );
    let service = annotations::label(s);
    let slo = annotations::label(n::SLO);
    let alert = names::ALERT_HIGH_LATENCY;
    Rule::alert(
        alert,
        expr,
        LATENCY_FOR.to_string(),
        annotations(
            opts,
            alert,
            format!("{service}: p99 latency is above the threshold of SLO {slo}"),
            format!(
                "The p99 latency of {service} over the last {RED_WINDOW}, all routes together, is \
                 {VALUE_DURATION}: above the latency threshold of SLO {slo} for {LATENCY_FOR}."
            ),
        ),
    )
    .label(names::SEVERITY_LABEL, Severity::Ticket.label())
}

/// Recently seen build-info series, one per (job, instance): the targets that are obskit
/// services, with their service name. `topk` keeps one even if a target was renamed.
fn recent_targets() -> String {
    let s = n::SERVICE_NAME;
    format!(
        "topk by ({JOB}, {INSTANCE}) (\n  1,\n  max by ({JOB}, {INSTANCE}, {s}) (max_over_time({}[{ABSENT_MEMORY}]))\n)",
        n::BUILD_INFO
    )
}

fn target_down(opts: &AlertOptions) -> Rule {
    let s = n::SERVICE_NAME;
    let expr = format!(
        "(up == 0)\n* on ({JOB}, {INSTANCE}) group_left ({s})\n{}\n",
        recent_targets()
    );
    let service = annotations::label(s);
    let instance = annotations::label(INSTANCE);
    let alert = names::ALERT_TARGET_DOWN;
    Rule::alert(
        alert,
        expr,
        AVAILABILITY_FOR.to_string(),
        annotations(
            opts,
            alert,
            format!("{service}: target {instance} is down"),
            format!(
                "Prometheus has failed to scrape {instance} (job {}) of {service} for \
                 {AVAILABILITY_FOR}: the process is down, unreachable, or its /metrics endpoint fails.",
                annotations::label(JOB)
            ),
        ),
    )
    .label(names::SEVERITY_LABEL, Severity::Ticket.label())
}

fn service_absent(opts: &AlertOptions) -> Rule {
    let s = n::SERVICE_NAME;
    let expr = format!(
        "count by ({s}) (max_over_time({info}[{ABSENT_MEMORY}]))\nunless\ncount by ({s}) ({info})\n",
        info = n::BUILD_INFO
    );
    let service = annotations::label(s);
    let alert = names::ALERT_SERVICE_ABSENT;
    Rule::alert(
        alert,
        expr,
        AVAILABILITY_FOR.to_string(),
        annotations(
            opts,
            alert,
            format!("{service}: no instance reports metrics"),
            format!(
                "No instance of {service} has exported {} for {AVAILABILITY_FOR}, although one did \
                 within the last {ABSENT_MEMORY}: the service is down, no longer scraped, or was removed.",
                n::BUILD_INFO
            ),
        ),
    )
    .label(names::SEVERITY_LABEL, Severity::Page.label())
}

fn not_ready(opts: &AlertOptions) -> Rule {
    let expr = format!("{} == 0\n", n::HEALTH_READY);
    let service = annotations::label(n::SERVICE_NAME);
    let instance = annotations::label(INSTANCE);
    let alert = names::ALERT_NOT_READY;
    let failing = Selector::new(n::HEALTH_CHECK_UP).eq(n::HEALTH_CHECK_CRITICAL, "true");
    Rule::alert(
        alert,
        expr,
        AVAILABILITY_FOR.to_string(),
        annotations(
            opts,
            alert,
            format!("{service}: instance {instance} is not ready"),
            format!(
                "{instance} of {service} has reported not ready for {AVAILABILITY_FOR}, so it \
                 receives no traffic. The failing critical checks are those with {failing} == 0."
            ),
        ),
    )
    .label(names::SEVERITY_LABEL, Severity::Ticket.label())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_red_rule_is_an_alert_with_severity_and_links() {
        let group = &groups(&AlertOptions::default())[0];
        let alerts: Vec<_> = group
            .rules
            .iter()
            .map(|r| r.alert.clone().unwrap())
            .collect();
        assert_eq!(alerts, names::ALL_ALERTS[1..]);
        for rule in &group.rules {
            assert!(rule.labels.contains_key("severity"));
            let a = rule.annotations.as_ref().unwrap();
            assert!(
                a.runbook_url
                    .ends_with(&format!("{}.md", rule.alert.as_ref().unwrap()))
            );
            assert!(
                a.dashboard_url
                    .contains("/d/obskit-service-overview?var-service=")
            );
        }
    }

    #[test]
    fn ratio_and_latency_alerts_are_guarded_by_traffic() {
        let group = &groups(&AlertOptions::default())[0];
        for rule in &group.rules[..2] {
            assert!(rule.expr.contains(
                "and on (service_name)\nsum by (service_name) (increase(http_server_request_duration_seconds_count[5m])) >= 100"
            ), "{}", rule.expr);
        }
        assert!(group.rules[0].expr.contains(r#"{error_type!=""}"#));
    }
}
