//! The datastore alerts: what a service waits on. Per connection pool: nearly every connection
//! lent out, requests waiting for a connection, requests that gave up waiting. Per datastore
//! system (PostgreSQL, Redis, ...): the operations' error ratio and p99 latency.
//!
//! Pool figures are read from each instance's own pool, so the saturation is computed per
//! instance before the worst instance is taken.

use super::AlertOptions;
use super::annotations::{self, VALUE_COUNT, VALUE_DURATION, VALUE_PERCENT};
use super::messaging::{guard, threshold};
use super::red::links;
use super::rule_file::{Rule, RuleGroup};
use crate::names::{self, DB_LATENCY_THRESHOLD};
use crate::policy::{
    AT_ONCE, DB_LATENCY_DEFAULT, DB_POOL_FOR, DB_POOL_SATURATION, ERROR_RATIO_FOR, LATENCY_FOR,
    LATENCY_QUANTILE, RED_ERROR_RATIO, RED_MIN_REQUESTS, RED_WINDOW, Severity,
};
use crate::promql::{Selector, increase, number, rate, sum_by};
use obskit_names as n;

/// The datastore group.
pub(crate) const GROUP: &str = "obskit-datastore-alerts";

/// The labels that name one pool of one service.
pub(crate) const POOL: [&str; 3] = [
    n::SERVICE_NAME,
    n::DB_SYSTEM_NAME,
    n::DB_CLIENT_CONNECTION_POOL_NAME,
];
/// The labels that name one datastore system of one service (and a latency override).
pub(crate) const SYSTEM: [&str; 2] = [n::SERVICE_NAME, n::DB_SYSTEM_NAME];

/// The datastore group.
pub(crate) fn group(opts: &AlertOptions) -> RuleGroup {
    RuleGroup {
        name: GROUP.to_owned(),
        interval: None,
        rules: vec![
            pool_saturated(opts),
            pool_waiting(opts),
            acquire_timeouts(opts),
            error_ratio(opts),
            latency(opts),
        ],
    }
}

fn pool_labels() -> (String, String, String) {
    (
        annotations::label(n::DB_CLIENT_CONNECTION_POOL_NAME),
        annotations::label(n::DB_SYSTEM_NAME),
        annotations::label(n::SERVICE_NAME),
    )
}

fn pool_saturated(opts: &AlertOptions) -> Rule {
    let state = n::DB_CLIENT_CONNECTION_STATE;
    let used = Selector::new(n::DB_CLIENT_CONNECTIONS).eq(state, n::DB_CONNECTION_STATE_USED);
    let expr = format!(
        "max by ({}) (\n  {used}\n  / ignoring ({state})\n  {}\n) > {}\n",
        POOL.join(", "),
        n::DB_CLIENT_CONNECTION_MAX,
        number(DB_POOL_SATURATION)
    );
    let (pool, system, service) = pool_labels();
    let share = annotations::short_number(DB_POOL_SATURATION * 100.0);
    let alert = names::ALERT_DB_POOL_SATURATED;
    Rule::alert(
        alert,
        expr,
        DB_POOL_FOR.to_string(),
        links(
            opts,
            alert,
            format!("{service}: the {system} pool {pool} is nearly exhausted"),
            format!(
                "{VALUE_PERCENT} of the connections of the {system} pool {pool} ({service}, the busiest \
                 instance) are lent out, above {share}%, for {DB_POOL_FOR}. Requests will soon wait for \
                 a connection, and latency rises everywhere the pool is used."
            ),
        ),
    )
    .label(names::SEVERITY_LABEL, Severity::Ticket.label())
}

fn pool_waiting(opts: &AlertOptions) -> Rule {
    let expr = format!(
        "max by ({}) ({}) > 0\n",
        POOL.join(", "),
        n::DB_CLIENT_CONNECTION_PENDING_REQUESTS
    );
    let (pool, system, service) = pool_labels();
    let alert = names::ALERT_DB_POOL_WAITING;
    Rule::alert(
        alert,
        expr,
        DB_POOL_FOR.to_string(),
        links(
            opts,
            alert,
            format!("{service}: requests wait for a connection from the {system} pool {pool}"),
            format!(
                "Requests of {service} have been waiting for a connection from the {system} pool {pool} \
                 at every evaluation for {DB_POOL_FOR}: {VALUE_COUNT} waiting now (busiest instance). \
                 The pool is too small for the load, or connections are held too long."
            ),
        ),
    )
    .label(names::SEVERITY_LABEL, Severity::Ticket.label())
}

fn acquire_timeouts(opts: &AlertOptions) -> Rule {
    let expr = format!(
        "{} > 0\n",
        sum_by(
            &POOL,
            &increase(
                &Selector::new(n::DB_CLIENT_CONNECTION_TIMEOUTS_TOTAL),
                RED_WINDOW
            )
        )
    );
    let (pool, system, service) = pool_labels();
    let alert = names::ALERT_DB_ACQUIRE_TIMEOUTS;
    Rule::alert(
        alert,
        expr,
        AT_ONCE.to_string(),
        links(
            opts,
            alert,
            format!("{service}: requests gave up waiting for a {system} connection"),
            format!(
                "{VALUE_COUNT} requests of {service} timed out waiting for a connection from the {system} \
                 pool {pool} over the last {RED_WINDOW}: each one failed without reaching the datastore."
            ),
        ),
    )
    .label(names::SEVERITY_LABEL, Severity::Ticket.label())
}

