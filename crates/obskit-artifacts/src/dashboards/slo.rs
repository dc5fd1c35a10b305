//! The SLO dashboard: per service and SLO, the objective, the SLI, the remaining error budget
//! over the period, the burn rate over every recorded window, and the burn-rate alerts' state.
//! It reads the stock recording rules, so those must be loaded.

use super::build::{Board, Spec, dashboard as skeleton, label_values_variable};
use super::model::Dashboard;
use crate::duration::Dur;
use crate::names::{self, SLO_DASHBOARD_UID, SLO_KEYS};
use crate::policy::{SLO_WINDOWS, TIERS};
use crate::promql::Selector;
use obskit_names as n;

fn scoped(metric: &str) -> Selector {
    Selector::new(metric)
        .re(n::SERVICE_NAME, "$service")
        .re(n::SLO, "$slo")
}

fn burn_rate(window: Dur) -> String {
    format!(
        "{}\n/ on ({})\n{}",
        scoped(&names::slo_error_ratio(window)),
        SLO_KEYS.join(", "),
        scoped(&names::slo_error_budget())
    )
}

fn burn_alerts() -> Selector {
    Selector::new("ALERTS")
        .eq("alertname", names::ALERT_SLO_BURN)
        .eq("alertstate", "firing")
        .re(n::SERVICE_NAME, "$service")
        .re(n::SLO, "$slo")
}

/// Colours of the tier factors, slowest first.
const TIER_COLOURS: [&str; 4] = ["yellow", "orange", "red", "purple"];

/// The SLO dashboard.
pub(crate) fn dashboard() -> Dashboard {
    let slo_legend = format!("{{{{{}}}}}", n::SLO);
    let period_legend = format!("{{{{{}}}}} over {{{{{}}}}}", n::SLO, names::PERIOD_LABEL);
    let mut tier_steps: Vec<(&'static str, f64)> = TIERS
        .iter()
        .rev()
        .map(|t| t.factor)
        .zip(TIER_COLOURS)
        .map(|(f, c)| (c, f))
        .collect();
    tier_steps.dedup_by(|a, b| a.1 == b.1);
    let mut b = Board::default();

    b.row("Over the SLO period");
    b.add(4, 5, Spec::stat("Objective", "percentunit", "The objective each SLO declares in code, as exported by the service (obskit_slo_objective_ratio).")
        .query(format!("max by ({}) ({})", n::SLO, scoped(n::SLO_OBJECTIVE_RATIO)), &slo_legend)
        .decimals(2));
    b.add(5, 5, Spec::stat("SLI over the period", "percentunit", "Good requests / all requests over the whole SLO period, weighted by traffic (summed counts, not an average of ratios).")
        .query(scoped(&names::slo_sli_period()).to_string(), &period_legend)
        .decimals(3));
    b.add(5, 5, Spec::stat("Error budget remaining", "percentunit", "Share of the period's error budget (1 - objective) not yet spent; negative once the SLO is missed for the period.")
        .query(scoped(&names::slo_budget_remaining_period()).to_string(), &period_legend)
        .thresholds("red", &[("orange", 0.0), ("green", 0.25)])
        .decimals(1));
    b.add(
        5,
        5,
        Spec::stat(
            "SLI, last hour",
            "percentunit",
            "Good requests / all requests over the last hour: the current SLI.",
        )
        .query(
            format!("1 - {}", scoped(&names::slo_error_ratio(Dur::hours(1)))),
            &slo_legend,
        )
        .decimals(3),
    );
    b.add(5, 5, Spec::stat("Burn-rate alerts firing", "short", "How many ObskitSloErrorBudgetBurn alerts (all tiers) fire for the selected service and SLOs.")
        .query(format!("count({}) or vector(0)", burn_alerts()), "firing")
        .thresholds("green", &[("red", 1.0)]));

    b.row("Burn rate");
    let mut over_time = Spec::timeseries("Burn rate by window", "suffix:×", "Error ratio divided by the error budget, over each recorded window: 1× spends exactly the budget over the period. Dashed lines are the alert tiers' thresholds; a tier fires when both its windows are above its line.")
        .thresholds("green", &tier_steps)
        .threshold_lines()
        .min(0.0);
    let mut now = Spec::bar_gauge(
        "Burn rate now",
        "suffix:×",
        "Current burn rate over each window, coloured by the alert tier thresholds it exceeds.",
    )
    .thresholds("green", &tier_steps)
    .min(0.0);
    for window in SLO_WINDOWS {
        let legend = format!("{slo_legend} {window}");
        over_time = over_time.query(burn_rate(window), &legend);
        now = now.query(burn_rate(window), &legend);
    }
    b.add(16, 9, over_time);
    b.add(8, 9, now);
    b.add(24, 5, Spec::state_timeline("Burn-rate alert state", "short", "Which burn-rate tier fires when, per SLO (page tiers: 1h and 6h windows; ticket tiers: 1d and 3d).")
        .query(
            format!(
                "max by ({slo}, {tier}) ({alerts})\nor on ()\nlabel_replace(vector(0), \"{tier}\", \"none\", \"\", \"\")",
                slo = n::SLO,
                tier = names::TIER_LABEL,
                alerts = burn_alerts()
            ),
            &format!("{slo_legend} {{{{{}}}}}", names::TIER_LABEL),
        )
        .mapping(0.0, "quiet", "green")
        .mapping(1.0, "firing", "red"));

    b.row("Error ratio and traffic");
    b.add(8, 8, Spec::timeseries("Error ratio vs budget", "percentunit", "Share of bad requests over the last hour and over 5 minutes, against the error budget (1 - objective).")
        .query(scoped(&names::slo_error_ratio(Dur::hours(1))).to_string(), &format!("{slo_legend} 1h"))
        .query(scoped(&names::slo_error_ratio(Dur::mins(5))).to_string(), &format!("{slo_legend} 5m"))
        .query(scoped(&names::slo_error_budget()).to_string(), &format!("{slo_legend} budget"))
        .min(0.0));
    b.add(
        8,
        8,
        Spec::timeseries(
            "Error budget remaining",
            "percentunit",
            "Remaining share of the period's error budget over time.",
        )
        .query(
            scoped(&names::slo_budget_remaining_period()).to_string(),
            &period_legend,
        )
        .thresholds("red", &[("orange", 0.0), ("green", 0.25)])
        .threshold_lines(),
    );
    b.add(
        8,
        8,
        Spec::timeseries(
            "Requests counted by the SLO",
            "reqps",
            "Requests per second each SLO classified (good or bad), over 5 minutes.",
        )
        .query(
            scoped(&names::slo_requests_rate(Dur::mins(5))).to_string(),
            &slo_legend,
        )
        .min(0.0),
    );

    let slos = Selector::new(n::SLO_OBJECTIVE_RATIO).re(n::SERVICE_NAME, "$service");
    skeleton(
        SLO_DASHBOARD_UID,
        "obskit / SLOs",
        "Objective, SLI, remaining error budget, burn rates and burn-rate alerts of every SLO an obskit service declares. Needs the stock obskit-slo rules. Generated by `obskit dashboards` (the obskit CLI); refresh with `obskit dashboards --out .` rather than editing.",
        "now-7d",
        vec![
            label_values_variable(
                "service",
                "Service",
                n::SLO_OBJECTIVE_RATIO,
                n::SERVICE_NAME,
                false,
            ),
            label_values_variable("slo", "SLO", &slos.to_string(), n::SLO, true),
        ],
        b,
    )
}
