//! The worker examples (examples/rabbitmq_worker.rs, nats_worker.rs) as
//! their users run them, in processes of their own, and what the broker
//! tests assert of them whatever the broker: one trace from an HTTP request
//! through a publish and the worker's processing to a downstream service,
//! the worker's own `/metrics` under that traffic, a flush on SIGTERM, and
//! a SIGTERM with messages in flight that loses none and repeats none.

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use obskit::http::HttpLayer;
use obskit_test_receiver::{ReceivedSpan, SpanKind};

use super::{Child, value};

/// The path of example `name`, built on first use with this test binary's
/// features. Tests ask for it before they create queues or streams: a
/// build can outlast a queue's expiry.
pub(crate) fn example(name: &'static str) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<(&str, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap();
    if let Some((_, path)) = built.iter().find(|(n, _)| *n == name) {
        return path.clone();
    }
    let path = super::example(name);
    built.push((name, path.clone()));
    path
}

/// The worker `binary` in a process of its own, its admin port on a free
/// port, its spans not exported unless `env` says so, with `env` on top of
/// a clean environment (none of the test's own `OTEL_*`, `OBSKIT_*`,
/// `RUST_LOG`).
pub(crate) fn start(binary: &Path, env: &[(&str, &str)]) -> Child {
    let mut command = std::process::Command::new(binary);
    for (name, _) in std::env::vars() {
        if name.starts_with("OTEL_") || name.starts_with("OBSKIT_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command
        .env("ADMIN_ADDR", "127.0.0.1:0")
        .env("OTEL_SERVICE_NAME", "worker")
        .env("OTEL_TRACES_EXPORTER", "none");
    for (name, value) in env {
        command.env(name, value);
    }
    Child::spawn(command)
}

/// The worker's log lines with `message`, the values of their `field`.
pub(crate) fn logged(worker: &Child, message: &str, field: &str) -> Vec<String> {
    worker
        .json_lines()
        .into_iter()
        .filter(|l| l["message"] == message)
        .map(|l| l[field].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Waits until the worker consumes, and returns its admin address.
pub(crate) async fn wait_consuming(worker: &Child) -> String {
    worker
        .wait_for("the worker consuming", |w| {
            w.json_lines().iter().any(|l| l["message"] == "consuming")
        })
        .await;
    logged(worker, "admin endpoints listening", "addr")
        .pop()
        .expect("the worker logs its admin address")
}

/// Telemetry of a service of the test's own, built as `obskit::init!()`
/// builds it and exporting spans over OTLP to `endpoint`, with no global
/// subscriber (so several can live in one process).
pub(crate) fn service_telemetry(name: &str, endpoint: &str) -> obskit::Telemetry {
    crate::support::config(&[
        ("OTEL_SERVICE_NAME", name),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
    ])
    .build_layer::<tracing_subscriber::Registry>()
    .expect("telemetry builds")
    .0
}

/// The downstream service the worker calls: `POST /reserve` answers
/// `reserved`. Its telemetry and its URL.
pub(crate) async fn inventory(endpoint: &str) -> (obskit::Telemetry, String) {
    let telemetry = service_telemetry("inventory", endpoint);
    let app = Router::new()
        .route("/reserve", post(|| async { "reserved" }))
        .layer(HttpLayer::new(&telemetry));
    let url = crate::support::server::spawn(app).await;
    (telemetry, format!("{url}/reserve"))
}

/// A client with no instrumentation, standing for a caller from outside.
pub(crate) fn plain_client() -> obskit::reqwest::Client {
    obskit::reqwest::Client::new()
}

/// The body of the answer to `request`.
pub(crate) async fn text_of(request: obskit::reqwest::RequestBuilder) -> String {
    request.send().await.unwrap().text().await.unwrap()
}

/// One order through the worker: starts it with `start` (its spans
/// exported to `endpoint`, `inventory` as its downstream service), waits
/// until it consumes, posts an order to `{app}/orders` as a caller from
/// outside (the answer must be `accepted`), and waits until the worker has
/// acknowledged it. The worker and its admin address.
pub(crate) async fn one_order(
    start: impl FnOnce(&[(&str, &str)]) -> Child,
    endpoint: &str,
    inventory: &str,
    app: &str,
) -> (Child, String) {
    let worker = start(&[
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ("DOWNSTREAM_URL", inventory),
    ]);
    let admin = wait_consuming(&worker).await;
    let body = text_of(plain_client().post(format!("{app}/orders"))).await;
    assert_eq!(body, "accepted");
    worker
        .wait_for("the order settled", |w| {
            logged(w, "settled", "settlement") == ["ack"]
        })
        .await;
    (worker, admin)
}

/// Flushes every service of the order: the worker on SIGTERM (its process
/// and call spans exported, none dropped), `orders` and `inventory` by
/// shutdown (none dropped); then asserts the trace the receiver got
/// ([`assert_one_trace`]).
pub(crate) async fn assert_trace_flushed(
    mut worker: Child,
    [orders, inventory]: [obskit::Telemetry; 2],
    receiver: &obskit_test_receiver::Receiver,
    [system, sent_to, processed_from]: [&str; 3],
    body_size: i64,
) {
    terminate_flushed(&mut worker, 2).await;
    let orders = orders.shutdown().await;
    let inventory = inventory.shutdown().await;
    assert_eq!((orders.spans_dropped, inventory.spans_dropped), (0, 0));
    let spans = receiver.wait_for_spans(5, super::DEADLINE).await;
    assert_one_trace(&spans, system, sent_to, processed_from, body_size);
}

/// The worker's own `/metrics` at `admin` after it processed exactly one
/// message from `destination` and acknowledged it, once its first depth
/// reading is in: one message consumed, processed, aged and acknowledged,
/// no failure, one running consumer, nothing left in the queue.
pub(crate) async fn assert_one_processed(admin: &str, destination: &str) {
    let d = format!(r#"messaging_destination_name="{destination}""#);
    let w = r#"service_name="worker""#;
    let start = std::time::Instant::now();
    let text = loop {
        let text = text_of(plain_client().get(format!("http://{admin}/metrics"))).await;
        if value(&text, "obskit_messaging_queue_depth_stale", &[w, &d]) == Some(0.0) {
            break text;
        }
        assert!(start.elapsed() < super::DEADLINE, "a depth reading\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for (name, labels, want) in [
        ("messaging_client_consumed_messages_total", vec![w, &d], 1.0),
        ("messaging_process_duration_seconds_count", vec![w, &d], 1.0),
        (
            "obskit_messaging_message_age_seconds_count",
            vec![w, &d],
            1.0,
        ),
        (
            "obskit_messaging_settlements_total",
            vec![w, &d, r#"settlement="ack""#],
            1.0,
        ),
        ("obskit_messaging_consumers", vec![w, &d], 1.0),
        (
            "obskit_messaging_queue_messages",
            vec![w, &d, r#"state="ready""#],
            0.0,
        ),
    ] {
        assert_eq!(value(&text, name, &labels), Some(want), "{name}\n{text}");
    }
    let failures: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(&d) && !l.starts_with('#'))
        .filter(|l| {
            l.contains("error_type=")
                || l.contains(r#"settlement="requeue""#)
                || l.contains(r#"settlement="dead_letter""#)
        })
        .filter(|l| !l.ends_with(" 0"))
        .collect();
    assert!(
        failures.is_empty(),
        "no failure counted: {failures:?}\n{text}"
    );
}

/// Stops the worker with SIGTERM and checks that it exits cleanly having
/// exported its `spans` spans and dropped none.
pub(crate) async fn terminate_flushed(worker: &mut Child, spans: u64) {
    worker.terminate();
    assert!(worker.exit().await.success(), "{}", worker.output());
    let flushed: Vec<_> = worker
        .json_lines()
        .into_iter()
        .filter(|l| l["message"] == "telemetry shut down")
        .map(|l| (l["spans_exported"].clone(), l["spans_dropped"].clone()))
        .collect();
    assert_eq!(flushed, [(spans.into(), 0.into())], "{}", worker.output());
}

/// The one span of `service` of `kind`.
pub(crate) fn one<'a>(
    spans: &'a [ReceivedSpan],
    service: &str,
    kind: SpanKind,
) -> &'a ReceivedSpan {
    let found: Vec<_> = spans
        .iter()
        .filter(|s| s.service_name() == Some(service) && s.kind == kind)
        .collect();
    assert_eq!(found.len(), 1, "one {kind:?} span of {service}: {spans:#?}");
    found[0]
}

fn attr<'a>(span: &'a ReceivedSpan, key: &str) -> Option<&'a str> {
    span.attr(key).and_then(|v| v.as_str())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The five spans of one order, exactly: `orders`' `POST /orders` server
/// span, its `send {sent_to}` producer span, the worker's `process
/// {processed_from}` consumer span (child of the send and linked to it),
/// its `POST` client span, and `inventory`'s `POST /reserve` server span,
/// each the child of the one before, in one trace; the messaging semantic
/// conventions of `system` on both sides, and the body's size.
pub(crate) fn assert_one_trace(
    spans: &[ReceivedSpan],
    system: &str,
    sent_to: &str,
    processed_from: &str,
    body_size: i64,
) {
    let request = one(spans, "orders", SpanKind::Server);
    let send = one(spans, "orders", SpanKind::Producer);
    let process = one(spans, "worker", SpanKind::Consumer);
    let call = one(spans, "worker", SpanKind::Client);
    let reserve = one(spans, "inventory", SpanKind::Server);
    assert_eq!(spans.len(), 5, "{spans:#?}");
    let chain = [request, send, process, call, reserve];
    for pair in chain.windows(2) {
        assert_eq!(
            pair[1].trace_id, request.trace_id,
            "{} in the trace",
            pair[1].name
        );
        assert_eq!(
            pair[1].parent_span_id.as_deref(),
            Some(pair[0].span_id.as_str()),
            "{} is the child of {}",
            pair[1].name,
            pair[0].name
        );
    }
    assert_eq!(request.parent_span_id, None);
    assert_eq!(
        (
            request.name.as_str(),
            reserve.name.as_str(),
            call.name.as_str()
        ),
        ("POST /orders", "POST /reserve", "POST")
    );
    // The consumer also links to the producer's context.
    let links = &process.raw.links;
    assert_eq!(links.len(), 1, "{process:#?}");
    assert_eq!(hex(&links[0].trace_id), send.trace_id);
    assert_eq!(hex(&links[0].span_id), send.span_id);
    // Messaging semantic conventions on both sides.
    assert_eq!(send.name, format!("send {sent_to}"));
    assert_eq!(process.name, format!("process {processed_from}"));
    for (span, operation, destination) in [
        (send, "send", sent_to),
        (process, "process", processed_from),
    ] {
        assert_eq!(attr(span, "messaging.system"), Some(system));
        assert_eq!(attr(span, "messaging.operation.type"), Some(operation));
        assert_eq!(attr(span, "messaging.operation.name"), Some(operation));
        assert_eq!(attr(span, "messaging.destination.name"), Some(destination));
    }
    assert_eq!(
        process
            .attr("messaging.message.body.size")
            .and_then(|v| v.as_i64()),
        Some(body_size)
    );
}

/// A downstream service that takes 300 ms a call, so that messages stay in
/// flight: the URL of its `POST /work`.
pub(crate) async fn slow_downstream() -> String {
    let slow = Router::new().route(
        "/work",
        post(|| async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            "done"
        }),
    );
    format!("{}/work", crate::support::server::spawn(slow).await)
}

/// Sends SIGTERM once the worker has settled five messages, waits for a
/// clean exit, and checks that every message it started was finished and
/// acknowledged. Returns their bodies.
pub(crate) async fn terminate_midway(worker: &mut Child) -> Vec<String> {
    worker
        .wait_for("five messages acknowledged", |w| {
            logged(w, "settled", "body").len() >= 5
        })
        .await;
    worker.terminate();
    let exit = worker.exit().await;
    assert!(exit.success(), "{}", worker.output());
    let out = worker.output();
    let mut started = logged(worker, "processing", "body");
    let mut acked = logged(worker, "settled", "body");
    started.sort();
    acked.sort();
    assert_eq!(started, acked, "in-flight messages finish\n{out}");
    assert_eq!(
        logged(worker, "settled", "settlement"),
        vec!["ack"; acked.len()],
        "{out}"
    );
    acked
}

/// Messages `m0` … `m{n-1}` were sent; the worker acknowledged `acked`,
/// and `remaining` were left for the next consumer: each exactly once.
pub(crate) fn assert_none_lost_or_repeated(
    acked: &[String],
    remaining: Vec<String>,
    n: usize,
    out: &str,
) {
    let mut all: Vec<String> = acked.iter().cloned().chain(remaining).collect();
    all.sort();
    let mut expected: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
    expected.sort();
    assert_eq!(all, expected, "nothing lost, nothing twice\n{out}");
    assert!(acked.len() < n, "the worker was stopped midway\n{out}");
}
