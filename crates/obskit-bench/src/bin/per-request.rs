//! Counts what a request costs that does not depend on the CPU: heap
//! allocations and bytes per request, for one stack and one route, driven
//! in-process (no sockets) so the figures are the instrumentation's and the
//! router's alone. `bench/count.sh` runs it under `valgrind --tool=callgrind`
//! and `perf stat` twice (N and 2N requests) to get instructions, syscalls
//! and context switches per request as differences, free of start-up costs.
//!
//! Run with `per-request --stack obskit --path /orders/42 --requests 20000 --otlp http://127.0.0.1:14318`.
//! Prints one line: `stack=.. path=.. requests=.. allocs_per_req=.. bytes_per_req=..`.

use std::alloc::System;
use std::process::ExitCode;

use anyhow::{Context as _, ensure};
use axum::body::Body;
use clap::Parser;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use obskit_bench::stacks::{self, Stack};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tower::ServiceExt;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Drives N requests through one stack in-process and counts allocations.
#[derive(Debug, Parser)]
struct Args {
    /// Which instrumentation to put around the routes.
    #[arg(long, value_enum)]
    stack: Stack,
    /// The route requested (GET).
    #[arg(long, default_value = "/users/42")]
    path: String,
    /// Requests counted.
    #[arg(long, default_value_t = 20_000)]
    requests: u64,
    /// Requests made first and not counted (caches, interned routes, pools).
    #[arg(long, default_value_t = 2_000)]
    warmup: u64,
    /// Base OTLP/HTTP endpoint; spans go to `<url>/v1/traces` (ignored by `plain`).
    #[arg(long, default_value = "http://127.0.0.1:4318")]
    otlp: String,
}

#[allow(clippy::print_stderr)]
fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("per-request: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn run(args: &Args) -> anyhow::Result<()> {
    ensure!(args.requests > 0, "--requests must be at least 1");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let built = stacks::build(args.stack, &args.otlp, &runtime)?;
    let router = built.router().clone();
    let drive = |n: u64| {
        runtime.block_on(async {
            for _ in 0..n {
                let response = router
                    .clone()
                    .oneshot(Request::get(args.path.as_str()).body(Body::empty())?)
                    .await?;
                ensure!(
                    response.status() == StatusCode::OK,
                    "GET {} answered {}",
                    args.path,
                    response.status()
                );
                std::hint::black_box(response.into_body().collect().await?.to_bytes());
            }
            Ok::<_, anyhow::Error>(())
        })
    };
    drive(args.warmup)?;
    // Counted: the requests and, after them, the flush of the telemetry they
    // made (export and log writes happen on other threads, counted too).
    let region = Region::new(GLOBAL);
    drive(args.requests)?;
    drop(router);
    let report = built.finish();
    let stats = region.change();
    drop(runtime);
    #[allow(clippy::cast_precision_loss)]
    let per = |v: usize| v as f64 / args.requests as f64;
    println!(
        "stack={} path={} requests={} allocs_per_req={:.2} bytes_per_req={:.0} reallocs_per_req={:.2}",
        args.stack.name(),
        args.path,
        args.requests,
        per(stats.allocations),
        per(stats.bytes_allocated),
        per(stats.reallocations),
    );
    eprintln!("per-request: {report}");
    Ok(())
}
