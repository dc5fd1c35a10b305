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
//! exemplar) to the one receiver, all naming their pod. And `--messaging rabbitmq` and
//! `--messaging nats --grpc` (the first with `--postgres --redis` too): built, checked and
//! tested (their tests run against the real servers), then run on a queue of their own: a task posted over HTTP in a known trace is
//! processed by the worker, whose log line carries that trace id, and SIGTERM stops it cleanly.
//!
//! Every run shares one target directory (under Cargo's `CARGO_TARGET_TMPDIR`) and pins
//! dependency versions to the workspace's Cargo.lock, so only the first run compiles the
//! dependencies. That first run takes minutes.

mod common;

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
        .env("CARGO_TARGET_DIR", target)
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

/// A port on 127.0.0.1 that nothing listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
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

/// Decodes a chunked body.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
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
    let target: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("obskit-e2e-target");
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
    let work = tempfile::tempdir().unwrap();
    let (project, target) = generate(work.path(), NAME, &[]);
    add_instrumented_module(&project);

    cargo(&project, &target, &["build", "--all-targets"]);
    cargo(&project, &target, &["test"]);
    // What users run first: the generated code is formatted and lint-free.
    cargo(&project, &target, &["fmt", "--check"]);
    cargo(
        &project,
        &target,
        &["clippy", "--all-targets", "--", "-D", "warnings"],
    );

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

/// The notice a skipped check owes the reader of the test log.
#[allow(clippy::print_stderr)]
fn skipped(what: &str) {
    eprintln!("SKIPPED {what}");
}

/// Runs [`PYTHON_CLIENT`] against the service on `port`; skipped with a notice when
/// python3 with grpcio, grpcio-health-checking and grpcio-reflection is missing, unless
/// `CI` is set.
fn check_with_python_grpcio(port: u16) {
    let modules =
        "import grpc, grpc_health.v1.health_pb2_grpc, grpc_reflection.v1alpha.reflection_pb2_grpc";
    let available = Command::new("python3")
        .args(["-c", modules])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 with grpcio, grpcio-health-checking and grpcio-reflection is missing; \
             .ci/run installs them"
        );
        skipped("the grpcio client: pip install grpcio grpcio-health-checking grpcio-reflection");
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

/// Whether a broker listens on `port` of 127.0.0.1; without one the test is skipped
/// (failed when `CI` is set).
fn broker_listens(port: u16, what: &str) -> bool {
    if TcpStream::connect(("127.0.0.1", port)).is_ok() {
        return true;
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "no {what} on 127.0.0.1:{port}; CI must start it (.ci/run)"
    );
    skipped(&format!("{what} (nothing listens on 127.0.0.1:{port})"));
    false
}

#[test]
fn generated_messaging_services_build_pass_their_tests_and_process_a_posted_task() {
    // The two brokers, one with gRPC as well: a representative pair, not every combination
    // (contract.rs and cargo_generate.rs render every one).
    for (name, options, servers) in [
        (
            "e2e-rabbitmq-svc",
            &["--messaging", "rabbitmq", "--postgres", "--redis"][..],
            &[(5672, "RabbitMQ"), (5432, "PostgreSQL"), (6379, "Redis")][..],
        ),
        (
            "e2e-nats-svc",
            &["--messaging", "nats", "--grpc"][..],
            &[(4222, "NATS")][..],
        ),
    ] {
        if !servers
            .iter()
            .all(|(port, what)| broker_listens(*port, what))
        {
            continue;
        }
        let work = tempfile::tempdir().unwrap();
        let (project, target) = generate(work.path(), name, options);
        // Its own tests/messaging.rs runs against the broker here.
        build_and_check(&project, &target);

        // Run as the README says, on a queue of its own.
        let queue = format!("e2e-{}-{}", std::process::id(), name);
        let mut service = Running::start(
            &target.join("debug").join(name),
            &[("TASKS_QUEUE", queue.as_str())],
        );
        service.wait_for_status("/health/ready", 200, Duration::from_secs(60));
        let traceparent = format!("00-{TRACE_ID}-00f067aa0ba902b7-01");
        let status = post(service.port, "/tasks", "hello", &traceparent).unwrap();
        assert_eq!(status, 202, "{name}");
        let deadline = Instant::now() + Duration::from_secs(60);
        let settled = [
            "obskit_messaging_settlements_total",
            "settlement=\"ack\"",
            "} 1",
        ];
        loop {
            let metrics = service.get("/metrics", &[]).body;
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
        // The worker's log line carries the trace id of the request that published the task:
        // HTTP request, send and process in one trace.
        let processed = loop {
            let line = service
                .lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("{name}: no \"task processed\" line"));
            if line.contains("task processed") {
                break line;
            }
        };
        let processed: serde_json::Value = serde_json::from_str(&processed).unwrap();
        assert_eq!(processed["task"], "hello", "{processed}");
        assert_eq!(processed["trace_id"], TRACE_ID, "{processed}");
        if options.contains(&"--postgres") {
            for _ in 0..2 {
                let status = post(service.port, "/visits/ada", "", &traceparent).unwrap();
                assert_eq!(status, 200, "{name}: POST /visits/ada");
            }
            let metrics = service.get("/metrics", &[]).body;
            let parts = [
                "db_client_operation_duration_seconds_count",
                r#"db_operation_name="INSERT""#,
                "} 2",
            ];
            assert!(has_series(&metrics, &parts), "{name}:\n{metrics}");
        }
        if options.contains(&"--redis") {
            for cached in ["false", "true"] {
                let cache = service.get(&format!("/cached/{queue}"), &[]);
                assert_eq!(cache.status, 200, "{name}: GET /cached");
                assert!(
                    cache.body.contains(&format!("\"cached\":{cached}")),
                    "{name}: {}",
                    cache.body
                );
            }
        }
        stop(&mut service, |_| {});
    }
}
