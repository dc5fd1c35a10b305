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

use crate::messaging_support;
use crate::support;

use messaging_support::worker::{self, plain_client as reqwest_plain};
use messaging_support::{
    Act, Child, DEADLINE, Jobs, Load, assert_settlement_counts, obskit_warnings, unreachable,
    value, wait_metrics, wait_ready,
};
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
use obskit::http::HttpLayer;
use obskit::messaging::rabbitmq::{Consumer, Publisher, SYSTEM};
use obskit::messaging::{CREATED_AT_HEADER, Messaging};
use obskit::slo::Slo;
use obskit::testing::{FinishedSpan, TestTelemetry};
use obskit_test_receiver::Receiver;

const ADDR: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// A connection to the shared broker, or `None` (skip) outside CI.
async fn connect() -> Option<Connection> {
    match Connection::connect(ADDR, ConnectionProperties::default()).await {
        Ok(c) => Some(c),
        Err(e) => unreachable("RabbitMQ at 127.0.0.1:5672", &e),
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

/// Three services as users run them, each with telemetry of its own and
/// every span read back from the OTLP receiver: `orders` publishes on an
/// HTTP request; the worker example, in a process of its own, consumes and
/// calls `inventory`. One trace runs from the request to inventory's
/// server span.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_from_an_http_request_through_a_worker_process_to_an_http_service() {
    let Some(connection) = connect().await else {
        return;
    };
    tokio::task::spawn_blocking(worker_example).await.unwrap();
    let receiver = Receiver::start().await.unwrap();
    let endpoint = receiver.http_endpoint();
    let channel = connection.create_channel().await.unwrap();
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let queue = unique("orders");
    declare(&channel, &queue, FieldTable::default()).await;

    // The downstream service the worker calls.
    let (inventory_telemetry, inventory) = worker::inventory(&endpoint).await;

    // The service that publishes on an HTTP request.
    let orders_telemetry = worker::service_telemetry("orders", &endpoint);
    let messaging = Messaging::new(&orders_telemetry, SYSTEM);
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
        .layer(HttpLayer::new(&orders_telemetry));
    let app = support::server::spawn(app).await;

    let (worker, admin) =
        worker::one_order(|env| start_worker(&queue, env), &endpoint, &inventory, &app).await;

    // The worker's own /metrics, exact under this traffic.
    worker::assert_one_processed(&admin, &queue).await;
    let d = format!(r#"messaging_destination_name="{queue}""#);
    let text = orders_telemetry.metrics().render();
    assert_eq!(
        value(&text, "messaging_client_sent_messages_total", &[&d]),
        Some(1.0),
        "{text}"
    );

    delete(&channel, &queue).await;
    worker::assert_trace_flushed(
        worker,
        [orders_telemetry, inventory_telemetry],
        &receiver,
        [SYSTEM, &queue, &queue],
        7,
    )
    .await;
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
    let mut consumer = consume(&channel, &messaging, &work).await;
    let mut jobs = Jobs::default();
    while jobs.settled() < N {
        let m = next(&mut consumer).await;
        match jobs.act(&m.delivery().data) {
            Act::Ack => m.ack().await.unwrap(),
            Act::Requeue(e) => m.requeue(e).await.unwrap(),
            Act::DeadLetter(e) => {
                assert!(e != "timeout" || m.delivery().redelivered);
                m.dead_letter(e).await.unwrap();
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
    assert_settlement_counts(&text, &w, &w, "work-ok", N);
    assert_eq!(
        value(
            &text,
            "obskit_messaging_settlements_total",
            &[&dl, r#"settlement="ack""#]
        ),
        Some(2.0)
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

/// The management HTTP API of the broker (the `rabbitmq_management` plugin).
const MANAGEMENT: &str = "http://127.0.0.1:15672";

/// Whether the management API answers; outside CI its absence skips the
/// comparison with a note (`.ci/run` enables the plugin).
async fn management_answers() -> bool {
    let answer = reqwest_plain()
        .get(format!("{MANAGEMENT}/api/overview"))
        .basic_auth("guest", Some("guest"))
        .send()
        .await;
    match answer {
        Ok(r) if r.status().is_success() => true,
        Ok(r) => unreachable::<()>("the RabbitMQ management API", &r.status()).is_some(),
        Err(e) => unreachable::<()>("the RabbitMQ management API at 127.0.0.1:15672", &e).is_some(),
    }
}

/// `queue` as the management API reports it: messages ready, messages
/// unacknowledged, consumers; `None` while it has no figures yet.
async fn management_depth(queue: &str) -> Option<(u64, u64, u64)> {
    let text = reqwest_plain()
        .get(format!("{MANAGEMENT}/api/queues/%2F/{queue}"))
        .basic_auth("guest", Some("guest"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let queue: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some((
        queue["messages_ready"].as_u64()?,
        queue["messages_unacknowledged"].as_u64()?,
        queue["consumers"].as_u64()?,
    ))
}

/// Waits until the management API reports `want` (ready, unacked,
/// consumers; it refreshes its figures every few seconds) and obskit's
/// gauges equal its ready and consumer figures. AMQP's own answer, which
/// obskit polls, has no unacknowledged count.
async fn agree_with_management(
    telemetry: &TestTelemetry,
    queue: &str,
    want: (u64, u64, u64),
    gauges: impl Fn(&str) -> (Option<f64>, Option<f64>, Option<f64>),
) {
    let start = Instant::now();
    loop {
        let management = management_depth(queue).await;
        let obskit = gauges(&telemetry.metrics().render());
        if management == Some(want) {
            let (ready, _, consumers) = want;
            if obskit == (Some(ready as f64), Some(consumers as f64), Some(0.0)) {
                return;
            }
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the management API reports {want:?} (it says {management:?}) \
             and obskit's gauges (ready, consumers, stale) agree: {obskit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
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
    let management = management_answers().await;
    if management {
        agree_with_management(&telemetry, &queue, (7, 0, 0), gauges).await;
    }

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
    if management {
        agree_with_management(&telemetry, &queue, (5, 2, 1), gauges).await;
    }

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

/// The worker example (examples/rabbitmq_worker.rs) in a process of its
/// own, consuming `queue`, with `env` on top: a service as its users run it.
fn start_worker(queue: &str, env: &[(&str, &str)]) -> Child {
    let mut all = vec![("AMQP_ADDR", ADDR), ("WORKER_QUEUE", queue)];
    all.extend_from_slice(env);
    worker::start(&worker_example(), &all)
}

/// The worker example's binary, built on first use.
fn worker_example() -> std::path::PathBuf {
    worker::example("rabbitmq_worker")
}

#[tokio::test]
async fn sigterm_with_messages_in_flight_loses_none() {
    let Some(connection) = connect().await else {
        return;
    };
    tokio::task::spawn_blocking(worker_example).await.unwrap();
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
    let slow = worker::slow_downstream().await;
    let mut worker = start_worker(
        &queue,
        &[("WORKER_PREFETCH", "4"), ("DOWNSTREAM_URL", &slow)],
    );
    // Every message the worker started was finished and acknowledged.
    let acked = worker::terminate_midway(&mut worker).await;
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
    worker::assert_none_lost_or_repeated(&acked, remaining, N, &worker.output());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_loss_under_load_follows_readiness_and_recovers() {
    use obskit::health::Status;
    use obskit::messaging::rabbitmq::{connection_check, queue_depth};
    use obskit::messaging::{DepthOptions, Destination};

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
    let load = {
        let queue = queue.clone();
        Load::start(move || {
            let (publisher, queue) = (publisher.clone(), queue.clone());
            async move {
                publisher
                    .publish(
                        "",
                        &queue,
                        BasicPublishOptions::default(),
                        b"load",
                        BasicProperties::default(),
                    )
                    .await
            }
        })
    };
    load.more_sent(20, "publishing under load").await;

    proxy.cut();
    wait_ready(&telemetry, Status::Down).await;
    let d = format!(r#"messaging_destination_name="{queue}""#);
    wait_metrics(&telemetry, "the depth marked stale", |t| {
        value(t, "obskit_messaging_queue_depth_stale", &[&d]) == Some(1.0)
    })
    .await;
    // Let the publisher and the poller fail for a while.
    load.more_failed(10, "sends fail during the outage").await;

    proxy.restore().await;
    wait_ready(&telemetry, Status::Up).await;
    load.more_sent(20, "publishing again after recovery").await;
    wait_metrics(&telemetry, "a fresh depth reading after recovery", |t| {
        value(t, "obskit_messaging_queue_depth_stale", &[&d]) == Some(0.0)
    })
    .await;
    load.stop().await;
    delete(&setup, &queue).await;

    // obskit warned about the failing depth polls once, not once per poll.
    let warnings = obskit_warnings(&telemetry);
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
