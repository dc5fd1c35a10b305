//! Shutdown is bounded whatever the collector does, loses nothing when the
//! collector is healthy, and collector trouble never hurts the service.

use crate::support;

use std::time::{Duration, Instant};

use obskit_test_receiver::{Behavior, BlackHole, Receiver, refused_endpoint};
use support::{config, harness};

fn spans(n: usize) {
    for i in 0..n {
        drop(tracing::info_span!("work", i).entered());
    }
}

#[tokio::test]
async fn a_healthy_collector_loses_no_span() {
    let rx = Receiver::start().await.unwrap();
    let h = harness(config(&[(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        &rx.http_endpoint(),
    )]));
    spans(1000);
    let report = h.telemetry.shutdown().await;
    assert_eq!(report.spans_exported, 1000, "{report:?}");
    assert_eq!(report.spans_dropped, 0, "{report:?}");
    assert!(!report.timed_out);
    assert_eq!(rx.spans().len(), 1000);
}

async fn black_holed(protocol: &str) {
    let hole = BlackHole::start().unwrap();
    let h = harness(
        config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &hole.endpoint()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ])
        .shutdown_timeout(Duration::from_millis(800)),
    );
    spans(10);
    let started = Instant::now();
    let report = h.telemetry.shutdown().await;
    let took = started.elapsed();
    assert!(report.timed_out, "{report:?}");
    assert_eq!(report.spans_exported, 0);
    assert_eq!(report.spans_dropped, 10, "{report:?}");
    // The bound is 800 ms; the slack covers thread scheduling, not a hang.
    assert!(took < Duration::from_millis(2500), "shutdown took {took:?}");
}

#[tokio::test]
async fn shutdown_is_bounded_with_a_black_holed_grpc_collector() {
    black_holed("grpc").await;
}

#[tokio::test]
async fn shutdown_is_bounded_with_a_black_holed_http_collector() {
    black_holed("http/protobuf").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_bounded_on_a_multi_thread_runtime() {
    black_holed("grpc").await;
}

#[tokio::test]
async fn dropping_the_guard_inside_a_current_thread_runtime_is_bounded() {
    let hole = BlackHole::start().unwrap();
    let h = harness(
        config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &hole.endpoint()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ])
        .shutdown_timeout(Duration::from_millis(500)),
    );
    spans(5);
    let started = Instant::now();
    drop(h);
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn shutdown_blocking_works_without_a_runtime() {
    let rx = Receiver::start_blocking(Behavior::Healthy).unwrap();
    let h = harness(config(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.grpc_endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
    ]));
    spans(3);
    let report = h.telemetry.shutdown_blocking();
    assert_eq!(report.spans_exported, 3, "{report:?}");
}

#[tokio::test]
async fn a_refused_collector_drops_spans_quickly_and_counts_them() {
    let endpoint = refused_endpoint().unwrap();
    let h = harness(config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)]));
    spans(7);
    let report = h.telemetry.shutdown().await;
    assert_eq!(
        (report.spans_exported, report.spans_dropped),
        (0, 7),
        "{report:?}"
    );
    assert!(!report.timed_out);
}

#[tokio::test]
async fn collector_errors_are_warned_about_at_most_once_a_minute() {
    let rx = Receiver::start_with(Behavior::Error).await.unwrap();
    let h = harness(config(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY", "5"),
    ]));
    // Warnings go to the global subscriber unless told otherwise; this
    // test's subscriber is scoped to its thread.
    h.telemetry
        .set_diagnostics_dispatch(tracing::dispatcher::get_default(Clone::clone));
    for _ in 0..20 {
        spans(1);
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    let metrics = h.telemetry.metrics();
    let logs = h.logs.clone();
    let report = h.telemetry.shutdown().await;
    // 503 is retryable: each export is tried up to four times with backoff.
    assert!(
        rx.requests().len() >= 3,
        "only {} exports were tried",
        rx.requests().len()
    );
    assert_eq!(report.spans_exported, 0);
    assert_eq!(report.spans_dropped, 20, "{report:?}");
    let warnings: Vec<_> = logs
        .lines()
        .into_iter()
        .filter(|l| l["target"] == "obskit::export")
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_eq!(warnings[0]["level"], "WARN");
    let text = metrics.render();
    assert!(
        text.contains("obskit_spans_dropped_total{service_name="),
        "{text}"
    );
}

#[tokio::test]
async fn a_black_holed_collector_keeps_memory_bounded_and_the_app_fast() {
    let hole = BlackHole::start().unwrap();
    let h = harness(
        config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &hole.endpoint()),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"),
        ])
        .shutdown_timeout(Duration::from_millis(300)),
    );
    // Creating spans never waits for the exporter: with the collector
    // silent, all but what the queue and one in-flight batch hold are
    // dropped at once and counted.
    spans(20_000);
    let report = h.telemetry.shutdown().await;
    assert_eq!(report.spans_exported, 0);
    assert_eq!(report.spans_dropped, 20_000, "{report:?}");
}

#[tokio::test]
async fn a_slow_collector_fails_exports_at_the_export_timeout() {
    let rx = Receiver::start_with(Behavior::Slow(Duration::from_secs(5)))
        .await
        .unwrap();
    let h = harness(
        config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "200"),
            ("OTEL_BSP_SCHEDULE_DELAY", "10"),
        ])
        .shutdown_timeout(Duration::from_secs(3)),
    );
    spans(4);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let report = h.telemetry.shutdown().await;
    assert_eq!(
        (report.spans_exported, report.spans_dropped),
        (0, 4),
        "{report:?}"
    );
    assert!(!report.timed_out, "{report:?}");
}

