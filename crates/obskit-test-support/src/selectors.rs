//! The messaging series dashboards and rules read, found in their PromQL (as
//! [`obskit_artifacts::promql_expressions`] lists it) rather than listed by hand, so a test
//! that asks Prometheus about them follows the artifacts as they change.

use std::collections::BTreeMap;

use obskit_artifacts::alerts::QUEUE_DEPTH_THRESHOLD;
use obskit_artifacts::promql::vector_selectors;

/// Whether a vector selector reads a series the messaging instrumentation exports (and so
/// carries `messaging_system`), rather than one a user's rule sets (the depth threshold).
pub fn is_messaging_series(selector: &str) -> bool {
    let metric = metric_of(selector);
    (metric.starts_with("messaging_") || metric.starts_with("obskit_messaging_"))
        && metric != QUEUE_DEPTH_THRESHOLD
}

/// The metric name of a vector selector: what comes before its matchers or range.
pub fn metric_of(selector: &str) -> &str {
    selector.split(['{', '[']).next().unwrap_or(selector)
}

/// Every distinct messaging vector selector of `expressions` (`(place, expression)` pairs),
/// each with the place of the first expression that reads it.
pub fn messaging_selectors(expressions: &[(String, String)]) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for (place, expr) in expressions {
        for selector in vector_selectors(expr) {
            if is_messaging_series(&selector) {
                found.entry(selector).or_insert_with(|| place.clone());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messaging_series_are_told_from_user_thresholds() {
        assert!(is_messaging_series(
            r#"messaging_client_sent_messages_total{error_type=""}"#
        ));
        assert!(is_messaging_series("obskit_messaging_queue_messages"));
        assert!(!is_messaging_series(QUEUE_DEPTH_THRESHOLD));
        assert!(!is_messaging_series("db_client_connections"));
        assert_eq!(
            metric_of(r#"obskit_messaging_settlements_total{settlement="ack"}"#),
            "obskit_messaging_settlements_total"
        );
    }

    #[test]
    fn selectors_are_found_once_with_their_first_place() {
        let expressions = [
            (
                "a › Panel › A".to_owned(),
                "sum(rate(messaging_client_consumed_messages_total[5m])) / sum(up)".to_owned(),
            ),
            (
                "b › g › Rule".to_owned(),
                "increase(messaging_client_consumed_messages_total[10m]) > 0".to_owned(),
            ),
        ];
        let found = messaging_selectors(&expressions);
        assert_eq!(
            found.into_iter().collect::<Vec<_>>(),
            [(
                "messaging_client_consumed_messages_total".to_owned(),
                "a › Panel › A".to_owned()
            )]
        );
    }
}
