//! SIGTERM during an in-flight request, in a real process.
//!
//! The test binary re-runs itself as the service: `child_server` (ignored,
//! so it only runs when asked for) installs obskit process-wide exactly as
//! a service's `main` does, serves a router with slow routes and the
//! observability routes, prints `PORT=<n>` and calls `obskit::serve`. The
//! parent starts a slow request, sends SIGTERM with `kill`, watches
//! readiness turn 503 during the drain delay, and checks that the request
//! completes (or is cut at the in-flight timeout) and that the process
//! exits 0 within drain + in-flight + shutdown + slack.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use obskit::reqwest;
use obskit_test_support::prom;

const CHILD_ENV: &str = "OBSKIT_TEST_CHILD";
const SLOW: Duration = Duration::from_millis(1500);

/// The service side. Runs only when the parent sets `OBSKIT_TEST_CHILD=1`.
#[test]
#[ignore = "the child process of the graceful-shutdown tests; they run it"]
#[allow(clippy::print_stdout)]
fn child_server() {
    if std::env::var(CHILD_ENV).as_deref() != Ok("1") {
        println!("child_server only runs as the child of the graceful-shutdown tests");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        use axum::Router;
        use axum::routing::get;

        let telemetry = obskit::Config::from_env()
            .expect("valid environment")
            .install()
            .expect("obskit installs");
        let app = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(SLOW).await;
                    "slow done"
                }),
            )
            .route(
                "/endless",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(600)).await;
                    "never"
                }),
            )
            .merge(obskit::http::observability_routes(&telemetry))
            .layer(obskit::http::HttpLayer::new(&telemetry));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        println!("PORT={port}");
        let report = obskit::serve(listener, app, telemetry)
            .await
            .expect("serve");
        println!("SHUTDOWN timed_out={}", report.timed_out);
    });
}

/// A running child and everything it printed.
struct ServiceProcess {
    child: Child,
    port: u16,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl ServiceProcess {
    fn start(inflight_timeout: &str) -> Self {
        let exe = std::env::current_exe().expect("the test binary");
        let mut child = Command::new(exe)
            .args([
                "--exact",
                "graceful::child_server",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .env("OTEL_SERVICE_NAME", "graceful-child")
            .env("OTEL_TRACES_EXPORTER", "none")
            .env("RUST_LOG", "info")
            .env("OBSKIT_LOG_FORMAT", "json")
            .env("OBSKIT_DRAIN_DELAY", "500ms")
            .env("OBSKIT_INFLIGHT_TIMEOUT", inflight_timeout)
            .env("OBSKIT_SHUTDOWN_TIMEOUT", "2s")
            .env_remove("OTEL_SDK_DISABLED")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the child");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let out = child.stdout.take().unwrap();
        let sink = Arc::clone(&stdout);
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                // libtest may print "test child_server ... " on the same line.
                if let Some((_, rest)) = line.split_once("PORT=") {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let _ = port_tx.send(digits.parse::<u16>().expect("a port"));
                }
                sink.lock().unwrap().push(line);
            }
        });
        let err = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let mut this = Self {
            child,
            port: 0,
            stdout,
            stderr,
        };
        match port_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(port) => this.port = port,
            Err(_) => {
                let _ = this.child.kill();
                panic!("the child printed no port\n{}", this.output());
            }
        }
        this
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits for the exit, killing the child if it outlives `bound`.
    fn wait_exit(&mut self, bound: Duration) -> (std::process::ExitStatus, Duration) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                // Let the reader threads drain the pipes.
                std::thread::sleep(Duration::from_millis(100));
                return (status, start.elapsed());
            }
            if start.elapsed() > bound {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the child did not exit within {bound:?}\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn output(&self) -> String {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout.lock().unwrap().join("\n"),
            self.stderr.lock().unwrap().join("\n")
        )
    }

    /// The JSON log lines the child wrote.
    fn log_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with('{'))
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn logged(&self, prefix: &str) -> bool {
        self.log_lines()
            .iter()
            .any(|l| l["message"].as_str().is_some_and(|m| m.starts_with(prefix)))
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `/metrics` until the GET requests in flight reach `n`.
async fn wait_in_flight(client: &reqwest::Client, svc: &ServiceProcess, n: f64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = client
            .get(svc.url("/metrics"))
            .send()
            .await
            .expect("/metrics")
            .text()
            .await
            .unwrap();
        let active = prom::value(
            &text,
            "http_server_active_requests",
            &[("http_request_method", "GET")],
        );
        if active == Some(n) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{n} requests never in flight ({active:?})\n{}",
            svc.output()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asks readiness during the drain delay: it must answer 503 `draining`.
async fn assert_draining(client: &reqwest::Client, svc: &ServiceProcess) {
    let res = client
        .get(svc.url("/health/ready"))
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "readiness unreachable during the drain delay: {e}\n{}",
                svc.output()
            )
        });
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    assert_eq!(body["status"], "down");
    assert_eq!(body["reason"], "draining");
    // Liveness stays up while draining.
    let live = client.get(svc.url("/health/live")).send().await.unwrap();
    assert_eq!(live.status(), 200);
}

