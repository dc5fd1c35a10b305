//! The unary gRPC row of BENCHMARKS.md: the test service `obskit.test.v1.Echo`
//! served by plain tonic or behind obskit's `GrpcLayer`, and a load generator
//! (a tonic client loop: `ghz` is not in Debian), each run pinned to its own
//! core by `bench/grpc.sh`, which reads the server's CPU time from /proc.
//!
//! Run with `grpc-bench serve --stack obskit --port 18081 --otlp http://127.0.0.1:14318`
//! and `grpc-bench load --addr 127.0.0.1:18081 --seconds 10 --concurrency 32`.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use obskit::config::Sampler;
use obskit::grpc::GrpcLayer;
use obskit_grpc_testing::{EchoClient, EchoRequest, EchoService};

/// Serve the Echo service, or load it.
#[derive(Debug, Parser)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serves `obskit.test.v1.Echo` on 127.0.0.1 until SIGTERM.
    Serve {
        /// Plain tonic, or obskit with every span exported / none sampled.
        #[arg(long, value_enum)]
        stack: Stack,
        /// Port on 127.0.0.1.
        #[arg(long, default_value_t = 18081)]
        port: u16,
        /// Base OTLP/HTTP endpoint; spans go to `<url>/v1/traces` (ignored by `plain`).
        #[arg(long, default_value = "http://127.0.0.1:4318")]
        otlp: String,
    },
    /// Sends unary calls for `seconds` from `concurrency` tasks on one thread;
    /// prints `calls=<n> seconds=<s> errors=<n>`.
    Load {
        /// The server, `host:port`.
        #[arg(long)]
        addr: String,
        /// How long to send.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Calls in flight at once.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Stack {
    Plain,
    Obskit,
    ObskitUnsampled,
}

#[allow(clippy::print_stderr, clippy::print_stdout)]
fn main() -> ExitCode {
    let result = match Args::parse().command {
        Command::Serve { stack, port, otlp } => serve(stack, port, &otlp),
        Command::Load {
            addr,
            seconds,
            concurrency,
        } => load(&addr, seconds, concurrency).map(|line| println!("{line}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("grpc-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot build the tokio runtime")
}

async fn termination() {
    if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        term.recv().await;
    }
}

#[allow(clippy::print_stderr)]
fn serve(stack: Stack, port: u16, otlp: &str) -> anyhow::Result<()> {
    let runtime = runtime()?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let echo = EchoService::new().without_trace_id().server();
    match stack {
        Stack::Plain => runtime.block_on(async {
            eprintln!("grpc-bench: plain tonic on {addr}");
            tonic::transport::Server::builder()
                .add_service(echo)
                .serve_with_shutdown(addr, termination())
                .await
                .context("the gRPC server failed")
        }),
        Stack::Obskit | Stack::ObskitUnsampled => {
            let sampler = match stack {
                Stack::Obskit => Sampler::AlwaysOn,
                _ => Sampler::AlwaysOff,
            };
            let telemetry = obskit::Config::from_env()
                .context("the OTEL_*/OBSKIT_* environment is invalid")?
                .build_info(obskit::build_info!())
                .sampler(sampler)?
                .otlp_endpoint(&format!("{}/v1/traces", otlp.trim_end_matches('/')))?
                .install()
                .context("cannot install obskit")?;
            let report = runtime.block_on(async {
                let layer = GrpcLayer::new(&telemetry);
                eprintln!("grpc-bench: obskit ({stack:?}) on {addr}");
                tonic::transport::Server::builder()
                    .layer(layer)
                    .add_service(echo)
                    .serve_with_shutdown(addr, termination())
                    .await
                    .context("the gRPC server failed")?;
                Ok::<_, anyhow::Error>(telemetry.shutdown().await)
            })?;
            eprintln!(
                "grpc-bench: obskit shut down: spans_exported={} spans_dropped={} log_lines_dropped={}",
                report.spans_exported, report.spans_dropped, report.log_lines_dropped
            );
            Ok(())
        }
    }
}

fn load(addr: &str, seconds: f64, concurrency: usize) -> anyhow::Result<String> {
    let runtime = runtime()?;
    runtime.block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .context("the address")?
            .connect()
            .await
            .with_context(|| format!("cannot connect to {addr}"))?;
        let calls = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..concurrency.max(1) {
            let mut client = EchoClient::new(channel.clone());
            let (calls, errors, stop) = (calls.clone(), errors.clone(), stop.clone());
            tasks.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let request = EchoRequest {
                        message: "bench".into(),
                        ..EchoRequest::default()
                    };
                    match client.unary(request).await {
                        Ok(_) => calls.fetch_add(1, Ordering::Relaxed),
                        Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                    };
                }
            });
        }
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        stop.store(true, Ordering::Relaxed);
        while tasks.join_next().await.is_some() {}
        let elapsed = start.elapsed().as_secs_f64();
        Ok(format!(
            "calls={} seconds={elapsed:.3} errors={}",
            calls.load(Ordering::Relaxed),
            errors.load(Ordering::Relaxed)
        ))
    })
}
