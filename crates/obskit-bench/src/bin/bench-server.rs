//! The benchmark server: the same routes ([`obskit_bench::app::routes`]) on
//! one of four stacks ([`obskit_bench::stacks`]), so `bench/run.sh` can load
//! each with `wrk` and compare what the instrumentation costs.
//!
//! Run with `bench-server --stack obskit --port 18080 --otlp http://127.0.0.1:14318`.
//! It serves until SIGTERM or Ctrl-C, then flushes its telemetry and exits.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use obskit_bench::stacks::{self, Built, Stack};

/// Serves GET /hello, GET /users/{id}, GET /orders/{id} and POST /echo on the chosen stack.
#[derive(Debug, Parser)]
struct Args {
    /// Which instrumentation to put around the routes.
    #[arg(long, value_enum)]
    stack: Stack,
    /// Port on 127.0.0.1 to listen on.
    #[arg(long, default_value_t = 18080)]
    port: u16,
    /// Base OTLP/HTTP endpoint; spans go to `<url>/v1/traces` (ignored by `plain`).
    #[arg(long, default_value = "http://127.0.0.1:4318")]
    otlp: String,
}

#[allow(clippy::print_stderr)]
fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Serves until SIGTERM, then flushes and reports what was exported.
#[allow(clippy::print_stderr)]
fn run(args: &Args) -> anyhow::Result<()> {
    // tokio's default multi-threaded runtime, which gets one worker when the
    // process is pinned to one core.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let built = stacks::build(args.stack, &args.otlp, &runtime)?;
    let workers = runtime.metrics().num_workers();
    let built = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
            .await
            .with_context(|| {
                format!(
                    "cannot listen on 127.0.0.1:{}; is another server still running?",
                    args.port
                )
            })?;
        eprintln!(
            "bench-server: stack={} listening on 127.0.0.1:{} with {workers} tokio worker(s)",
            args.stack.name(),
            args.port
        );
        match built {
            // obskit serves as its README says: obskit::Server, graceful.
            Built::Obskit { router, telemetry } => {
                let report = obskit::Server::new(listener, router, telemetry)
                    .drain_delay(Duration::ZERO)
                    .shutdown_signal(termination())
                    .run()
                    .await
                    .context("the HTTP server failed")?;
                eprintln!(
                    "bench-server: obskit shut down: spans_exported={} spans_dropped={} log_lines_dropped={} timed_out={}",
                    report.spans_exported,
                    report.spans_dropped,
                    report.log_lines_dropped,
                    report.timed_out
                );
                Ok(None)
            }
            built => {
                axum::serve(listener, built.router().clone())
                    .with_graceful_shutdown(termination())
                    .await
                    .context("the HTTP server failed")?;
                Ok::<_, anyhow::Error>(Some(built))
            }
        }
    })?;
    drop(runtime);
    if let Some(built) = built {
        eprintln!("bench-server: {}", built.finish());
    }
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C.
async fn termination() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
}
