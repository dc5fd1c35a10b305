//! The messaging alerts, per destination (queue, stream or subject) of every obskit service:
//! a backlog above its threshold, a backlog that keeps growing while consumers are attached,
//! messages waiting with no consumer, messages older than the freshness objective when their
//! processing starts, any dead-lettering, and a processing error ratio above the RED threshold.
//!
//! The depth figures are the broker's answers to the service's depth poll. A poll that failed
//! leaves the last reading in place with `obskit_messaging_queue_depth_stale` at 1; the rules
//! drop such readings, so an unreachable broker never fires a backlog alert on old figures.
//!
//! The freshness objective itself is covered by the generic burn-rate rules: a freshness SLO
//! counts good and bad messages in `obskit_slo_requests_total` like any other SLO.

use super::AlertOptions;
use super::annotations::{self, VALUE_COUNT, VALUE_DURATION, VALUE_PERCENT};
use super::red::links;
use super::rule_file::{Rule, RuleGroup};
use crate::names::{self, QUEUE_DEPTH_THRESHOLD};
use crate::policy::{
    AT_ONCE, DEAD_LETTER_WINDOW, ERROR_RATIO_FOR, LATENCY_QUANTILE, MESSAGE_AGE_FOR,
    NO_CONSUMER_FOR, QUEUE_DEPTH_DEFAULT, QUEUE_DEPTH_FOR, QUEUE_GROWTH_FOR, QUEUE_GROWTH_WINDOW,
    RED_ERROR_RATIO, RED_MIN_REQUESTS, RED_WINDOW, Severity,
};
use crate::promql::{Selector, increase, number, rate, sum_by};
use obskit_names as n;

/// The messaging group.
pub(crate) const GROUP: &str = "obskit-messaging-alerts";

/// The labels that name one destination of one service.
pub(crate) const DESTINATION: [&str; 3] = [
    n::SERVICE_NAME,
    n::MESSAGING_SYSTEM,
    n::MESSAGING_DESTINATION_NAME,
];
/// The labels of a per-destination threshold override.
pub(crate) const OVERRIDE: [&str; 2] = [n::SERVICE_NAME, n::MESSAGING_DESTINATION_NAME];

/// The messaging group.
pub(crate) fn group(opts: &AlertOptions) -> RuleGroup {
    RuleGroup {
        name: GROUP.to_owned(),
        interval: None,
        rules: vec![
            depth_high(opts),
            growing(opts),
            no_consumer(opts),
            age_high(opts),
            dead_lettered(opts),
            error_ratio(opts),
        ],
    }
}

fn keys() -> String {
    DESTINATION.join(", ")
}

/// `(<selector> unless ignoring (state) (stale == 1))`: the readings of instances whose last
/// depth poll answered.
fn fresh(selector: &str) -> String {
    format!(
        "{selector}\n  unless ignoring ({}) ({} == 1)",
        n::MESSAGING_QUEUE_STATE,
        n::MESSAGING_QUEUE_STALE
    )
}

/// Messages in each destination (ready + unacknowledged), fresh readings only, the largest
/// any instance reports (every instance polls the same queue).
pub(crate) fn depth() -> String {
    format!(
        "max by ({}) (\n  {}\n)",
        keys(),
        fresh(&format!(
            "sum without ({}) ({})",
            n::MESSAGING_QUEUE_STATE,
            n::MESSAGING_QUEUE_MESSAGES
        ))
    )
}

/// Consumers attached to each destination as the broker reports them, fresh readings only.
fn consumers() -> String {
    format!(
        "max by ({}) (\n  {}\n)",
        keys(),
        fresh(n::MESSAGING_QUEUE_CONSUMERS)
    )
}

/// `max by (keys) (override) or on (keys) (0 * <basis> + default)`: the threshold a user set for
/// a group of `keys`, else the default, for every group `basis` (grouped by `keys`) has.
pub(crate) fn threshold(series: &str, keys: &[&str], basis: &str, default: f64) -> String {
    let k = keys.join(", ");
    format!(
        "(\n  max by ({k}) ({series})\n  or on ({k})\n  (0 * {basis} + {})\n)",
        number(default)
    )
}

/// `and on (keys) sum by (keys) (increase(<count>[RED window])) >= RED_MIN_REQUESTS`.
pub(crate) fn guard(keys: &[&str], count: &str) -> String {
    let k = keys.join(", ");
    format!(
        "and on ({k})\n{} >= {RED_MIN_REQUESTS}\n",
        sum_by(keys, &increase(&Selector::new(count), RED_WINDOW))
    )
}

fn destination_labels() -> (String, String) {
    (
        annotations::label(n::MESSAGING_DESTINATION_NAME),
        annotations::label(n::SERVICE_NAME),
    )
}

