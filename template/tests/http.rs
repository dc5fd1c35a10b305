//! Tests over a real socket: start the compiled service on 127.0.0.1 and call it the way
//! clients, Kubernetes and Prometheus do.

use std::io::{BufRead as _, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

mod common;

/// How long the service may take to become ready.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The service binary running on a free port; killed when dropped.
struct Service {
    child: Child,
    base_url: String,
    lines: Receiver<String>,
    client: obskit::reqwest::Client,
}

impl Service {
    /// Starts the binary and waits until `/health/ready` answers 200; `None` (the test
    /// skips) when a server the service connects to at start is not running here.
    async fn start() -> Option<Self> {
        if !common::servers_running() {
            return None;
        }
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_{{project-name}}"))
            .env("PORT", port.to_string())
            .env("RUST_LOG", "info")
            .env("OBSKIT_LOG_FORMAT", "json")
            // Nothing listens there: export fails quietly, trace ids are still created.
            .env(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{}", free_port()),
            )
            .env_remove("UPSTREAM_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the service binary starts");
        let (sender, lines) = mpsc::channel();
        forward_lines(child.stdout.take().unwrap(), sender.clone());
        forward_lines(child.stderr.take().unwrap(), sender);

        let service = Self {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            lines,
            client: obskit::reqwest::Client::new(),
        };
        service.wait_until_ready().await;
        Some(service)
    }

    async fn wait_until_ready(&self) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Ok(response) = self.client.get(self.url("/health/ready")).send().await
                && response.status().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not ready after {STARTUP_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// GET `path`, returning the status code and the body.
    async fn get(&self, path: &str) -> (u16, String) {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// Waits for an output line matching `predicate`.
    fn wait_for_line(&self, what: &str, predicate: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if predicate(&line) => return line,
                Ok(line) => seen.push(line),
                Err(_) => break,
            }
        }
        panic!("no output line {what}; saw:\n{}", seen.join("\n"));
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port on 127.0.0.1 that nothing listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Sends each line the child writes to `sender`, from a thread of its own.
fn forward_lines(output: impl Read + Send + 'static, sender: Sender<String>) {
    std::thread::spawn(move || {
        for line in BufReader::new(output).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
}

/// The value of the first `trace_id` field anywhere in a JSON value.
fn find_trace_id(value: &serde_json::Value) -> Option<&str> {
    match value {
        serde_json::Value::Object(map) => map
            .get("trace_id")
            .and_then(serde_json::Value::as_str)
            .or_else(|| map.values().find_map(find_trace_id)),
        serde_json::Value::Array(items) => items.iter().find_map(find_trace_id),
        _ => None,
    }
}

#[tokio::test]
async fn probes_and_routes_answer() {
    let Some(service) = Service::start().await else {
        return;
    };
    assert_eq!(service.get("/health/live").await.0, 200);
    assert_eq!(service.get("/health/startup").await.0, 200);
    assert_eq!(service.get("/health/ready").await.0, 200);

    let (status, body) = service.get("/hello/ada").await;
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"message":"hello, ada"}"#)
    );
    // The outgoing call: this service relays to itself by default.
    let (status, body) = service.get("/relay/ada").await;
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"message":"hello, ada"}"#)
    );
    assert_eq!(service.get("/nope").await.0, 404);
}

#[tokio::test]
async fn metrics_show_requests_by_route_template_and_the_slos() {
    let Some(service) = Service::start().await else {
        return;
    };
    assert_eq!(service.get("/hello/ada").await.0, 200);

    let (status, metrics) = service.get("/metrics").await;
    assert_eq!(status, 200);
    let has_line = |parts: &[&str]| {
        metrics
            .lines()
            .any(|line| parts.iter().all(|part| line.contains(part)))
    };
    assert!(
        has_line(&[
            "http_server_request_duration_seconds_count",
            r#"http_route="/hello/{name}""#
        ]),
        "{metrics}"
    );
    assert!(
        has_line(&[
            "obskit_slo_objective_ratio",
            r#"slo="availability""#,
            " 0.999"
        ]),
        "{metrics}"
    );
    assert!(
        has_line(&["obskit_slo_objective_ratio", r#"slo="latency""#, " 0.99"]),
        "{metrics}"
    );
}

#[tokio::test]
async fn logs_are_json_lines_with_trace_ids() {
    let Some(service) = Service::start().await else {
        return;
    };
    assert_eq!(service.get("/hello/ada").await.0, 200);

    let line = service.wait_for_line("logging the greeting with a trace id", |line| {
        line.contains("saying hello")
            && serde_json::from_str::<serde_json::Value>(line)
                .is_ok_and(|json| find_trace_id(&json).is_some())
    });
    let json: serde_json::Value = serde_json::from_str(&line).unwrap();
    let trace_id = find_trace_id(&json).unwrap();
    assert_eq!(trace_id.len(), 32, "{line}");
    assert!(trace_id.bytes().all(|b| b.is_ascii_hexdigit()), "{line}");
    assert_ne!(trace_id, "0".repeat(32), "{line}");
}
