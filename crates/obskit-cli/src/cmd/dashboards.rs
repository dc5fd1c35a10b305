//! `obskit dashboards`: the stock Grafana dashboards from obskit-artifacts, as JSON files to
//! import or as ConfigMaps for Grafana's sidecar, written under a directory or printed.

use std::io::Write;

use anyhow::Context as _;

use crate::cli::DashboardsArgs;
use crate::cmd::output;

/// Runs `obskit dashboards`.
pub(crate) fn run(args: &DashboardsArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let files = match args.format.as_str() {
        "configmap" => obskit_artifacts::kubernetes::grafana_configmaps(),
        _ => obskit_artifacts::dashboards::render(),
    }
    .context("could not generate the dashboards")?;
    output::emit(&files, args.out.as_deref(), out)
}
