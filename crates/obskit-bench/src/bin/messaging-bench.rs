//! What obskit adds to publishing and processing a message on RabbitMQ:
//! the process's CPU time (user + system, every thread: lapin's I/O loop
//! and obskit's exporter included) for N publishes with publisher confirms,
//! then for consuming and acknowledging the same N messages, with plain
//! lapin or through `obskit::messaging::rabbitmq`. `bench/messaging.sh`
//! runs it for each mode against the broker on 127.0.0.1:5672, with the
//! spans exported to an `otlp-sink` of its own.
//!
//! Run with `messaging-bench --mode obskit --messages 20000` (`OTEL_*` from
//! the environment). Prints one line: `mode=.. messages=.. publish_us=..
//! process_us=.. publish_allocs=.. process_allocs=.. publish_bytes=..
//! process_bytes=..` (CPU microseconds, heap allocations and bytes
//! allocated per message, every thread). `--phases publish` stops after
//! publishing (the queue is deleted with what it holds): `bench/count.sh`
//! counts instructions and syscalls of whole runs, and tells the two
//! phases apart by running both ways.

use std::alloc::System;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Parser, ValueEnum};
use futures_util::StreamExt as _;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use obskit::messaging::Messaging;
use obskit::messaging::rabbitmq::{Consumer, Publisher, SYSTEM};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, Stats, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// lapin alone.
    Plain,
    /// lapin through obskit's adapter, telemetry from `OTEL_*`.
    Obskit,
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
    #[arg(long, value_enum, default_value_t = Phases::Both)]
    phases: Phases,
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
    let messaging = telemetry.as_ref().map(|t| Messaging::new(t, SYSTEM));
    let connection = Connection::connect(&args.amqp, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    channel.basic_qos(100, BasicQosOptions::default()).await?;
    let queue = format!("obskit-bench-{:016x}", std::process::id());
    let mut expires = FieldTable::default();
    expires.insert("x-expires".into(), AMQPValue::LongInt(600_000));
    channel
        .queue_declare(
            queue.clone().into(),
            QueueDeclareOptions::default(),
            expires,
        )
        .await?;
    let publisher = messaging
        .as_ref()
        .map(|m| Publisher::new(m, channel.clone()));

    let publish = |n: u64| {
        let (channel, publisher, queue) = (channel.clone(), publisher.clone(), queue.clone());
        async move {
            for _ in 0..n {
                let payload = b"{\"order\":42}";
                let confirmation = match &publisher {
                    Some(p) => {
                        p.publish(
                            "",
                            &queue,
                            BasicPublishOptions::default(),
                            payload,
                            BasicProperties::default(),
                        )
                        .await?
                    }
                    None => {
                        channel
                            .basic_publish(
                                "".into(),
                                queue.clone().into(),
                                BasicPublishOptions::default(),
                                payload,
                                BasicProperties::default(),
                            )
                            .await?
                            .await?
                    }
                };
                if !confirmation.is_ack() {
                    bail!("the broker refused a message");
                }
            }
            anyhow::Ok(())
        }
    };
    let deliveries = channel
        .basic_consume(
            queue.clone().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let mut plain = None;
    let mut wrapped = None;
    match &messaging {
        Some(m) => wrapped = Some(Consumer::new(m, &queue, deliveries)),
        None => plain = Some(deliveries),
    }
    let mut consume = async |n: u64| -> anyhow::Result<()> {
        for _ in 0..n {
            if let Some(c) = wrapped.as_mut() {
                let m = c.next().await.context("consumer ended")??;
                m.ack().await?;
            } else if let Some(c) = plain.as_mut() {
                let d = c.next().await.context("consumer ended")??;
                d.ack(BasicAckOptions::default()).await?;
            }
        }
        Ok(())
    };

    publish(args.warmup).await?;
    consume(args.warmup).await?;
    let t0 = cpu_micros()?;
    let region = Region::new(GLOBAL);
    publish(args.messages).await?;
    let published = region.change();
    let t1 = cpu_micros()?;
    let region = Region::new(GLOBAL);
    if args.phases == Phases::Both {
        consume(args.messages).await?;
    }
    let processed = region.change();
    let t2 = cpu_micros()?;
    channel
        .queue_delete(queue.clone().into(), QueueDeleteOptions::default())
        .await?;
    if let Some(t) = telemetry {
        let report = t.shutdown().await;
        if report.spans_dropped > 0 {
            bail!("{} spans dropped", report.spans_dropped);
        }
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
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
