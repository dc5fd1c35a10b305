//! The obskit service under test: the `e2e-service` binary of this crate, started on
//! 127.0.0.1 with a port of its own choosing, traces off, and a known service name.

use std::process::Command;
use std::time::Duration;

use super::process::Running;

/// The `service_name` every series of the service carries.
pub(crate) const SERVICE_NAME: &str = "obskit-e2e-service";

/// The running service and the port it bound.
pub(crate) struct Service {
    /// The process; killed when dropped.
    pub(crate) process: Running,
    /// The port on 127.0.0.1.
    pub(crate) port: u16,
}

impl Service {
    /// Starts the service with `env` set on top of the defaults (e.g. to export traces, or to
    /// reach its dependencies) and waits (bounded) for the `PORT=<n>` line it prints once bound.
    pub(crate) fn start_with(env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_e2e-service"));
        command
            .env("PORT", "0")
            .env("OTEL_SERVICE_NAME", SERVICE_NAME)
            .env("OTEL_TRACES_EXPORTER", "none")
            .env("RUST_LOG", "info")
            .env("OBSKIT_LOG_FORMAT", "json")
            .env_remove("OTEL_SDK_DISABLED")
            .env_remove("OTEL_RESOURCE_ATTRIBUTES")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .envs(env.iter().copied());
        let mut process = Running::spawn("e2e-service", command);
        let Some(line) = process.wait_for_line("PORT=", Duration::from_secs(30)) else {
            panic!(
                "e2e-service printed no PORT=<n> line within 30 s\n{}",
                process.tail(40)
            );
        };
        let port = line["PORT=".len()..]
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("e2e-service printed `{line}`, not a port: {e}"));
        Self { process, port }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}
