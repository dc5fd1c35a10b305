//! Prometheus rules for every obskit service at once: SLO recording rules and multi-window
//! multi-burn-rate alerts, RED alerts, messaging alerts (per destination) and datastore alerts
//! (per pool and system), their promtool unit tests and Alertmanager inhibit rules.
//!
//! The rules are generic: they aggregate by `service_name` and `slo` (or destination, pool),
//! read each SLO's objective from the `obskit_slo_objective_ratio` gauge the service exports,
//! and so never need regenerating when a service or an SLO is added. Where a threshold depends
//! on the destination or datastore, a user-defined series overrides the default
//! ([`THRESHOLD_OVERRIDES`]).
//!
//! ```
//! use obskit_artifacts::alerts::{self, AlertOptions, Period};
//!
//! let opts = AlertOptions { period: "28d".parse()?, ..AlertOptions::default() };
//! assert_eq!(opts.period, Period::Days28);
//! let files = alerts::render(&opts)?;
//! assert!(files.iter().any(|f| f.path.ends_with("obskit-slo.rules.yml")));
//! # Ok::<(), obskit_artifacts::Error>(())
//! ```

pub(crate) mod annotations;
mod datastore;
mod inhibit;
mod messaging;
mod promtool;
mod red;
mod rule_file;
mod slo;

pub use crate::names::{DB_LATENCY_THRESHOLD, QUEUE_DEPTH_THRESHOLD};

/// The series a user may define (with a recording rule, or any exporter) to override a stock
/// alert's default threshold for one destination or datastore, without editing the rule.
///
/// ```
/// use obskit_artifacts::alerts::{QUEUE_DEPTH_THRESHOLD, THRESHOLD_OVERRIDES};
/// assert!(THRESHOLD_OVERRIDES.contains(&QUEUE_DEPTH_THRESHOLD));
/// // A recording rule that lets the `orders` queue of `shop` hold 5 000 messages:
/// let rule = format!(
///     "- record: {QUEUE_DEPTH_THRESHOLD}\n  expr: vector(5000)\n  labels:\n    \
///      service_name: shop\n    messaging_destination_name: orders\n"
/// );
/// assert!(rule.contains("obskit_messaging_queue_depth_threshold"));
/// ```
pub const THRESHOLD_OVERRIDES: [&str; 2] = [QUEUE_DEPTH_THRESHOLD, DB_LATENCY_THRESHOLD];

use crate::duration::Dur;
use crate::kubernetes::DEPLOY_DIR;
use crate::{Error, GeneratedFile, yaml};
use rule_file::{PrometheusRule, RuleFile};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The SLO period: the window over which the error budget is accounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Period {
    /// Four weeks: every period holds the same weekdays.
    Days28,
    /// Thirty days, the usual monthly period.
    #[default]
    Days30,
}

impl Period {
    /// The period as a duration.
    pub(crate) fn dur(self) -> Dur {
        Dur::days(self.days())
    }
    /// Length in days.
    pub fn days(self) -> u64 {
        match self {
            Self::Days28 => 28,
            Self::Days30 => 30,
        }
    }
}

impl FromStr for Period {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "28d" => Ok(Self::Days28),
            "30d" => Ok(Self::Days30),
            other => Err(Error::InvalidPeriod(other.to_owned())),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}d", self.days())
    }
}

/// The shape of the generated rule files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RuleFormat {
    /// Plain Prometheus rule files (`rule_files:`), with promtool tests and inhibit rules.
    #[default]
    Rules,
    /// Prometheus Operator `PrometheusRule` resources.
    PrometheusRule,
}

impl FromStr for RuleFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "rules" => Ok(Self::Rules),
            "prometheus-rule" => Ok(Self::PrometheusRule),
            other => Err(Error::InvalidRuleFormat(other.to_owned())),
        }
    }
}

impl fmt::Display for RuleFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Rules => "rules",
            Self::PrometheusRule => "prometheus-rule",
        })
    }
}

/// Default base of the runbook links: the runbooks checked in with obskit.
pub const DEFAULT_RUNBOOK_BASE_URL: &str =
    "https://github.com/obskit/obskit/blob/main/docs/runbooks";
/// Default base of the dashboard links: Grafana's default listen address.
pub const DEFAULT_DASHBOARD_BASE_URL: &str = "http://localhost:3000";

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertOptions {
    /// SLO period for the period SLI, the remaining budget and the annotations' arithmetic.
    pub period: Period,
    /// Plain rule files or `PrometheusRule` resources.
    pub format: RuleFormat,
    /// Base URL of the runbook pages; each alert links to `<base>/<AlertName>.md`.
    pub runbook_base_url: String,
    /// Base URL of Grafana; alerts link to `<base>/d/<uid>?var-service=...`.
    pub dashboard_base_url: String,
}

impl Default for AlertOptions {
    fn default() -> Self {
        Self {
            period: Period::default(),
            format: RuleFormat::default(),
            runbook_base_url: DEFAULT_RUNBOOK_BASE_URL.to_owned(),
            dashboard_base_url: DEFAULT_DASHBOARD_BASE_URL.to_owned(),
        }
    }
}

