//! Shared helpers for the integration tests: configuration from a map of
//! variables, log capture, and a per-test subscriber.
#![allow(clippy::print_stderr)]

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use obskit::{Config, Telemetry};

/// A log sink the tests can read back, line by line, as JSON.
#[derive(Clone, Default)]
pub(crate) struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl Write for LogCapture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    /// Every line written so far, parsed; panics on a line that is not JSON.
    pub(crate) fn lines(&self) -> Vec<serde_json::Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }

    /// Waits until a line matches `pred` (the writer is asynchronous).
    pub(crate) fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> Option<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.lines().into_iter().find(|l| pred(l)) {
                return Some(line);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A configuration read from `vars` instead of the process environment.
pub(crate) fn config(vars: &[(&str, &str)]) -> Config {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_env_with(|name| map.get(name).cloned()).expect("valid test configuration")
}

/// Telemetry built from `config`, with its subscriber as this thread's
/// default and its logs captured. Use on a current-thread runtime so every
/// task runs on the thread that has the subscriber.
pub(crate) struct Harness {
    pub(crate) telemetry: Telemetry,
    pub(crate) logs: LogCapture,
    _default: tracing::subscriber::DefaultGuard,
}

pub(crate) fn harness(config: Config) -> Harness {
    use tracing_subscriber::layer::SubscriberExt;
    let logs = LogCapture::default();
    let (telemetry, layer) = config
        .build_layer_with_writer::<tracing_subscriber::Registry>(logs.clone())
        .expect("telemetry builds");
    let default = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    Harness {
        telemetry,
        logs,
        _default: default,
    }
}

/// The path of `promtool`, or `None` (with a loud note) outside CI when it
/// is not installed. In CI its absence is a failure: `.ci/run` installs it.
pub(crate) fn promtool() -> Option<std::path::PathBuf> {
    for dir in ["/usr/bin", "/usr/local/bin"] {
        let p = std::path::Path::new(dir).join("promtool");
        if p.exists() {
            return Some(p);
        }
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "promtool is not installed; `.ci/run` installs it with `apt-get install prometheus`"
    );
    eprintln!("SKIPPED: promtool is not installed (apt-get install prometheus)");
    None
}

/// Runs `program args` with `input` on standard input.
pub(crate) fn run_with_stdin(
    program: &std::path::Path,
    args: &[&str],
    input: &str,
) -> std::process::Output {
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().expect("wait")
}

pub(crate) mod prom;
pub(crate) mod proxy;
pub(crate) mod server;
