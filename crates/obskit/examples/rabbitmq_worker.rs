//! A RabbitMQ worker wired with obskit, to copy: it consumes one queue,
//! continues each message's trace, calls a downstream HTTP service per
//! message (when `DOWNSTREAM_URL` is set), serves `/metrics` and the probes
//! on an admin port, polls the queue's depth, and on SIGTERM stops without
//! losing or repeating a message ([`obskit::messaging::Drain`]).
//!
//! Run with `cargo run -p obskit --features rabbitmq --example rabbitmq_worker`
//! against the broker on 127.0.0.1:5672, with the queue declared.
//!
//! Settings (environment): `AMQP_ADDR` (`amqp://guest:guest@127.0.0.1:5672/%2f`),
//! `WORKER_QUEUE` (`orders`), `WORKER_PREFETCH` (8), `ADMIN_ADDR`
//! (`127.0.0.1:9464`), `DOWNSTREAM_URL` (none); obskit's own `OTEL_*`,
//! `OBSKIT_INFLIGHT_TIMEOUT` and `RUST_LOG` (`info,lapin=warn`).

mod worker;

use std::time::Duration;

use anyhow::Context as _;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use obskit::config::ShutdownBounds;
use obskit::messaging::rabbitmq::{self, Consumer, Message};
use obskit::messaging::{DepthOptions, Destination, Drain, Messaging};
use worker::{Downstream, setting};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut config = obskit::Config::from_env()?.build_info(obskit::build_info!());
    if std::env::var_os("RUST_LOG").is_none() {
        // lapin wraps its I/O loop in an info span that lasts as long as the
        // connection: kept out of the traces (and the log) by default.
        config = config.log_filter("info,lapin=warn")?;
    }
    let telemetry = config.install()?;
    let bounds = ShutdownBounds::from_env()?;
    let queue = setting("WORKER_QUEUE", "orders");
    let prefetch = worker::prefetch()?;
    let messaging = Messaging::new(&telemetry, rabbitmq::SYSTEM);

    // Probes and /metrics on the admin port.
    worker::serve_admin(&telemetry).await?;

    // A connection that comes back by itself, and readiness that follows it.
    let properties = ConnectionProperties::default()
        .enable_auto_recover()
        .configure_backoff(|b| {
            b.with_min_delay(Duration::from_millis(100))
                .with_max_delay(Duration::from_secs(5))
                .with_max_times(usize::MAX)
        });
    let connection = Connection::connect(
        &setting("AMQP_ADDR", "amqp://guest:guest@127.0.0.1:5672/%2f"),
        properties,
    )
    .await
    .context("connect to RabbitMQ (AMQP_ADDR)")?;
    telemetry
        .health()
        .register(rabbitmq::connection_check("rabbitmq", &connection))?;

    // The queue's depth, asked on a channel of its own.
    let polling = connection.create_channel().await?;
    let polled = queue.clone();
    let _depth = messaging.poll_depth(
        &Destination::new(queue.clone()),
        DepthOptions::default(),
        move || {
            let (channel, queue) = (polling.clone(), polled.clone());
            async move { rabbitmq::queue_depth(&channel, &queue).await }
        },
    );

    let channel = connection.create_channel().await?;
    channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await?;
    let deliveries = channel
        .basic_consume(
            queue.clone().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("consume from queue {queue:?} (declare it first)"))?;
    let mut consumer = Consumer::new(&messaging, &queue, deliveries);
    let downstream = Downstream::from_env(&telemetry);
    telemetry.health().mark_started();
    tracing::info!(%queue, prefetch, "consuming");

    let mut drain = Drain::new(bounds);
    worker::consume(
        &mut drain,
        async || consumer.next().await,
        |message| handle(message, downstream.clone()),
    )
    .await;

    let tag = consumer.tag();
    let report = drain
        .finish(
            telemetry,
            async {
                let _ = channel
                    .basic_cancel(tag.into(), BasicCancelOptions::default())
                    .await;
            },
            async {
                // Whatever was delivered and not settled goes back to the queue.
                let _ = channel.close(200, "shutting down".into()).await;
                let _ = connection.close(200, "shutting down".into()).await;
            },
        )
        .await;
    worker::report(&report);
    Ok(())
}

/// Processes one message inside its trace: hands the body to the
/// downstream service, then settles it. A failure is retried once, then
/// dead-lettered.
async fn handle(message: Message, downstream: Downstream) {
    let body = String::from_utf8_lossy(&message.delivery().data).into_owned();
    let result = message
        .processing()
        .in_context(downstream.work(&body))
        .await;
    let (settlement, error_type) =
        worker::settlement(&result, message.delivery().redelivered, &body);
    let settled = message.settle(settlement, error_type).await;
    worker::settled(&body, settlement, settled);
}
