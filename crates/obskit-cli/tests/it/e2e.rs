//! End to end, as a user would: `obskit new` with `--obskit-path` pointing at this
//! checkout; a user's first edit (functions with `#[tracing::instrument]`, written as the
//! tracing docs write them); `cargo build`, `cargo test`, `cargo fmt --check` and
//! `cargo clippy` of the generated service; then run it, call `/health/ready`, an example route (with an
//! outgoing call) and `/metrics`, read its JSON logs for trace ids, and stop it with
//! SIGTERM. The same for `obskit new --grpc`: one trace (exported to the test receiver)
//! spans the HTTP request, the gRPC call it makes and the gRPC server's handling; `/metrics`
//! shows the gRPC RED and SLO series; Python's grpcio, a client from outside, gets SERVING
//! for every name the Kubernetes probes ask about, lists the services by server reflection
//! and reads a server stream; the gRPC health service answers SERVING, then NOT_SERVING on
//! SIGTERM; and, run with the environment its Kubernetes Deployment gives it plus
//! `OTEL_LOGS_EXPORTER=otlp` and `OTEL_METRICS_EXPORTER=otlp,prometheus`, it sends its spans,
//! its access line and its metrics (the figures `/metrics` shows, with the request's
//! exemplar) to the one receiver, all naming their pod. And `--messaging rabbitmq
//! --postgres --redis` (rendered by `cargo generate`) and `--messaging nats --grpc` (by
//! `obskit new`): built, checked and tested (their tests run against the real servers, and
//! skip at once without a broker), then run as their README says under the real
//! `obskit dev` on a queue of their own: obskit dev shows one trace holding the HTTP
//! request that posted a task, its send and the worker's processing; the database and
//! cache requests show their queries and commands under their server spans (a read through
//! the cache: the database's `SELECT` on a miss only), `/metrics` their exact figures, and
//! a real Prometheus loaded with the service's own rules the messaging figures its
//! dashboards and rules read (`messaging_figures`); SIGTERM stops it cleanly.
//!
//! Every run builds in the workspace's target directory and pins dependency versions to
//! the workspace's Cargo.lock, so a generated service compiles only the dependencies whose
//! features differ from the workspace's, and only on the first run.

use crate::common;
#[cfg(feature = "dev")]
use crate::dev_support::{self, dechunk};
use obskit_test_support::free_port;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use obskit_test_receiver::proto::common::v1::any_value::Value as AnyValue;
use obskit_test_receiver::proto::metrics::v1::{HistogramDataPoint, Metric, metric::Data};
use obskit_test_receiver::{Behavior, ReceivedLog, Receiver as OtlpReceiver, SpanKind};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// The project name; also the binary's.
const NAME: &str = "e2e-svc";
/// A W3C trace id this test sends, to find it again in the logs.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// A module a user might add first: `#[tracing::instrument]` as the tracing docs write it,
/// which needs `tracing` as a direct dependency of the service.
const INSTRUMENTED: &str = r#"//! Added by obskit's end-to-end test: `#[tracing::instrument]` as the tracing docs write it.

/// A function with a span of its own, a child of the request's span when called in one.
#[tracing::instrument]
pub fn shout(word: &str) -> String {
    tracing::info!("shouting");
    word.to_uppercase()
}

/// An async function with a span, an argument left out of it, a field and the error recorded.
#[tracing::instrument(skip(client), fields(attempt = 1), err)]
pub async fn status_of(
    client: &obskit::reqwest::Client,
    url: &str,
) -> Result<u16, obskit::reqwest::Error> {
    let response = client.get(url).send().await?;
    Ok(response.status().as_u16())
}
"#;

/// Adds [`INSTRUMENTED`] to the generated service as `src/instrumented.rs`.
fn add_instrumented_module(project: &Path) {
    fs::write(project.join("src/instrumented.rs"), INSTRUMENTED).unwrap();
    let lib = project.join("src/lib.rs");
    let text = fs::read_to_string(&lib).unwrap();
    assert!(text.contains("pub mod routes;\n"), "{text}");
    let text = text.replacen(
        "pub mod routes;\n",
        "pub mod instrumented;\npub mod routes;\n",
        1,
    );
    fs::write(lib, text).unwrap();
}

/// Runs cargo in `project` with the shared target directory, asserting success.
fn cargo(project: &Path, target: &Path, args: &[&str]) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(args)
        .current_dir(project)
        .envs(common::generated_build_env(target))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo {} failed in the generated project:\n{}\n{}",
        args.join(" "),
        common::stdout(&output),
        common::stderr(&output)
    );
}

/// An HTTP response, as far as this test cares.
struct Response {
    status: u16,
    body: String,
}

/// A plain HTTP/1.1 GET on 127.0.0.1 (no client library needed).
fn get(port: u16, path: &str, headers: &[(&str, &str)]) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("transfer-encoding:")
            && l.to_ascii_lowercase().contains("chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok(Response { status, body })
}

