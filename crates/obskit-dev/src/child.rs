//! The service run as a child: its environment pointed at the viewer, its stdout and stderr
//! read line by line into the store (and passed through to the terminal), and its graceful
//! stop: SIGTERM to its process group, a bounded wait, SIGKILL only if it does not exit.
//!
//! Output is read as bytes: a line that is not UTF-8 is kept with the bad bytes replaced,
//! a line longer than [`MAX_LINE_BYTES`] is cut there, and the pipes are read to their end
//! whatever they carry, so the child never dies on a broken pipe because of what it printed.

use std::io::{self, Write as _};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::process::{Child, Command};

use crate::log_line::LogLine;
use crate::store::Store;

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
/// use obskit_dev::child::otel_env;
/// let env = otel_env("http://127.0.0.1:4318", "http/protobuf");
/// assert!(env.set.contains(&("OTEL_EXPORTER_OTLP_ENDPOINT".into(), "http://127.0.0.1:4318".into())));
/// assert!(env.remove.contains(&"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT".to_owned()));
/// assert!(env.remove.contains(&"OTEL_EXPORTER_OTLP_COMPRESSION".to_owned()));
/// assert!(env.default.contains(&("OBSKIT_DRAIN_DELAY".into(), "0".into())));
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
            pair("OTEL_BLRP_SCHEDULE_DELAY", "500"),
            pair("OTEL_METRIC_EXPORT_INTERVAL", "5000"),
            // Ctrl-C stops a local service at once: no load balancer to drain from.
            pair("OBSKIT_DRAIN_DELAY", "0"),
        ],
        // Every signal goes to the viewer, uncompressed (it accepts gzip, but a shell's
        // `OTEL_EXPORTER_OTLP_COMPRESSION=zstd` or a per-signal endpoint would lose spans).
        remove: [
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
            "OTEL_EXPORTER_OTLP_COMPRESSION",
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
            "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION",
            "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
            "OTEL_SDK_DISABLED",
        ]
        .map(str::to_owned)
        .to_vec(),
    }
}

/// Starts `command` (program and arguments) in its own process group with `env`, stdout
/// and stderr piped.
pub fn spawn(command: &[String], env: &ChildEnv) -> io::Result<Child> {
    let (program, args) = command.split_first().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "no command to run after `--`")
    })?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
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

/// Longest line kept, in bytes; the rest of a longer line is dropped and the cut marked.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Which of the child's pipes a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output (obskit's JSON lines).
    Stdout,
    /// Standard error (panics, `eprintln!`, a build's progress).
    Stderr,
}

/// Splits bytes into lines of at most [`MAX_LINE_BYTES`], whatever the bytes are.
///
/// ```
/// use obskit_dev::child::LineSplitter;
/// let mut lines = Vec::new();
/// let mut splitter = LineSplitter::default();
/// splitter.push(b"caf\xc3\xa9\nbad \xff by", |l| lines.push(l));
/// splitter.push(b"te\r\nno newline", |l| lines.push(l));
/// splitter.finish(|l| lines.push(l));
/// assert_eq!(lines, ["café", "bad \u{fffd} byte", "no newline"]);
/// ```
#[derive(Debug, Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
    /// The current line was cut: drop bytes until its newline.
    skipping: bool,
}

impl LineSplitter {
    /// Adds `bytes`, handing every completed line to `emit`.
    pub fn push(&mut self, mut bytes: &[u8], mut emit: impl FnMut(String)) {
        while !bytes.is_empty() {
            let (part, complete) = match bytes.iter().position(|&b| b == b'\n') {
                Some(end) => (&bytes[..end], Some(end + 1)),
                None => (bytes, None),
            };
            if !self.skipping {
                self.pending.extend_from_slice(part);
                if self.pending.len() > MAX_LINE_BYTES {
                    let mut line = Self::text(&self.pending[..MAX_LINE_BYTES]);
                    line.push_str(&format!(" … [line cut at {MAX_LINE_BYTES} bytes]"));
                    emit(line);
                    self.pending.clear();
                    // The rest of this line is dropped, up to its newline.
                    self.skipping = complete.is_none();
                } else if complete.is_some() {
                    emit(Self::text(&self.pending));
                    self.pending.clear();
                }
            } else if complete.is_some() {
                self.skipping = false;
            }
            bytes = complete.map_or(&[][..], |end| &bytes[end..]);
        }
    }

    /// Hands the last line (one without a newline) to `emit`.
    pub fn finish(&mut self, mut emit: impl FnMut(String)) {
        if !self.skipping && !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            emit(Self::text(&rest));
        }
        self.pending.clear();
        self.skipping = false;
    }

    fn text(bytes: &[u8]) -> String {
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        String::from_utf8_lossy(bytes).into_owned()
    }
}

/// Reads one of the child's pipes to its end: every line into `store`, and onto the
/// terminal (stdout lines on stdout, stderr lines on stderr) as `passthrough` says.
pub async fn pump(
    mut pipe: impl AsyncRead + Unpin,
    stream: Stream,
    store: Arc<Store>,
    passthrough: Passthrough,
) {
    let mut splitter = LineSplitter::default();
    let mut buffer = vec![0u8; 16 * 1024];
    let handle = |raw: String| {
        let mut line = LogLine::parse(&raw);
        if stream == Stream::Stderr && !line.structured {
            "stderr".clone_into(&mut line.target);
        }
        let shown = match passthrough {
            Passthrough::Pretty => Some(line.pretty()),
            Passthrough::Raw => Some(raw),
            Passthrough::Quiet => None,
        };
        store.push_log(line);
        if let Some(shown) = shown {
            // A closed terminal must not stop the reading.
            let _ = match stream {
                Stream::Stdout => writeln!(io::stdout().lock(), "{shown}"),
                Stream::Stderr => writeln!(io::stderr().lock(), "{shown}"),
            };
        }
    };
    loop {
        match pipe.read(&mut buffer).await {
            Ok(0) => break,
            Ok(n) => splitter.push(&buffer[..n], handle),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    splitter.finish(handle);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut splitter = LineSplitter::default();
        for chunk in chunks {
            splitter.push(chunk, |l| lines.push(l));
        }
        splitter.finish(|l| lines.push(l));
        lines
    }

    #[test]
    fn a_long_line_is_cut_once_and_the_next_line_is_whole() {
        let long = vec![b'x'; MAX_LINE_BYTES + 10];
        let lines = split(&[&long[..100], &long[100..], b"tail\nnext\n"]);
        assert_eq!(
            lines.len(),
            2,
            "{:?}",
            lines.iter().map(String::len).collect::<Vec<_>>()
        );
        assert!(lines[0].starts_with("xxx") && lines[0].ends_with("[line cut at 65536 bytes]"));
        assert_eq!(lines[1], "next");
        // Cut in the same chunk as its newline: nothing of it is skipped afterwards.
        let mut exact = vec![b'y'; MAX_LINE_BYTES + 1];
        exact.extend_from_slice(b"\nafter\n");
        let lines = split(&[&exact]);
        assert_eq!(lines[1], "after");
    }
}
