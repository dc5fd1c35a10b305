//! The benchmark server: the same routes ([`obskit_bench::app::routes`]) on
//! one of four stacks, so `bench/run.sh` can load each with `wrk` and
//! compare what the instrumentation costs.
//!
//! Run with `bench-server --stack obskit --port 18080 --otlp http://127.0.0.1:14318`.
//! It serves until SIGTERM or Ctrl-C, then flushes its telemetry and exits.

mod obskit_stack;
mod plain;
mod popular;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};

/// Serves GET /hello, GET /users/{id} and POST /echo on the chosen stack.
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

/// The stacks compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Stack {
    /// axum alone.
    Plain,
    /// obskit fully on: JSON access log, RED and SLO metrics, every span sampled and exported.
    Obskit,
    /// obskit with every trace unsampled (`always_off`): logs and metrics only.
    ObskitUnsampled,
    /// tower-http TraceLayer, tracing-opentelemetry + OTLP batch exporter, axum-prometheus, JSON logs.
    Popular,
}

#[allow(clippy::print_stderr)]
fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.stack {
        Stack::Plain => plain::run(args.port),
        Stack::Obskit => obskit_stack::run(args.port, &args.otlp, true),
        Stack::ObskitUnsampled => obskit_stack::run(args.port, &args.otlp, false),
        Stack::Popular => popular::run(args.port, &args.otlp),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The runtime every stack serves on: tokio's default multi-threaded one,
/// which gets one worker when the process is pinned to one core.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")
}

/// Binds `127.0.0.1:port` and says so on standard error.
#[allow(clippy::print_stderr)]
async fn bind(
    port: u16,
    stack: &str,
    runtime_workers: usize,
) -> anyhow::Result<tokio::net::TcpListener> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| {
            format!("cannot listen on 127.0.0.1:{port}; is another server still running?")
        })?;
    eprintln!(
        "bench-server: stack={stack} listening on 127.0.0.1:{port} with {runtime_workers} tokio worker(s)"
    );
    Ok(listener)
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
