//! Renders `/metrics` a given number of times, for counts that do not depend
//! on the CPU: `bench/count.sh` runs it under `valgrind --tool=callgrind`
//! with N and 2N renders and divides the difference by N, which leaves the
//! instructions of one render of the registry, free of start-up and of
//! filling it.
//!
//! The registry is the one the `exemplars` bench renders: `--series` sample
//! lines, half histogram and half counter lines, recorded inside a sampled
//! span so that every bucket and counter with an observation keeps an
//! exemplar.
//!
//! Run with `render-count --format openmetrics --series 10000 --renders 10`.
//! Prints one line: `format=.. series=.. renders=.. bytes=.. exemplars=..`.

use std::process::ExitCode;

use anyhow::ensure;
use clap::Parser;
use obskit::metrics::Format;
use obskit_bench::series::{populate, registry, remote_context};

/// Renders a filled registry `--renders` times in one format.
#[derive(Debug, Parser)]
struct Args {
    /// The exposition format rendered.
    #[arg(long, value_enum)]
    format: RenderFormat,
    /// Sample lines added to the registry.
    #[arg(long, default_value_t = 10_000)]
    series: usize,
    /// Renders counted.
    #[arg(long, default_value_t = 10)]
    renders: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum RenderFormat {
    /// The Prometheus text format (0.0.4).
    Prometheus,
    /// OpenMetrics 1.0 text, with exemplars.
    Openmetrics,
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("render-count: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<String> {
    ensure!(args.renders > 0, "--renders must be at least 1");
    ensure!(args.series > 0, "--series must be at least 1");
    let (_telemetry, handle) = registry();
    {
        let _sampled = remote_context(true).attach();
        populate(&handle, args.series);
    }
    let (format, name) = match args.format {
        RenderFormat::Prometheus => (Format::Prometheus, "prometheus"),
        RenderFormat::Openmetrics => (Format::OpenMetrics, "openmetrics"),
    };
    // What the `/metrics` route renders: bytes, not a checked `String`.
    let mut last = Vec::new();
    for _ in 0..args.renders {
        last = std::hint::black_box(handle.render_bytes(format));
    }
    let exemplar = b" # {trace_id=";
    Ok(format!(
        "format={name} series={} renders={} bytes={} exemplars={}",
        args.series,
        args.renders,
        last.len(),
        last.windows(exemplar.len())
            .filter(|w| w == exemplar)
            .count()
    ))
}
