//! The service's NATS JetStream side, for the stock Messaging panels and rules beside
//! RabbitMQ's: a stream of the run's own (`E2E_NATS_STREAM`, on the server at `E2E_NATS_URL`)
//! with one subject, a durable pull consumer on it and a depth poll of that consumer.
//! `GET /nats/{ok,poison}` publishes one message, acknowledged by the stream; the consumer
//! acknowledges `ok` and terminates `poison` (JetStream's dead end, a processing failure).
//! `GET /nats/consumer/{stall,release}` stops and resumes taking messages, as RabbitMQ's
//! `/consumer/…` does (see `gate`). Every figure is under the subject, `<stream>.work`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::{self, stream};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use obskit::messaging::nats::{self, Consumer, Publisher, consumer_depth};
use obskit::messaging::{DepthOptions, DepthPoller, Destination, Messaging};

use crate::gate::{Gate, Waiter};

/// How often the consumer's depth is asked from the server.
const DEPTH_INTERVAL: Duration = Duration::from_secs(1);
/// How long the server waits for an acknowledgement before delivering a message again:
/// longer than a test holds the consumer, so a held message is delivered once.
const ACK_WAIT: Duration = Duration::from_secs(300);
/// The stream keeps messages this long at most (a service that was killed leaves little
/// behind; the test deletes the stream).
const MAX_AGE: Duration = Duration::from_secs(600);

/// The publisher, the subject it publishes to and the depth poll.
struct Nats {
    subject: String,
    publisher: Publisher,
    _poller: DepthPoller,
}

/// `GET /nats/{kind}` on the stream `stream`, its consumer started.
pub(crate) async fn routes(
    telemetry: &obskit::Telemetry,
    url: &str,
    stream: &str,
) -> anyhow::Result<Router> {
    let messaging = Messaging::new(telemetry, nats::SYSTEM);
    let client = async_nats::connect(url)
        .await
        .with_context(|| format!("could not connect to NATS at {url}"))?;
    telemetry
        .health()
        .register(nats::connection_check("nats", &client))?;
    let js = jetstream::new(client);
    let subject = format!("{stream}.work");
    let created = js
        .create_stream(stream::Config {
            name: stream.to_owned(),
            subjects: vec![subject.clone()],
            max_age: MAX_AGE,
            ..Default::default()
        })
        .await
        .with_context(|| format!("could not create the stream {stream}"))?;
    let consumer: PullConsumer = created
        .create_consumer(pull::Config {
            durable_name: Some("e2e".into()),
            ack_policy: AckPolicy::Explicit,
            ack_wait: ACK_WAIT,
            ..Default::default()
        })
        .await
        .with_context(|| format!("could not create the consumer of {stream}"))?;
    let messages = consumer.messages().await?;
    let gate = Gate::new();
    tokio::spawn(work(
        Consumer::new(&messaging, &subject, messages),
        gate.waiter(),
    ));
    let poller = messaging.poll_depth(
        &Destination::new(subject.clone()),
        DepthOptions::default().interval(DEPTH_INTERVAL),
        move || {
            let consumer = consumer.clone();
            async move { consumer_depth(&consumer).await }
        },
    );
    let state = Arc::new(Nats {
        subject,
        publisher: Publisher::new(&messaging, js),
        _poller: poller,
    });
    Ok(Router::new()
        .route("/nats/{kind}", get(publish))
        .with_state(state)
        .nest("/nats", gate.routes()))
}

/// Takes messages while the gate is open: acknowledges `ok`, terminates `poison`.
async fn work(mut consumer: Consumer<pull::Stream>, mut gate: Waiter) {
    while gate.open().await {
        let Some(next) = consumer.next().await else {
            return;
        };
        let message = match next {
            Ok(message) => message,
            Err(e) => {
                obskit::tracing::warn!(error = %e, "could not take a NATS message");
                continue;
            }
        };
        let settled = if &message.message().message.payload[..] == b"poison" {
            message.dead_letter("poison").await
        } else {
            message.ack().await
        };
        if let Err(e) = settled {
            obskit::tracing::warn!(error = %e, "could not settle a NATS message");
        }
    }
}

/// `GET /nats/{ok,poison}`: one message, acknowledged by the stream.
async fn publish(
    State(nats): State<Arc<Nats>>,
    Path(kind): Path<String>,
) -> Result<&'static str, (StatusCode, String)> {
    let payload: &'static str = match kind.as_str() {
        "ok" => "ok",
        "poison" => "poison",
        other => {
            return Err((
                StatusCode::NOT_FOUND,
                format!("no message kind {other:?}; use ok or poison"),
            ));
        }
    };
    nats.publisher
        .publish(&nats.subject, async_nats::HeaderMap::new(), payload.into())
        .await
        .map_err(|e| (StatusCode::BAD_GATEWAY, format!("publish failed: {e}")))?;
    Ok("published")
}
