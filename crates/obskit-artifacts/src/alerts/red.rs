//! The RED and availability alerts backend teams expect: error ratio, p99 latency against the
//! latency SLO threshold (for HTTP requests and for gRPC calls), a target down, a whole service
//! absent, an instance not ready.

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
            high_error_ratio(opts, Traffic::Http),
            high_latency(opts, Traffic::Http),
            high_error_ratio(opts, Traffic::Grpc),
            high_latency(opts, Traffic::Grpc),
            target_down(opts),
            service_absent(opts),
            not_ready(opts),
        ],
    }]
}

/// The served traffic a RED alert watches: HTTP requests or gRPC calls. Both set `error_type`
/// exactly on server failures (5xx; the gRPC server-error codes), and both histograms share the
/// semantic-convention buckets, so the same expressions fit both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Traffic {
    /// `http_server_request_duration_seconds`.
    Http,
    /// `rpc_server_call_duration_seconds`.
    Grpc,
}

impl Traffic {
    /// The duration histogram.
    pub(crate) fn histogram(self) -> &'static str {
        match self {
            Self::Http => n::HTTP_SERVER_REQUEST_DURATION,
            Self::Grpc => n::RPC_SERVER_CALL_DURATION,
        }
    }

    /// What one unit of traffic is called in annotations.
    fn noun(self) -> &'static str {
        match self {
            Self::Http => "requests",
            Self::Grpc => "gRPC calls",
        }
    }

    fn error_ratio_alert(self) -> &'static str {
        match self {
            Self::Http => names::ALERT_HIGH_ERROR_RATIO,
            Self::Grpc => names::ALERT_GRPC_HIGH_ERROR_RATIO,
        }
    }

    fn latency_alert(self) -> &'static str {
        match self {
            Self::Http => names::ALERT_HIGH_LATENCY,
            Self::Grpc => names::ALERT_GRPC_HIGH_LATENCY,
        }
    }

    /// What counts as a failure, for annotations.
    fn failure(self) -> &'static str {
        match self {
            Self::Http => "5xx or an error before the response",
            Self::Grpc => {
                "UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE or DATA_LOSS"
            }
        }
    }

    /// What the latency is taken over, for annotations.
    fn scope(self) -> &'static str {
        match self {
            Self::Http => "all routes together",
            Self::Grpc => "all methods together",
        }
    }

    pub(crate) fn count(self) -> String {
        format!("{}_count", self.histogram())
    }

    pub(crate) fn bucket(self) -> String {
        format!("{}_bucket", self.histogram())
    }
}

/// `and on (service_name) <traffic in the RED window> >= RED_MIN_REQUESTS`.
fn traffic_guard(traffic: Traffic) -> String {
    let s = n::SERVICE_NAME;
    format!(
        "and on ({s})\n{} >= {RED_MIN_REQUESTS}\n",
        sum_by(&[s], &increase(&Selector::new(traffic.count()), RED_WINDOW))
    )
}

/// The annotations of a service-wide alert: its texts, its runbook and the service overview.
pub(super) fn links(
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

fn high_error_ratio(opts: &AlertOptions, traffic: Traffic) -> Rule {
    let s = n::SERVICE_NAME;
    let all = Selector::new(traffic.count());
    // A request the client left is in RED, but it is no server failure.
    let errors = all
        .clone()
        .ne(n::ERROR_TYPE, "")
        .ne(n::ERROR_TYPE, n::ERROR_TYPE_CANCELLED);
    let expr = format!(
        "(\n  {}\n  /\n  {}\n) > {}\n{}",
        sum_by(&[s], &rate(&errors, RED_WINDOW)),
        sum_by(&[s], &rate(&all, RED_WINDOW)),
        number(RED_ERROR_RATIO),
        traffic_guard(traffic)
    );
    let service = annotations::label(s);
    let threshold = annotations::short_number(RED_ERROR_RATIO * 100.0);
    let alert = traffic.error_ratio_alert();
    let noun = traffic.noun();
    let failure = traffic.failure();
    Rule::alert(
        alert,
        expr,
        ERROR_RATIO_FOR.to_string(),
        links(
            opts,
            alert,
            format!("{service}: more than {threshold}% of {noun} fail"),
            format!(
                "{VALUE_PERCENT} of the {noun} {service} served over the last {RED_WINDOW} failed \
                 ({failure}), above the {threshold}% threshold, \
                 for {ERROR_RATIO_FOR}. Only counted when the window holds at least {RED_MIN_REQUESTS} {noun}."
            ),
        ),
    )
    .label(names::SEVERITY_LABEL, Severity::Ticket.label())
}

fn high_latency(opts: &AlertOptions, traffic: Traffic) -> Rule {
    let s = n::SERVICE_NAME;
    let buckets = sum_by(
        &[s, "le"],
        &rate(&Selector::new(traffic.bucket()), RED_WINDOW),
    );
    let expr = format!(
        "histogram_quantile({}, {buckets})\n  > on ({s}) group_right ()\n  max by ({s}, {slo}) ({})\n{}",
        number(LATENCY_QUANTILE),
        n::SLO_LATENCY_THRESHOLD,
        traffic_guard(traffic),
        slo = n::SLO,
    );
    let service = annotations::label(s);
    let slo = annotations::label(n::SLO);
    let alert = traffic.latency_alert();
    let scope = traffic.scope();
    let prefix = match traffic {
        Traffic::Http => "",
        Traffic::Grpc => "gRPC ",
    };
    Rule::alert(
        alert,
        expr,
        LATENCY_FOR.to_string(),
        links(
            opts,
            alert,
            format!("{service}: {prefix}p99 latency is above the threshold of SLO {slo}"),
            format!(
                "The {prefix}p99 latency of {service} over the last {RED_WINDOW}, {scope}, is \
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
        links(
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
        links(
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
        links(
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
        assert_eq!(alerts, names::RED_ALERTS);
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
        for rule in &group.rules[..4] {
            assert!(
                rule.expr.contains(
                    "and on (service_name)\nsum by (service_name) (increase(http_server_request_duration_seconds_count[5m])) >= 100"
                ) || rule.expr.contains(
                    "and on (service_name)\nsum by (service_name) (increase(rpc_server_call_duration_seconds_count[5m])) >= 100"
                ),
                "{}",
                rule.expr
            );
        }
        assert!(group.rules[2].expr.contains(
            r#"rpc_server_call_duration_seconds_count{error_type!="", error_type!="cancelled"}"#
        ));
        assert!(
            group.rules[0]
                .expr
                .contains(r#"{error_type!="", error_type!="cancelled"}"#)
        );
    }
}
