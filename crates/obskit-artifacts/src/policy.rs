//! The alerting policy in one table: SLO windows, burn-rate tiers, RED thresholds.
//!
//! Rules, dashboards (threshold lines), runbooks and the promtool test generator all read these
//! values, so a change here changes every artifact consistently.

use crate::duration::Dur;

/// Windows over which the stock rules record each SLO's error ratio and request rate.
pub(crate) const SLO_WINDOWS: [Dur; 7] = [
    Dur::mins(5),
    Dur::mins(30),
    Dur::hours(1),
    Dur::hours(2),
    Dur::hours(6),
    Dur::days(1),
    Dur::days(3),
];

/// Who is notified: `page` wakes someone up, `ticket` waits for working hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Severity {
    /// Urgent: act now.
    Page,
    /// Not urgent: act within the working day.
    Ticket,
}

impl Severity {
    /// The `severity` label value.
    pub(crate) const fn label(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::Ticket => "ticket",
        }
    }
}

/// One multi-window burn-rate tier: fire when both windows burn the budget faster than `factor`.
///
/// The factors are those of the Google SRE workbook for a 30-day period (2 % of the budget in
/// 1 h, 5 % in 6 h, 10 % in 1 d and 10 % in 3 d). They are kept for a 28-day period too: a burn
/// rate is relative to the budget, so 14.4× still means "the budget is gone in period/14.4"; only
/// the share of the budget a window represents changes slightly, and the annotations say so.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tier {
    /// Stable `tier` label value.
    pub(crate) name: &'static str,
    /// `severity` label value.
    pub(crate) severity: Severity,
    /// The window that measures how much budget was spent.
    pub(crate) long: Dur,
    /// The window that proves the burn is still going on (resets the alert quickly).
    pub(crate) short: Dur,
    /// Burn-rate threshold, as a multiple of the sustainable error rate.
    pub(crate) factor: f64,
    /// The alert's `for` clause.
    pub(crate) for_: Dur,
}

/// The four stock tiers, fastest first.
pub(crate) const TIERS: [Tier; 4] = [
    Tier {
        name: "page-1h",
        severity: Severity::Page,
        long: Dur::hours(1),
        short: Dur::mins(5),
        factor: 14.4,
        for_: Dur::mins(2),
    },
    Tier {
        name: "page-6h",
        severity: Severity::Page,
        long: Dur::hours(6),
        short: Dur::mins(30),
        factor: 6.0,
        for_: Dur::mins(15),
    },
    Tier {
        name: "ticket-1d",
        severity: Severity::Ticket,
        long: Dur::days(1),
        short: Dur::hours(2),
        factor: 3.0,
        for_: Dur::hours(1),
    },
    Tier {
        name: "ticket-3d",
        severity: Severity::Ticket,
        long: Dur::days(3),
        short: Dur::hours(6),
        factor: 1.0,
        for_: Dur::hours(3),
    },
];

/// Window of the RED alerts (error ratio, latency) and of their traffic guard.
pub(crate) const RED_WINDOW: Dur = Dur::mins(5);
/// The error ratio above which `ObskitHighErrorRatio` fires.
pub(crate) const RED_ERROR_RATIO: f64 = 0.01;
/// Requests the RED window must hold before the RED alerts may fire: with fewer, one error is
/// already 1 % and one slow request is already the p99.
pub(crate) const RED_MIN_REQUESTS: u64 = 100;
/// The quantile `ObskitHighLatency` compares with the latency SLO threshold.
pub(crate) const LATENCY_QUANTILE: f64 = 0.99;
/// `for` of `ObskitHighErrorRatio`.
pub(crate) const ERROR_RATIO_FOR: Dur = Dur::mins(5);
/// `for` of `ObskitHighLatency`.
pub(crate) const LATENCY_FOR: Dur = Dur::mins(10);
/// `for` of `ObskitTargetDown`, `ObskitServiceAbsent` and `ObskitNotReady`.
pub(crate) const AVAILABILITY_FOR: Dur = Dur::mins(5);
/// How long a service that stopped reporting is remembered by `ObskitTargetDown` and
/// `ObskitServiceAbsent`: after this, a vanished service is considered decommissioned.
pub(crate) const ABSENT_MEMORY: Dur = Dur::days(1);
/// Evaluation interval of the period group: its 28/30-day ranges are expensive, and 2m30s keeps
/// two samples inside Prometheus' 5-minute lookback so dashboards never see gaps.
pub(crate) const PERIOD_GROUP_INTERVAL: Dur = Dur::secs(150);

