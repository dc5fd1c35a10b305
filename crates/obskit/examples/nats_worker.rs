//! A NATS JetStream worker wired with obskit, to copy: it consumes from a
//! durable pull consumer, continues each message's trace, calls a
//! downstream HTTP service per message (when `DOWNSTREAM_URL` is set),
//! serves `/metrics` and the probes on an admin port, polls the consumer's
//! depth, follows its connection in readiness while the client reconnects
//! by itself, and on SIGTERM stops without losing or repeating a message
//! ([`obskit::messaging::Drain`]).
//!
//! Run with `cargo run -p obskit --features nats --example nats_worker`
//! against the server on 127.0.0.1:4222 (`nats-server -js`), with the
//! stream and its durable consumer created.
//!
//! Settings (environment): `NATS_URL` (`127.0.0.1:4222`), `WORKER_STREAM`
//! (`ORDERS`), `WORKER_CONSUMER` (`worker`), `WORKER_PREFETCH` (8: messages
//! processed at once, and the size of each pull), `ADMIN_ADDR`
//! (`127.0.0.1:9464`), `DOWNSTREAM_URL` (none); obskit's own `OTEL_*`,
//! `OBSKIT_INFLIGHT_TIMEOUT` and `RUST_LOG` (`info`).
//!
//! The stream's name is the destination of the processing spans and the
//! figures (`process ORDERS`). A message the worker was sent but had not
//! started when it stopped is not acknowledged: JetStream delivers it again
//! after the consumer's ack wait.

mod worker;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, consumer::PullConsumer};
use obskit::config::ShutdownBounds;
use obskit::messaging::nats::{self, Consumer, Message};
use obskit::messaging::{DepthOptions, Destination, Drain, Messaging};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use worker::{Downstream, setting};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let telemetry = obskit::Config::from_env()?
        .build_info(obskit::build_info!())
        .install()?;
    let bounds = ShutdownBounds::from_env()?;
    let stream = setting("WORKER_STREAM", "ORDERS");
    let durable = setting("WORKER_CONSUMER", "worker");
    let prefetch = worker::prefetch()?;
    let messaging = Messaging::new(&telemetry, nats::SYSTEM);

    // Probes and /metrics on the admin port.
    worker::serve_admin(&telemetry).await?;

    // A client that reconnects by itself, for ever, and readiness that
    // follows its connection.
    let url = setting("NATS_URL", "127.0.0.1:4222");
    let client = async_nats::ConnectOptions::new()
        .max_reconnects(None)
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis(100 * 2_u64.saturating_pow(attempts.min(6) as u32))
                .min(Duration::from_secs(5))
        })
        .event_callback(|event| async move {
            match event {
                async_nats::Event::Connected => tracing::info!("connected to NATS"),
                event => tracing::warn!(%event, "NATS connection event"),
            }
        })
        .connect(&url)
        .await
        .with_context(|| format!("connect to NATS at {url:?} (NATS_URL)"))?;
    telemetry
        .health()
        .register(nats::connection_check("nats", &client))?;

    let js = jetstream::new(client.clone());
    let consumer: PullConsumer = js
        .get_stream(&stream)
        .await
        .with_context(|| format!("find stream {stream:?} (create it first)"))?
        .get_consumer(&durable)
        .await
        .map_err(|e| anyhow::anyhow!(e))
        .with_context(|| {
            format!("find consumer {durable:?} of stream {stream:?} (create it first)")
        })?;

    // The consumer's depth, from its info.
    let polled = consumer.clone();
    let _depth = messaging.poll_depth(
        &Destination::new(stream.clone()),
        DepthOptions::default(),
        move || {
            let polled = polled.clone();
            async move { nats::consumer_depth(&polled).await }
        },
    );

    let messages = consumer
        .stream()
        .max_messages_per_batch(usize::from(prefetch))
        .messages()
        .await
        .context("pull from the consumer")?;
    let mut messages = Some(Consumer::new(&messaging, &stream, messages));
    let downstream = Downstream::from_env(&telemetry);
    telemetry.health().mark_started();
    tracing::info!(%stream, consumer = %durable, prefetch, "consuming");

    // At most `prefetch` messages in processing: a message is taken only
    // when a slot is free.
    let slots = Arc::new(Semaphore::new(usize::from(prefetch)));
    let mut drain = Drain::new(bounds);
    worker::consume(
        &mut drain,
        async || {
            let slot = Arc::clone(&slots).acquire_owned().await.ok()?;
            let next = messages.as_mut()?.next().await?;
            Some(next.map(|message| (message, slot)))
        },
        |(message, slot)| handle(message, slot, downstream.clone()),
    )
    .await;

    let report = drain
        .finish(
            telemetry,
            async {
                // No more pulls: the subscription ends.
                messages = None;
            },
            async {
                // Settlements sent, subscriptions ended, the connection closed.
                let _ = client.drain().await;
            },
        )
        .await;
    worker::report(&report);
    Ok(())
}

/// Processes one message inside its trace: hands the body to the
/// downstream service, then settles it (double ack: the server confirms).
/// A failure is retried once, then terminated.
async fn handle(message: Message, _slot: OwnedSemaphorePermit, downstream: Downstream) {
    let body = String::from_utf8_lossy(&message.message().message.payload).into_owned();
    let result = message
        .processing()
        .in_context(downstream.work(&body))
        .await;
    let redelivered = message.message().info().is_ok_and(|i| i.delivered > 1);
    let (settlement, error_type) = worker::settlement(&result, redelivered, &body);
    let settled = message.settle(settlement, error_type).await;
    worker::settled(&body, settlement, settled);
}
