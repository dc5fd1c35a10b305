//! Counts what a request costs that does not depend on the CPU: heap
//! allocations and bytes per request, for one stack and one route, driven
//! in-process (no sockets) so the figures are the instrumentation's and the
//! router's alone. `bench/count.sh` runs it under `valgrind --tool=callgrind`
//! and `perf stat` twice (N and 2N requests) to get instructions, syscalls
//! and context switches per request as differences, free of start-up costs.
//!
//! Run with `per-request --stack obskit --path /orders/42 --requests 20000 --otlp http://127.0.0.1:14318`.
//! Prints one line: `stack=.. path=.. requests=.. allocs_per_req=.. bytes_per_req=..`.
//! With `--protocol grpc` it makes unary calls to `obskit.test.v1.Echo/Unary`
//! instead (plain tonic or behind `GrpcLayer`; `--path` is ignored).

use std::alloc::System;
use std::process::ExitCode;

use anyhow::{Context as _, ensure};
use axum::body::Body;
use clap::Parser;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use obskit_bench::stacks::{self, Stack};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, Stats, StatsAlloc};
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
    /// HTTP requests to the routes, or unary gRPC calls.
    #[arg(long, value_enum, default_value = "http")]
    protocol: Protocol,
    /// A `traceparent` every request carries (a caller that traces), e.g.
    /// `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`; none by default.
    #[arg(long)]
    traceparent: Option<String>,
}

impl Args {
    /// A request of `builder`, with the `traceparent` asked for.
    fn traced(&self, builder: http::request::Builder) -> http::request::Builder {
        match &self.traceparent {
            Some(value) => builder.header("traceparent", value.as_str()),
            None => builder,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Protocol {
    Http,
    Grpc,
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

/// The gRPC method the `--protocol grpc` rows call.
const UNARY: &str = "/obskit.test.v1.Echo/Unary";

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn run(args: &Args) -> anyhow::Result<()> {
    ensure!(args.requests > 0, "--requests must be at least 1");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let ((report, stats), path) = match args.protocol {
        Protocol::Http => (http(args, &runtime)?, args.path.as_str()),
        Protocol::Grpc => (grpc(args, &runtime)?, UNARY),
    };
    drop(runtime);
    #[allow(clippy::cast_precision_loss)]
    let per = |v: usize| v as f64 / args.requests as f64;
    println!(
        "stack={} path={} requests={} allocs_per_req={:.2} bytes_per_req={:.0} reallocs_per_req={:.2}",
        args.stack.name(),
        path,
        args.requests,
        per(stats.allocations),
        per(stats.bytes_allocated),
        per(stats.reallocations),
    );
    eprintln!("per-request: {report}");
    Ok(())
}

/// Drives `--requests` GETs of `--path` (after the warm-up) and flushes the
/// telemetry they made; returns the shutdown report and the allocations.
fn http(args: &Args, runtime: &tokio::runtime::Runtime) -> anyhow::Result<(String, Stats)> {
    let built = stacks::build(args.stack, &args.otlp, runtime)?;
    // Finalized as `axum::serve` finalizes it (`into_make_service` calls
    // `with_state`): each route, with its layers, is built once, not again
    // for every request.
    let router = built.router().clone().with_state(());
    let drive = |n: u64| {
        runtime.block_on(async {
            for _ in 0..n {
                let response = router
                    .clone()
                    .oneshot(
                        args.traced(Request::get(args.path.as_str()))
                            .body(Body::empty())?,
                    )
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
    Ok((report, region.change()))
}

/// Drives `--requests` unary calls (after the warm-up) as a tonic client
/// frames them, each answer read to its trailers, then flushes.
fn grpc(args: &Args, runtime: &tokio::runtime::Runtime) -> anyhow::Result<(String, Stats)> {
    use prost::Message as _;

    let (service, built) = stacks::grpc(args.stack, &args.otlp)?;
    let message = obskit_grpc_testing::EchoRequest {
        message: "bench".into(),
        ..Default::default()
    }
    .encode_to_vec();
    let mut framed = Vec::with_capacity(5 + message.len());
    framed.push(0);
    framed.extend_from_slice(&u32::try_from(message.len())?.to_be_bytes());
    framed.extend_from_slice(&message);
    let framed = bytes::Bytes::from(framed);
    let drive = |n: u64| {
        runtime.block_on(async {
            for _ in 0..n {
                let request = args
                    .traced(Request::post(UNARY))
                    .header(http::header::CONTENT_TYPE, "application/grpc")
                    .header(http::header::TE, "trailers")
                    .body(tonic::body::Body::new(http_body_util::Full::new(
                        framed.clone(),
                    )))?;
                let response = service.clone().oneshot(request).await?;
                ensure!(
                    response.status() == StatusCode::OK,
                    "the call answered HTTP {}",
                    response.status()
                );
                let answer = response
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| anyhow::anyhow!("the answer's body failed: {e}"))?;
                let status = answer
                    .trailers()
                    .and_then(|t| t.get("grpc-status"))
                    .map(http::HeaderValue::as_bytes);
                ensure!(
                    status == Some(b"0"),
                    "the call answered grpc-status {status:?}"
                );
                std::hint::black_box(answer.to_bytes());
            }
            Ok::<_, anyhow::Error>(())
        })
    };
    drive(args.warmup)?;
    let region = Region::new(GLOBAL);
    drive(args.requests)?;
    drop(service);
    let report = built.finish();
    Ok((report, region.change()))
}
