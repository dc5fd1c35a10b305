//! The NATS JetStream adapter against the real server on 127.0.0.1:4222:
//! one trace from an HTTP request through a publish and the processing in
//! the worker example's process to an outgoing HTTP call; exact counts per
//! settlement with a message nak'ed, redelivered and then terminated;
//! message age from a producer whose clock is known; depth gauges equal to
//! the consumer info the server answers; a SIGTERM to the worker with
//! messages in flight; a connection lost and recovered under load. Without
//! a server the tests say so and pass, unless `CI` is set (`.ci/run`
//! starts one).
//!
//! Every stream has a random name, keeps messages a minute at most, and
//! is deleted at the end.
#![allow(clippy::print_stderr)]

use crate::messaging_support;
use crate::support;

use messaging_support::worker;
use messaging_support::{
    Act, Child, DEADLINE, Jobs, Load, assert_settlement_counts, obskit_warnings, unreachable,
    value, wait_metrics, wait_ready,
};

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::{PullConsumer, pull};
use async_nats::jetstream::{self, stream};
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use futures_util::StreamExt as _;
use obskit::http::HttpLayer;
use obskit::messaging::nats::{Consumer, Publisher, SYSTEM, consumer_depth};
use obskit::messaging::{CREATED_AT_HEADER, DepthOptions, Destination, Messaging};
use obskit::slo::Slo;
use obskit::testing::TestTelemetry;
use obskit_test_receiver::Receiver;

async fn connect() -> Option<async_nats::Client> {
    match async_nats::connect("127.0.0.1:4222").await {
        Ok(c) => Some(c),
        Err(e) => unreachable("NATS at 127.0.0.1:4222", &e),
    }
}

/// A stream of its own, with a durable pull consumer.
struct Setup {
    js: jetstream::Context,
    name: String,
    subject: String,
    consumer: PullConsumer,
}

impl Setup {
    async fn new(client: async_nats::Client, prefix: &str, max_deliver: i64) -> Self {
        Self::with_ack_wait(client, prefix, max_deliver, Duration::from_secs(30)).await
    }

    /// The same, with the time a delivered message may go unacknowledged
    /// before the server sends it again.
    async fn with_ack_wait(
        client: async_nats::Client,
        prefix: &str,
        max_deliver: i64,
        ack_wait: Duration,
    ) -> Self {
        let js = jetstream::new(client);
        let name = format!("OBSKIT_TEST_{prefix}_{:016X}", fastrand::u64(..));
        let subject = format!("obskit.test.{}", name.to_lowercase());
        let s = js
            .create_stream(stream::Config {
                name: name.clone(),
                subjects: vec![subject.clone()],
                max_age: Duration::from_secs(60),
                ..Default::default()
            })
            .await
            .expect("stream created");
        let consumer = s
            .create_consumer(pull::Config {
                durable_name: Some("worker".into()),
                max_deliver,
                ack_wait,
                ..Default::default()
            })
            .await
            .expect("consumer created");
        Self {
            js,
            name,
            subject,
            consumer,
        }
    }

    async fn delete(&self) {
        let _ = self.js.delete_stream(&self.name).await;
    }
}

async fn next<S, E: std::fmt::Debug>(consumer: &mut Consumer<S>) -> obskit::messaging::nats::Message
where
    S: futures_util::Stream<Item = Result<jetstream::Message, E>> + Unpin,
{
    tokio::time::timeout(DEADLINE, consumer.next())
        .await
        .expect("a message within the deadline")
        .expect("the stream is open")
        .expect("a message")
}

