//! `obskit alerts`: the stock Prometheus rules from obskit-artifacts, for the chosen SLO
//! period and file format, written under a directory or printed.

use std::io::Write;

use anyhow::Context as _;
use obskit_artifacts::alerts::{self, AlertOptions};

use crate::cli::AlertsArgs;
use crate::cmd::output;

/// Runs `obskit alerts`.
pub(crate) fn run(args: &AlertsArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let options = AlertOptions {
        period: args.period.parse()?,
        format: args.format.parse()?,
        runbook_base_url: args.runbook_url.clone(),
        dashboard_base_url: args.grafana_url.clone(),
    };
    let files = alerts::render(&options).context("could not generate the alert rules")?;
    output::emit(&files, args.out.as_deref(), out)
}
