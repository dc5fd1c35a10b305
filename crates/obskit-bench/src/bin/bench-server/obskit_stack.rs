//! obskit as its README tells users to set it up: configuration from the
//! environment, the layer with two SLOs, the observability routes, and
//! `obskit::Server` for the graceful shutdown.

use std::time::Duration;

use anyhow::Context as _;
use obskit::config::Sampler;
use obskit::http::{ObskitLayer, observability_routes};
use obskit::slo::Slo;
use obskit_bench::app;

/// Serves until SIGTERM, then flushes and reports what was exported.
///
/// `sampled` picks `always_on` or `always_off` whatever
/// `OTEL_TRACES_SAMPLER` says, so a stray variable cannot change what a
/// stack measures.
#[allow(clippy::print_stderr)]
pub(crate) fn run(port: u16, otlp: &str, sampled: bool) -> anyhow::Result<()> {
    let sampler = if sampled {
        Sampler::AlwaysOn
    } else {
        Sampler::AlwaysOff
    };
    let telemetry = obskit::Config::from_env()
        .context("the OTEL_*/OBSKIT_* environment is invalid")?
        .build_info(obskit::build_info!())
        .sampler(sampler)?
        .otlp_endpoint(&format!("{}/v1/traces", otlp.trim_end_matches('/')))?
        .install()
        .context("cannot install obskit")?;
    let slos = [
        Slo::availability("availability", 0.999)?,
        Slo::latency("latency", Duration::from_millis(300), 0.99)?,
    ];
    let app = app::routes()
        .merge(observability_routes(&telemetry))
        .layer(ObskitLayer::new(&telemetry).slos(slos)?);

    let runtime = super::runtime()?;
    let workers = runtime.metrics().num_workers();
    let stack = if sampled {
        "obskit"
    } else {
        "obskit-unsampled"
    };
    let report = runtime.block_on(async {
        let listener = super::bind(port, stack, workers).await?;
        obskit::Server::new(listener, app, telemetry)
            .drain_delay(Duration::ZERO)
            .shutdown_signal(super::termination())
            .run()
            .await
            .context("the HTTP server failed")
    })?;
    eprintln!(
        "bench-server: obskit shut down: spans_exported={} spans_dropped={} log_lines_dropped={} timed_out={}",
        report.spans_exported, report.spans_dropped, report.log_lines_dropped, report.timed_out
    );
    Ok(())
}
