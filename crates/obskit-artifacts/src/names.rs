//! Names this crate defines (recording rules, alerts, dashboard uids), as opposed to the exported
//! metric and label names, which come from `obskit-names`.
//!
//! Recording rules follow Prometheus' `level:metric:operations` convention; the level is the
//! aggregation labels, `service_name_slo`.

use crate::duration::Dur;
use obskit_names as n;

/// The labels every SLO recording rule keeps.
pub(crate) const SLO_KEYS: [&str; 2] = [n::SERVICE_NAME, n::SLO];

fn level() -> String {
    format!("{}_{}", n::SERVICE_NAME, n::SLO)
}

/// Request rate (req/s) per service and SLO over `window`.
pub(crate) fn slo_requests_rate(window: Dur) -> String {
    format!("{}:obskit_slo_requests:rate{window}", level())
}

/// Share of requests classified bad per service and SLO over `window`.
pub(crate) fn slo_error_ratio(window: Dur) -> String {
    format!("{}:obskit_slo_error_ratio:rate{window}", level())
}

/// The error budget, `1 - objective`, per service and SLO.
pub(crate) fn slo_error_budget() -> String {
    format!("{}:obskit_slo_error_budget:ratio", level())
}

/// Requests counted over the SLO period.
pub(crate) fn slo_requests_period() -> String {
    format!("{}:obskit_slo_requests:increase_period", level())
}

/// Bad requests counted over the SLO period.
pub(crate) fn slo_errors_period() -> String {
    format!("{}:obskit_slo_errors:increase_period", level())
}

/// Traffic-weighted SLI over the period: good requests / all requests.
pub(crate) fn slo_sli_period() -> String {
    format!("{}:obskit_slo_sli:ratio_period", level())
}

/// Share of the period's error budget still unspent (negative once overspent).
pub(crate) fn slo_budget_remaining_period() -> String {
    format!("{}:obskit_slo_error_budget_remaining:ratio_period", level())
}

/// Prometheus' target label naming the scrape job.
pub(crate) const JOB: &str = "job";
/// Prometheus' target label naming the scraped instance.
pub(crate) const INSTANCE: &str = "instance";

/// Label the period recording rules carry (`30d` or `28d`).
pub(crate) const PERIOD_LABEL: &str = "period";
/// Label carrying the burn-rate tier.
pub(crate) const TIER_LABEL: &str = "tier";
/// Label carrying the severity (`page` / `ticket`).
pub(crate) const SEVERITY_LABEL: &str = "severity";

/// Multi-window multi-burn-rate alert, one rule per tier.
pub(crate) const ALERT_SLO_BURN: &str = "ObskitSloErrorBudgetBurn";
/// 5xx ratio above 1 %.
pub(crate) const ALERT_HIGH_ERROR_RATIO: &str = "ObskitHighErrorRatio";
/// p99 above the latency SLO threshold.
pub(crate) const ALERT_HIGH_LATENCY: &str = "ObskitHighLatency";
/// Ratio of gRPC calls answered with a server-error code above 1 %.
pub(crate) const ALERT_GRPC_HIGH_ERROR_RATIO: &str = "ObskitGrpcHighErrorRatio";
/// gRPC p99 above the latency SLO threshold.
pub(crate) const ALERT_GRPC_HIGH_LATENCY: &str = "ObskitGrpcHighLatency";
/// A scrape target of an obskit service is down.
pub(crate) const ALERT_TARGET_DOWN: &str = "ObskitTargetDown";
/// No instance of a service reports metrics any more.
pub(crate) const ALERT_SERVICE_ABSENT: &str = "ObskitServiceAbsent";
/// An instance reports not ready.
pub(crate) const ALERT_NOT_READY: &str = "ObskitNotReady";

/// More messages in a destination than its depth threshold.
pub(crate) const ALERT_QUEUE_DEPTH_HIGH: &str = "ObskitQueueDepthHigh";
/// A destination's backlog keeps growing although consumers are attached.
pub(crate) const ALERT_QUEUE_GROWING: &str = "ObskitQueueGrowing";
/// Messages wait in a destination that has no consumer.
pub(crate) const ALERT_QUEUE_NO_CONSUMER: &str = "ObskitQueueNoConsumer";
/// p99 message age above the service's freshness threshold.
pub(crate) const ALERT_MESSAGE_AGE_HIGH: &str = "ObskitMessageAgeHigh";
/// Messages were dead-lettered.
pub(crate) const ALERT_MESSAGES_DEAD_LETTERED: &str = "ObskitMessagesDeadLettered";
/// Ratio of failed message processing above 1 %.
pub(crate) const ALERT_MESSAGING_HIGH_ERROR_RATIO: &str = "ObskitMessagingHighErrorRatio";
/// A connection pool has nearly every connection lent out.
pub(crate) const ALERT_DB_POOL_SATURATED: &str = "ObskitDbPoolSaturated";
/// Requests keep waiting for a connection from a pool.
pub(crate) const ALERT_DB_POOL_WAITING: &str = "ObskitDbPoolWaiting";
/// Requests for a pooled connection timed out.
pub(crate) const ALERT_DB_ACQUIRE_TIMEOUTS: &str = "ObskitDbAcquireTimeouts";
/// Ratio of failed database or cache operations above 1 %.
pub(crate) const ALERT_DB_HIGH_ERROR_RATIO: &str = "ObskitDbHighErrorRatio";
/// p99 database or cache operation latency above its threshold.
pub(crate) const ALERT_DB_HIGH_LATENCY: &str = "ObskitDbHighLatency";

