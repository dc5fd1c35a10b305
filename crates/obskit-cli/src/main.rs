//! `obskit`: generate axum services instrumented with obskit, and write the stock
//! Prometheus alert rules and Grafana dashboards.
//!
//! `main` parses the arguments, runs the command, and prints any error once, on one
//! line, with its cause chain. Exit codes: 0 success, 1 failure, 2 usage error; `obskit dev`
//! ends with the code of the command it ran.

mod cli;
mod cmd;

use std::io::{self, Write as _};
use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version go to stdout with code 0; usage errors to stderr with code 2.
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
    };
    match run(cli) {
        Ok(code) => code,
        // `obskit alerts | head`: the reader left, which is not a failure.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(io::stderr().lock(), "{}", error_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// Runs the chosen subcommand, reporting on stdout; `obskit dev` ends with its command's code.
fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut out = io::stdout().lock();
    match cli.command {
        Command::New(args) => cmd::new::run(&args, &mut out),
        Command::Alerts(args) => cmd::alerts::run(&args, &mut out),
        Command::Dashboards(args) => cmd::dashboards::run(&args, &mut out),
        #[cfg(feature = "dev")]
        Command::Dev(args) => {
            drop(out);
            return cmd::dev::run(args);
        }
    }?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `error: <what failed>: caused by <why>: caused by <why>`, on one line.
fn error_line(err: &anyhow::Error) -> String {
    let one_line = |message: String| message.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut line = format!("error: {}", one_line(err.to_string()));
    for cause in err.chain().skip(1) {
        line.push_str(": caused by ");
        line.push_str(&one_line(cause.to_string()));
    }
    line
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|cause| cause.downcast_ref::<io::Error>())
        .any(|io| io.kind() == io::ErrorKind::BrokenPipe)
}

#[cfg(test)]
mod tests {
    use anyhow::Context as _;

    use super::*;

    #[test]
    fn errors_print_on_one_line_with_their_causes() {
        let err = Err::<(), _>(io::Error::other("disk full\n  (device 3)"))
            .context("could not write `x`")
            .context("could not create `svc`")
            .unwrap_err();
        assert_eq!(
            error_line(&err),
            "error: could not create `svc`: caused by could not write `x`: caused by disk full (device 3)"
        );
    }

    #[test]
    fn a_closed_pipe_is_recognised_through_context() {
        let err = Err::<(), _>(io::Error::from(io::ErrorKind::BrokenPipe))
            .context("writing")
            .unwrap_err();
        assert!(is_broken_pipe(&err));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }
}
