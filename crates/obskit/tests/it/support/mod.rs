//! Shared helpers for the integration tests: configuration from a map of
//! variables, log capture, and a per-test subscriber.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use obskit::{Config, Telemetry};
use obskit_test_support::wait;

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
        wait::poll(timeout, || {
            self.lines().into_iter().find(|l| pred(l)).ok_or(())
        })
        .ok()
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

pub(crate) mod proxy;
pub(crate) mod server;
