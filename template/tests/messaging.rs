//! The worker against a real broker on 127.0.0.1 (README.md says how to start one): a task
//! published over HTTP is processed in the same trace, a failing task is retried and then
//! dead-lettered, and stopping the worker lets the task in flight settle. Each test has
//! queues of its own. Without a broker the tests say so at once and pass, unless `CI` is
//! set.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use obskit::testing::TestTelemetry;
use tower::ServiceExt as _;

use {{crate_name}}::broker::{self, Broker, Topology};
use {{crate_name}}::tasks;
use {{crate_name}}::worker::{self, Failure, Processor, Retry, Worker};

/// How long anything here may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A broker with a topology of its own, or `None` (with a note) when none runs here.
async fn broker(telemetry: &TestTelemetry, name: &str) -> Option<Broker> {
    // Nothing listening: skip now rather than wait for the client's retries to give up.
    if !common::server_running(broker::URL_VAR) {
        return None;
    }
    let url = std::env::var(broker::URL_VAR).unwrap_or_else(|_| broker::DEFAULT_URL.to_owned());
    let unique = format!(
        "test-{name}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let topology = Topology::new(unique).unwrap();
    match Broker::connect(telemetry, &url, topology).await {
        Ok(broker) => Some(broker),
        Err(err) => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(!ci, "no broker at {url}: {err:#}");
            eprintln!("skipped: no broker at {url} ({err:#}); README.md says how to start one");
            None
        }
    }
}

/// Polls `check` on the rendered metrics until it holds, or fails after [`TIMEOUT`].
async fn wait_metrics(telemetry: &TestTelemetry, what: &str, check: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let text = telemetry.metrics().render();
        if check(&text) {
            return;
        }
        assert!(Instant::now() < deadline, "never saw {what}:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether `text` has a series of `name` with every label in `labels` and value `value`.
fn has(text: &str, name: &str, labels: &[&str], value: &str) -> bool {
    text.lines().any(|line| {
        line.starts_with(name)
            && line[name.len()..].starts_with('{')
            && labels.iter().all(|l| line.contains(l))
            && line.rsplit_once(' ').is_some_and(|(_, v)| v == value)
    })
}

/// A processor that fails transiently `failures` times, then succeeds, counting calls.
fn flaky(failures: u32, calls: Arc<AtomicU32>) -> Processor {
    Arc::new(move |_body| {
        let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
        Box::pin(async move {
            if call <= failures {
                Err(Failure::Transient(format!("attempt {call} fails")))
            } else {
                Ok(())
            }
        })
    })
}

/// Quick retries for tests.
const RETRY: Retry = Retry {
    attempts: 3,
    first_backoff: Duration::from_millis(10),
};

#[tokio::test]
async fn a_task_posted_over_http_is_processed_in_the_same_trace() {
    let telemetry = TestTelemetry::new();
    let Some(broker) = broker(&telemetry, "trace").await else {
        return;
    };
    let destination = broker.topology().destination();
    let destination = format!("messaging_destination_name=\"{}\"", destination.name());
    let worker = Worker::start(broker.consume().await.unwrap(), worker::processor(), RETRY);
    let app = tasks::router(broker.clone());
    let request = Request::post("/tasks").body(Body::from("hello")).unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    wait_metrics(&telemetry, "the task acknowledged", |text| {
        has(
            text,
            "obskit_messaging_settlements_total",
            &[&destination, "settlement=\"ack\""],
            "1",
        )
    })
    .await;
    worker.stop().await;
    let send = telemetry.span(&format!("send {}", broker.topology().destination().name()));
    let process = telemetry.span(&format!(
        "process {}",
        broker.topology().destination().name()
    ));
    let (send, process) = (send.expect("a send span"), process.expect("a process span"));
    assert_eq!(process.trace_id(), send.trace_id());
    assert_eq!(process.parent_span_id(), Some(send.span_id()));
}

#[tokio::test]
async fn a_failing_task_is_retried_with_backoff_then_succeeds() {
    let telemetry = TestTelemetry::new();
    let Some(broker) = broker(&telemetry, "retry").await else {
        return;
    };
    let calls = Arc::new(AtomicU32::new(0));
    let worker = Worker::start(
        broker.consume().await.unwrap(),
        flaky(2, calls.clone()),
        RETRY,
    );
    broker.publish(b"flaky".to_vec()).await.unwrap();
    wait_metrics(&telemetry, "the task acknowledged", |text| {
        has(
            text,
            "obskit_messaging_settlements_total",
            &["settlement=\"ack\""],
            "1",
        )
    })
    .await;
    worker.stop().await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "two failures, then success"
    );
}

#[tokio::test]
async fn a_task_that_keeps_failing_is_dead_lettered_once() {
    let telemetry = TestTelemetry::new();
    let Some(broker) = broker(&telemetry, "dead").await else {
        return;
    };
    let calls = Arc::new(AtomicU32::new(0));
    let worker = Worker::start(
        broker.consume().await.unwrap(),
        flaky(u32::MAX, calls.clone()),
        RETRY,
    );
    broker.publish(b"doomed".to_vec()).await.unwrap();
    wait_metrics(&telemetry, "the task dead-lettered", |text| {
        has(
            text,
            "obskit_messaging_settlements_total",
            &["settlement=\"dead_letter\""],
            "1",
        )
    })
    .await;
    worker.stop().await;
    assert_eq!(calls.load(Ordering::SeqCst), RETRY.attempts);
    assert_eq!(
        broker.dead_lettered().await.unwrap(),
        1,
        "in the dead-letter queue"
    );
}

#[tokio::test]
async fn stopping_the_worker_lets_the_task_in_flight_settle() {
    let telemetry = TestTelemetry::new();
    let Some(broker) = broker(&telemetry, "drain").await else {
        return;
    };
    let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
    let started_tx = Arc::new(std::sync::Mutex::new(Some(started_tx)));
    let slow: Processor = Arc::new(move |_body| {
        let started_tx = started_tx.clone();
        Box::pin(async move {
            if let Some(tx) = started_tx.lock().unwrap().take() {
                let _ = tx.send(());
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok(())
        })
    });
    let worker = Worker::start(broker.consume().await.unwrap(), slow, RETRY);
    broker.publish(b"slow".to_vec()).await.unwrap();
    tokio::time::timeout(TIMEOUT, started)
        .await
        .expect("processing started")
        .unwrap();
    let report = worker.stop().await;
    assert_eq!(
        (report.finished, report.abandoned),
        (1, 0),
        "the task in flight finished: {report:?}"
    );
    let text = telemetry.metrics().render();
    assert!(
        has(
            &text,
            "obskit_messaging_settlements_total",
            &["settlement=\"ack\""],
            "1"
        ),
        "acknowledged before stop returned:\n{text}"
    );
}

#[tokio::test]
async fn readiness_follows_the_broker_connection() {
    let telemetry = TestTelemetry::new();
    let Some(broker) = broker(&telemetry, "ready").await else {
        return;
    };
    telemetry.health().register(broker.health_check()).unwrap();
    let report = telemetry.health().readiness().await;
    let check = report
        .checks
        .iter()
        .find(|c| c.name == broker::SYSTEM)
        .expect("the broker's check");
    assert_eq!(check.status, obskit::health::Status::Up, "{check:?}");
}
