//! The RabbitMQ adapter against the real broker on 127.0.0.1:5672
//! (`guest`/`guest`): one trace from an HTTP request through a publish and
//! the processing to an outgoing HTTP call; exact counts per settlement,
//! with a message requeued and then dead-lettered; message age from a
//! producer whose clock is known. Without a broker the tests say so and
//! pass, unless `CI` is set (`.ci/run` starts one).
//!
//! Every queue has a random name and expires on its own if a test dies
//! before deleting it.

#![allow(clippy::print_stderr)]

mod support;

use support::proxy::Proxy;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use obskit::http::{ClientMiddleware, ObskitLayer};
use obskit::messaging::rabbitmq::{Consumer, Publisher, SYSTEM};
use obskit::messaging::{CREATED_AT_HEADER, Messaging};
use obskit::slo::Slo;
use obskit::testing::{FinishedSpan, TestTelemetry};

const ADDR: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
/// Every wait's bound: generous, for a loaded CI machine.
const DEADLINE: Duration = Duration::from_secs(60);

/// A connection to the shared broker, or `None` (skip) outside CI.
async fn connect() -> Option<Connection> {
    match Connection::connect(ADDR, ConnectionProperties::default()).await {
        Ok(c) => Some(c),
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "RabbitMQ is not reachable at 127.0.0.1:5672 ({e}); `.ci/run` starts it"
            );
            eprintln!("SKIPPED: RabbitMQ is not reachable at 127.0.0.1:5672: {e}");
            None
        }
    }
}

fn unique(prefix: &str) -> String {
    format!("obskit-test-{prefix}-{:016x}", fastrand::u64(..))
}

/// Declares a queue that the broker deletes a minute after its last use.
async fn declare(channel: &Channel, name: &str, mut args: FieldTable) {
    args.insert("x-expires".into(), AMQPValue::LongInt(60_000));
    channel
        .queue_declare(name.to_owned().into(), QueueDeclareOptions::default(), args)
        .await
        .expect("queue declared");
}

async fn delete(channel: &Channel, name: &str) {
    let _ = channel
        .queue_delete(name.to_owned().into(), QueueDeleteOptions::default())
        .await;
}

async fn consume(channel: &Channel, messaging: &Messaging, queue: &str) -> Consumer {
    let deliveries = channel
        .basic_consume(
            queue.to_owned().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("consuming");
    Consumer::new(messaging, queue, deliveries)
}

async fn next(consumer: &mut Consumer) -> obskit::messaging::rabbitmq::Message {
    tokio::time::timeout(DEADLINE, consumer.next())
        .await
        .expect("a delivery within the deadline")
        .expect("the consumer is open")
        .expect("a delivery")
}

fn value(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with('{'))
        .find(|l| labels.iter().all(|x| l.contains(x)))
        .map(|l| l.rsplit_once(' ').unwrap().1.parse().unwrap())
}

fn span_named(spans: &[FinishedSpan], name: &str) -> FinishedSpan {
    spans
        .iter()
        .find(|s| s.name() == name)
        .unwrap_or_else(|| {
            let names: Vec<&str> = spans.iter().map(FinishedSpan::name).collect();
            panic!("no span {name:?} among {names:?}")
        })
        .clone()
}