fn count() -> String {
    format!("{}_count", n::DB_CLIENT_OPERATION_DURATION)
}

fn error_ratio(opts: &AlertOptions) -> Rule {
    let count = count();
    let all = Selector::new(&count);
    let errors = all
        .clone()
        .ne(n::ERROR_TYPE, "")
        .ne(n::ERROR_TYPE, n::ERROR_TYPE_CANCELLED);
    let expr = format!(
        "(\n  {}\n  /\n  {}\n) > {}\n{}",
        sum_by(&SYSTEM, &rate(&errors, RED_WINDOW)),
        sum_by(&SYSTEM, &rate(&all, RED_WINDOW)),
        number(RED_ERROR_RATIO),
        guard(&SYSTEM, &count)
    );
    let system = annotations::label(n::DB_SYSTEM_NAME);
    let service = annotations::label(n::SERVICE_NAME);
    let threshold = annotations::short_number(RED_ERROR_RATIO * 100.0);
    let alert = names::ALERT_DB_HIGH_ERROR_RATIO;
    Rule::alert(
        alert,
        expr,
        ERROR_RATIO_FOR.to_string(),
        links(
            opts,
            alert,
            format!("{service}: more than {threshold}% of its {system} operations fail"),
            format!(
                "{VALUE_PERCENT} of the {system} operations {service} made over the last {RED_WINDOW} \
                 failed (an error from the server, the connection or the pool), above the {threshold}% \
                 threshold, for {ERROR_RATIO_FOR}. Only counted when the window holds at least \
                 {RED_MIN_REQUESTS} operations."
            ),
        ),
    )
    .label(names::SEVERITY_LABEL, Severity::Ticket.label())
}

fn latency(opts: &AlertOptions) -> Rule {
    let mut by = SYSTEM.to_vec();
    by.push("le");
    let buckets = sum_by(
        &by,
        &rate(
            &Selector::new(format!("{}_bucket", n::DB_CLIENT_OPERATION_DURATION)),
            RED_WINDOW,
        ),
    );
    let basis = sum_by(&SYSTEM, &count());
    let expr = format!(
        "histogram_quantile({}, {buckets})\n> on ({k}) group_left ()\n{}\n{}",
        number(LATENCY_QUANTILE),
        threshold(DB_LATENCY_THRESHOLD, &SYSTEM, &basis, DB_LATENCY_DEFAULT),
        guard(&SYSTEM, &count()),
        k = SYSTEM.join(", "),
    );
    let system = annotations::label(n::DB_SYSTEM_NAME);
    let service = annotations::label(n::SERVICE_NAME);
    let alert = names::ALERT_DB_HIGH_LATENCY;
    Rule::alert(
        alert,
        expr,
        LATENCY_FOR.to_string(),
        links(
            opts,
            alert,
            format!("{service}: {system} operations are slow"),
            format!(
                "The p99 duration of the {system} operations {service} made over the last {RED_WINDOW} \
                 is {VALUE_DURATION}, above its threshold for {LATENCY_FOR}. The threshold is {default}s \
                 unless {DB_LATENCY_THRESHOLD}{{{svc}, {sys}}} sets one. Only counted when the window \
                 holds at least {RED_MIN_REQUESTS} operations.",
                default = number(DB_LATENCY_DEFAULT),
                svc = n::SERVICE_NAME,
                sys = n::DB_SYSTEM_NAME,
            ),
        ),
    )
    .label(names::SEVERITY_LABEL, Severity::Ticket.label())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_datastore_rule_is_a_ticket() {
        let group = group(&AlertOptions::default());
        let alerts: Vec<_> = group
            .rules
            .iter()
            .map(|r| r.alert.clone().unwrap())
            .collect();
        assert_eq!(alerts, names::DATASTORE_ALERTS);
        assert!(group.rules.iter().all(|r| r.labels["severity"] == "ticket"));
    }

    #[test]
    fn saturation_is_computed_per_instance_then_the_worst_taken() {
        let group = group(&AlertOptions::default());
        assert_eq!(
            group.rules[0].expr,
            "max by (service_name, db_system_name, db_client_connection_pool_name) (\n  db_client_connections{db_client_connection_state=\"used\"}\n  / ignoring (db_client_connection_state)\n  db_client_connection_max\n) > 0.9\n"
        );
        assert!(group.rules[3].expr.contains(
            r#"db_client_operation_duration_seconds_count{error_type!="", error_type!="cancelled"}"#
        ));
        assert!(
            group.rules[4]
                .expr
                .contains("or on (service_name, db_system_name)\n  (0 * sum by (service_name, db_system_name) (db_client_operation_duration_seconds_count) + 0.5)"),
            "{}",
            group.rules[4].expr
        );
    }
}