fn depth_high(opts: &AlertOptions) -> Rule {
    let basis = format!(
        "max by ({}) ({})",
        OVERRIDE.join(", "),
        n::MESSAGING_QUEUE_MESSAGES
    );
    let expr = format!(
        "{}\n> on ({}) group_left ()\n{}\n",
        depth(),
        OVERRIDE.join(", "),
        threshold(
            QUEUE_DEPTH_THRESHOLD,
            &OVERRIDE,
            &basis,
            QUEUE_DEPTH_DEFAULT
        )
    );
    let (dest, service) = destination_labels();
    let alert = names::ALERT_QUEUE_DEPTH_HIGH;
    Rule::alert(
        alert,
        expr,
        QUEUE_DEPTH_FOR.to_string(),
        links(
            opts,
            alert,
            format!("{service}: {dest} holds more messages than its threshold"),
            format!(
                "{dest} ({service}) has held more messages than its threshold for {QUEUE_DEPTH_FOR}: \
                 {VALUE_COUNT} now, ready and unacknowledged, as the broker reports them. The threshold \
                 is {default} unless {QUEUE_DEPTH_THRESHOLD}{{{svc}, {dst}}} sets one for the destination.",
                default = number(QUEUE_DEPTH_DEFAULT),
                svc = n::SERVICE_NAME,
                dst = n::MESSAGING_DESTINATION_NAME,
            ),
        ),
    )
    .label(names::SEVERITY_LABEL, Severity::Ticket.label())
}

fn growing(opts: &AlertOptions) -> Rule {
    let trend = format!(
        "max by ({}) (\n  {}\n)",
        keys(),
        fresh(&format!(
            "sum without ({}) (deriv({}[{QUEUE_GROWTH_WINDOW}]))",
            n::MESSAGING_QUEUE_STATE,
            n::MESSAGING_QUEUE_MESSAGES
        ))
    );
    let expr = format!(
        "{}\nand on ({k})\n{trend} > 0\nand on ({k})\n{} > 0\n",
        depth(),
        consumers(),
        k = keys()
    );
    let (dest, service) = destination_labels();
    let alert = names::ALERT_QUEUE_GROWING;
    Rule::alert(
        alert,
        expr,
        QUEUE_GROWTH_FOR.to_string(),
        links(
            opts,
            alert,
            format!("{service}: the backlog of {dest} keeps growing"),
            format!(
                "The messages in {dest} ({service}) have been growing for {QUEUE_GROWTH_FOR} (trend over \
                 {QUEUE_GROWTH_WINDOW}) although consumers are attached: {VALUE_COUNT} now. The consumers \
                 take messages slower than they arrive, so the backlog will not drain by itself."
            ),
        ),
    )
    .label(names::SEVERITY_LABEL, Severity::Ticket.label())
}

fn no_consumer(opts: &AlertOptions) -> Rule {
    let ready = format!(
        "max by ({}) (\n  {}\n)",
        keys(),
        fresh(
            &Selector::new(n::MESSAGING_QUEUE_MESSAGES)
                .eq(n::MESSAGING_QUEUE_STATE, n::QUEUE_STATE_READY)
                .to_string()
        )
    );
    let expr = format!("{ready} > 0\nand on ({})\n{} == 0\n", keys(), consumers());
    let (dest, service) = destination_labels();
    let alert = names::ALERT_QUEUE_NO_CONSUMER;
    Rule::alert(
        alert,
        expr,
        NO_CONSUMER_FOR.to_string(),
        links(
            opts,
            alert,
            format!("{service}: messages wait in {dest} and nothing consumes them"),
            format!(
                "{VALUE_COUNT} messages are ready in {dest} ({service}) and the broker has reported no \
                 consumer on it for {NO_CONSUMER_FOR}: the workers are down, stopped consuming, or \
                 consume from another destination."
            ),
        ),
    )
    .label(names::SEVERITY_LABEL, Severity::Ticket.label())
}

fn age_high(opts: &AlertOptions) -> Rule {
    let s = n::SERVICE_NAME;
    let mut by = DESTINATION.to_vec();
    by.push("le");
    let buckets = sum_by(
        &by,
        &rate(
            &Selector::new(format!("{}_bucket", n::MESSAGING_MESSAGE_AGE)),
            RED_WINDOW,
        ),
    );
    let expr = format!(
        "histogram_quantile({}, {buckets})\n  > on ({s}) group_left ()\n  min by ({s}) ({})\n{}",
        number(LATENCY_QUANTILE),
        n::SLO_FRESHNESS_THRESHOLD,
        guard(&DESTINATION, &format!("{}_count", n::MESSAGING_MESSAGE_AGE)),
    );
    let (dest, service) = destination_labels();
    let alert = names::ALERT_MESSAGE_AGE_HIGH;
    Rule::alert(
        alert,
        expr,
        MESSAGE_AGE_FOR.to_string(),
        links(
            opts,
            alert,
            format!("{service}: messages from {dest} are older than the freshness objective"),
            format!(
                "The p99 age of the messages {service} started processing from {dest} over the last \
                 {RED_WINDOW} is {VALUE_DURATION}: above the service's freshness threshold (the \
                 strictest, when it declares several freshness SLOs) for {MESSAGE_AGE_FOR}. Only \
                 counted when the window holds at least {RED_MIN_REQUESTS} messages."
            ),
        ),
    )
    .label(names::SEVERITY_LABEL, Severity::Ticket.label())
}

