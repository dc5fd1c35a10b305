//! The command line of `obskit`, declared with clap's derive API: what each subcommand
//! takes, its help text and examples, and the checks that need only the argument text
//! (a bad name or version is a usage error, exit code 2).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use obskit_cli::name::ProjectName;

const EXAMPLES: &str = "\
Examples:
  obskit new payments                     create ./payments, a service depending on obskit 0.1
  obskit new payments --path services     create services/payments
  obskit new payments --obskit-path ../obskit/crates/obskit
                                          depend on a local obskit checkout
  obskit new payments --grpc              add a gRPC service (tonic, proto/, health service)
  obskit new payments --messaging rabbitmq
                                          publish tasks over HTTP, process them in a worker
  obskit alerts --out .                   write ./alerts/*.rules.yml and their promtool tests
  obskit alerts --format prometheus-rule | kubectl apply -f -
  obskit dashboards --out .               write ./dashboards/*.json
  obskit dashboards --format configmap | kubectl apply -f -
  obskit dev -- cargo run                 run a service and see its traces, logs and RED figures";

#[cfg(feature = "dev")]
const DEV_EXAMPLES: &str = "\
Examples:
  obskit dev -- cargo run                 run the service in this directory; open the printed URL
  obskit dev --metrics-port 3000 -- cargo run --release
  obskit dev                              receive OTLP only (another process exports to :4317/:4318)
  obskit dev --logs raw --ui-port 0 -- ./target/debug/my-svc";

const NEW_EXAMPLES: &str = "\
Examples:
  obskit new payments
  obskit new payments --path services --obskit-version 0.1.2
  obskit new payments --obskit-path ../obskit/crates/obskit
  obskit new payments --grpc              HTTP and gRPC on one port: proto/greeter.proto,
                                          a tonic server, the gRPC health service
  obskit new payments --messaging nats    POST /tasks publishes to NATS JetStream; a worker
                                          in the same process consumes, retries, dead-letters
  obskit new payments --postgres --redis  an instrumented sqlx pool and Redis connection
  obskit new payments --force             write into an existing ./payments

Then: cd payments && cargo run, and curl localhost:8080/hello/world";

const ALERTS_EXAMPLES: &str = "\
Examples:
  obskit alerts --out .                   write ./alerts/obskit-{slo,red}.rules.yml, promtool
                                          tests and Alertmanager inhibit rules
  promtool test rules alerts/tests/*.yml  then check them
  obskit alerts --period 28d --grafana-url https://grafana.example.com --out .
  obskit alerts --format prometheus-rule | kubectl apply -n monitoring -f -
  obskit alerts --format prometheus-rule --out .
                                          write ./deploy/obskit-{slo,red}.prometheusrule.yml";

const DASHBOARDS_EXAMPLES: &str = "\
Examples:
  obskit dashboards --out .               write ./dashboards/*.json, ready to import
  obskit dashboards | jq -r .title        list them
  obskit dashboards --format configmap --out .
                                          write ./deploy/*.dashboard.yml and the data source
                                          ConfigMap, for Grafana's sidecar
  obskit dashboards --format configmap | kubectl apply -n monitoring -f -";

/// Instrumented axum services, with the dashboards and alert rules that go with them.
#[derive(Debug, Parser)]
#[command(name = "obskit", version, after_help = EXAMPLES)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Generate a new axum service instrumented with obskit.
    ///
    /// The service comes with telemetry set up in one line, health probes, SLOs, graceful
    /// shutdown, tests, a Dockerfile, Kubernetes manifests, and copies of the stock
    /// dashboards and alert rules. The same template works with
    /// `cargo generate --git <obskit repository> template`.
    #[command(after_help = NEW_EXAMPLES)]
    New(NewArgs),

    /// Write the stock Prometheus alert rules: SLO burn-rate and RED alerts for every obskit
    /// service, with their promtool tests.
    ///
    /// The rules read each service's objectives from its own metrics, so one set serves
    /// every service and SLO. Without --out, the files are printed as one YAML stream.
    #[command(after_help = ALERTS_EXAMPLES)]
    Alerts(AlertsArgs),

    /// Write the stock Grafana dashboards (service overview and SLOs), which work for every
    /// obskit service. Without --out, they are printed as a stream of JSON documents (or,
    /// with --format configmap, of YAML documents).
    #[command(after_help = DASHBOARDS_EXAMPLES)]
    Dashboards(DashboardsArgs),

    /// See a service's traces, logs and RED/SLO figures on one local web page.
    ///
    /// Starts an OTLP receiver (gRPC on 4317, HTTP on 4318) and a web UI, all on 127.0.0.1.
    /// With a command after `--`, runs it with OTEL_EXPORTER_OTLP_ENDPOINT pointing here,
    /// reads its JSON log lines from stdout and scrapes its /metrics. Ctrl-C stops the
    /// command with SIGTERM, waits for it to exit (so its last spans arrive), then stops.
    #[cfg(feature = "dev")]
    #[command(after_help = DEV_EXAMPLES)]
    Dev(DevArgs),
}

/// Arguments of `obskit dev`.
#[cfg(feature = "dev")]
#[derive(Debug, Args)]
pub(crate) struct DevArgs {
    /// Port of the OTLP/gRPC receiver (0 picks a free one).
    #[arg(long, value_name = "PORT", default_value_t = 4317)]
    pub(crate) grpc_port: u16,

    /// Port of the OTLP/HTTP receiver, protobuf and JSON (0 picks a free one).
    #[arg(long, value_name = "PORT", default_value_t = 4318)]
    pub(crate) http_port: u16,

    /// Port of the web UI (0 picks a free one).
    #[arg(long, value_name = "PORT", default_value_t = 18888)]
    pub(crate) ui_port: u16,

    /// Address to listen on; the default keeps everything on this machine.
    #[arg(
        long,
        value_name = "IP",
        default_value = "127.0.0.1",
        conflicts_with = "listen_all"
    )]
    pub(crate) address: std::net::IpAddr,

    /// Listen on every interface (0.0.0.0): other machines can send spans and see the UI.
    #[arg(long)]
    pub(crate) listen_all: bool,

    /// OTLP protocol the command is told to export with.
    #[arg(long, value_name = "PROTOCOL", default_value = "http/protobuf", value_parser = ["grpc", "http/protobuf", "http/json"])]
    pub(crate) protocol: String,

    /// How the command's log lines appear here: `pretty` (one readable line per JSON line),
    /// `raw` (as written) or `none` (the UI only).
    #[arg(long, value_name = "FORMAT", default_value = "pretty", value_parser = ["pretty", "raw", "none"])]
    pub(crate) logs: String,

    /// Port of the command's /metrics [default: $PORT, else 8080].
    #[arg(long, value_name = "PORT", conflicts_with = "metrics_url")]
    pub(crate) metrics_port: Option<u16>,

    /// Full URL of the metrics to scrape, instead of http://127.0.0.1:<port>/metrics.
    #[arg(long, value_name = "URL")]
    pub(crate) metrics_url: Option<String>,

    /// Time between scrapes of /metrics.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub(crate) scrape_interval: std::time::Duration,

    /// How long the command may take to exit after SIGTERM before it is killed.
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = parse_duration)]
    pub(crate) grace: std::time::Duration,

    /// Traces kept (the oldest go first).
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_traces: u64,

    /// Spans kept per trace (further spans of a trace are dropped and counted).
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_spans_per_trace: u64,

    /// Log lines kept (the oldest go first).
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_log_lines: u64,

    /// Memory for spans and log lines, in MiB (three quarters spans, one quarter lines); the
    /// oldest go first beyond it.
    #[arg(long, value_name = "MIB", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    pub(crate) max_memory_mib: u64,

    /// Longest attribute value kept, in bytes; longer values are cut and marked as cut
    /// (like the SDKs' OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT).
    #[arg(long, value_name = "BYTES", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(16..))]
    pub(crate) max_attribute_bytes: u64,

    /// The service to run, e.g. `cargo run`.
    #[arg(last = true, value_name = "COMMAND")]
    pub(crate) command: Vec<String>,
}

/// A duration such as `5s`, `500ms` or `1m`.
#[cfg(feature = "dev")]
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        Ok(_) => Err(format!(
            "`{text}` is zero; use a duration such as 5s or 500ms"
        )),
        Err(err) => Err(format!(
            "`{text}` is not a duration ({err}); use one such as 5s or 500ms"
        )),
    }
}

/// Arguments of `obskit new`.
#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// Name of the service: lowercase ASCII letters, digits, `-` or `_`, starting with a
    /// letter; not a Rust keyword or a reserved name such as `test` or `std`.
    #[arg(value_parser = ProjectName::parse)]
    pub(crate) name: ProjectName,

    /// Directory in which to create the project: it goes in DIR/<NAME>.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) path: PathBuf,

    /// Depend on a local obskit checkout (its crates/obskit directory) instead of a
    /// published version.
    #[arg(long, value_name = "PATH", conflicts_with = "obskit_version")]
    pub(crate) obskit_path: Option<PathBuf>,

    /// Version requirement for the obskit dependency [default: the template's, 0.1].
    #[arg(long, value_name = "V", value_parser = parse_version_req)]
    pub(crate) obskit_version: Option<String>,

    /// Also serve gRPC on the same port: a `.proto` compiled in build.rs (no system
    /// protoc needed), a tonic service, the standard gRPC health service, and an HTTP
    /// route that calls the service through an instrumented gRPC client.
    #[arg(long)]
    pub(crate) grpc: bool,

    /// Publish tasks from an HTTP route (`POST /tasks`) to a message broker and process
    /// them in a worker in the same process: retries with backoff, a dead-letter
    /// destination, freshness and availability SLOs, a graceful drain, readiness tied to
    /// the broker, and a KEDA ScaledObject that scales on the queue's depth.
    #[arg(long, value_name = "BROKER", default_value = "none", value_parser = ["none", "rabbitmq", "nats"])]
    pub(crate) messaging: String,

    /// Use PostgreSQL: an instrumented sqlx pool (client spans, RED, pool figures), a
    /// migration applied at start, `POST /visits/{name}`, and readiness checking it.
    #[arg(long)]
    pub(crate) postgres: bool,

    /// Use Redis: an instrumented connection (client spans, RED), a cache-aside
    /// `GET /cached/{name}`, and readiness checking it; with `--postgres`, also
    /// `GET /visits/{name}`, the visit count read through the cache.
    #[arg(long)]
    pub(crate) redis: bool,

    /// Write into DIR/<NAME> even if it exists and is not empty: files the template
    /// produces are replaced, other files are kept.
    #[arg(long)]
    pub(crate) force: bool,
}

/// Arguments of `obskit alerts`.
#[derive(Debug, Args)]
pub(crate) struct AlertsArgs {
    /// SLO period: the window over which error budgets are accounted.
    #[arg(long, value_name = "PERIOD", default_value = "30d", value_parser = ["28d", "30d"])]
    pub(crate) period: String,

    /// `rules`: Prometheus rule files, promtool tests and Alertmanager inhibit rules
    /// (under alerts/); `prometheus-rule`: Prometheus Operator PrometheusRule resources
    /// (under deploy/).
    #[arg(long, value_name = "FORMAT", default_value = "rules", value_parser = ["rules", "prometheus-rule"])]
    pub(crate) format: String,

    /// Base URL of your Grafana, for the dashboard links in alert annotations.
    #[arg(long, value_name = "URL", default_value = obskit_artifacts::alerts::DEFAULT_DASHBOARD_BASE_URL)]
    pub(crate) grafana_url: String,

    /// Base URL of the runbook pages the alerts link to (`<URL>/<AlertName>.md`).
    #[arg(long, value_name = "URL", default_value = obskit_artifacts::alerts::DEFAULT_RUNBOOK_BASE_URL)]
    pub(crate) runbook_url: String,

    /// Write the files under DIR (as DIR/alerts/...) instead of printing them; existing
    /// files of the same name are replaced, others are kept.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

/// Arguments of `obskit dashboards`.
#[derive(Debug, Args)]
pub(crate) struct DashboardsArgs {
    /// `json`: dashboards to import (under dashboards/); `configmap`: Kubernetes ConfigMaps
    /// labelled for Grafana's sidecar, one per dashboard plus a Prometheus data source with
    /// the exemplar link to traces (under deploy/).
    #[arg(long, value_name = "FORMAT", default_value = "json", value_parser = ["json", "configmap"])]
    pub(crate) format: String,

    /// Write the files under DIR (as DIR/dashboards/...) instead of printing them;
    /// existing files of the same name are replaced, others are kept.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

/// Accepts what Cargo accepts as a version requirement (`0.1`, `^0.1.2`, `=0.1.0`).
fn parse_version_req(text: &str) -> Result<String, String> {
    semver::VersionReq::parse(text)
        .map(|_| text.to_owned())
        .map_err(|err| format!("`{text}` is not a Cargo version requirement ({err}); use one like `0.1` or `=0.1.2`"))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn version_requirements_are_checked() {
        assert_eq!(parse_version_req("0.1").unwrap(), "0.1");
        assert_eq!(parse_version_req(">=0.1, <0.3").unwrap(), ">=0.1, <0.3");
        let err = parse_version_req("0.1\"\n").unwrap_err();
        assert!(err.contains("is not a Cargo version requirement"), "{err}");
    }

    #[cfg(feature = "dev")]
    #[test]
    fn dev_takes_a_command_after_the_separator() {
        let cli = Cli::try_parse_from([
            "obskit",
            "dev",
            "--ui-port",
            "0",
            "--",
            "cargo",
            "run",
            "--release",
        ])
        .unwrap();
        let Command::Dev(args) = cli.command else {
            panic!("not dev: {cli:?}");
        };
        assert_eq!(args.command, ["cargo", "run", "--release"]);
        assert_eq!(
            (args.grpc_port, args.http_port, args.ui_port),
            (4317, 4318, 0)
        );
        assert_eq!(args.address.to_string(), "127.0.0.1");
        let err = Cli::try_parse_from(["obskit", "dev", "--scrape-interval", "soon"]).unwrap_err();
        assert!(err.to_string().contains("use one such as 5s"), "{err}");
    }

    #[test]
    fn obskit_path_and_version_exclude_each_other() {
        let err = Cli::try_parse_from([
            "obskit",
            "new",
            "svc",
            "--obskit-path",
            "x",
            "--obskit-version",
            "0.1",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        assert_eq!(err.exit_code(), 2);
    }
}
