//! A stand-alone counting OTLP/HTTP endpoint for `bench/run.sh`: the
//! benchmark servers export their spans here, and it prints how many it
//! received when it gets SIGTERM or Ctrl-C.
//!
//! Run with `otlp-sink --port 14318`, then `curl 127.0.0.1:14318/stats`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use obskit_bench::sink::{self, Counts};

/// Counting OTLP/HTTP trace sink: accepts POST /v1/traces, decodes, counts, forgets.
#[derive(Debug, Parser)]
struct Args {
    /// Port on 127.0.0.1 to listen on.
    #[arg(long, default_value_t = 4318)]
    port: u16,
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("otlp-sink: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
        let counts = Arc::new(Counts::default());
        sink::serve(listener, Arc::clone(&counts), termination())
            .await
            .context("the sink's HTTP server failed")?;
        Ok(counts.line())
    })
}

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