fn dead_lettered(opts: &AlertOptions) -> Rule {
    let settled = Selector::new(n::MESSAGING_SETTLEMENTS_TOTAL)
        .eq(n::MESSAGING_SETTLEMENT, n::SETTLEMENT_DEAD_LETTER);
    let expr = format!(
        "{} > 0\n",
        sum_by(&DESTINATION, &increase(&settled, DEAD_LETTER_WINDOW))
    );
    let (dest, service) = destination_labels();
    let alert = names::ALERT_MESSAGES_DEAD_LETTERED;
    Rule::alert(
        alert,
        expr,
        AT_ONCE.to_string(),
        links(
            opts,
            alert,
            format!("{service}: messages from {dest} were dead-lettered"),
            format!(
                "{service} refused {VALUE_COUNT} deliveries from {dest} for good over the last \
                 {DEAD_LETTER_WINDOW}: they went to the dead-letter destination where there is one, \
                 and were dropped otherwise. Every such message is work that was not done."
            ),
        ),
    )
    .label(names::SEVERITY_LABEL, Severity::Ticket.label())
}

fn error_ratio(opts: &AlertOptions) -> Rule {
    let count = format!("{}_count", n::MESSAGING_PROCESS_DURATION);
    let all = Selector::new(&count);
    let errors = all
        .clone()
        .ne(n::ERROR_TYPE, "")
        .ne(n::ERROR_TYPE, n::ERROR_TYPE_CANCELLED);
    let expr = format!(
        "(\n  {}\n  /\n  {}\n) > {}\n{}",
        sum_by(&DESTINATION, &rate(&errors, RED_WINDOW)),
        sum_by(&DESTINATION, &rate(&all, RED_WINDOW)),
        number(RED_ERROR_RATIO),
        guard(&DESTINATION, &count)
    );
    let (dest, service) = destination_labels();
    let threshold = annotations::short_number(RED_ERROR_RATIO * 100.0);
    let alert = names::ALERT_MESSAGING_HIGH_ERROR_RATIO;
    Rule::alert(
        alert,
        expr,
        ERROR_RATIO_FOR.to_string(),
        links(
            opts,
            alert,
            format!("{service}: more than {threshold}% of the messages from {dest} fail processing"),
            format!(
                "{VALUE_PERCENT} of the messages {service} processed from {dest} over the last \
                 {RED_WINDOW} failed (the processing returned an error or panicked), above the \
                 {threshold}% threshold, for {ERROR_RATIO_FOR}. Only counted when the window holds at \
                 least {RED_MIN_REQUESTS} messages."
            ),
        ),
    )
    .label(names::SEVERITY_LABEL, Severity::Ticket.label())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_messaging_rule_is_a_ticket_per_destination() {
        let group = group(&AlertOptions::default());
        let alerts: Vec<_> = group
            .rules
            .iter()
            .map(|r| r.alert.clone().unwrap())
            .collect();
        assert_eq!(alerts, names::MESSAGING_ALERTS);
        for rule in &group.rules {
            assert_eq!(rule.labels["severity"], "ticket");
            assert!(
                rule.expr.contains(n::MESSAGING_DESTINATION_NAME),
                "{}",
                rule.expr
            );
        }
    }

    #[test]
    fn backlog_rules_ignore_stale_readings() {
        let group = group(&AlertOptions::default());
        for rule in &group.rules[..3] {
            let stale = format!(
                "unless ignoring (state) ({} == 1)",
                n::MESSAGING_QUEUE_STALE
            );
            assert!(rule.expr.contains(&stale), "{}", rule.expr);
        }
        assert!(
            group.rules[0]
                .expr
                .contains("max by (service_name, messaging_destination_name) (obskit_messaging_queue_depth_threshold)\n  or on (service_name, messaging_destination_name)\n  (0 * max by (service_name, messaging_destination_name) (obskit_messaging_queue_messages) + 1000)"),
            "{}",
            group.rules[0].expr
        );
    }

    #[test]
    fn the_error_ratio_leaves_out_cancelled_processing() {
        let group = group(&AlertOptions::default());
        assert!(group.rules[5].expr.contains(
            r#"messaging_process_duration_seconds_count{error_type!="", error_type!="cancelled"}"#
        ));
        assert_eq!(group.rules[4].for_.as_deref(), Some("0s"));
    }
}
