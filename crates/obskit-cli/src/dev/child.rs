//! The service run as a child: its environment pointed at the viewer, its stdout read line
//! by line into the store (and passed through to the terminal), and its graceful stop:
//! SIGTERM to its process group, a bounded wait, SIGKILL only if it does not exit.

use std::io::{self, Write as _};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, ChildStdout, Command};

use super::log_line::LogLine;
use super::store::Store;

/// How the child's stdout lines appear on the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passthrough {
    /// JSON lines as one readable line each (`time LEVEL target: message k=v`).
    Pretty,
    /// Lines exactly as the service wrote them.
    Raw,
    /// Nothing (the UI has them).
    Quiet,
}

/// Variables set for the child, and the ones removed so that ours apply.
#[derive(Debug, Clone, Default)]
pub struct ChildEnv {
    /// Set (overriding the inherited value).
    pub set: Vec<(String, String)>,
    /// Set only when not already in the environment.
    pub default: Vec<(String, String)>,
    /// Removed from the inherited environment.
    pub remove: Vec<String>,
}

/// The environment that points an OpenTelemetry SDK (obskit's or another) at the viewer.
///
/// ```
/// use obskit_cli::dev::child::otel_env;
/// let env = otel_env("http://127.0.0.1:4318", "http/protobuf");
/// assert!(env.set.contains(&("OTEL_EXPORTER_OTLP_ENDPOINT".into(), "http://127.0.0.1:4318".into())));
/// assert!(env.remove.contains(&"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT".to_owned()));
/// ```
pub fn otel_env(endpoint: &str, protocol: &str) -> ChildEnv {
    let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    ChildEnv {
        set: vec![
            pair("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            pair("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            pair("OTEL_TRACES_EXPORTER", "otlp"),
            // The viewer reads JSON lines; it prints them pretty itself.
            pair("OBSKIT_LOG_FORMAT", "json"),
        ],
        default: vec![
            // Spans show up within a second instead of the default five.
            pair("OTEL_BSP_SCHEDULE_DELAY", "500"),
        ],
        remove: [
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_SDK_DISABLED",
        ]
        .map(str::to_owned)
        .to_vec(),
    }
}

/// Starts `command` (program and arguments) in its own process group with `env`, stdout
/// piped, stderr inherited.
pub fn spawn(command: &[String], env: &ChildEnv) -> io::Result<Child> {
    let (program, args) = command.split_first().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "no command to run after `--`")
    })?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        // Ctrl-C in the terminal reaches the viewer only; it stops the child with SIGTERM.
        .process_group(0)
        .kill_on_drop(true);
    for name in &env.remove {
        cmd.env_remove(name);
    }
    for (name, value) in &env.default {
        if std::env::var_os(name).is_none() {
            cmd.env(name, value);
        }
    }
    for (name, value) in &env.set {
        cmd.env(name, value);
    }
    cmd.spawn()
}

/// Reads `stdout` to its end: every line into `store`, and onto the terminal as `passthrough` says.
pub async fn pump(stdout: ChildStdout, store: Arc<Store>, passthrough: Passthrough) {
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(raw)) = lines.next_line().await {
        let line = LogLine::parse(&raw);
        let shown = match passthrough {
            Passthrough::Pretty => Some(line.pretty()),
            Passthrough::Raw => Some(raw),
            Passthrough::Quiet => None,
        };
        store.push_log(line);
        if let Some(shown) = shown {
            // A closed terminal must not stop the reading.
            let _ = writeln!(io::stdout().lock(), "{shown}");
        }
    }
}

/// Sends `signal` to the child's process group (the child and anything it started).
fn signal_group(child: &Child, signal: rustix::process::Signal) -> io::Result<()> {
    let Some(pid) = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(rustix::process::Pid::from_raw)
    else {
        // Already reaped: nothing to signal.
        return Ok(());
    };
    rustix::process::kill_process_group(pid, signal).map_err(io::Error::from)
}

/// Stops the child: SIGTERM to its group, up to `grace` for it to exit (its last spans are
/// exported meanwhile), then SIGKILL. Returns its exit status.
pub async fn stop(child: &mut Child, grace: Duration) -> io::Result<ExitStatus> {
    if let Some(status) = child.try_wait()? {
        return Ok(status);
    }
    signal_group(child, rustix::process::Signal::TERM)?;
    match tokio::time::timeout(grace, child.wait()).await {
        Ok(status) => status,
        Err(_) => {
            let _ = signal_group(child, rustix::process::Signal::KILL);
            child.wait().await
        }
    }
}