/// The first `obskit::export` warning with `cause`, waiting up to `timeout`.
fn export_warning(
    logs: &support::LogCapture,
    cause: &str,
    timeout: Duration,
) -> Option<serde_json::Value> {
    logs.wait_for(timeout, |l| {
        l["target"] == "obskit::export" && l["cause"] == cause
    })
}

/// A collector that answers in 2 s cannot keep up: spans refused at the
/// full queue are warned about, with the cause and the count, while the
/// service runs (not only at shutdown).
#[tokio::test]
async fn a_slow_collector_warns_about_spans_dropped_at_a_full_queue() {
    let rx = Receiver::start_with(Behavior::Slow(Duration::from_secs(2)))
        .await
        .unwrap();
    let h = harness(
        config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "20"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"),
            ("OTEL_BSP_SCHEDULE_DELAY", "10"),
        ])
        .shutdown_timeout(Duration::from_secs(1)),
    );
    h.telemetry
        .set_diagnostics_dispatch(tracing::dispatcher::get_default(Clone::clone));
    spans(10);
    tokio::time::sleep(Duration::from_millis(200)).await;
    spans(200);
    let warning = export_warning(&h.logs, "queue_full", Duration::from_secs(20))
        .unwrap_or_else(|| panic!("no queue-full warning in {:#?}", h.logs.lines()));
    assert_eq!(warning["level"], "WARN");
    let count = warning["dropped_queue_full"].as_u64().unwrap();
    assert!((150..=200).contains(&count), "{warning}");
    assert_eq!(warning["queue_size"], 20);
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("export queue is full"),
        "{warning}"
    );
    // Once a minute at most: more drops soon after bring no second line.
    spans(200);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let report = h.telemetry.shutdown().await;
    let queue_warnings = h
        .logs
        .lines()
        .into_iter()
        .filter(|l| l["cause"] == "queue_full")
        .count();
    assert_eq!(queue_warnings, 1);
    assert!(report.spans_dropped >= count + 150, "{report:?}");
}

/// With a black-holed collector the first warning comes after one
/// transport timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`), not after the whole
/// export with its retries (`OTEL_BSP_EXPORT_TIMEOUT`, 20 s here).
async fn first_warning_within_the_otlp_timeout(protocol: &str) {
    let hole = BlackHole::start().unwrap();
    let h = harness(
        config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &hole.endpoint()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "300"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "20000"),
            ("OTEL_BSP_SCHEDULE_DELAY", "10"),
        ])
        .shutdown_timeout(Duration::from_millis(500)),
    );
    h.telemetry
        .set_diagnostics_dispatch(tracing::dispatcher::get_default(Clone::clone));
    let started = Instant::now();
    spans(1);
    let warning = export_warning(&h.logs, "export_attempt_failed", Duration::from_secs(15));
    let took = started.elapsed();
    let warning = warning.unwrap_or_else(|| panic!("{protocol}: no warning within 15 s"));
    // 300 ms plus scheduling; far below the 20 s of the whole export.
    assert!(
        took < Duration::from_secs(10),
        "{protocol}: first warning after {took:?}"
    );
    assert_eq!(warning["level"], "WARN");
    let _ = h.telemetry.shutdown().await;
}

#[tokio::test]
async fn the_first_warning_comes_within_the_otlp_timeout_over_http() {
    first_warning_within_the_otlp_timeout("http/protobuf").await;
}

#[tokio::test]
async fn the_first_warning_comes_within_the_otlp_timeout_over_grpc() {
    first_warning_within_the_otlp_timeout("grpc").await;
}

/// `OTEL_EXPORTER_OTLP_TIMEOUT` bounds each request: a collector slower
/// than it sees the first attempt and every retry. `OTEL_BSP_EXPORT_TIMEOUT`
/// bounds the whole export: a shorter one cuts the retries short and says
/// which bound was hit.
#[tokio::test]
async fn the_otlp_timeout_bounds_each_request_and_the_bsp_timeout_the_whole_export() {
    let rx = Receiver::start_with(Behavior::Slow(Duration::from_secs(2)))
        .await
        .unwrap();
    let h = harness(
        config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "200"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "20000"),
            ("OTEL_BSP_SCHEDULE_DELAY", "10"),
        ])
        .shutdown_timeout(Duration::from_secs(10)),
    );
    spans(1);
    let report = h.telemetry.shutdown().await;
    // One attempt and up to three retries, each cut at 200 ms; a loaded
    // machine may lose an attempt before it reaches the receiver.
    let attempts = rx.requests().len();
    assert!((2..=4).contains(&attempts), "{attempts} attempts");
    assert_eq!((report.spans_exported, report.spans_dropped), (0, 1));
    assert!(!report.timed_out, "{report:?}");

    let rx = Receiver::start_with(Behavior::Slow(Duration::from_secs(5)))
        .await
        .unwrap();
    let h = harness(
        config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "10000"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "400"),
            ("OTEL_BSP_SCHEDULE_DELAY", "10"),
        ])
        .shutdown_timeout(Duration::from_secs(10)),
    );
    h.telemetry
        .set_diagnostics_dispatch(tracing::dispatcher::get_default(Clone::clone));
    spans(1);
    let warning = export_warning(&h.logs, "export_failed", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no failure warning: {:#?}", h.logs.lines()));
    assert!(
        warning["error"]
            .as_str()
            .unwrap()
            .contains("OTEL_BSP_EXPORT_TIMEOUT"),
        "{warning}"
    );
    assert_eq!(rx.requests().len(), 1, "no retry after the export's bound");
    let report = h.telemetry.shutdown().await;
    assert_eq!((report.spans_exported, report.spans_dropped), (0, 1));
}