/// drain 0.5 s + in-flight (≤ 5 s) + shutdown 2 s + slack.
const EXIT_BOUND: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_in_flight_request_finish_then_exits() {
    let mut svc = ServiceProcess::start("5s");
    // A fresh client per purpose, so no request rides a pooled connection
    // the server is closing.
    let probe = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let ready = probe.get(svc.url("/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200, "serve marks the service started");

    let started = Instant::now();
    let slow = tokio::spawn({
        let url = svc.url("/slow");
        async move {
            let res = reqwest::Client::new().get(url).send().await?;
            let status = res.status().as_u16();
            Ok::<_, reqwest::Error>((status, res.text().await?))
        }
    });
    wait_in_flight(&probe, &svc, 1.0).await;

    svc.sigterm();
    // Readiness fails at once, and the server still answers while draining.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_draining(&probe, &svc).await;

    let (status, body) = slow
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("the in-flight request failed: {e}\n{}", svc.output()));
    assert_eq!((status, body.as_str()), (200, "slow done"));
    assert!(started.elapsed() >= SLOW);

    // After the drain delay the port no longer accepts connections.
    let refused = probe.get(svc.url("/health/live")).send().await;
    let (exit, after_signal) = svc.wait_exit(EXIT_BOUND);
    assert!(exit.success(), "exit status {exit:?}\n{}", svc.output());
    assert!(after_signal < EXIT_BOUND);
    assert!(
        refused.is_err(),
        "a new connection was served after the drain delay: {refused:?}"
    );

    assert!(svc.logged("shutdown signal received"), "{}", svc.output());
    assert!(
        svc.logged("no longer accepting connections"),
        "{}",
        svc.output()
    );
    assert!(svc.logged("telemetry shut down"), "{}", svc.output());
    assert!(
        !svc.logged("in-flight requests did not finish in time"),
        "the request finished in time\n{}",
        svc.output()
    );
    let stdout = svc.stdout.lock().unwrap().join("\n");
    assert!(
        stdout.contains("SHUTDOWN timed_out=false"),
        "{}",
        svc.output()
    );
    // The order: signal, then the telemetry flush, which comes last.
    let messages: Vec<String> = svc
        .log_lines()
        .iter()
        .filter_map(|l| l["message"].as_str().map(str::to_owned))
        .collect();
    let pos = |p: &str| messages.iter().position(|m| m.starts_with(p)).unwrap();
    assert!(pos("shutdown signal received") < pos("no longer accepting connections"));
    assert!(pos("no longer accepting connections") < pos("telemetry shut down"));
    // The in-flight request was logged with its status.
    assert!(
        svc.log_lines()
            .iter()
            .any(|l| l["target"] == "obskit::access" && l["message"] == "GET /slow 200"),
        "{}",
        svc.output()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_longer_than_the_in_flight_timeout_is_cut() {
    let mut svc = ServiceProcess::start("1s");
    let probe = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let endless = tokio::spawn({
        let url = svc.url("/endless");
        async move {
            reqwest::Client::new()
                .get(url)
                .send()
                .await
                .map(|r| r.status())
        }
    });
    wait_in_flight(&probe, &svc, 1.0).await;

    svc.sigterm();
    let signalled = Instant::now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_draining(&probe, &svc).await;

    // drain 0.5 s + in-flight 1 s + shutdown ≤ 2 s, plus slack.
    let bound = Duration::from_secs(10);
    let (exit, _) = svc.wait_exit(bound);
    let total = signalled.elapsed();
    assert!(exit.success(), "exit status {exit:?}\n{}", svc.output());
    assert!(
        total >= Duration::from_millis(1500),
        "exited before drain + in-flight timeout: {total:?}"
    );
    assert!(total < bound);
    let outcome = tokio::time::timeout(Duration::from_secs(5), endless)
        .await
        .expect("the cut request returns")
        .unwrap();
    assert!(
        outcome.is_err(),
        "the endless request was answered: {outcome:?}"
    );
    assert!(
        svc.logged("in-flight requests did not finish in time"),
        "{}",
        svc.output()
    );
    assert!(svc.logged("telemetry shut down"), "{}", svc.output());
}
