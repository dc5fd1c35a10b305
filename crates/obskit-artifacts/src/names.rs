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

/// Every alert name, in the order the rule files define them.
pub(crate) const ALL_ALERTS: [&str; 8] = [
    ALERT_SLO_BURN,
    ALERT_HIGH_ERROR_RATIO,
    ALERT_HIGH_LATENCY,
    ALERT_GRPC_HIGH_ERROR_RATIO,
    ALERT_GRPC_HIGH_LATENCY,
    ALERT_TARGET_DOWN,
    ALERT_SERVICE_ABSENT,
    ALERT_NOT_READY,
];

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