#[tokio::test]
async fn settlements_are_counted_per_attempt_and_traces_continue() {
    let Some(client) = connect().await else {
        return;
    };
    let telemetry = TestTelemetry::new();
    let messaging = Messaging::builder(&telemetry, SYSTEM)
        .slos([Slo::availability("jobs-ok", 0.99).unwrap()])
        .build()
        .unwrap();
    let setup = Setup::new(client, "SETTLE", 5).await;
    let publisher = Publisher::new(&messaging, setup.js.clone());
    const N: usize = 10;
    for i in 0..N {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("job-{i}"));
        publisher
            .publish(&setup.subject, headers, format!("job-{i}").into())
            .await
            .expect("acknowledged by the stream");
    }
    let mut consumer = Consumer::new(&messaging, "jobs", setup.consumer.messages().await.unwrap());
    let mut jobs = Jobs::default();
    while jobs.settled() < N {
        let m = next(&mut consumer).await;
        match jobs.act(&m.message().message.payload) {
            Act::Ack => m.ack().await.unwrap(),
            Act::Requeue(e) => m.requeue(e).await.unwrap(),
            Act::DeadLetter(e) => {
                assert!(e != "timeout" || m.message().info().unwrap().delivered == 2);
                m.dead_letter(e).await.unwrap();
            }
        }
    }
    setup.delete().await;

    let text = telemetry.metrics().render();
    let d = r#"messaging_destination_name="jobs""#;
    let s = format!(r#"messaging_destination_name="{}""#, setup.subject);
    assert_settlement_counts(&text, &s, d, "jobs-ok", N);

    // Each process span is the child of its message's send span.
    let spans = telemetry.spans();
    let sends: Vec<_> = spans
        .iter()
        .filter(|s| s.name().starts_with("send "))
        .collect();
    let processes: Vec<_> = spans
        .iter()
        .filter(|s| s.name() == "process jobs")
        .collect();
    assert_eq!(sends.len(), N);
    assert_eq!(processes.len(), N + 1);
    for p in &processes {
        let id = p.attribute("messaging.message.id").expect("the message id");
        let send = sends
            .iter()
            .find(|s| s.attribute("messaging.message.id").as_deref() == Some(id.as_str()))
            .expect("its send");
        assert_eq!(p.trace_id(), send.trace_id());
        assert_eq!(p.parent_span_id(), Some(send.span_id()));
        assert_eq!(p.data().links.links.len(), 1);
    }
    let redelivered: Vec<_> = processes
        .iter()
        .filter(|p| p.attribute("messaging.message.delivery_count").as_deref() == Some("2"))
        .collect();
    assert_eq!(redelivered.len(), 1);
    assert_eq!(
        redelivered[0].attribute("messaging.message.id").as_deref(),
        Some("job-0")
    );
}