/// The service process; killed if still running when dropped.
struct Running {
    child: Child,
    port: u16,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    /// Starts `binary` with `env` on top of the test's defaults.
    fn start(binary: &Path, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut child = Command::new(binary)
            .env("PORT", port.to_string())
            .env("RUST_LOG", "info")
            .env("OBSKIT_LOG_FORMAT", "json")
            .env("OBSKIT_DRAIN_DELAY", "3s")
            // Nothing listens there: export fails, trace ids are still created and logged.
            .env(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{}", free_port()),
            )
            .env_remove("UPSTREAM_URL")
            .env_remove("OTEL_SDK_DISABLED")
            .env_remove("OTEL_TRACES_EXPORTER")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the generated binary starts");
        let (sender, lines) = mpsc::channel();
        for output in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let sender = sender.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(output).lines().map_while(Result::ok) {
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Self {
            child,
            port,
            lines,
            seen: Vec::new(),
        }
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        get(self.port, path, headers).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// Polls `path` until it answers `status`.
    fn wait_for_status(&mut self, path: &str, status: u16, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if get(self.port, path, &[]).is_ok_and(|r| r.status == status) {
                return;
            }
            if let Ok(Some(exit)) = self.child.try_wait() {
                self.drain_lines(Duration::from_millis(200));
                panic!(
                    "the service exited ({exit}) waiting for {path} = {status}:\n{}",
                    self.seen.join("\n")
                );
            }
            if Instant::now() > deadline {
                self.drain_lines(Duration::from_millis(200));
                panic!(
                    "{path} did not answer {status} within {within:?}:\n{}",
                    self.seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Collects output lines until none arrives for `quiet`.
    fn drain_lines(&mut self, quiet: Duration) {
        while let Ok(line) = self.lines.recv_timeout(quiet) {
            self.seen.push(line);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every `trace_id` value anywhere in a JSON value.
fn trace_ids(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value.as_str()) {
                    ("trace_id", Some(id)) => out.push(id.to_owned()),
                    _ => trace_ids(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| trace_ids(v, out)),
        _ => {}
    }
}

/// Metric lines containing every one of `parts`.
fn has_series(metrics: &str, parts: &[&str]) -> bool {
    metrics
        .lines()
        .any(|line| !line.starts_with('#') && parts.iter().all(|p| line.contains(p)))
}

/// `obskit new NAME` with `options`, against this checkout, in `work`; returns the project
/// directory and the shared target directory.
fn generate(work: &Path, name: &str, options: &[&str]) -> (PathBuf, PathBuf) {
    let root = common::repo_root();
    let local = root.join("crates/obskit");
    let mut args = vec!["new", name, "--obskit-path", local.to_str().unwrap()];
    args.extend_from_slice(options);
    let output = common::obskit(work, &args);
    assert_eq!(output.status.code(), Some(0), "{}", common::stderr(&output));
    let project = work.join(name);
    // The workspace's versions: reproducible, and the shared target directory stays warm.
    fs::copy(root.join("Cargo.lock"), project.join("Cargo.lock")).unwrap();
    let target = common::generated_target();
    (project, target)
}

/// Builds, tests, format-checks and lints the generated project.
fn build_and_check(project: &Path, target: &Path) {
    cargo(project, target, &["build", "--all-targets"]);
    cargo(project, target, &["test"]);
    // What users run first: the generated code is formatted and lint-free.
    cargo(project, target, &["fmt", "--check"]);
    cargo(
        project,
        target,
        &["clippy", "--all-targets", "--", "-D", "warnings"],
    );
}

/// Sends SIGTERM and waits for a clean exit.
fn stop(service: &mut Running, after_signal: impl FnOnce(&mut Running)) {
    let pid = service.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    after_signal(service);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = service.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running 30 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "exit after SIGTERM: {status}");
}

#[test]
fn generated_service_builds_passes_its_tests_runs_and_reports() {
    let _target = common::target_shared();
    let work = tempfile::tempdir().unwrap();
    let (project, target) = generate(work.path(), NAME, &[]);
    add_instrumented_module(&project);
    build_and_check(&project, &target);

    let mut service = Running::start(&target.join("debug").join(NAME), &[]);
    service.wait_for_status("/health/ready", 200, Duration::from_secs(30));
    assert_eq!(service.get("/health/live", &[]).status, 200);
    assert_eq!(service.get("/health/startup", &[]).status, 200);

    let hello = service.get("/hello/ada", &[]);
    assert_eq!(
        (hello.status, hello.body.as_str()),
        (200, r#"{"message":"hello, ada"}"#)
    );
    // An outgoing call inside a trace we started: the greeting is logged by the upstream
    // side (this service, by default) under the same trace id.
    let traceparent = format!("00-{TRACE_ID}-00f067aa0ba902b7-01");
    let relay = service.get("/relay/grace", &[("traceparent", &traceparent)]);
    assert_eq!(
        (relay.status, relay.body.as_str()),
        (200, r#"{"message":"hello, grace"}"#)
    );

    let metrics = service.get("/metrics", &[]);
    assert_eq!(metrics.status, 200);
    let metrics = metrics.body;
    for parts in [
        &[
            "http_server_request_duration_seconds_count",
            r#"http_route="/hello/{name}""#,
        ][..],
        &[
            "http_server_request_duration_seconds_count",
            r#"http_route="/relay/{name}""#,
        ],
        &[
            "http_client_request_duration_seconds_count",
            r#"server_address="127.0.0.1""#,
        ],
        &[
            "obskit_slo_objective_ratio",
            r#"slo="availability""#,
            " 0.999",
        ],
        &["obskit_slo_objective_ratio", r#"slo="latency""#, " 0.99"],
        &[
            "obskit_slo_requests_total",
            r#"slo="availability""#,
            r#"result="good""#,
        ],
        &["obskit_build_info", r#"service_version="0.1.0""#],
        &["obskit_health_check_up", r#"check="upstream""#],
    ] {
        assert!(
            has_series(&metrics, parts),
            "no series with {parts:?} in:\n{metrics}"
        );
    }
    // Probes and /metrics stay out of the RED figures.
    assert!(
        !has_series(
            &metrics,
            &["http_server_request_duration_seconds_count", "/health/"]
        ),
        "{metrics}"
    );

    // JSON logs: the greeting logged inside the relayed request carries our trace id.
    service.drain_lines(Duration::from_millis(500));
    let mut by_trace: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in &service.seen {
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(line) {
            let mut ids = Vec::new();
            trace_ids(&json, &mut ids);
            for id in ids {
                by_trace.entry(id).or_default().push(line.clone());
            }
        }
    }
    let ours = by_trace.get(TRACE_ID).cloned().unwrap_or_default();
    assert!(
        ours.iter()
            .any(|line| line.contains("saying hello") && line.contains("grace")),
        "no JSON log line for the relayed greeting with trace_id {TRACE_ID}; lines:\n{}",
        service.seen.join("\n")
    );
    assert!(
        by_trace
            .keys()
            .any(|id| id != TRACE_ID && id.len() == 32 && id != &"0".repeat(32)),
        "the direct /hello request logged no trace id of its own:\n{}",
        service.seen.join("\n")
    );

    // SIGTERM: not ready while draining, then a clean exit.
    stop(&mut service, |service| {
        service.wait_for_status("/health/ready", 503, Duration::from_secs(3));
    });
}

/// The project name of the `--grpc` run; also its binary's.
const GRPC_NAME: &str = "e2e-grpc-svc";
/// The trace id the `--grpc` run sends.
const GRPC_TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
/// The method of the generated gRPC service.
const SAY_HELLO: &str = "greeter.v1.Greeter/SayHello";

/// The status the gRPC health service of the process on `port` gives for the whole
/// server, or `None` when it does not answer.
fn grpc_health(runtime: &tokio::runtime::Runtime, port: u16) -> Option<ServingStatus> {
    runtime.block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .ok()?
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .connect()
            .await
            .ok()?;
        let reply = HealthClient::new(channel)
            .check(HealthCheckRequest::default())
            .await
            .ok()?;
        Some(reply.into_inner().status())
    })
}

/// Polls the gRPC health service until it answers `wanted`.
fn wait_for_grpc_health(
    runtime: &tokio::runtime::Runtime,
    service: &Running,
    wanted: ServingStatus,
    within: Duration,
) {
    let deadline = Instant::now() + within;
    loop {
        let status = grpc_health(runtime, service.port);
        if status == Some(wanted) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "gRPC health is {status:?}, not {wanted:?}, after {within:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn generated_grpc_service_builds_passes_its_tests_and_traces_http_to_grpc() {
    let _target = common::target_shared();
    let work = tempfile::tempdir().unwrap();
    let (project, target) = generate(work.path(), GRPC_NAME, &["--grpc"]);
    for file in [
        "proto/greeter.proto",
        "build.rs",
        "src/greeter.rs",
        "tests/grpc.rs",
        "tests/deploy.rs",
    ] {
        assert!(project.join(file).is_file(), "--grpc wrote no {file}");
    }
    build_and_check(&project, &target);

    let receiver = OtlpReceiver::start_blocking(Behavior::Healthy).unwrap();
    let endpoint = receiver.http_endpoint();
    // The environment the Deployment gives the container, as the kubelet builds it, with
    // the port and the collector of this test.
    let mut env: Vec<(String, String)> = deployment_env(&project)
        .into_iter()
        .filter(|(name, _)| {
            !["PORT", "OTEL_EXPORTER_OTLP_ENDPOINT"].contains(&name.as_str())
                && !name.starts_with("OBSKIT_")
        })
        .collect();
    env.push(("OTEL_EXPORTER_OTLP_ENDPOINT".into(), endpoint));
    env.push(("OTEL_EXPORTER_OTLP_PROTOCOL".into(), "http/protobuf".into()));
    // All three signals to the one endpoint; stdout JSON and `/metrics` stay as well.
    env.push(("OTEL_LOGS_EXPORTER".into(), "otlp,console".into()));
    env.push(("OTEL_METRICS_EXPORTER".into(), "otlp,prometheus".into()));
    env.push(("OTEL_METRIC_EXPORT_INTERVAL".into(), "1000".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut service = Running::start(&target.join("debug").join(GRPC_NAME), &env);
    service.wait_for_status("/health/ready", 200, Duration::from_secs(30));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    wait_for_grpc_health(
        &runtime,
        &service,
        ServingStatus::Serving,
        Duration::from_secs(10),
    );

    // The HTTP route answers through a gRPC call to the service (itself, by default).
    let traceparent = format!("00-{GRPC_TRACE_ID}-00f067aa0ba902b7-01");
    let hello = service.get("/grpc-hello/ada", &[("traceparent", &traceparent)]);
    assert_eq!(
        (hello.status, hello.body.as_str()),
        (200, r#"{"message":"hello, ada"}"#)
    );

    let metrics = service.get("/metrics", &[]);
    assert_eq!(metrics.status, 200);
    let metrics = metrics.body;
    let method = format!(r#"rpc_method="{SAY_HELLO}""#);
    for parts in [
        &[
            "rpc_server_call_duration_seconds_count",
            &method,
            r#"rpc_status_code="OK""#,
        ][..],
        &["rpc_client_call_duration_seconds_count", &method],
        // The in-flight gauge (labelled `_OTHER` until a method has answered once).
        &[
            "obskit_rpc_server_active_calls",
            r#"rpc_system_name="grpc""#,
        ],
        &[
            "http_server_request_duration_seconds_count",
            r#"http_route="/grpc-hello/{name}""#,
        ],
        &[
            "obskit_slo_requests_total",
            r#"slo="availability""#,
            r#"result="good""#,
        ],
        &["obskit_slo_objective_ratio", r#"slo="latency""#, " 0.99"],
    ] {
        assert!(
            has_series(&metrics, parts),
            "no series with {parts:?} in:\n{metrics}"
        );
    }
    // Health checks stay out of the RED figures.
    assert!(!metrics.contains("grpc.health.v1"), "{metrics}");
    let pushes_before = receiver.metrics_requests().len();
    let http_count = scraped_value(
        &metrics,
        &[
            "http_server_request_duration_seconds_count",
            r#"http_route="/grpc-hello/{name}""#,
        ],
    );
    let rpc_count = scraped_value(
        &metrics,
        &[
            "rpc_server_call_duration_seconds_count",
            &method,
            r#"rpc_status_code="OK""#,
        ],
    );
    assert_eq!((http_count, rpc_count), (1.0, 1.0), "{metrics}");
    // The push that follows the scrape carries the same figures, the request's exemplar
    // and the pod's resource.
    let (resource, http_point, rpc_point) = wait_for_push(&receiver, pushes_before);
    assert_eq!(http_point.count as f64, http_count, "{http_point:#?}");
    assert_eq!(rpc_point.count as f64, rpc_count, "{rpc_point:#?}");
    let exemplar_traces: Vec<String> = http_point
        .exemplars
        .iter()
        .map(|e| e.trace_id.iter().map(|b| format!("{b:02x}")).collect())
        .collect();
    assert_eq!(exemplar_traces, [GRPC_TRACE_ID], "{http_point:#?}");

    check_with_python_grpcio(service.port);

    // SIGTERM: the gRPC health service says NOT_SERVING while the service drains.
    stop(&mut service, |service| {
        wait_for_grpc_health(
            &runtime,
            service,
            ServingStatus::NotServing,
            Duration::from_secs(3),
        );
    });

    // Flushed at shutdown: HTTP server span → gRPC client span → gRPC server span, all in
    // the trace the request started.
    let spans: Vec<_> = receiver
        .wait_for_spans_blocking(3, Duration::from_secs(10))
        .into_iter()
        .filter(|s| s.trace_id == GRPC_TRACE_ID)
        .collect();
    let find = |name: &str, kind: SpanKind| {
        spans
            .iter()
            .find(|s| s.name == name && s.kind == kind)
            .unwrap_or_else(|| {
                panic!("no {kind:?} span {name} in trace {GRPC_TRACE_ID}: {spans:#?}")
            })
    };
    let http = find("GET /grpc-hello/{name}", SpanKind::Server);
    let client = find(SAY_HELLO, SpanKind::Client);
    let server = find(SAY_HELLO, SpanKind::Server);
    assert_eq!(http.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
    assert_eq!(
        client.parent_span_id.as_deref(),
        Some(http.span_id.as_str())
    );
    assert_eq!(
        server.parent_span_id.as_deref(),
        Some(client.span_id.as_str())
    );
    assert_eq!(
        server.attr("rpc.status_code").and_then(|v| v.as_str()),
        Some("OK")
    );
    // Spans, log records and metrics name their pod: the resource Kubernetes' downward
    // API describes.
    let access = wait_for_access_line(&receiver);
    assert_eq!(access.body_str(), Some("GET /grpc-hello/{name} 200"));
    assert_eq!(access.span_id.as_deref(), Some(http.span_id.as_str()));
    for (key, value) in [
        ("k8s.pod.name", POD_NAME),
        ("k8s.namespace.name", POD_NAMESPACE),
        ("k8s.node.name", POD_NODE),
        ("k8s.container.name", GRPC_NAME),
        (
            "service.instance.id",
            &format!("{POD_NAMESPACE}.{POD_NAME}.{GRPC_NAME}"),
        ),
        ("service.name", GRPC_NAME),
    ] {
        for (signal, resource) in [
            ("span", &server.resource),
            ("log record", &access.resource),
            ("metrics push", &resource),
        ] {
            assert_eq!(
                resource.get(key).and_then(|v| v.as_str()),
                Some(value),
                "{key} of the {signal} in {resource:#?}"
            );
        }
    }
    assert_eq!(
        access.resource, server.resource,
        "one resource for logs and spans"
    );
    assert_eq!(
        resource, server.resource,
        "one resource for metrics and spans"
    );
    assert!(
        receiver
            .spans()
            .iter()
            .all(|s| !s.name.starts_with("grpc.health.v1")),
        "health checks are not traced"
    );
}

/// The value of the one sample in a Prometheus text whose line has every one of `parts`.
fn scraped_value(metrics: &str, parts: &[&str]) -> f64 {
    let lines: Vec<&str> = metrics
        .lines()
        .filter(|line| !line.starts_with('#') && parts.iter().all(|p| line.contains(p)))
        .collect();
    let [line] = lines[..] else {
        panic!("not one sample with {parts:?} in:\n{metrics}")
    };
    let value = line.rsplit(' ').next().unwrap_or_default();
    value
        .parse()
        .unwrap_or_else(|e| panic!("{line}: {value}: {e}"))
}

/// Pushed histogram data points: the request's HTTP route and the gRPC server's method.
type PushedPoints = (
    BTreeMap<String, obskit_test_receiver::AttrValue>,
    HistogramDataPoint,
    HistogramDataPoint,
);

/// Waits for the first metrics push after the `before`th that has the HTTP route's and
/// the gRPC method's duration points; returns its resource and the two points.
fn wait_for_push(receiver: &OtlpReceiver, before: usize) -> PushedPoints {
    let point = |metric: &Metric, label: &str, value: &str| {
        let Some(Data::Histogram(histogram)) = &metric.data else {
            panic!("{} is no histogram: {metric:#?}", metric.name)
        };
        histogram
            .data_points
            .iter()
            .find(|p| {
                p.attributes.iter().any(|kv| {
                    kv.key == label
                        && kv.value.as_ref().and_then(|v| v.value.as_ref())
                            == Some(&AnyValue::StringValue(value.to_owned()))
                })
            })
            .cloned()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let requests = receiver.metrics_requests();
        for request in requests.iter().skip(before).filter(|r| r.accepted) {
            let metrics = request.metrics();
            let find = |name: &str, label: &str, value: &str| {
                metrics
                    .iter()
                    .filter(|(_, m)| m.name == name)
                    .find_map(|(resource, m)| Some((resource.clone(), point(m, label, value)?)))
            };
            if let (Some((resource, http)), Some((_, rpc))) = (
                find(
                    "http_server_request_duration_seconds",
                    "http_route",
                    "/grpc-hello/{name}",
                ),
                find("rpc_server_call_duration_seconds", "rpc_method", SAY_HELLO),
            ) {
                return (resource, http, rpc);
            }
        }
        assert!(
            Instant::now() < deadline,
            "no metrics push with the request's figures within 60 s: {requests:#?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits for the OTLP log record of the traced HTTP request's access line (the gRPC
/// call it makes has one of its own in the same trace).
fn wait_for_access_line(receiver: &OtlpReceiver) -> ReceivedLog {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let logs = receiver.logs();
        if let Some(access) = logs.iter().find(|l| {
            l.scope_name == "obskit::access"
                && l.trace_id.as_deref() == Some(GRPC_TRACE_ID)
                && l.attr("http.route").and_then(|v| v.as_str()) == Some("/grpc-hello/{name}")
        }) {
            return access.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no access record in trace {GRPC_TRACE_ID} within 60 s: {logs:#?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The pod the `--grpc` run pretends to be, as the downward API would describe it.
const POD_NAME: &str = "e2e-grpc-svc-6c9d7f8b5-q4m2z";
const POD_NAMESPACE: &str = "payments";
const POD_NODE: &str = "node-7";

/// The generated Deployment's container environment, as the kubelet would build it for
/// the pod above.
fn deployment_env(project: &Path) -> Vec<(String, String)> {
    let text = fs::read_to_string(project.join("deploy/deployment.yaml")).unwrap();
    let deployment: serde_json::Value = yaml_serde::from_str(&text).unwrap();
    let pod = BTreeMap::from([
        ("metadata.name", POD_NAME),
        ("metadata.namespace", POD_NAMESPACE),
        ("metadata.uid", "7e3f5a10-2b4c-4d6e-8f90-a1b2c3d4e5f6"),
        ("spec.nodeName", POD_NODE),
    ]);
    common::kubelet_env(
        &deployment["spec"]["template"]["spec"]["containers"][0],
        &pod,
    )
}

/// A client from outside, in Python's grpcio: health for every name the probes ask about,
/// the service list by server reflection (v1alpha, the version grpcio-reflection speaks;
/// the generated service's own tests read v1), and a server stream read message by
/// message. Prints one line per finding.
const PYTHON_CLIENT: &str = r#"
import sys
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

channel = grpc.insecure_channel(sys.argv[1])
grpc.channel_ready_future(channel).result(timeout=30)
health = health_pb2_grpc.HealthStub(channel)
for name in ["", "greeter.v1.Greeter", "liveness", "startup"]:
    reply = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=10)
    print("health", repr(name), health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
request = reflection_pb2.ServerReflectionRequest(list_services="")
reply = next(reflection.ServerReflectionInfo(iter([request]), timeout=10))
print("services", " ".join(sorted(s.name for s in reply.list_services_response.service)))
# HelloStreamRequest{name: "ada", count: 3} encoded by hand; replies kept as bytes.
stream = channel.unary_stream("/greeter.v1.Greeter/SayHelloStream")
replies = list(stream(b"\x0a\x03ada\x10\x03", timeout=10))
print("stream", len(replies), replies[-1][2:].decode())
"#;

/// Runs [`PYTHON_CLIENT`] against the service on `port`; skipped with a notice when
/// python3 with grpcio, grpcio-health-checking and grpcio-reflection is missing, unless
/// `CI` is set.
fn check_with_python_grpcio(port: u16) {
    if !obskit_test_support::python3_with(
        "grpc, grpc_health.v1.health_pb2_grpc, grpc_reflection.v1alpha.reflection_pb2_grpc",
        "pip install grpcio grpcio-health-checking grpcio-reflection",
    ) {
        return;
    }
    let output = Command::new("python3")
        .args(["-c", PYTHON_CLIENT, &format!("127.0.0.1:{port}")])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the grpcio client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for name in ["''", "'greeter.v1.Greeter'", "'liveness'", "'startup'"] {
        assert!(
            stdout.contains(&format!("health {name} SERVING\n")),
            "{name}: {stdout}"
        );
    }
    let services = stdout
        .lines()
        .find_map(|l| l.strip_prefix("services "))
        .unwrap_or_else(|| panic!("no service list: {stdout}"));
    for wanted in ["greeter.v1.Greeter", "grpc.health.v1.Health"] {
        assert!(services.split(' ').any(|s| s == wanted), "{services}");
    }
    assert!(stdout.contains("stream 3 hello, ada (3/3)\n"), "{stdout}");
}

/// A plain HTTP/1.1 POST of `body` on 127.0.0.1, in the trace `traceparent`; the status.
fn post(port: u16, path: &str, body: &str, traceparent: &str) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\ntraceparent: {traceparent}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    Ok(text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// Which of the two renderers writes a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Renderer {
    /// `obskit new`.
    ObskitNew,
    /// `cargo generate --path template`.
    CargoGenerate,
}

/// Renders `name` with the options of `combination` by `renderer`, against this checkout,
/// in `work`; returns the project directory and the shared target directory. Without
/// cargo-generate (outside CI) `obskit new` renders it, with a notice.
fn render(
    work: &Path,
    name: &str,
    combination: &common::Combination,
    renderer: Renderer,
) -> (PathBuf, PathBuf) {
    let local = common::repo_root().join("crates/obskit");
    let can_generate = obskit_test_support::find_program("cargo-generate").is_some();
    if renderer == Renderer::ObskitNew || !can_generate {
        if !can_generate {
            obskit_test_support::skip(format_args!(
                "cargo-generate is not installed: obskit new renders {name} instead"
            ));
        }
        let args = common::obskit_args(combination);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        return generate(work, name, &args);
    }
    let mut defines = common::defines(combination);
    defines.push(format!("obskit_path={}", local.display()));
    let defines: Vec<&str> = defines.iter().map(String::as_str).collect();
    common::run_cargo_generate(name, work, &defines);
    let project = work.join(name);
    fs::copy(
        common::repo_root().join("Cargo.lock"),
        project.join("Cargo.lock"),
    )
    .unwrap();
    let target = common::generated_target();
    (project, target)
}

/// The broker a generated service was made for, as its README names it.
struct Broker {
    /// The `--messaging` value, which is also its `messaging.system`.
    system: &'static str,
    /// Its name in the generated tests' notes.
    what: &'static str,
    /// The variable holding its URL.
    var: &'static str,
    /// How the README starts one locally.
    start: &'static str,
}

impl Broker {
    fn of(system: &str) -> Self {
        match system {
            "rabbitmq" => Self {
                system: "rabbitmq",
                what: "RabbitMQ",
                var: "AMQP_URL",
                start: "rabbitmq-server -detached",
            },
            "nats" => Self {
                system: "nats",
                what: "NATS",
                var: "NATS_URL",
                start: "nats-server -js",
            },
            other => panic!("no broker {other}"),
        }
    }

    /// Its URL with nothing listening behind it.
    fn closed_url(&self) -> String {
        let port = free_port();
        match self.system {
            "rabbitmq" => format!("amqp://guest:guest@127.0.0.1:{port}/%2f"),
            _ => format!("nats://127.0.0.1:{port}"),
        }
    }

    /// The destination a service publishes tasks to, for the queue name `queue`.
    fn destination(&self, queue: &str) -> String {
        match self.system {
            "rabbitmq" => queue.to_owned(),
            _ => format!("{queue}.tasks"),
        }
    }
}

/// Waits for `child` to exit (at most `within`: it must not hang); its status and stderr.
fn exit_of(mut child: Child, within: Duration) -> (std::process::ExitStatus, String) {
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + within;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running after {within:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    (status, reader.join().unwrap())
}

/// Without a broker: the generated service's messaging tests (run as `cargo test` would,
/// but with the broker's URL at a closed port and without `CI`) all skip at once, each
/// saying what is missing, where and why; a hang fails instead.
fn messaging_tests_skip_without_a_broker(project: &Path, target: &Path, broker: &Broker) {
    let url = broker.closed_url();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    // coreutils' `timeout` ends a run that hangs (the client's own retries took minutes).
    let output = Command::new("timeout")
        .args([
            "--kill-after=5",
            "300",
            &cargo,
            "test",
            "--test",
            "messaging",
            "--",
            "--nocapture",
        ])
        .current_dir(project)
        .envs(common::generated_build_env(target))
        .env(broker.var, &url)
        .env_remove("CI")
        .env_remove("RUSTFLAGS")
        .output()
        .expect("timeout and cargo run");
    let text = format!("{}{}", common::stdout(&output), common::stderr(&output));
    assert_ne!(output.status.code(), Some(124), "the tests hung:\n{text}");
    assert!(output.status.success(), "{text}");
    let ran: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("running ")?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no test count in:\n{text}"));
    let notice = format!("skipped: no {} at {url} (", broker.what);
    let notices: Vec<&str> = text.lines().filter(|l| l.starts_with(&notice)).collect();
    assert!(ran > 0, "{text}");
    assert_eq!(notices.len(), ran, "one notice per test:\n{text}");
    for line in notices {
        assert!(
            line.contains("refused") && line.contains(broker.var),
            "says why and what to set: {line}"
        );
    }
}

/// One trace id per claim, sent by the test as the caller's `traceparent`.
const DB_TRACE_ID: &str = "5b8efff798038103d269b633813fc60c";
/// The span id of the caller in both traces.
const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";
/// The trace of the first `GET /visits/{name}`, which misses the cache.
const CACHE_MISS_TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
/// The trace of the second `GET /visits/{name}`, which hits the cache.
const CACHE_HIT_TRACE_ID: &str = "3e3c6d9e8b8a4b0f9d2c7a1e5f604b21";

/// Polls obskit dev's page of trace `trace_id` until `complete` holds for its spans.
#[cfg(feature = "dev")]
fn trace_shown(
    ui_port: u16,
    trace_id: &str,
    complete: impl Fn(&[dev_support::ShownSpan]) -> bool,
) -> Vec<dev_support::ShownSpan> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, page) = dev_support::get(ui_port, &format!("/traces/{trace_id}"));
        let spans = dev_support::shown_spans(&page);
        if status == 200 && complete(&spans) {
            return spans;
        }
        assert!(
            Instant::now() < deadline,
            "trace {trace_id} incomplete in obskit dev after 60 s: {spans:#?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The one span named `name`.
#[cfg(feature = "dev")]
fn the_span<'a>(spans: &'a [dev_support::ShownSpan], name: &str) -> &'a dev_support::ShownSpan {
    let found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
    let [span] = found[..] else {
        panic!("not one span {name}: {spans:#?}")
    };
    span
}

/// The trace of `POST /tasks`, from obskit dev: the request's server span, the `send`
/// span under it, and the worker's `process` span under that, linked to it.
#[cfg(feature = "dev")]
fn assert_task_trace(ui_port: u16, broker: &Broker, destination: &str) {
    let (send_name, process_name) = (
        format!("send {destination}"),
        format!("process {destination}"),
    );
    // The worker may end its span before the request's: wait for all three.
    let spans = trace_shown(ui_port, TRACE_ID, |spans| {
        ["POST /tasks", &send_name, &process_name]
            .iter()
            .all(|name| spans.iter().any(|s| s.name == *name))
    });
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let server = the_span(&spans, "POST /tasks");
    let send = the_span(&spans, &send_name);
    let process = the_span(&spans, &process_name);
    assert_eq!(
        (server.kind.as_str(), server.parent.as_str()),
        ("server", CALLER_SPAN_ID),
        "{server:#?}"
    );
    assert_eq!(server.attr("http.route"), Some("/tasks"), "{server:#?}");
    assert_eq!(
        (send.kind.as_str(), &send.parent),
        ("producer", &server.span_id),
        "{send:#?}"
    );
    assert_eq!(
        (process.kind.as_str(), &process.parent),
        ("consumer", &send.span_id),
        "{process:#?}"
    );
    assert_eq!(
        process.links,
        std::slice::from_ref(&send.span_id),
        "{process:#?}"
    );
    for span in [send, process] {
        assert_eq!(
            span.attr("messaging.system"),
            Some(broker.system),
            "{span:#?}"
        );
        assert_eq!(
            span.attr("messaging.destination.name"),
            Some(destination),
            "{span:#?}"
        );
    }
    assert_eq!(
        (
            send.attr("messaging.operation.type"),
            process.attr("messaging.operation.type")
        ),
        (Some("send"), Some("process"))
    );
}

/// `POST /visits/ada` twice and `GET /cached/{key}` twice, all in the trace
/// [`DB_TRACE_ID`]; then that trace from obskit dev (each request's server span with its
/// PostgreSQL query or Redis commands as client spans under it) and the database figures
/// of `/metrics`, exact for that traffic.
#[cfg(feature = "dev")]
fn assert_datastore_trace_and_figures(port: u16, ui_port: u16, key: &str) {
    let traceparent = format!("00-{DB_TRACE_ID}-{CALLER_SPAN_ID}-01");
    for _ in 0..2 {
        let status = post(port, "/visits/ada", "", &traceparent).unwrap();
        assert_eq!(status, 200, "POST /visits/ada");
    }
    for cached in ["false", "true"] {
        let cache = get(
            port,
            &format!("/cached/{key}"),
            &[("traceparent", &traceparent)],
        )
        .unwrap();
        assert_eq!(cache.status, 200, "GET /cached");
        assert!(
            cache.body.contains(&format!("\"cached\":{cached}")),
            "{}",
            cache.body
        );
    }
    // Four requests: each a server span, with one INSERT, or GET (+ SETEX on a miss).
    let spans = trace_shown(ui_port, DB_TRACE_ID, |spans| spans.len() >= 9);
    assert_eq!(spans.len(), 9, "{spans:#?}");
    let children = |parent: &dev_support::ShownSpan| -> Vec<&dev_support::ShownSpan> {
        spans
            .iter()
            .filter(|s| s.parent == parent.span_id)
            .collect()
    };
    let servers: Vec<_> = spans.iter().filter(|s| s.kind == "server").collect();
    let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "POST /visits/{name}",
            "POST /visits/{name}",
            "GET /cached/{name}",
            "GET /cached/{name}"
        ],
        "in the order sent: {spans:#?}"
    );
    let expected: [&[(&str, &str, Option<&str>)]; 4] = [
        &[("INSERT visits", "postgresql", Some("visits"))],
        &[("INSERT visits", "postgresql", Some("visits"))],
        &[("GET", "redis", None), ("SETEX", "redis", None)],
        &[("GET", "redis", None)],
    ];
    for (server, expected) in servers.iter().zip(expected) {
        assert_eq!(server.parent, CALLER_SPAN_ID, "{server:#?}");
        assert_client_spans(server, &children(server), expected);
    }

    // The same traffic on /metrics, exactly: two INSERTs, two GETs, one SETEX; three
    // connections taken from the pool (the start's migration and the two INSERTs), none
    // waiting, none timed out, none in use now, at most ten.
    let metrics = get(port, "/metrics", &[]).unwrap().body;
    let pg = r#"db_system_name="postgresql""#;
    let redis = r#"db_system_name="redis""#;
    let duration = "db_client_operation_duration_seconds_count{";
    for (parts, value) in [
        (&[duration, pg, r#"db_operation_name="INSERT""#][..], 2.0),
        (&[duration, redis, r#"db_operation_name="GET""#], 2.0),
        (&[duration, redis, r#"db_operation_name="SETEX""#], 1.0),
        (&["db_client_connection_wait_time_seconds_count{", pg], 3.0),
        (&["db_client_connection_pending_requests{", pg], 0.0),
        (&["db_client_connection_timeouts_total{", pg], 0.0),
        (&["db_client_connection_max{", pg], 10.0),
        (
            &[
                "db_client_connections{",
                pg,
                r#"db_client_connection_state="used""#,
            ],
            0.0,
        ),
    ] {
        assert_eq!(scraped_value(&metrics, parts), value, "{parts:?}");
    }
}

/// `GET /visits/{name}` twice, each in a trace of its own; then both traces from obskit
/// dev. The first read misses the cache: one server span with, under it in this order, a
/// Redis `GET`, a PostgreSQL `SELECT visits` and a Redis `SETEX`. The second hits it: a
/// `GET` and no `SELECT`.
#[cfg(feature = "dev")]
fn assert_read_through_traces(port: u16, ui_port: u16, name: &str) {
    type Expected<'a> = &'a [(&'a str, &'a str, Option<&'a str>)];
    let reads: [(&str, bool, Expected<'_>); 2] = [
        (
            CACHE_MISS_TRACE_ID,
            false,
            &[
                ("GET", "redis", None),
                ("SELECT visits", "postgresql", Some("visits")),
                ("SETEX", "redis", None),
            ],
        ),
        (CACHE_HIT_TRACE_ID, true, &[("GET", "redis", None)]),
    ];
    let path = format!("/visits/{name}");
    for (trace_id, cached, expected) in reads {
        let traceparent = format!("00-{trace_id}-{CALLER_SPAN_ID}-01");
        let read = get(port, &path, &[("traceparent", &traceparent)]).unwrap();
        assert_eq!(read.status, 200, "GET {path}: {}", read.body);
        assert!(
            read.body.contains(&format!("\"cached\":{cached}")),
            "GET {path}: {}",
            read.body
        );
        let spans = trace_shown(ui_port, trace_id, |spans| spans.len() > expected.len());
        assert_eq!(spans.len(), expected.len() + 1, "{spans:#?}");
        let server = the_span(&spans, "GET /visits/{name}");
        assert_eq!(
            (
                server.kind.as_str(),
                server.parent.as_str(),
                server.attr("http.route")
            ),
            ("server", CALLER_SPAN_ID, Some("/visits/{name}")),
            "{server:#?}"
        );
        let under: Vec<_> = spans
            .iter()
            .filter(|s| s.parent == server.span_id)
            .collect();
        assert_client_spans(server, &under, expected);
    }
}

/// The datastore client spans `under` a server span, in order: each named, of kind
/// `client`, with the system, operation and collection `expected` gives (the operation is
/// the name's first word).
#[cfg(feature = "dev")]
fn assert_client_spans(
    server: &dev_support::ShownSpan,
    under: &[&dev_support::ShownSpan],
    expected: &[(&str, &str, Option<&str>)],
) {
    assert_eq!(under.len(), expected.len(), "{server:#?}: {under:#?}");
    for (span, (name, system, collection)) in under.iter().zip(expected) {
        let operation = name.split(' ').next().unwrap();
        assert_eq!(
            (
                span.name.as_str(),
                span.kind.as_str(),
                span.attr("db.system.name"),
                span.attr("db.operation.name"),
                span.attr("db.collection.name"),
            ),
            (*name, "client", Some(*system), Some(operation), *collection),
            "{span:#?}"
        );
    }
}

/// One generated messaging service of the end-to-end run: its name, its renderer, its
/// options, and the servers it needs (port and name).
type MessagingRun<'a> = (&'a str, Renderer, common::Combination, &'a [(u16, &'a str)]);

/// The two brokers, each run as its README says under the real `obskit dev`: one service
/// rendered by `cargo generate` (RabbitMQ, with PostgreSQL and Redis), one by `obskit new`
/// (NATS, with gRPC). Each is built, checked and tested (its tests against the real
/// servers, then again without a broker: they skip at once, saying why, and the binary
/// stops with an error naming the URL); then, on a queue of its own under `obskit dev`, a
/// task posted over HTTP in a known trace is processed by the worker, whose log line
/// carries that trace id, and obskit dev shows one trace holding the request, the send
/// and the processing; the datastore requests show their queries and commands in their
/// trace, and `/metrics` their exact figures; a read through the cache queries the
/// database on a miss only; SIGTERM stops it cleanly with no span lost.
#[cfg(feature = "dev")]
#[test]
fn generated_messaging_services_build_pass_their_tests_and_process_a_posted_task() {
    use obskit_cli::manifest::Value;

    let _target = common::target_shared();
    let text = |v: &str| Value::Text(v.to_owned());
    let on = Value::Bool(true);
    // A representative pair, not every combination (contract.rs and cargo_generate.rs
    // render every one).
    let runs: [MessagingRun<'_>; 2] = [
        (
            "e2e-rabbitmq-svc",
            Renderer::CargoGenerate,
            vec![
                ("messaging".to_owned(), text("rabbitmq")),
                ("postgres".to_owned(), on.clone()),
                ("redis".to_owned(), on.clone()),
            ],
            &[(5672, "RabbitMQ"), (5432, "PostgreSQL"), (6379, "Redis")],
        ),
        (
            "e2e-nats-svc",
            Renderer::ObskitNew,
            vec![
                ("grpc".to_owned(), on.clone()),
                ("messaging".to_owned(), text("nats")),
            ],
            &[(4222, "NATS")],
        ),
    ];
    for (name, renderer, combination, servers) in runs {
        if !servers
            .iter()
            .all(|(port, what)| obskit_test_support::server_up(&format!("127.0.0.1:{port}"), what))
        {
            continue;
        }
        let Some((_, Value::Text(system))) = combination.iter().find(|(o, _)| o == "messaging")
        else {
            unreachable!()
        };
        let broker = Broker::of(system);
        let datastores = combination.iter().any(|(o, _)| o == "postgres");
        let work = tempfile::tempdir().unwrap();
        let (project, target) = render(work.path(), name, &combination, renderer);
        // Its own tests (tests/messaging.rs and the rest) run against the servers here.
        build_and_check(&project, &target);

        // Without a broker: the binary stops, saying what it tried and how to start one
        // (run alongside the tests, which skip at once).
        let closed = broker.closed_url();
        let alone = Command::new(target.join("debug").join(name))
            .env(broker.var, &closed)
            .env("PORT", free_port().to_string())
            .env("OTEL_SDK_DISABLED", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        messaging_tests_skip_without_a_broker(&project, &target, &broker);
        let (status, stderr) = exit_of(alone, Duration::from_secs(120));
        assert!(
            !status.success(),
            "{name} started without a broker:\n{stderr}"
        );
        for needle in [closed.as_str(), broker.var, broker.start, "README.md"] {
            assert!(
                stderr.contains(needle),
                "{name}: no `{needle}` in:\n{stderr}"
            );
        }

        // Run as the README says (`obskit dev -- cargo run`), on a queue of its own.
        let queue = format!("e2e-{}-{}", std::process::id(), name);
        let port = free_port();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut dev = dev_support::Dev::start_in_generated(
            &project,
            &target,
            &["--logs", "raw", "--", &cargo, "run", "--quiet"],
            &[
                ("PORT", &port.to_string()),
                ("RUST_LOG", "info"),
                ("OBSKIT_DRAIN_DELAY", "500ms"),
                ("TASKS_QUEUE", &queue),
            ],
        );
        let deadline = Instant::now() + Duration::from_secs(120);
        while !get(port, "/health/ready", &[]).is_ok_and(|r| r.status == 200) {
            dev.collect();
            assert!(
                Instant::now() < deadline,
                "{name} not ready under obskit dev:\n{}\n{}",
                dev.out_lines.join("\n"),
                dev.err_lines.join("\n")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let traceparent = format!("00-{TRACE_ID}-{CALLER_SPAN_ID}-01");
        let status = post(port, "/tasks", "hello", &traceparent).unwrap();
        assert_eq!(status, 202, "{name}");
        let deadline = Instant::now() + Duration::from_secs(60);
        let settled = [
            "obskit_messaging_settlements_total",
            "settlement=\"ack\"",
            "} 1",
        ];
        loop {
            let metrics = get(port, "/metrics", &[]).unwrap().body;
            if has_series(&metrics, &settled) {
                for parts in [
                    &["obskit_messaging_consumers", "} 1"][..],
                    &["obskit_slo_objective_ratio", "slo=\"tasks-fresh\""],
                    &["messaging_client_sent_messages_total", "} 1"],
                ] {
                    assert!(has_series(&metrics, parts), "{name}: {parts:?}\n{metrics}");
                }
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{name}: the task was never acknowledged:\n{metrics}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // The worker's log line (passed through by obskit dev) carries the trace id of the
        // request that published the task.
        let deadline = Instant::now() + Duration::from_secs(30);
        let processed = loop {
            dev.collect();
            if let Some(line) = dev.out_lines.iter().find(|l| l.contains("task processed")) {
                break line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "{name}: no \"task processed\" line:\n{}",
                dev.out_lines.join("\n")
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let processed: serde_json::Value = serde_json::from_str(&processed).unwrap();
        assert_eq!(processed["task"], "hello", "{processed}");
        assert_eq!(processed["trace_id"], TRACE_ID, "{processed}");
        // And obskit dev shows the whole trace, span by span.
        assert_task_trace(dev.ui_port, &broker, &broker.destination(&queue));
        crate::messaging_figures::check(&project, name, port, &broker.destination(&queue), 1);
        if datastores {
            assert_datastore_trace_and_figures(port, dev.ui_port, &queue);
            assert_read_through_traces(port, dev.ui_port, &queue);
        }

        // SIGTERM (what Ctrl-C sends to both): the worker settles, HTTP drains, telemetry
        // is flushed with nothing dropped, and obskit dev exits with the service.
        let status = dev.terminate(Duration::from_secs(60));
        assert!(
            status.success(),
            "{name}: {status}:\n{}",
            dev.err_lines.join("\n")
        );
        assert!(
            dev.out_lines
                .iter()
                .any(|l| l.contains("telemetry shut down") && l.contains("\"spans_dropped\":0")),
            "{name} did not shut down cleanly:\n{}",
            dev.out_lines.join("\n")
        );
    }
}
