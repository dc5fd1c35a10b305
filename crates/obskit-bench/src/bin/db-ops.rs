//! What obskit adds to a database query and a Redis command, in CPU time of
//! the client process (all threads: the caller, the driver, span export),
//! against the plain client in the same run. The servers are the local
//! PostgreSQL and Redis; their own CPU is not counted.
//!
//! Run with `db-ops --system postgres --ops 20000 --rounds 3 --otlp http://127.0.0.1:14319`
//! (`bench/db.sh` starts the OTLP sink and runs both systems). Prints one
//! line per mode: `system=.. mode=.. cpu_us_per_op=.. wall_us_per_op=..`,
//! the medians over the rounds, the modes interleaved within each round.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use clap::{Parser, ValueEnum};
use obskit::Telemetry;
use redis::AsyncCommands as _;

/// Which client is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum System {
    /// `SELECT $1::int4` through a sqlx `PgPool` of 4 connections.
    Postgres,
    /// `GET key` through a redis-rs `ConnectionManager`.
    Redis,
}

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, value_enum)]
    system: System,
    /// Operations measured per mode and round.
    #[arg(long, default_value_t = 20_000)]
    ops: u32,
    /// Operations made first in each mode and round, not measured.
    #[arg(long, default_value_t = 1_000)]
    warmup: u32,
    /// Rounds; each runs every mode once.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Base OTLP/HTTP endpoint the sampled mode exports to.
    #[arg(long, default_value = "http://127.0.0.1:4318")]
    otlp: String,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    postgres: String,
    #[arg(long, default_value = "redis://127.0.0.1:6379/0")]
    redis: String,
    /// The modes to run, comma-separated (`bench/db.sh` runs one at a time
    /// under callgrind to count instructions).
    #[arg(long, value_delimiter = ',', default_values_t = MODES.map(String::from))]
    modes: Vec<String>,
}

const MODES: [&str; 3] = ["plain", "obskit", "obskit-unsampled"];

#[allow(clippy::print_stderr)]
fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("db-ops: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Telemetry for one mode, installed nowhere; log lines go nowhere.
fn telemetry(otlp: &str, sampled: bool) -> anyhow::Result<Telemetry> {
    let vars: HashMap<&str, String> = HashMap::from([
        ("OTEL_SERVICE_NAME", "db-ops".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.to_owned()),
        (
            "OTEL_TRACES_SAMPLER",
            if sampled { "always_on" } else { "always_off" }.to_owned(),
        ),
        // Every span of a run fits the queue: a dropped span would make the
        // export look cheaper than it is.
        ("OTEL_BSP_MAX_QUEUE_SIZE", "200000".to_owned()),
    ]);
    let (telemetry, _layer) =
        obskit::Config::from_env_with(|k| vars.get(k).cloned())?
            .build_layer_with_writer::<obskit::tracing_subscriber::Registry>(std::io::sink())?;
    Ok(telemetry)
}

/// CPU time of the whole process (every thread), user and system.
fn cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[allow(clippy::print_stdout)]
fn run(args: &Args) -> anyhow::Result<()> {
    ensure!(
        args.ops > 0 && args.rounds > 0,
        "--ops and --rounds must be at least 1"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let sampled = telemetry(&args.otlp, true)?;
    let unsampled = telemetry(&args.otlp, false)?;
    let mut cpu_us: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut wall_us: HashMap<&str, Vec<f64>> = HashMap::new();
    let system = match args.system {
        System::Postgres => "postgres",
        System::Redis => "redis",
    };
    runtime.block_on(async {
        match args.system {
            System::Postgres => {
                let connect = || {
                    sqlx::postgres::PgPoolOptions::new()
                        .max_connections(4)
                        .connect(&args.postgres)
                };
                let plain = connect().await.context("connect to PostgreSQL")?;
                let on = obskit::db::postgres::Pool::builder(&sampled, connect().await?).build()?;
                let off =
                    obskit::db::postgres::Pool::builder(&unsampled, connect().await?).build()?;
                measure(args, &mut cpu_us, &mut wall_us, async |mode, i| {
                    let q = sqlx::query_scalar::<_, i32>("SELECT $1::int4").bind(1_i32);
                    let v: i32 = match mode {
                        "plain" => q.fetch_one(&plain).await?,
                        "obskit" => q.fetch_one(&on).await?,
                        _ => q.fetch_one(&off).await?,
                    };
                    ensure!(v == 1, "operation {i} answered {v}");
                    Ok(())
                })
                .await?;
            }
            System::Redis => {
                let connect = || async {
                    let client = redis::Client::open(args.redis.as_str())?;
                    Ok::<_, anyhow::Error>(redis::aio::ConnectionManager::new(client).await?)
                };
                let mut plain = connect().await.context("connect to Redis")?;
                let mut on = obskit::db::redis::Connection::new(&sampled, connect().await?)?;
                let mut off = obskit::db::redis::Connection::new(&unsampled, connect().await?)?;
                let key = format!("obskit-bench:{}", std::process::id());
                let () = plain.set(&key, 1).await?;
                measure(args, &mut cpu_us, &mut wall_us, async |mode, i| {
                    let v: i64 = match mode {
                        "plain" => plain.get(&key).await?,
                        "obskit" => on.get(&key).await?,
                        _ => off.get(&key).await?,
                    };
                    ensure!(v == 1, "operation {i} answered {v}");
                    Ok(())
                })
                .await?;
                let () = plain.del(&key).await?;
            }
        }
        Ok::<_, anyhow::Error>(())
    })?;
    // Flush what the sampled mode made; a lost span would undercount it.
    let report = sampled.shutdown_blocking();
    ensure!(report.spans_dropped == 0, "spans were dropped: {report:?}");
    let _ = unsampled.shutdown_blocking();
    let base = cpu_us.get("plain").map_or(0.0, |v| median(v.clone()));
    for mode in modes(args) {
        let c = median(cpu_us[mode].clone());
        println!(
            "system={system} mode={mode} cpu_us_per_op={c:.2} added_cpu_us_per_op={:+.2} wall_us_per_op={:.2}",
            c - base,
            median(wall_us[mode].clone()),
        );
    }
    Ok(())
}

/// The modes asked for, in their fixed order.
fn modes(args: &Args) -> impl Iterator<Item = &'static str> + '_ {
    MODES
        .into_iter()
        .filter(|m| args.modes.iter().any(|a| a == m))
}

/// Runs every round, each mode once in each, the modes interleaved: `once(mode, i)` made
/// `--warmup` times unmeasured, then `--ops` times measured, and the CPU and wall time per
/// operation recorded for the mode.
async fn measure(
    args: &Args,
    cpu_us: &mut HashMap<&'static str, Vec<f64>>,
    wall_us: &mut HashMap<&'static str, Vec<f64>>,
    mut once: impl AsyncFnMut(&'static str, u32) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let per = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(args.ops);
    for _ in 0..args.rounds {
        for mode in modes(args) {
            for i in 0..args.warmup {
                once(mode, i).await?;
            }
            let (c, w) = (cpu(), Instant::now());
            for i in 0..args.ops {
                once(mode, i).await?;
            }
            cpu_us.entry(mode).or_default().push(per(cpu() - c));
            wall_us.entry(mode).or_default().push(per(w.elapsed()));
        }
    }
    Ok(())
}
