//! The baseline: the routes on axum with no instrumentation at all.

use anyhow::Context as _;
use obskit_bench::app;

/// Serves until SIGTERM.
pub(crate) fn run(port: u16) -> anyhow::Result<()> {
    let runtime = super::runtime()?;
    let workers = runtime.metrics().num_workers();
    runtime.block_on(async {
        let listener = super::bind(port, "plain", workers).await?;
        axum::serve(listener, app::routes())
            .with_graceful_shutdown(super::termination())
            .await
            .context("the HTTP server failed")
    })
}