impl AlertOptions {
    fn validate(&self) -> Result<(), Error> {
        for (field, value) in [
            ("runbook_base_url", &self.runbook_base_url),
            ("dashboard_base_url", &self.dashboard_base_url),
        ] {
            let bad = value.trim_end_matches('/').is_empty()
                || value.chars().any(char::is_whitespace)
                || value.contains("{{")
                || value.contains("}}");
            if bad {
                return Err(Error::InvalidOption {
                    field,
                    value: value.clone(),
                    fix: "pass an absolute url such as https://host/path, without spaces or `{{`",
                });
            }
        }
        Ok(())
    }
}

/// Path of the SLO rule file (plain format).
pub(crate) const SLO_RULES: &str = "alerts/obskit-slo.rules.yml";
/// Path of the RED rule file (plain format).
pub(crate) const RED_RULES: &str = "alerts/obskit-red.rules.yml";
/// Path of the Alertmanager inhibit rules.
pub(crate) const INHIBIT: &str = "alerts/alertmanager-inhibit.yml";

/// Renders the rule files for `opts`. With [`RuleFormat::Rules`] this also renders the promtool
/// unit tests (`alerts/tests/*.yml`) and the Alertmanager inhibit rules
/// (`alerts/alertmanager-inhibit.yml`); with [`RuleFormat::PrometheusRule`] only the two
/// resources (`deploy/obskit-{slo,red}.prometheusrule.yml`, where a generated service keeps
/// its Kubernetes objects).
pub fn render(opts: &AlertOptions) -> Result<Vec<GeneratedFile>, Error> {
    opts.validate()?;
    let slo = RuleFile {
        groups: slo::groups(opts),
    };
    let mut red_groups = red::groups(opts);
    red_groups.push(messaging::group(opts));
    red_groups.push(datastore::group(opts));
    let red = RuleFile { groups: red_groups };
    let mut files = Vec::new();
    match opts.format {
        RuleFormat::Rules => {
            for (path, rules) in [(SLO_RULES, &slo), (RED_RULES, &red)] {
                files.push(yaml_file(path, rules)?);
            }
            for test in promtool::files(opts, &slo, &red)? {
                files.push(yaml_file(&test.path, &test.file)?);
            }
            files.push(yaml_file(INHIBIT, &inhibit::file())?);
        }
        RuleFormat::PrometheusRule => {
            for (name, rules) in [("obskit-slo", slo), ("obskit-red", red)] {
                let path = PathBuf::from(format!("{DEPLOY_DIR}/{name}.prometheusrule.yml"));
                let rule = PrometheusRule::new(name, rules);
                let contents =
                    yaml::to_yaml_refreshed_by(&path, &rule, &yaml::Refresh::PROMETHEUS_RULES)?;
                files.push(GeneratedFile { path, contents });
            }
        }
    }
    Ok(files)
}

fn yaml_file<T: serde::Serialize>(path: &str, value: &T) -> Result<GeneratedFile, Error> {
    let path = PathBuf::from(path);
    let contents = yaml::to_yaml(&path, value)?;
    Ok(GeneratedFile { path, contents })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_and_format_round_trip_through_strings() {
        for p in [Period::Days28, Period::Days30] {
            assert_eq!(p.to_string().parse::<Period>().unwrap(), p);
        }
        for f in [RuleFormat::Rules, RuleFormat::PrometheusRule] {
            assert_eq!(f.to_string().parse::<RuleFormat>().unwrap(), f);
        }
        assert_eq!(Period::default(), Period::Days30);
        let err = "7d".parse::<Period>().unwrap_err().to_string();
        assert_eq!(err, "invalid period `7d`: expected `28d` or `30d`");
        let err = "yaml".parse::<RuleFormat>().unwrap_err().to_string();
        assert!(err.contains("`rules` or `prometheus-rule`"), "{err}");
    }

    #[test]
    fn rejects_base_urls_that_would_break_templates() {
        for bad in ["", "/", "http://x/{{ y }}", "http://a b"] {
            let opts = AlertOptions {
                runbook_base_url: bad.to_owned(),
                ..AlertOptions::default()
            };
            let err = render(&opts).unwrap_err().to_string();
            assert!(err.starts_with("invalid runbook_base_url"), "{err}");
        }
    }

    #[test]
    fn formats_emit_their_files() {
        let plain: Vec<_> = render(&AlertOptions::default())
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect();
        assert!(plain.contains(&PathBuf::from(SLO_RULES)));
        assert!(plain.contains(&PathBuf::from(INHIBIT)));
        assert!(plain.iter().any(|p| p.starts_with("alerts/tests")));
        let operator = AlertOptions {
            format: RuleFormat::PrometheusRule,
            ..AlertOptions::default()
        };
        let files = render(&operator).unwrap();
        let paths: Vec<_> = files.iter().map(|f| f.path.to_str().unwrap()).collect();
        assert_eq!(
            paths,
            [
                "deploy/obskit-slo.prometheusrule.yml",
                "deploy/obskit-red.prometheusrule.yml"
            ]
        );
        assert!(files[0].contents.contains("kind: PrometheusRule"));
    }
}
