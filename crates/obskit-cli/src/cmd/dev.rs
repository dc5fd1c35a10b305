//! `obskit dev`: turns the arguments into a session's options and runs it on a tokio runtime.

use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::process::ExitStatusExt as _;
use std::process::{ExitCode, ExitStatus};

use anyhow::Context as _;
use obskit_dev::child::Passthrough;
use obskit_dev::servers::Ports;
use obskit_dev::store::Limits;
use obskit_dev::{self as dev, Options};

use crate::cli::DevArgs;

/// Port of the service's /metrics when neither a flag nor `PORT` says (the template's default).
const DEFAULT_SERVICE_PORT: u16 = 8080;

/// Runs `obskit dev` until Ctrl-C or SIGTERM; returns the exit code: the command's own when
/// one ran (128 + the signal's number when a signal ended it), else 0.
pub(crate) fn run(args: DevArgs) -> anyhow::Result<ExitCode> {
    let options = options(args, std::env::var("PORT").ok().as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("obskit-dev")
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let status = runtime.block_on(dev::run(options))?;
    Ok(ExitCode::from(status.map_or(0, exit_code)))
}

/// The code a shell would report for `status`.
fn exit_code(status: ExitStatus) -> u8 {
    let code = status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(1);
    // Codes outside 0..=255 wrap like a shell's `$?`; a failure never reads as 0.
    match u8::try_from(code & 0xff) {
        Ok(0) if code != 0 => 1,
        Ok(code) => code,
        Err(_) => 1,
    }
}

/// The session's options; `port_env` is the value of `PORT`, if set.
fn options(args: DevArgs, port_env: Option<&str>) -> anyhow::Result<Options> {
    let metrics_url = match (&args.metrics_url, args.metrics_port) {
        (Some(url), _) => Some(url.clone()),
        (None, Some(port)) => Some(metrics_url(port)),
        (None, None) if !args.command.is_empty() => {
            let port = match port_env {
                Some(text) => text.trim().parse().with_context(|| {
                    format!("PORT is `{text}`, not a port number; set it to one such as 8080, or pass --metrics-port")
                })?,
                None => DEFAULT_SERVICE_PORT,
            };
            Some(metrics_url(port))
        }
        (None, None) => None,
    };
    let address = if args.listen_all {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        args.address
    };
    let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    Ok(Options {
        ports: Ports {
            address,
            grpc: args.grpc_port,
            http: args.http_port,
            ui: args.ui_port,
        },
        limits: Limits {
            traces: count(args.max_traces),
            spans_per_trace: count(args.max_spans_per_trace),
            log_lines: count(args.max_log_lines),
            memory_bytes: count(args.max_memory_mib.saturating_mul(1024 * 1024)),
            attribute_value_bytes: count(args.max_attribute_bytes),
            ..Limits::default()
        },
        command: args.command,
        protocol: args.protocol,
        passthrough: match args.logs.as_str() {
            "raw" => Passthrough::Raw,
            "none" => Passthrough::Quiet,
            _ => Passthrough::Pretty,
        },
        metrics_url,
        scrape_interval: args.scrape_interval,
        grace: args.grace,
    })
}

fn metrics_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/metrics")
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::{Cli, Command};

    fn dev_args(args: &[&str]) -> DevArgs {
        let mut argv = vec!["obskit", "dev"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Dev(args) => args,
            other => panic!("not dev: {other:?}"),
        }
    }

    #[test]
    fn the_metrics_port_comes_from_the_flag_then_port_then_8080() {
        let url = |args: &[&str], env| options(dev_args(args), env).unwrap().metrics_url;
        assert_eq!(
            url(&["--", "svc"], None).as_deref(),
            Some("http://127.0.0.1:8080/metrics")
        );
        assert_eq!(
            url(&["--", "svc"], Some("3000")).as_deref(),
            Some("http://127.0.0.1:3000/metrics")
        );
        assert_eq!(
            url(&["--metrics-port", "9", "--", "svc"], Some("3000")).as_deref(),
            Some("http://127.0.0.1:9/metrics")
        );
        // Nothing to scrape without a command or a flag.
        assert_eq!(url(&[], Some("3000")), None);
        let err = options(dev_args(&["--", "svc"]), Some("http")).unwrap_err();
        assert!(err.to_string().contains("PORT is `http`"), "{err}");
    }

    #[test]
    fn the_exit_code_is_the_commands() {
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        // Killed by SIGKILL (9): 137, as a shell says.
        assert_eq!(exit_code(ExitStatus::from_raw(9)), 137);
    }

    #[test]
    fn listen_all_opens_every_interface() {
        let options = options(dev_args(&["--listen-all"]), None).unwrap();
        assert!(options.ports.address.is_unspecified());
        let local = super::options(dev_args(&[]), None).unwrap();
        assert!(local.ports.address.is_loopback());
    }
}
