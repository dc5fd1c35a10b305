//! Helpers the broker tests share (`rabbitmq`, `nats`):
//! skipping without a broker (failing under `CI`), reading the rendered
//! metrics, waiting with a deadline, a publisher that keeps publishing
//! through an outage, and a worker in a process of its own (the example
//! binary) with its log lines; [`worker`], what the tests of the worker
//! examples share.

pub(crate) mod worker;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use obskit::health::Status;
use obskit::testing::TestTelemetry;
use obskit_test_support::wait;

/// Every wait's bound: generous, for a loaded CI machine.
pub(crate) const DEADLINE: Duration = Duration::from_secs(60);

/// `None` (the test skips, saying why) when `broker` is not reachable,
/// unless `CI` is set: then the test fails, since `.ci/run` starts it.
pub(crate) fn unreachable<T>(broker: &str, error: &dyn std::fmt::Display) -> Option<T> {
    obskit_test_support::skip(format_args!("{broker} is not reachable ({error})"));
    None
}

/// The value of the first series of `name` whose labels include every one
/// of `labels` (`key="value"`).
pub(crate) fn value(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with('{'))
        .find(|l| labels.iter().all(|x| l.contains(x)))
        .map(|l| l.rsplit_once(' ').unwrap().1.parse().unwrap())
}

/// Polls `check` until it holds; fails after [`DEADLINE`] with `what` and
/// the last `describe()`.
pub(crate) async fn wait_until(
    what: &str,
    mut check: impl FnMut() -> bool,
    describe: impl Fn() -> String,
) {
    let held = wait::until_async(DEADLINE, || std::future::ready(check())).await;
    assert!(held, "{what} within the deadline\n{}", describe());
}

/// Waits until the rendered metrics satisfy `check`, returning the text.
pub(crate) async fn wait_metrics(
    telemetry: &TestTelemetry,
    what: &str,
    check: impl Fn(&str) -> bool,
) -> String {
    wait::poll_async(DEADLINE, || {
        let text = telemetry.metrics().render();
        std::future::ready(if check(&text) { Ok(text) } else { Err(text) })
    })
    .await
    .unwrap_or_else(|text| panic!("{what} within the deadline:\n{text}"))
}

/// Waits until readiness is `want`.
pub(crate) async fn wait_ready(telemetry: &TestTelemetry, want: Status) {
    wait::poll_async(DEADLINE, || async {
        let report = telemetry.health().readiness().await;
        if report.status == want {
            Ok(())
        } else {
            Err(report.to_json())
        }
    })
    .await
    .unwrap_or_else(|report| panic!("readiness {want:?} within the deadline: {report}"));
}

/// obskit's own warnings among the captured log lines.
pub(crate) fn obskit_warnings(telemetry: &TestTelemetry) -> Vec<serde_json::Value> {
    telemetry
        .logs()
        .into_iter()
        .filter(|l| l["level"] == "WARN" && l["target"] == "obskit")
        .collect()
}

/// A task that publishes every 5 ms until stopped, counting the sends that
/// succeeded and those that failed: the load of the outage tests.
pub(crate) struct Load {
    sent: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Load {
    /// Starts publishing with `send`.
    pub(crate) fn start<F, Fut, T, E>(send: F) -> Self
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let sent = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let task = {
            let (sent, failed, stop) = (sent.clone(), failed.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    match send().await {
                        Ok(_) => sent.fetch_add(1, Ordering::SeqCst),
                        Err(_) => failed.fetch_add(1, Ordering::SeqCst),
                    };
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        };
        Self {
            sent,
            failed,
            stop,
            task,
        }
    }

    /// Sends that succeeded so far.
    pub(crate) fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    /// Sends that failed so far.
    pub(crate) fn failed(&self) -> u64 {
        self.failed.load(Ordering::SeqCst)
    }

    /// Waits for `more` successful sends than now.
    pub(crate) async fn more_sent(&self, more: u64, what: &str) {
        let want = self.sent() + more;
        wait_until(
            what,
            || self.sent() >= want,
            || format!("sent {}", self.sent()),
        )
        .await;
    }

    /// Waits for `more` failed sends than now.
    pub(crate) async fn more_failed(&self, more: u64, what: &str) {
        let want = self.failed() + more;
        wait_until(
            what,
            || self.failed() >= want,
            || format!("failed {}", self.failed()),
        )
        .await;
    }

    /// Stops publishing; fails the test if the task panicked.
    pub(crate) async fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.expect("the publisher did not panic");
    }
}