/// Waits until `telemetry` holds a span named `name`.
async fn wait_span(telemetry: &TestTelemetry, name: &str) {
    let start = Instant::now();
    while telemetry.span(name).is_none() {
        assert!(
            start.elapsed() < DEADLINE,
            "no span {name:?} within the deadline"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn one_trace_from_an_http_request_through_the_queue_to_an_http_call() {
    let Some(connection) = connect().await else {
        return;
    };
    let telemetry = TestTelemetry::new();
    let messaging = Messaging::new(&telemetry, SYSTEM);
    let channel = connection.create_channel().await.unwrap();
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let queue = unique("orders");
    declare(&channel, &queue, FieldTable::default()).await;

    // The downstream service the consumer calls.
    let inventory = Router::new()
        .route("/reserve", post(|| async { "reserved" }))
        .layer(ObskitLayer::new(&telemetry));
    let inventory = support::server::spawn(inventory).await;

    // The service that publishes on an HTTP request.
    let publisher = Publisher::new(&messaging, channel.clone());
    let app = Router::new()
        .route(
            "/orders",
            post(
                |State((publisher, queue)): State<(Publisher, String)>| async move {
                    let confirmation = publisher
                        .publish(
                            "",
                            &queue,
                            BasicPublishOptions::default(),
                            b"order-1",
                            BasicProperties::default(),
                        )
                        .await
                        .expect("published");
                    if confirmation.is_ack() {
                        "accepted"
                    } else {
                        "refused"
                    }
                },
            ),
        )
        .with_state((publisher, queue.clone()))
        .layer(ObskitLayer::new(&telemetry));
    let app = support::server::spawn(app).await;

    let body = reqwest_plain()
        .post(format!("{app}/orders"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "accepted");

    let client = ClientMiddleware::new(&telemetry).wrap(obskit::reqwest::Client::new());
    let mut consumer = consume(&channel, &messaging, &queue).await;
    let message = next(&mut consumer).await;
    assert_eq!(message.delivery().data, b"order-1");
    let answer = message
        .processing()
        .in_context(async {
            client
                .post(format!("{inventory}/reserve"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        })
        .await;
    assert_eq!(answer, "reserved");
    message.ack().await.unwrap();
    delete(&channel, &queue).await;

    wait_span(&telemetry, "POST /orders").await;
    let spans = telemetry.spans();
    let request = span_named(&spans, "POST /orders");
    let send = span_named(&spans, &format!("send {queue}"));
    let process = span_named(&spans, &format!("process {queue}"));
    let call = span_named(&spans, "POST");
    let reserve = span_named(&spans, "POST /reserve");
    let chain = [&request, &send, &process, &call, &reserve];
    for pair in chain.windows(2) {
        assert_eq!(
            pair[1].trace_id(),
            request.trace_id(),
            "{} in the trace",
            pair[1].name()
        );
        assert_eq!(
            pair[1].parent_span_id(),
            Some(pair[0].span_id()),
            "{} is the child of {}",
            pair[1].name(),
            pair[0].name()
        );
    }
    assert_eq!(process.data().links.links.len(), 1);
    assert_eq!(
        process.attribute("messaging.system").as_deref(),
        Some("rabbitmq")
    );
    assert_eq!(
        process.attribute("messaging.message.body.size").as_deref(),
        Some("7")
    );

    let text = telemetry.metrics().render();
    let d = format!(r#"messaging_destination_name="{queue}""#);
    assert_eq!(
        value(&text, "messaging_client_sent_messages_total", &[&d]),
        Some(1.0)
    );
    assert_eq!(
        value(&text, "messaging_client_consumed_messages_total", &[&d]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            "obskit_messaging_settlements_total",
            &[&d, r#"settlement="ack""#]
        ),
        Some(1.0)
    );
}

/// A client with no instrumentation, standing for a caller from outside.
fn reqwest_plain() -> obskit::reqwest::Client {
    obskit::reqwest::Client::new()
}

#[tokio::test]
async fn a_message_requeued_then_dead_lettered_is_counted_per_attempt() {
    let Some(connection) = connect().await else {
        return;
    };
    let telemetry = TestTelemetry::new();
    let messaging = Messaging::builder(&telemetry, SYSTEM)
        .slos([Slo::availability("work-ok", 0.99).unwrap()])
        .build()
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let work = unique("work");
    let dead = unique("dead");
    declare(&channel, &dead, FieldTable::default()).await;
    let mut args = FieldTable::default();
    args.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString("".into()),
    );
    args.insert(
        "x-dead-letter-routing-key".into(),
        AMQPValue::LongString(LongString::from(dead.clone())),
    );
    declare(&channel, &work, args).await;

    let publisher = Publisher::new(&messaging, channel.clone());
    const N: usize = 20;
    for i in 0..N {
        let confirmation = publisher
            .publish(
                "",
                &work,
                BasicPublishOptions::default(),
                format!("job-{i}").as_bytes(),
                BasicProperties::default(),
            )
            .await
            .unwrap();
        assert!(confirmation.is_ack());
    }
    // Job 0 fails twice: requeued, then dead-lettered. Job 1 is
    // dead-lettered at once. The others succeed.
    let mut consumer = consume(&channel, &messaging, &work).await;
    let mut job0_attempts = 0;
    let mut settled = 0;
    while settled < N {
        let m = next(&mut consumer).await;
        match m.delivery().data.as_slice() {
            b"job-0" => {
                job0_attempts += 1;
                if job0_attempts == 1 {
                    m.requeue("timeout").await.unwrap();
                } else {
                    assert!(m.delivery().redelivered);
                    m.dead_letter("timeout").await.unwrap();
                    settled += 1;
                }
            }
            b"job-1" => {
                m.dead_letter("invalid").await.unwrap();
                settled += 1;
            }
            _ => {
                m.ack().await.unwrap();
                settled += 1;
            }
        }
    }
    let mut dead_consumer = consume(&channel, &messaging, &dead).await;
    let mut dead_jobs = Vec::new();
    for _ in 0..2 {
        let m = next(&mut dead_consumer).await;
        dead_jobs.push(String::from_utf8(m.delivery().data.clone()).unwrap());
        m.ack().await.unwrap();
    }
    dead_jobs.sort();
    assert_eq!(dead_jobs, ["job-0", "job-1"]);
    delete(&channel, &work).await;
    delete(&channel, &dead).await;

    let text = telemetry.metrics().render();
    let w = format!(r#"messaging_destination_name="{work}""#);
    let dl = format!(r#"messaging_destination_name="{dead}""#);
    let settlements = |d: &str, s: &str| {
        value(
            &text,
            "obskit_messaging_settlements_total",
            &[d, &format!(r#"settlement="{s}""#)],
        )
    };
    assert_eq!(
        value(&text, "messaging_client_sent_messages_total", &[&w]),
        Some(N as f64)
    );
    assert_eq!(
        value(&text, "messaging_client_consumed_messages_total", &[&w]),
        Some(N as f64 + 1.0),
        "job 0 consumed once per attempt"
    );
    assert_eq!(settlements(&w, "ack"), Some(N as f64 - 2.0));
    assert_eq!(settlements(&w, "requeue"), Some(1.0));
    assert_eq!(settlements(&w, "dead_letter"), Some(2.0));
    assert_eq!(settlements(&dl, "ack"), Some(2.0));
    assert_eq!(
        value(
            &text,
            "obskit_slo_requests_total",
            &[r#"slo="work-ok""#, r#"result="bad""#]
        ),
        Some(3.0)
    );
    assert_eq!(
        value(
            &text,
            "obskit_slo_requests_total",
            &[r#"slo="work-ok""#, r#"result="good""#]
        ),
        Some(N as f64 - 2.0 + 2.0)
    );
    // Both attempts at job 0, and its dead-lettered copy, continue the one send's trace.
    let spans = telemetry.spans();
    let job0_process: Vec<&FinishedSpan> = spans
        .iter()
        .filter(|s| {
            s.name().starts_with("process ")
                && s.attribute("error.type").as_deref() == Some("timeout")
        })
        .collect();
    assert_eq!(job0_process.len(), 2);
    assert_eq!(
        job0_process[0].parent_span_id(),
        job0_process[1].parent_span_id()
    );
}

#[tokio::test]
async fn message_age_comes_from_a_producer_whose_clock_is_known() {
    let Some(connection) = connect().await else {
        return;
    };
    let telemetry = TestTelemetry::new();
    let messaging = Messaging::builder(&telemetry, SYSTEM)
        .slos([Slo::freshness("fresh", Duration::from_secs(60), 0.99).unwrap()])
        .build()
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    let queue = unique("age");
    declare(&channel, &queue, FieldTable::default()).await;
    // A plain lapin producer, without obskit: one message stamped by its
    // AMQP timestamp 30 s ago, one by obskit's header 600 s ago.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    channel
        .basic_publish(
            "".into(),
            queue.clone().into(),
            BasicPublishOptions::default(),
            b"a",
            BasicProperties::default().with_timestamp(now.as_secs() - 30),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    let mut headers = FieldTable::default();
    headers.insert(
        ShortString::from(CREATED_AT_HEADER),
        AMQPValue::LongString(LongString::from(
            (now.as_micros() - 600_000_000).to_string(),
        )),
    );
    channel
        .basic_publish(
            "".into(),
            queue.clone().into(),
            BasicPublishOptions::default(),
            b"b",
            BasicProperties::default().with_headers(headers),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    let mut consumer = consume(&channel, &messaging, &queue).await;
    for _ in 0..2 {
        let m = next(&mut consumer).await;
        let age = m.processing().age().expect("a known age");
        match m.delivery().data.as_slice() {
            // Whole seconds: the AMQP timestamp drops the fraction.
            b"a" => assert!(
                age >= Duration::from_secs(29) && age < Duration::from_secs(60),
                "{age:?}"
            ),
            _ => assert!(
                age >= Duration::from_secs(600) && age < Duration::from_secs(900),
                "{age:?}"
            ),
        }
        m.ack().await.unwrap();
    }
    delete(&channel, &queue).await;
    let text = telemetry.metrics().render();
    let d = format!(r#"messaging_destination_name="{queue}""#);
    let bucket = |le: &str| {
        value(
            &text,
            "obskit_messaging_message_age_seconds_bucket",
            &[&d, &format!(r#"le="{le}""#)],
        )
    };
    assert_eq!(bucket("10"), Some(0.0));
    assert_eq!(bucket("60"), Some(1.0));
    assert_eq!(bucket("300"), Some(1.0));
    assert_eq!(bucket("900"), Some(2.0));
    assert_eq!(
        value(
            &text,
            "obskit_slo_requests_total",
            &[r#"slo="fresh""#, r#"result="bad""#]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            "obskit_slo_requests_total",
            &[r#"slo="fresh""#, r#"result="good""#]
        ),
        Some(1.0)
    );
}

/// Waits until the rendered metrics satisfy `check`, returning the text.
async fn wait_metrics(
    telemetry: &TestTelemetry,
    what: &str,
    check: impl Fn(&str) -> bool,
) -> String {
    let start = Instant::now();
    loop {
        let text = telemetry.metrics().render();
        if check(&text) {
            return text;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{what} within the deadline:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn depth_and_consumer_gauges_equal_what_the_broker_answers() {
    use obskit::messaging::rabbitmq::queue_depth;
    use obskit::messaging::{DepthOptions, Destination};

    let Some(connection) = connect().await else {
        return;
    };
    let telemetry = TestTelemetry::new();
    let messaging = Messaging::new(&telemetry, SYSTEM);
    let channel = connection.create_channel().await.unwrap();
    let queue = unique("depth");
    declare(&channel, &queue, FieldTable::default()).await;
    for _ in 0..7 {
        channel
            .basic_publish(
                "".into(),
                queue.clone().into(),
                BasicPublishOptions::default(),
                b"x",
                BasicProperties::default(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let polling = connection.create_channel().await.unwrap();
    let q = queue.clone();
    let options = DepthOptions::default().interval(Duration::from_millis(50));
    let _poller = messaging.poll_depth(&Destination::new(queue.clone()), options, move || {
        let (channel, q) = (polling.clone(), q.clone());
        async move { queue_depth(&channel, &q).await }
    });
    // The broker's own answer, asked on another channel.
    let asking = connection.create_channel().await.unwrap();
    let d = format!(r#"messaging_destination_name="{queue}""#);
    let gauges = |text: &str| {
        (
            value(
                text,
                "obskit_messaging_queue_messages",
                &[&d, r#"state="ready""#],
            ),
            value(text, "obskit_messaging_queue_consumers", &[&d]),
            value(text, "obskit_messaging_queue_depth_stale", &[&d]),
        )
    };
    let broker = queue_depth(&asking, &queue).await.unwrap();
    assert_eq!((broker.ready, broker.consumers), (Some(7), Some(0)));
    wait_metrics(&telemetry, "depth 7, no consumer", |t| {
        gauges(t) == (Some(7.0), Some(0.0), Some(0.0))
    })
    .await;

    // A consumer takes two messages (prefetch 2) and holds them.
    let consuming = connection.create_channel().await.unwrap();
    consuming
        .basic_qos(2, lapin::options::BasicQosOptions::default())
        .await
        .unwrap();
    let mut consumer = consume(&consuming, &messaging, &queue).await;
    let held = [next(&mut consumer).await, next(&mut consumer).await];
    let text = wait_metrics(&telemetry, "one running consumer", |t| {
        value(t, "obskit_messaging_consumers", &[&d]) == Some(1.0)
    })
    .await;
    assert_eq!(value(&text, "obskit_messaging_consumers", &[&d]), Some(1.0));
    let broker = queue_depth(&asking, &queue).await.unwrap();
    assert_eq!((broker.ready, broker.consumers), (Some(5), Some(1)));
    wait_metrics(&telemetry, "depth 5, one consumer", |t| {
        gauges(t) == (Some(5.0), Some(1.0), Some(0.0))
    })
    .await;

    // The consumer stops: it leaves the running count.
    consuming
        .basic_cancel(
            consumer.tag().into(),
            lapin::options::BasicCancelOptions::default(),
        )
        .await
        .unwrap();
    let end = tokio::time::timeout(DEADLINE, consumer.next())
        .await
        .expect("the stream ends");
    assert!(end.is_none());
    let text = telemetry.metrics().render();
    assert_eq!(value(&text, "obskit_messaging_consumers", &[&d]), Some(0.0));
    for m in held {
        m.requeue("shutdown").await.unwrap();
    }
    wait_metrics(&telemetry, "depth 7 again, no consumer", |t| {
        gauges(t) == (Some(7.0), Some(0.0), Some(0.0))
    })
    .await;
    delete(&channel, &queue).await;
    // The queue is gone: the poll fails, the reading is marked stale.
    wait_metrics(&telemetry, "a stale reading", |t| gauges(t).2 == Some(1.0)).await;
}

const CHILD_ENV: &str = "OBSKIT_TEST_RABBITMQ_WORKER";
/// Deliveries the worker may hold at once.
const PREFETCH: u16 = 4;
/// How long the worker takes per message.
const WORK: Duration = Duration::from_millis(300);

/// A worker service in a process of its own, run by the SIGTERM test:
/// consumes with `PREFETCH` messages in flight, and on SIGTERM stops
/// taking messages, finishes the ones in flight, closes its channel (the
/// broker requeues what it delivered and nobody took) and flushes
/// telemetry: the sequence of `obskit::serve`.
#[test]
#[ignore = "the child process of the SIGTERM test; it runs it"]
#[allow(clippy::print_stdout)]
fn child_worker() {
    let Ok(queue) = std::env::var(CHILD_ENV) else {
        println!("child_worker only runs as the child of the SIGTERM test");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let telemetry = obskit::Config::from_env()
            .expect("valid environment")
            .install()
            .expect("obskit installs");
        let messaging = Messaging::new(&telemetry, SYSTEM);
        let connection = Connection::connect(ADDR, ConnectionProperties::default())
            .await
            .expect("connected");
        let channel = connection.create_channel().await.expect("a channel");
        channel
            .basic_qos(PREFETCH, lapin::options::BasicQosOptions::default())
            .await
            .expect("qos");
        let mut consumer = consume(&channel, &messaging, &queue).await;
        let mut in_flight = tokio::task::JoinSet::new();
        let signal = obskit::serve::shutdown_signal();
        tokio::pin!(signal);
        println!("READY");
        loop {
            tokio::select! {
                () = &mut signal => break,
                message = consumer.next() => {
                    let Some(Ok(message)) = message else { break };
                    let id = String::from_utf8(message.delivery().data.clone()).expect("text");
                    println!("STARTED {id}");
                    in_flight.spawn(async move {
                        tokio::time::sleep(WORK).await;
                        message.ack().await.expect("acked");
                        println!("ACKED {id}");
                    });
                }
            }
        }
        // 1. Stop taking messages; readiness fails meanwhile.
        telemetry.health().start_draining();
        println!("DRAINING in_flight={}", in_flight.len());
        let _ = channel
            .basic_cancel(
                consumer.tag().into(),
                lapin::options::BasicCancelOptions::default(),
            )
            .await;
        // 2. Finish the messages in flight, within the bound.
        let finished = tokio::time::timeout(Duration::from_secs(10), async {
            while in_flight.join_next().await.is_some() {}
        })
        .await;
        // 3. Return the rest: closing the channel requeues every delivery
        //    not acknowledged, including those prefetched and never taken.
        let _ = channel.close(200, "shutting down".into()).await;
        let _ = connection.close(200, "shutting down".into()).await;
        // 4. Flush telemetry.
        let report = telemetry.shutdown().await;
        println!(
            "STOPPED finished_in_time={} timed_out={}",
            finished.is_ok(),
            report.timed_out
        );
    });
}

/// The worker process, killed if the test ends before it does.
struct Worker {
    child: std::process::Child,
    stdout: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Worker {
    fn start(queue: &str) -> Self {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        let exe = std::env::current_exe().expect("the test binary");
        let mut child = Command::new(exe)
            .args([
                "--exact",
                "child_worker",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, queue)
            .env("OTEL_SERVICE_NAME", "rabbitmq-worker")
            .env("OTEL_TRACES_EXPORTER", "none")
            .env("RUST_LOG", "warn")
            .env_remove("OTEL_SDK_DISABLED")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the worker");
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let sink = std::sync::Arc::clone(&stdout);
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Self { child, stdout }
    }

    /// The ids printed after `word` (libtest may put its own text before).
    fn ids(&self, word: &str) -> Vec<String> {
        self.stdout
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| l.split_once(word).map(|(_, id)| id.trim().to_owned()))
            .collect()
    }

    fn printed(&self, word: &str) -> bool {
        self.stdout.lock().unwrap().iter().any(|l| l.contains(word))
    }

    fn output(&self) -> String {
        self.stdout.lock().unwrap().join("\n")
    }

    async fn wait_for(&self, what: &str, ok: impl Fn(&Self) -> bool) {
        let start = Instant::now();
        while !ok(self) {
            assert!(
                start.elapsed() < DEADLINE,
                "{what} within the deadline\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn sigterm_with_messages_in_flight_loses_none() {
    let Some(connection) = connect().await else {
        return;
    };
    let channel = connection.create_channel().await.unwrap();
    let queue = unique("sigterm");
    declare(&channel, &queue, FieldTable::default()).await;
    const N: usize = 40;
    for i in 0..N {
        channel
            .basic_publish(
                "".into(),
                queue.clone().into(),
                BasicPublishOptions::default(),
                format!("m{i}").as_bytes(),
                BasicProperties::default(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let mut worker = Worker::start(&queue);
    worker
        .wait_for("five messages acknowledged", |w| w.ids("ACKED ").len() >= 5)
        .await;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &worker.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    worker
        .wait_for("the worker stopped", |w| w.printed("STOPPED"))
        .await;
    let start = Instant::now();
    let exit = loop {
        if let Some(s) = worker.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the worker exits\n{}",
            worker.output()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "{}", worker.output());
    let out = worker.output();
    assert!(out.contains("STOPPED finished_in_time=true"), "{out}");

    // Every message the worker started was finished and acknowledged.
    let mut started = worker.ids("STARTED ");
    let mut acked = worker.ids("ACKED ");
    started.sort();
    acked.sort();
    assert_eq!(started, acked, "in-flight messages finish\n{out}");
    // And every other message is back in the queue, none twice.
    let mut remaining = Vec::new();
    loop {
        let got = channel
            .basic_get(
                queue.clone().into(),
                lapin::options::BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap();
        match got {
            Some(m) => remaining.push(String::from_utf8(m.delivery.data.clone()).unwrap()),
            None => break,
        }
    }
    delete(&channel, &queue).await;
    let mut all: Vec<String> = acked.iter().cloned().chain(remaining).collect();
    all.sort();
    let mut expected: Vec<String> = (0..N).map(|i| format!("m{i}")).collect();
    expected.sort();
    assert_eq!(all, expected, "nothing lost, nothing twice\n{out}");
    assert!(acked.len() < N, "the worker was stopped midway\n{out}");
}

async fn wait_ready(telemetry: &TestTelemetry, want: obskit::health::Status) {
    let start = Instant::now();
    loop {
        let report = telemetry.health().readiness().await;
        if report.status == want {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "readiness {want:?} within the deadline: {}",
            report.to_json()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_loss_under_load_follows_readiness_and_recovers() {
    use obskit::health::Status;
    use obskit::messaging::rabbitmq::{connection_check, queue_depth};
    use obskit::messaging::{DepthOptions, Destination};
    use std::sync::atomic::{AtomicU64, Ordering};

    let Some(direct) = connect().await else {
        return;
    };
    let telemetry = TestTelemetry::new();
    let messaging = Messaging::new(&telemetry, SYSTEM);
    let queue = unique("outage");
    let setup = direct.create_channel().await.unwrap();
    declare(&setup, &queue, FieldTable::default()).await;

    let proxy = Proxy::start(5672).await;
    let properties = ConnectionProperties::default()
        .enable_auto_recover()
        .configure_backoff(|b| {
            b.with_min_delay(Duration::from_millis(100))
                .with_max_delay(Duration::from_secs(1))
                .with_max_times(usize::MAX)
        });
    let uri = format!("amqp://guest:guest@127.0.0.1:{}/%2f", proxy.port);
    let connection = Connection::connect(&uri, properties).await.unwrap();
    let health = telemetry.health();
    health
        .register(connection_check("rabbitmq", &connection))
        .unwrap();
    health.mark_started();
    wait_ready(&telemetry, Status::Up).await;

    let polling = connection.create_channel().await.unwrap();
    let q = queue.clone();
    let options = DepthOptions::default()
        .interval(Duration::from_millis(50))
        .timeout(Duration::from_millis(500));
    let _poller = messaging.poll_depth(&Destination::new(queue.clone()), options, move || {
        let (channel, q) = (polling.clone(), q.clone());
        async move { queue_depth(&channel, &q).await }
    });

    // Load: a publisher that keeps publishing through the outage.
    let channel = connection.create_channel().await.unwrap();
    let publisher = Publisher::new(&messaging, channel.clone());
    let sent = std::sync::Arc::new(AtomicU64::new(0));
    let failed = std::sync::Arc::new(AtomicU64::new(0));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (publisher, queue, sent, failed, stop) = (
            publisher.clone(),
            queue.clone(),
            sent.clone(),
            failed.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let r = publisher
                    .publish(
                        "",
                        &queue,
                        BasicPublishOptions::default(),
                        b"load",
                        BasicProperties::default(),
                    )
                    .await;
                match r {
                    Ok(_) => sent.fetch_add(1, Ordering::SeqCst),
                    Err(_) => failed.fetch_add(1, Ordering::SeqCst),
                };
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let start = Instant::now();
    while sent.load(Ordering::SeqCst) < 20 {
        assert!(start.elapsed() < DEADLINE, "publishing under load");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    proxy.cut();
    wait_ready(&telemetry, Status::Down).await;
    let d = format!(r#"messaging_destination_name="{queue}""#);
    wait_metrics(&telemetry, "the depth marked stale", |t| {
        value(t, "obskit_messaging_queue_depth_stale", &[&d]) == Some(1.0)
    })
    .await;
    // Let the publisher and the poller fail for a while.
    let failures = failed.load(Ordering::SeqCst);
    let start = Instant::now();
    while failed.load(Ordering::SeqCst) < failures + 10 {
        assert!(start.elapsed() < DEADLINE, "sends fail during the outage");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    proxy.restore().await;
    wait_ready(&telemetry, Status::Up).await;
    let sent_before = sent.load(Ordering::SeqCst);
    let start = Instant::now();
    while sent.load(Ordering::SeqCst) < sent_before + 20 {
        assert!(
            start.elapsed() < DEADLINE,
            "publishing again after recovery"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    wait_metrics(&telemetry, "a fresh depth reading after recovery", |t| {
        value(t, "obskit_messaging_queue_depth_stale", &[&d]) == Some(0.0)
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    load.await.expect("the publisher did not panic");
    delete(&setup, &queue).await;

    // obskit warned about the failing depth polls once, not once per poll.
    let warnings: Vec<serde_json::Value> = telemetry
        .logs()
        .into_iter()
        .filter(|l| l["level"] == "WARN" && l["target"] == "obskit")
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    let text = telemetry.metrics().render();
    assert!(
        value(
            &text,
            "messaging_client_sent_messages_total",
            &[&d, r#"error_type="connection""#]
        )
        .unwrap_or(0.0)
            >= 10.0,
        "failed sends are counted as such:\n{text}"
    );
}