/// The alerts of the RED group, in the order the rule file defines them.
#[cfg(test)]
pub(crate) const RED_ALERTS: [&str; 7] = [
    ALERT_HIGH_ERROR_RATIO,
    ALERT_HIGH_LATENCY,
    ALERT_GRPC_HIGH_ERROR_RATIO,
    ALERT_GRPC_HIGH_LATENCY,
    ALERT_TARGET_DOWN,
    ALERT_SERVICE_ABSENT,
    ALERT_NOT_READY,
];

/// The alerts of the messaging group, in the order the rule file defines them.
#[cfg(test)]
pub(crate) const MESSAGING_ALERTS: [&str; 6] = [
    ALERT_QUEUE_DEPTH_HIGH,
    ALERT_QUEUE_GROWING,
    ALERT_QUEUE_NO_CONSUMER,
    ALERT_MESSAGE_AGE_HIGH,
    ALERT_MESSAGES_DEAD_LETTERED,
    ALERT_MESSAGING_HIGH_ERROR_RATIO,
];

/// The alerts of the datastore group, in the order the rule file defines them.
#[cfg(test)]
pub(crate) const DATASTORE_ALERTS: [&str; 5] = [
    ALERT_DB_POOL_SATURATED,
    ALERT_DB_POOL_WAITING,
    ALERT_DB_ACQUIRE_TIMEOUTS,
    ALERT_DB_HIGH_ERROR_RATIO,
    ALERT_DB_HIGH_LATENCY,
];

/// Every alert name, in the order the rule files define them.
pub(crate) const ALL_ALERTS: [&str; 19] = [
    ALERT_SLO_BURN,
    ALERT_HIGH_ERROR_RATIO,
    ALERT_HIGH_LATENCY,
    ALERT_GRPC_HIGH_ERROR_RATIO,
    ALERT_GRPC_HIGH_LATENCY,
    ALERT_TARGET_DOWN,
    ALERT_SERVICE_ABSENT,
    ALERT_NOT_READY,
    ALERT_QUEUE_DEPTH_HIGH,
    ALERT_QUEUE_GROWING,
    ALERT_QUEUE_NO_CONSUMER,
    ALERT_MESSAGE_AGE_HIGH,
    ALERT_MESSAGES_DEAD_LETTERED,
    ALERT_MESSAGING_HIGH_ERROR_RATIO,
    ALERT_DB_POOL_SATURATED,
    ALERT_DB_POOL_WAITING,
    ALERT_DB_ACQUIRE_TIMEOUTS,
    ALERT_DB_HIGH_ERROR_RATIO,
    ALERT_DB_HIGH_LATENCY,
];

/// Series a user defines (a recording rule, or any exporter) to override the depth threshold of
/// `ObskitQueueDepthHigh` for one destination, labelled `service_name` and
/// `messaging_destination_name`. obskit never exports it.
pub const QUEUE_DEPTH_THRESHOLD: &str = "obskit_messaging_queue_depth_threshold";
/// Series a user defines to override the p99 threshold of `ObskitDbHighLatency` for one
/// datastore of a service, labelled `service_name` and `db_system_name`, in seconds.
pub const DB_LATENCY_THRESHOLD: &str = "obskit_db_client_latency_threshold_seconds";

/// uid of the service overview (RED) dashboard.
pub(crate) const SERVICE_DASHBOARD_UID: &str = "obskit-service-overview";
/// uid of the SLO dashboard.
pub(crate) const SLO_DASHBOARD_UID: &str = "obskit-slo";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_rule_names_follow_level_metric_operations() {
        assert_eq!(
            slo_error_ratio(Dur::mins(5)),
            "service_name_slo:obskit_slo_error_ratio:rate5m"
        );
        assert_eq!(
            slo_requests_rate(Dur::days(3)),
            "service_name_slo:obskit_slo_requests:rate3d"
        );
        for name in [
            slo_error_budget(),
            slo_requests_period(),
            slo_errors_period(),
            slo_sli_period(),
            slo_budget_remaining_period(),
        ] {
            assert_eq!(name.split(':').count(), 3, "{name}");
        }
    }
}