/// The path of example `name` of this package, built with the workspace's
/// features: the ones `cargo test --workspace` builds obskit with, so
/// neither obskit nor its dependencies are built a second time.
pub(crate) fn example(name: &str) -> std::path::PathBuf {
    use std::process::Command;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--workspace",
            "--example",
            name,
            "--message-format=json",
        ])
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("run cargo build");
    assert!(out.status.success(), "cargo build --example {name} failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
        .find_map(|m| m["executable"].as_str().map(std::path::PathBuf::from))
        .unwrap_or_else(|| panic!("cargo named no executable for example {name}"))
}

/// A process of the test's own, its standard output read line by line;
/// killed if the test ends first.
pub(crate) struct Child {
    pub(crate) child: std::process::Child,
    stdout: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Child {
    /// Runs `command` with its standard output piped.
    pub(crate) fn spawn(mut command: std::process::Command) -> Self {
        use std::io::{BufRead, BufReader};
        use std::process::Stdio;
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the child process");
        let stdout = Arc::new(std::sync::Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let sink = Arc::clone(&stdout);
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Self { child, stdout }
    }

    /// Its output lines that parse as JSON (log lines).
    pub(crate) fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Its whole output so far.
    pub(crate) fn output(&self) -> String {
        self.stdout.lock().unwrap().join("\n")
    }

    /// Waits until `ok` holds of the process.
    pub(crate) async fn wait_for(&self, what: &str, ok: impl Fn(&Self) -> bool) {
        wait_until(what, || ok(self), || self.output()).await;
    }

    /// Sends SIGTERM.
    pub(crate) fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits for the process to exit; fails after [`DEADLINE`].
    pub(crate) async fn exit(&mut self) -> std::process::ExitStatus {
        let child = &mut self.child;
        let exited = wait::poll_async(DEADLINE, || {
            std::future::ready(child.try_wait().unwrap().ok_or(()))
        })
        .await;
        exited.unwrap_or_else(|()| panic!("the process exits\n{}", self.output()))
    }
}

/// What the settlement tests do with a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Act {
    Ack,
    Requeue(&'static str),
    DeadLetter(&'static str),
}

/// The settlement tests' jobs (`job-0` … `job-{N-1}`): job 0 fails twice,
/// requeued and then dead-lettered; job 1 is dead-lettered at once; the
/// others are acknowledged. Each broker's test settles what [`Jobs::act`]
/// says and checks the figures with [`assert_settlement_counts`].
#[derive(Debug, Default)]
pub(crate) struct Jobs {
    job0_attempts: u32,
    settled: usize,
}

impl Jobs {
    /// What to do with the delivery of `body`.
    pub(crate) fn act(&mut self, body: &[u8]) -> Act {
        match body {
            b"job-0" => {
                self.job0_attempts += 1;
                if self.job0_attempts == 1 {
                    return Act::Requeue("timeout");
                }
                self.settled += 1;
                Act::DeadLetter("timeout")
            }
            b"job-1" => {
                self.settled += 1;
                Act::DeadLetter("invalid")
            }
            _ => {
                self.settled += 1;
                Act::Ack
            }
        }
    }

    /// Jobs settled for good so far.
    pub(crate) fn settled(&self) -> usize {
        self.settled
    }
}

/// The figures of `n` [`Jobs`] sent to `sent` (a destination label) and
/// processed from `processed`, with availability SLO `slo`: one
/// consumption per attempt, one settlement per attempt, three bad events.
#[allow(clippy::cast_precision_loss)]
pub(crate) fn assert_settlement_counts(
    text: &str,
    sent: &str,
    processed: &str,
    slo: &str,
    n: usize,
) {
    let n = n as f64;
    let settlements = |s: &str| {
        value(
            text,
            "obskit_messaging_settlements_total",
            &[processed, &format!(r#"settlement="{s}""#)],
        )
    };
    let slo_events = |result: &str| {
        value(
            text,
            "obskit_slo_requests_total",
            &[&format!(r#"slo="{slo}""#), &format!(r#"result="{result}""#)],
        )
    };
    assert_eq!(
        value(text, "messaging_client_sent_messages_total", &[sent]),
        Some(n),
        "{text}"
    );
    assert_eq!(
        value(
            text,
            "messaging_client_consumed_messages_total",
            &[processed]
        ),
        Some(n + 1.0),
        "job 0 consumed once per attempt\n{text}"
    );
    assert_eq!(settlements("ack"), Some(n - 2.0), "{text}");
    assert_eq!(settlements("requeue"), Some(1.0), "{text}");
    assert_eq!(settlements("dead_letter"), Some(2.0), "{text}");
    assert_eq!(slo_events("bad"), Some(3.0), "{text}");
}