/// Messages in a destination (ready and unacknowledged) above which `ObskitQueueDepthHigh`
/// fires, unless the destination has a threshold of its own.
pub(crate) const QUEUE_DEPTH_DEFAULT: f64 = 1000.0;
/// `for` of `ObskitQueueDepthHigh`.
pub(crate) const QUEUE_DEPTH_FOR: Dur = Dur::mins(10);
/// Window over which `ObskitQueueGrowing` fits the depth's trend.
pub(crate) const QUEUE_GROWTH_WINDOW: Dur = Dur::mins(15);
/// `for` of `ObskitQueueGrowing`: the trend stays upward this long.
pub(crate) const QUEUE_GROWTH_FOR: Dur = Dur::mins(15);
/// `for` of `ObskitQueueNoConsumer`.
pub(crate) const NO_CONSUMER_FOR: Dur = Dur::mins(5);
/// `for` of `ObskitMessageAgeHigh`.
pub(crate) const MESSAGE_AGE_FOR: Dur = Dur::mins(10);
/// Window over which any dead-lettering fires `ObskitMessagesDeadLettered` (at once: no `for`).
pub(crate) const DEAD_LETTER_WINDOW: Dur = Dur::mins(10);
/// Share of a pool's connections in use above which `ObskitDbPoolSaturated` fires.
pub(crate) const DB_POOL_SATURATION: f64 = 0.9;
/// `for` of `ObskitDbPoolSaturated` and `ObskitDbPoolWaiting`.
pub(crate) const DB_POOL_FOR: Dur = Dur::mins(5);
/// p99 operation latency above which `ObskitDbHighLatency` fires, unless the datastore has a
/// threshold of its own.
pub(crate) const DB_LATENCY_DEFAULT: f64 = 0.5;
/// No `for`: alerts on events (a dead letter, an acquire timeout) fire at the first one.
pub(crate) const AT_ONCE: Dur = Dur::secs(0);

/// A burn-rate tier of the stock rules, as tools outside this crate read it (`obskit dev` computes
/// the same figures live from a service's metrics).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct BurnRateTier {
    /// The `tier` label value, e.g. `page-1h`.
    pub name: &'static str,
    /// The `severity` label value: `page` or `ticket`.
    pub severity: &'static str,
    /// The window that measures how much budget was spent.
    pub long: std::time::Duration,
    /// The window that proves the burn is still going on.
    pub short: std::time::Duration,
    /// The burn rate both windows must exceed for the alert to fire.
    pub factor: f64,
}

/// The stock rules' burn-rate tiers, fastest first: one table for the rules and every tool.
///
/// ```
/// let tiers = obskit_artifacts::burn_rate_tiers();
/// assert_eq!(tiers[0].name, "page-1h");
/// assert!(tiers.iter().all(|t| t.short < t.long));
/// ```
pub fn burn_rate_tiers() -> [BurnRateTier; 4] {
    TIERS.map(|tier| BurnRateTier {
        name: tier.name,
        severity: tier.severity.label(),
        long: std::time::Duration::from_secs(tier.long.as_secs()),
        short: std::time::Duration::from_secs(tier.short.as_secs()),
        factor: tier.factor,
    })
}

/// The window of the stock RED alerts (error ratio, latency), e.g. for a "last minutes" view.
///
/// ```
/// assert_eq!(obskit_artifacts::red_window().as_secs(), 300);
/// ```
pub fn red_window() -> std::time::Duration {
    std::time::Duration::from_secs(RED_WINDOW.as_secs())
}

/// The error ratio above which the stock RED alert fires.
pub const RED_ERROR_RATIO_THRESHOLD: f64 = RED_ERROR_RATIO;

#[cfg(test)]
mod tests {
    use super::{SLO_WINDOWS, TIERS};

    #[test]
    fn every_tier_window_is_recorded() {
        for tier in TIERS {
            assert!(SLO_WINDOWS.contains(&tier.long), "{}", tier.name);
            assert!(SLO_WINDOWS.contains(&tier.short), "{}", tier.name);
            assert!(tier.short < tier.long, "{}", tier.name);
        }
    }

    #[test]
    fn tiers_spend_the_workbook_share_of_a_30_day_budget() {
        let period_secs = 30.0 * 86_400.0;
        let shares: Vec<f64> = TIERS
            .iter()
            .map(|t| (t.factor * t.long.as_secs() as f64 / period_secs * 1000.0).round() / 10.0)
            .collect();
        assert_eq!(shares, [2.0, 5.0, 10.0, 10.0]);
    }
}