#[tokio::test]
async fn message_age_comes_from_a_producer_whose_clock_is_known() {
    let Some(client) = connect().await else {
        return;
    };
    let telemetry = TestTelemetry::new();
    let messaging = Messaging::new(&telemetry, SYSTEM);
    let setup = Setup::new(client, "AGE", 5).await;
    // A plain async-nats producer: one message with obskit's creation
    // header 600 s in the past, one without (JetStream's time, just now).
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let mut old = HeaderMap::new();
    old.insert(
        CREATED_AT_HEADER,
        (now.as_micros() - 600_000_000).to_string(),
    );
    setup
        .js
        .publish_with_headers(setup.subject.clone(), old, "old".into())
        .await
        .unwrap()
        .await
        .unwrap();
    setup
        .js
        .publish(setup.subject.clone(), "new".into())
        .await
        .unwrap()
        .await
        .unwrap();
    let mut consumer = Consumer::new(&messaging, "ages", setup.consumer.messages().await.unwrap());
    for _ in 0..2 {
        let m = next(&mut consumer).await;
        let age = m.processing().age().expect("a known age");
        if &m.message().message.payload[..] == b"old" {
            assert!(
                age >= Duration::from_secs(600) && age < Duration::from_secs(900),
                "{age:?}"
            );
        } else {
            assert!(age < Duration::from_secs(60), "{age:?}");
        }
        m.ack().await.unwrap();
    }
    setup.delete().await;
    let text = telemetry.metrics().render();
    let d = r#"messaging_destination_name="ages""#;
    let bucket = |le: &str| {
        value(
            &text,
            "obskit_messaging_message_age_seconds_bucket",
            &[d, &format!(r#"le="{le}""#)],
        )
    };
    assert_eq!(bucket("60"), Some(1.0));
    assert_eq!(bucket("300"), Some(1.0));
    assert_eq!(bucket("900"), Some(2.0));
}

#[tokio::test]
async fn depth_gauges_equal_the_consumer_info() {
    let Some(client) = connect().await else {
        return;
    };
    let telemetry = TestTelemetry::new();
    let messaging = Messaging::new(&telemetry, SYSTEM);
    let setup = Setup::new(client, "DEPTH", 5).await;
    for i in 0..6 {
        setup
            .js
            .publish(setup.subject.clone(), format!("m{i}").into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let polled = setup.consumer.clone();
    let options = DepthOptions::default().interval(Duration::from_millis(50));
    let _poller = messaging.poll_depth(&Destination::new("depth"), options, move || {
        let c = polled.clone();
        async move { consumer_depth(&c).await }
    });
    let d = r#"messaging_destination_name="depth""#;
    let gauges = |t: &str| {
        (
            value(
                t,
                "obskit_messaging_queue_messages",
                &[d, r#"state="ready""#],
            ),
            value(
                t,
                "obskit_messaging_queue_messages",
                &[d, r#"state="unacked""#],
            ),
            value(t, "obskit_messaging_queue_redelivered", &[d]),
            value(t, "obskit_messaging_queue_depth_stale", &[d]),
        )
    };
    let consumers = |t: &str| value(t, "obskit_messaging_queue_consumers", &[d]);
    let info = setup.consumer.get_info().await.unwrap();
    assert_eq!((info.num_pending, info.num_ack_pending), (6, 0));
    // Nothing pulls yet: no client takes the consumer's messages.
    wait_metrics(&telemetry, "6 pending, no consumer", |t| {
        gauges(t) == (Some(6.0), Some(0.0), Some(0.0), Some(0.0)) && consumers(t) == Some(0.0)
    })
    .await;

    // Two fetched and held, one of them nak'ed and fetched again.
    let mut batch = setup
        .consumer
        .fetch()
        .max_messages(2)
        .messages()
        .await
        .unwrap();
    let mut held = Vec::new();
    while let Some(m) = tokio::time::timeout(DEADLINE, batch.next()).await.unwrap() {
        held.push(m.unwrap());
    }
    assert_eq!(held.len(), 2);
    held[0]
        .ack_with(async_nats::jetstream::AckKind::Nak(None))
        .await
        .unwrap();
    // Once the server's answer settles, the gauges equal it.
    let start = Instant::now();
    loop {
        let info = setup.consumer.get_info().await.unwrap();
        let want = (
            Some(info.num_pending as f64),
            Some(info.num_ack_pending as f64),
            Some(info.num_redelivered as f64),
            Some(0.0),
        );
        let got = gauges(&telemetry.metrics().render());
        if got == want && info.num_ack_pending >= 1 {
            break;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the gauges {got:?} equal the consumer info {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The fetch is over (no pull request waits), but it was just delivered messages: a
    // client busy with its batch counts.
    wait_metrics(&telemetry, "one consumer after a fetch", |t| {
        consumers(t) == Some(1.0)
    })
    .await;
    setup.delete().await;
    wait_metrics(&telemetry, "a stale reading once the stream is gone", |t| {
        gauges(t).3 == Some(1.0)
    })
    .await;
}

#[tokio::test]
async fn connection_loss_under_load_follows_readiness_and_recovers() {
    use obskit::health::Status;
    use obskit::messaging::nats::connection_check;

    let Some(direct) = connect().await else {
        return;
    };
    let telemetry = TestTelemetry::new();
    let messaging = Messaging::new(&telemetry, SYSTEM);
    let setup = Setup::new(direct, "OUTAGE", 5).await;

    let proxy = support::proxy::Proxy::start(4222).await;
    let client = async_nats::ConnectOptions::new()
        .reconnect_delay_callback(|attempts| Duration::from_millis(50 * attempts.min(10) as u64))
        .connect(format!("127.0.0.1:{}", proxy.port))
        .await
        .expect("connected through the proxy");
    let health = telemetry.health();
    health.register(connection_check("nats", &client)).unwrap();
    health.mark_started();
    wait_ready(&telemetry, Status::Up).await;

    let mut js = jetstream::new(client);
    js.set_timeout(Duration::from_millis(500));
    let consumer: PullConsumer = js
        .get_stream(&setup.name)
        .await
        .unwrap()
        .get_consumer("worker")
        .await
        .unwrap();
    let options = DepthOptions::default()
        .interval(Duration::from_millis(50))
        .timeout(Duration::from_millis(500));
    let _poller = messaging.poll_depth(&Destination::new("outage"), options, move || {
        let c = consumer.clone();
        async move { consumer_depth(&c).await }
    });

    let publisher = Publisher::new(&messaging, js);
    let load = {
        let subject = setup.subject.clone();
        Load::start(move || {
            let (publisher, subject) = (publisher.clone(), subject.clone());
            async move {
                publisher
                    .publish(&subject, HeaderMap::new(), "load".into())
                    .await
            }
        })
    };
    load.more_sent(20, "publishing under load").await;

    proxy.cut();
    wait_ready(&telemetry, Status::Down).await;
    load.more_failed(3, "sends failing during the outage").await;
    let d = r#"messaging_destination_name="outage""#;
    wait_metrics(&telemetry, "a stale depth reading", |t| {
        value(t, "obskit_messaging_queue_depth_stale", &[d]) == Some(1.0)
    })
    .await;

    proxy.restore().await;
    wait_ready(&telemetry, Status::Up).await;
    load.more_sent(20, "publishing again after recovery").await;
    wait_metrics(&telemetry, "a fresh depth reading", |t| {
        value(t, "obskit_messaging_queue_depth_stale", &[d]) == Some(0.0)
    })
    .await;
    let failed = load.failed();
    load.stop().await;
    setup.delete().await;

    let warnings = obskit_warnings(&telemetry);
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    let text = telemetry.metrics().render();
    let s = format!(r#"messaging_destination_name="{}""#, setup.subject);
    let failed_sends: f64 = text
        .lines()
        .filter(|l| {
            l.starts_with("messaging_client_sent_messages_total{")
                && l.contains(&s)
                && l.contains("error_type")
        })
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap())
        .sum();
    assert_eq!(failed_sends, failed as f64, "{text}");
}

/// The worker example (examples/nats_worker.rs) in a process of its own,
/// consuming `setup`'s stream through its durable consumer, with `env` on
/// top: a service as its users run it.
fn start_worker(setup: &Setup, env: &[(&str, &str)]) -> Child {
    let mut all = vec![
        ("NATS_URL", "127.0.0.1:4222"),
        ("WORKER_STREAM", setup.name.as_str()),
        ("WORKER_CONSUMER", "worker"),
    ];
    all.extend_from_slice(env);
    worker::start(&worker_example(), &all)
}

/// The worker example's binary, built on first use.
fn worker_example() -> std::path::PathBuf {
    worker::example("nats_worker")
}

/// Three services as users run them, each with telemetry of its own and
/// every span read back from the OTLP receiver: `orders` publishes to the
/// stream on an HTTP request; the worker example, in a process of its own,
/// consumes through its durable consumer and calls `inventory`. One trace
/// runs from the request to inventory's server span.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_from_an_http_request_through_a_worker_process_to_an_http_service() {
    let Some(client) = connect().await else {
        return;
    };
    tokio::task::spawn_blocking(worker_example).await.unwrap();
    let receiver = Receiver::start().await.unwrap();
    let endpoint = receiver.http_endpoint();
    let setup = Setup::new(client, "TRACE", 5).await;

    // The downstream service the worker calls.
    let (inventory_telemetry, inventory) = worker::inventory(&endpoint).await;

    // The service that publishes on an HTTP request.
    let orders_telemetry = worker::service_telemetry("orders", &endpoint);
    let messaging = Messaging::new(&orders_telemetry, SYSTEM);
    let publisher = Publisher::new(&messaging, setup.js.clone());
    let app = Router::new()
        .route(
            "/orders",
            post(
                |State((publisher, subject)): State<(Publisher, String)>| async move {
                    publisher
                        .publish(&subject, HeaderMap::new(), "order-1".into())
                        .await
                        .expect("acknowledged by the stream");
                    "accepted"
                },
            ),
        )
        .with_state((publisher, setup.subject.clone()))
        .layer(HttpLayer::new(&orders_telemetry));
    let app = support::server::spawn(app).await;

    let (worker, admin) =
        worker::one_order(|env| start_worker(&setup, env), &endpoint, &inventory, &app).await;

    // The worker's own /metrics, exact under this traffic, and the server agrees.
    worker::assert_one_processed(&admin, &setup.name).await;
    let info = setup.consumer.get_info().await.unwrap();
    assert_eq!((info.num_pending, info.num_ack_pending), (0, 0));
    let text = orders_telemetry.metrics().render();
    let s = format!(r#"messaging_destination_name="{}""#, setup.subject);
    for name in [
        "messaging_client_sent_messages_total",
        "messaging_client_operation_duration_seconds_count",
    ] {
        assert_eq!(value(&text, name, &[&s]), Some(1.0), "{name}\n{text}");
    }

    setup.delete().await;
    worker::assert_trace_flushed(
        worker,
        [orders_telemetry, inventory_telemetry],
        &receiver,
        [SYSTEM, &setup.subject, &setup.name],
        7,
    )
    .await;
}

#[tokio::test]
async fn sigterm_with_messages_in_flight_loses_none() {
    let Some(client) = connect().await else {
        return;
    };
    tokio::task::spawn_blocking(worker_example).await.unwrap();
    // The messages the worker was sent and had not started come back after the ack
    // wait: 10 s leaves the worker, which lives about a second, a wide margin without
    // making the test wait 30 s for them.
    let setup = Setup::with_ack_wait(client, "SIGTERM", 5, Duration::from_secs(10)).await;
    const N: usize = 40;
    for i in 0..N {
        setup
            .js
            .publish(setup.subject.clone(), format!("m{i}").into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let slow = worker::slow_downstream().await;
    let mut worker = start_worker(
        &setup,
        &[("WORKER_PREFETCH", "4"), ("DOWNSTREAM_URL", &slow)],
    );
    // Every message the worker started was finished and acknowledged.
    let acked = worker::terminate_midway(&mut worker).await;

    // Every other message comes to the next consumer: at once, or, if the
    // worker had been sent it and not started it, after the ack wait.
    let want = N - acked.len();
    let mut remaining = Vec::new();
    let start = Instant::now();
    while remaining.len() < want {
        let mut batch = setup
            .consumer
            .fetch()
            .max_messages(want - remaining.len())
            .messages()
            .await
            .unwrap();
        while let Some(m) = batch.next().await {
            let m = m.unwrap();
            remaining.push(String::from_utf8(m.message.payload.to_vec()).unwrap());
            m.double_ack().await.unwrap();
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{want} messages for the next consumer, got {remaining:?}\n{}",
            worker.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Nothing else is pending or waiting for an acknowledgement: none twice.
    let info = setup.consumer.get_info().await.unwrap();
    assert_eq!((info.num_pending, info.num_ack_pending), (0, 0));
    setup.delete().await;
    worker::assert_none_lost_or_repeated(&acked, remaining, N, &worker.output());
}
