//! The viewer behind `obskit dev`: a local OTLP receiver and web UI that shows a service's
//! traces, logs and RED/SLO figures on one page, with no other infrastructure. The `obskit`
//! command parses the arguments into [`Options`] and calls [`run`]; everything else is here.
//!
//! A session ([`run`]) opens the listeners ([`servers`]), optionally runs the service as a
//! child ([`child`]) pointed at them, reads its log lines into the [`store`] and scrapes
//! its `/metrics` ([`scrape`]); the [`ui`] renders snapshots of the store. Ctrl-C or SIGTERM
//! stops the child gracefully first, so its last spans arrive, then the listeners.

pub mod child;
pub mod figures;
pub mod log_line;
pub mod model;
pub mod receiver;
pub mod refusals;
pub mod scrape;
pub mod servers;
pub mod store;
pub mod ui;

use std::io::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use child::Passthrough;
use scrape::ScrapeStatus;
use servers::{BindError, Ports, Servers};
use store::{Limits, Store};

/// Everything a session needs to know.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen.
    pub ports: Ports,
    /// How much to keep.
    pub limits: Limits,
    /// The command to run as the service (empty: receive only).
    pub command: Vec<String>,
    /// The OTLP protocol the child is told to use: `grpc`, `http/protobuf` or `http/json`.
    pub protocol: String,
    /// How the child's log lines appear on the terminal.
    pub passthrough: Passthrough,
    /// The `/metrics` URL to scrape, if any.
    pub metrics_url: Option<String>,
    /// Time between scrapes.
    pub scrape_interval: Duration,
    /// How long the child may take to exit after SIGTERM before it is killed.
    pub grace: Duration,
}

/// Why a session could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevError {
    /// A listener could not be opened.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// The command could not be started.
    #[error("could not start `{command}`: {source}; check the command after `--`")]
    Spawn {
        /// The command line.
        command: String,
        /// The system's reason.
        #[source]
        source: io::Error,
    },
    /// The signal handlers could not be installed.
    #[error("could not listen for Ctrl-C and SIGTERM: {0}")]
    Signals(#[source] io::Error),
}

/// Writes one status line of the viewer on stderr (stdout carries the service's lines).
fn say(text: &str) {
    let _ = writeln!(io::stderr().lock(), "obskit dev: {text}");
}

/// Runs a session until Ctrl-C or SIGTERM; returns the child's exit status, if one ran.
pub async fn run(options: Options) -> Result<Option<ExitStatus>, DevError> {
    let store = Arc::new(Store::with_refusals(
        options.limits,
        refusals::Refusals::default(),
    ));
    let scrape_status = Arc::new(ScrapeStatus::default());
    let since = scrape::now_unix_secs();
    let ui_state = ui::UiState {
        store: Arc::clone(&store),
        scrape_url: options.metrics_url.clone(),
        scrape_status: Arc::clone(&scrape_status),
        since,
    };
    let servers = Servers::start(options.ports, Arc::clone(&store), ui_state).await?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(DevError::Signals)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(DevError::Signals)?;

    // Where this machine reaches a listener: the bound address, or loopback for "every interface".
    let local = |bound: SocketAddr| {
        let ip = if bound.ip().is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            bound.ip()
        };
        format!("http://{}", SocketAddr::new(ip, bound.port()))
    };
    say(&format!("UI at {}/", local(servers.ui)));
    say(&format!(
        "OTLP receiver on {} (gRPC) and {} (HTTP: {}, {}, {}; protobuf or JSON, plain or gzip)",
        servers.grpc,
        servers.http,
        receiver::http::TRACES_PATH,
        receiver::http::LOGS_PATH,
        receiver::http::METRICS_PATH,
    ));
    let endpoint = match options.protocol.as_str() {
        "grpc" => local(servers.grpc),
        _ => local(servers.http),
    };

    let scraper = options.metrics_url.clone().map(|url| {
        tokio::spawn(scrape::run(
            url,
            options.scrape_interval,
            Arc::clone(&store),
            Arc::clone(&scrape_status),
        ))
    });

    let mut exit = None;
    if options.command.is_empty() {
        say("no command given: waiting for OTLP exports; Ctrl-C stops");
        wait_for_signal(&mut interrupt, &mut terminate).await;
    } else {
        let command_line = options.command.join(" ");
        let env = child::otel_env(&endpoint, &options.protocol);
        let mut process =
            child::spawn(&options.command, &env).map_err(|source| DevError::Spawn {
                command: command_line.clone(),
                source,
            })?;
        say(&format!(
            "running `{command_line}` with OTEL_EXPORTER_OTLP_ENDPOINT={endpoint} OTEL_EXPORTER_OTLP_PROTOCOL={}{}",
            options.protocol,
            options
                .metrics_url
                .as_deref()
                .map(|url| format!("; scraping {url} every {:?}", options.scrape_interval))
                .unwrap_or_default()
        ));
        let mut pumps = Vec::new();
        if let Some(stdout) = process.stdout.take() {
            pumps.push(tokio::spawn(child::pump(
                stdout,
                child::Stream::Stdout,
                Arc::clone(&store),
                options.passthrough,
            )));
        }
        if let Some(stderr) = process.stderr.take() {
            pumps.push(tokio::spawn(child::pump(
                stderr,
                child::Stream::Stderr,
                Arc::clone(&store),
                options.passthrough,
            )));
        }
        tokio::select! {
            status = process.wait() => {
                let status = status.ok();
                match status {
                    Some(status) => say(&format!("`{command_line}` exited ({status}); the UI stays up until Ctrl-C")),
                    None => say(&format!("lost track of `{command_line}`; the UI stays up until Ctrl-C")),
                }
                exit = status;
                wait_for_signal(&mut interrupt, &mut terminate).await;
            }
            () = wait_for_signal(&mut interrupt, &mut terminate) => {
                say(&format!(
                    "stopping `{command_line}` (SIGTERM, up to {:?}); Ctrl-C again to kill it",
                    options.grace
                ));
                let stopped = tokio::select! {
                    status = child::stop(&mut process, options.grace) => status.ok(),
                    () = wait_for_signal(&mut interrupt, &mut terminate) => {
                        let _ = process.start_kill();
                        process.wait().await.ok()
                    }
                };
                if let Some(status) = stopped {
                    say(&format!("`{command_line}` exited ({status})"));
                }
                exit = stopped;
            }
        }
        for pump in pumps {
            // The rest of its output: bounded, a grandchild may still hold the pipe open.
            let _ = tokio::time::timeout(Duration::from_secs(2), pump).await;
        }
    }
    if let Some(scraper) = scraper {
        scraper.abort();
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), servers.stop()).await;
    Ok(exit)
}

async fn wait_for_signal(
    interrupt: &mut tokio::signal::unix::Signal,
    terminate: &mut tokio::signal::unix::Signal,
) {
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
}
