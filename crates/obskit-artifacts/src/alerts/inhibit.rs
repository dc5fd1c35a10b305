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
                target_matchers: vec![format!(
                    "alertname=~\"{}|{}\"",
                    names::ALERT_HIGH_ERROR_RATIO,
                    names::ALERT_GRPC_HIGH_ERROR_RATIO
                )],
                equal: vec![n::SERVICE_NAME.to_owned()],
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::file;

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
    }
}
