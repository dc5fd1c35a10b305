//! The command line of `obskit`, declared with clap's derive API: what each subcommand
//! takes, its help text and examples, and the checks that need only the argument text
//! (a bad name or version is a usage error, exit code 2).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use obskit_cli::name::ProjectName;

const EXAMPLES: &str = "\
Examples:
  obskit new payments                     create ./payments, a service depending on obskit 0.1
  obskit new payments --path services     create services/payments
  obskit new payments --obskit-path ../obskit/crates/obskit
                                          depend on a local obskit checkout
  obskit alerts --out .                   write ./alerts/*.rules.yml and their promtool tests
  obskit alerts --format prometheus-rule | kubectl apply -f -
  obskit dashboards --out .               write ./dashboards/*.json";

const NEW_EXAMPLES: &str = "\
Examples:
  obskit new payments
  obskit new payments --path services --obskit-version 0.1.2
  obskit new payments --obskit-path ../obskit/crates/obskit
  obskit new payments --force             write into an existing ./payments

Then: cd payments && cargo run, and curl localhost:8080/hello/world";

const ALERTS_EXAMPLES: &str = "\
Examples:
  obskit alerts --out .                   write ./alerts/obskit-{slo,red}.rules.yml, promtool
                                          tests and Alertmanager inhibit rules
  promtool test rules alerts/tests/*.yml  then check them
  obskit alerts --period 28d --grafana-url https://grafana.example.com --out .
  obskit alerts --format prometheus-rule | kubectl apply -n monitoring -f -";

const DASHBOARDS_EXAMPLES: &str = "\
Examples:
  obskit dashboards --out .               write ./dashboards/*.json, ready to import
  obskit dashboards | jq -r .title        list them";

/// Instrumented axum services, with the dashboards and alert rules that go with them.
#[derive(Debug, Parser)]
#[command(name = "obskit", version, after_help = EXAMPLES)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Generate a new axum service instrumented with obskit.
    ///
    /// The service comes with telemetry set up in one line, health probes, SLOs, graceful
    /// shutdown, tests, a Dockerfile, Kubernetes manifests, and copies of the stock
    /// dashboards and alert rules. The same template works with
    /// `cargo generate --git <obskit repository> template`.
    #[command(after_help = NEW_EXAMPLES)]
    New(NewArgs),

    /// Write the stock Prometheus alert rules: SLO burn-rate and RED alerts for every obskit
    /// service, with their promtool tests.
    ///
    /// The rules read each service's objectives from its own metrics, so one set serves
    /// every service and SLO. Without --out, the files are printed as one YAML stream.
    #[command(after_help = ALERTS_EXAMPLES)]
    Alerts(AlertsArgs),

    /// Write the stock Grafana dashboards (service overview and SLOs), which work for every
    /// obskit service. Without --out, they are printed as a stream of JSON documents.
    #[command(after_help = DASHBOARDS_EXAMPLES)]
    Dashboards(DashboardsArgs),
}

/// Arguments of `obskit new`.
#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// Name of the service: lowercase ASCII letters, digits, `-` or `_`, starting with a
    /// letter; not a Rust keyword or a reserved name such as `test` or `std`.
    #[arg(value_parser = ProjectName::parse)]
    pub(crate) name: ProjectName,

    /// Directory in which to create the project: it goes in DIR/<NAME>.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) path: PathBuf,

    /// Depend on a local obskit checkout (its crates/obskit directory) instead of a
    /// published version.
    #[arg(long, value_name = "PATH", conflicts_with = "obskit_version")]
    pub(crate) obskit_path: Option<PathBuf>,

    /// Version requirement for the obskit dependency [default: the template's, 0.1].
    #[arg(long, value_name = "V", value_parser = parse_version_req)]
    pub(crate) obskit_version: Option<String>,

    /// Write into DIR/<NAME> even if it exists and is not empty: files the template
    /// produces are replaced, other files are kept.
    #[arg(long)]
    pub(crate) force: bool,
}

/// Arguments of `obskit alerts`.
#[derive(Debug, Args)]
pub(crate) struct AlertsArgs {
    /// SLO period: the window over which error budgets are accounted.
    #[arg(long, value_name = "PERIOD", default_value = "30d", value_parser = ["28d", "30d"])]
    pub(crate) period: String,

    /// `rules`: Prometheus rule files, promtool tests and Alertmanager inhibit rules;
    /// `prometheus-rule`: Prometheus Operator PrometheusRule resources.
    #[arg(long, value_name = "FORMAT", default_value = "rules", value_parser = ["rules", "prometheus-rule"])]
    pub(crate) format: String,

    /// Base URL of your Grafana, for the dashboard links in alert annotations.
    #[arg(long, value_name = "URL", default_value = obskit_artifacts::alerts::DEFAULT_DASHBOARD_BASE_URL)]
    pub(crate) grafana_url: String,

    /// Base URL of the runbook pages the alerts link to (`<URL>/<AlertName>.md`).
    #[arg(long, value_name = "URL", default_value = obskit_artifacts::alerts::DEFAULT_RUNBOOK_BASE_URL)]
    pub(crate) runbook_url: String,

    /// Write the files under DIR (as DIR/alerts/...) instead of printing them; existing
    /// files of the same name are replaced, others are kept.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

/// Arguments of `obskit dashboards`.
#[derive(Debug, Args)]
pub(crate) struct DashboardsArgs {
    /// Write the files under DIR (as DIR/dashboards/...) instead of printing them;
    /// existing files of the same name are replaced, others are kept.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

/// Accepts what Cargo accepts as a version requirement (`0.1`, `^0.1.2`, `=0.1.0`).
fn parse_version_req(text: &str) -> Result<String, String> {
    semver::VersionReq::parse(text)
        .map(|_| text.to_owned())
        .map_err(|err| format!("`{text}` is not a Cargo version requirement ({err}); use one like `0.1` or `=0.1.2`"))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn version_requirements_are_checked() {
        assert_eq!(parse_version_req("0.1").unwrap(), "0.1");
        assert_eq!(parse_version_req(">=0.1, <0.3").unwrap(), ">=0.1, <0.3");
        let err = parse_version_req("0.1\"\n").unwrap_err();
        assert!(err.contains("is not a Cargo version requirement"), "{err}");
    }

    #[test]
    fn obskit_path_and_version_exclude_each_other() {
        let err = Cli::try_parse_from([
            "obskit",
            "new",
            "svc",
            "--obskit-path",
            "x",
            "--obskit-version",
            "0.1",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        assert_eq!(err.exit_code(), 2);
    }
}
