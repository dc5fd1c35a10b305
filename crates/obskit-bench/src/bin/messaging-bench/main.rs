//! What obskit adds to publishing and processing a message on RabbitMQ or
//! NATS JetStream: the process's CPU time (user + system, every thread: the
//! client's I/O and obskit's exporter included) for N publishes, each
//! confirmed by the broker, then for consuming and acknowledging the same
//! N messages, with the plain client (lapin, async-nats) or through
//! `obskit::messaging::rabbitmq` / `obskit::messaging::nats`.
//! `bench/messaging.sh` runs it for each mode against the broker on
//! 127.0.0.1, with the spans exported to an `otlp-sink` of its own.
//!
//! Run with `messaging-bench --broker nats --mode obskit --messages 20000`
//! (`OTEL_*` from the environment). Prints one line: `mode=.. messages=..
//! publish_us=.. process_us=.. publish_allocs=.. process_allocs=..
//! publish_bytes=.. process_bytes=..` (CPU microseconds, heap allocations
//! and bytes allocated per message, every thread). `--phases publish` stops
//! after publishing (the queue or stream is deleted with what it holds):
//! `bench/count.sh` counts instructions and syscalls of whole runs, and
//! tells the two phases apart by running both ways.

mod nats;
mod rabbitmq;

use std::alloc::System;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Parser, ValueEnum};
use obskit::messaging::Messaging;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, Stats, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// The client alone.
    Plain,
    /// The client through obskit's adapter, telemetry from `OTEL_*`.
    Obskit,
}

/// The broker and its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Broker {
    /// RabbitMQ through lapin, with publisher confirms.
    Rabbitmq,
    /// NATS JetStream through async-nats, each publish acknowledged by the
    /// stream and each settlement by the server (double ack).
    Nats,
}

/// What a run does with the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Phases {
    /// Publish them, then consume and acknowledge them.
    Both,
    /// Publish them only.
    Publish,
}

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, value_enum, default_value_t = Broker::Rabbitmq)]
    broker: Broker,
    #[arg(long, value_enum)]
    mode: Mode,
    /// Messages measured.
    #[arg(long, default_value_t = 20_000)]
    messages: u64,
    /// Messages sent and processed first and not measured.
    #[arg(long, default_value_t = 2_000)]
    warmup: u64,
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    amqp: String,
    #[arg(long, default_value = "127.0.0.1:4222")]
    nats: String,
    #[arg(long, value_enum, default_value_t = Phases::Both)]
    phases: Phases,
}

/// The body of every message.
const PAYLOAD: &[u8] = b"{\"order\":42}";

/// One broker's side of the run: publish N, consume and acknowledge N,
/// then delete what the run made.
trait Bench {
    async fn publish(&mut self, n: u64) -> anyhow::Result<()>;
    async fn consume(&mut self, n: u64) -> anyhow::Result<()>;
    async fn delete(self) -> anyhow::Result<()>;
}

/// CPU time of the whole process so far (all threads), in microseconds.
fn cpu_micros() -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("read /proc/self/stat")?;
    // Fields after the command name, which ends with the last ')'.
    let rest = stat.rsplit_once(')').context("malformed stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15, the 12th and 13th after ')'.
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    let per_second = 100; // CLK_TCK on Linux
    Ok(ticks * 1_000_000 / per_second)
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    match runtime.block_on(run(args)) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("messaging-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<String> {
    let telemetry = match args.mode {
        Mode::Plain => None,
        Mode::Obskit => Some(obskit::Config::from_env()?.install()?),
    };
    let system = match args.broker {
        Broker::Rabbitmq => obskit::messaging::rabbitmq::SYSTEM,
        Broker::Nats => obskit::messaging::nats::SYSTEM,
    };
    let messaging = telemetry.as_ref().map(|t| Messaging::new(t, system));
    let line = match args.broker {
        Broker::Rabbitmq => {
            let bench = rabbitmq::Rabbitmq::start(&args.amqp, messaging.as_ref()).await?;
            measure(bench, &args).await?
        }
        Broker::Nats => {
            let bench = nats::Nats::start(&args.nats, messaging.as_ref()).await?;
            measure(bench, &args).await?
        }
    };
    if let Some(t) = telemetry {
        let report = t.shutdown().await;
        if report.spans_dropped > 0 {
            bail!("{} spans dropped", report.spans_dropped);
        }
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(line)
}

/// Warms up, then measures publishing and (with `--phases both`)
/// processing; the result line without the telemetry's shutdown.
async fn measure(mut bench: impl Bench, args: &Args) -> anyhow::Result<String> {
    bench.publish(args.warmup).await?;
    bench.consume(args.warmup).await?;
    let t0 = cpu_micros()?;
    let region = Region::new(GLOBAL);
    bench.publish(args.messages).await?;
    let published = region.change();
    let t1 = cpu_micros()?;
    let region = Region::new(GLOBAL);
    if args.phases == Phases::Both {
        bench.consume(args.messages).await?;
    }
    let processed = region.change();
    let t2 = cpu_micros()?;
    bench.delete().await?;
    #[allow(clippy::cast_precision_loss)]
    let per = |d: u64| d as f64 / args.messages as f64;
    let allocs = |s: &Stats| per(s.allocations as u64);
    let bytes = |s: &Stats| per(s.bytes_allocated as u64);
    Ok(format!(
        "mode={:?} messages={} publish_us={:.2} process_us={:.2} publish_allocs={:.2} process_allocs={:.2} publish_bytes={:.0} process_bytes={:.0}",
        args.mode,
        args.messages,
        per(t1 - t0),
        per(t2 - t1),
        allocs(&published),
        allocs(&processed),
        bytes(&published),
        bytes(&processed),
    ))
}
