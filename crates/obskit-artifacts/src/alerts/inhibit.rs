//! Alertmanager inhibit rules: while a page fires, the tickets about the same problem stay quiet.
//! The file holds an `inhibit_rules:` list to merge into `alertmanager.yml`.

use crate::names::{self, ALL_ALERTS};
use crate::policy::Severity;
use obskit_names as n;
use serde::Serialize;

/// An Alertmanager configuration fragment.
#[derive(Debug, Serialize)]
pub(crate) struct InhibitFile {
    pub(crate) inhibit_rules: Vec<InhibitRule>,
}

/// One inhibit rule: alerts matching `target_matchers` are muted while an alert matching
/// `source_matchers` fires with the same values of the `equal` labels.
#[derive(Debug, Serialize)]
pub(crate) struct InhibitRule {
    pub(crate) source_matchers: Vec<String>,
    pub(crate) target_matchers: Vec<String>,
    pub(crate) equal: Vec<String>,
}

fn severity(s: Severity) -> String {
    format!("{}=\"{}\"", names::SEVERITY_LABEL, s.label())
}

fn alertname_is(name: &str) -> String {
    format!("alertname=\"{name}\"")
}

/// The stock inhibit rules.
pub(crate) fn file() -> InhibitFile {
    let any_obskit = format!("alertname=~\"{}\"", ALL_ALERTS.join("|"));
    InhibitFile {
        inhibit_rules: vec![
            // A page mutes the tickets of the same service and SLO. Labels absent on both sides
            // count as equal, so a service-wide page (no `slo`) mutes the service-wide tickets
            // (target down, not ready, error ratio) and an SLO page mutes that SLO's burn-rate
            // tickets and latency ticket.
            InhibitRule {
                source_matchers: vec![any_obskit.clone(), severity(Severity::Page)],
                target_matchers: vec![any_obskit, severity(Severity::Ticket)],
                equal: vec![n::SERVICE_NAME.to_owned(), n::SLO.to_owned()],
            },
            // A burn-rate page already says the service fails requests: mute its error-ratio
            // tickets (HTTP and gRPC).
            InhibitRule {
                source_matchers: vec![
                    alertname_is(names::ALERT_SLO_BURN),
                    severity(Severity::Page),
                ],
                target_matchers: vec![alertname_in(&[
                    names::ALERT_HIGH_ERROR_RATIO,
                    names::ALERT_GRPC_HIGH_ERROR_RATIO,
                    names::ALERT_MESSAGING_HIGH_ERROR_RATIO,
                    names::ALERT_MESSAGE_AGE_HIGH,
                ])],
                equal: vec![n::SERVICE_NAME.to_owned()],
            },
            // Nothing consumes the destination: its depth and the age of what is left are
            // consequences.
            InhibitRule {
                source_matchers: vec![alertname_is(names::ALERT_QUEUE_NO_CONSUMER)],
                target_matchers: vec![
                    ticket(),
                    alertname_in(&[names::ALERT_QUEUE_DEPTH_HIGH, names::ALERT_MESSAGE_AGE_HIGH]),
                ],
                equal: owned(&[n::SERVICE_NAME, n::MESSAGING_DESTINATION_NAME]),
            },
            // A backlog already above its threshold needs no growth warning as well.
            InhibitRule {
                source_matchers: vec![alertname_is(names::ALERT_QUEUE_DEPTH_HIGH)],
                target_matchers: vec![ticket(), alertname_is(names::ALERT_QUEUE_GROWING)],
                equal: owned(&[n::SERVICE_NAME, n::MESSAGING_DESTINATION_NAME]),
            },
            // A pool that times out requests is saturated and has waiters: say it once.
            InhibitRule {
                source_matchers: vec![alertname_is(names::ALERT_DB_ACQUIRE_TIMEOUTS)],
                target_matchers: vec![
                    ticket(),
                    alertname_in(&[names::ALERT_DB_POOL_SATURATED, names::ALERT_DB_POOL_WAITING]),
                ],
                equal: owned(&POOL_KEYS),
            },
            InhibitRule {
                source_matchers: vec![alertname_is(names::ALERT_DB_POOL_SATURATED)],
                target_matchers: vec![ticket(), alertname_is(names::ALERT_DB_POOL_WAITING)],
                equal: owned(&POOL_KEYS),
            },
            // A starved pool makes operations slow (their time includes the wait) and failing
            // (acquire timeouts): the pool alert names the cause.
            InhibitRule {
                source_matchers: vec![alertname_in(&[
                    names::ALERT_DB_POOL_SATURATED,
                    names::ALERT_DB_POOL_WAITING,
                    names::ALERT_DB_ACQUIRE_TIMEOUTS,
                ])],
                target_matchers: vec![
                    ticket(),
                    alertname_in(&[
                        names::ALERT_DB_HIGH_LATENCY,
                        names::ALERT_DB_HIGH_ERROR_RATIO,
                    ]),
                ],
                equal: owned(&[n::SERVICE_NAME, n::DB_SYSTEM_NAME]),
            },
        ],
    }
}

/// The labels that name one connection pool.
const POOL_KEYS: [&str; 3] = [
    n::SERVICE_NAME,
    n::DB_SYSTEM_NAME,
    n::DB_CLIENT_CONNECTION_POOL_NAME,
];

/// `severity="ticket"`: a cause that is itself a ticket never mutes a page.
fn ticket() -> String {
    severity(Severity::Ticket)
}

fn alertname_in(names: &[&str]) -> String {
    format!("alertname=~\"{}\"", names.join("|"))
}

fn owned(labels: &[&str]) -> Vec<String> {
    labels.iter().map(|l| (*l).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::file;
    use crate::names::ALL_ALERTS;

    #[test]
    fn pages_mute_tickets_of_the_same_service() {
        let f = file();
        let first = &f.inhibit_rules[0];
        assert!(
            first
                .source_matchers
                .contains(&"severity=\"page\"".to_owned())
        );
        assert!(
            first
                .target_matchers
                .contains(&"severity=\"ticket\"".to_owned())
        );
        assert_eq!(first.equal, ["service_name", "slo"]);
        assert!(first.source_matchers[0].contains("ObskitSloErrorBudgetBurn|"));
        assert!(first.source_matchers[0].contains("|ObskitDbHighLatency\""));
    }

    #[test]
    fn causes_mute_their_consequences_for_the_same_destination_or_pool() {
        let f = file();
        let rule = |source: &str| {
            f.inhibit_rules[2..]
                .iter()
                .find(|r| r.source_matchers[0].contains(source))
                .unwrap()
        };
        let no_consumer = rule("ObskitQueueNoConsumer");
        assert_eq!(no_consumer.target_matchers[0], "severity=\"ticket\"");
        assert!(no_consumer.target_matchers[1].contains("ObskitQueueDepthHigh"));
        assert_eq!(
            no_consumer.equal,
            ["service_name", "messaging_destination_name"]
        );
        let timeouts = rule("ObskitDbAcquireTimeouts\"");
        assert_eq!(
            timeouts.equal,
            [
                "service_name",
                "db_system_name",
                "db_client_connection_pool_name"
            ]
        );
        // Every alert named in a matcher exists.
        for r in &f.inhibit_rules[1..] {
            for m in r.source_matchers.iter().chain(&r.target_matchers) {
                let Some(list) = m.strip_prefix("alertname") else {
                    continue;
                };
                let list = list.trim_start_matches(['=', '~']).trim_matches('"');
                for name in list.split('|') {
                    assert!(ALL_ALERTS.contains(&name), "{name}");
                }
            }
        }
    }
}
