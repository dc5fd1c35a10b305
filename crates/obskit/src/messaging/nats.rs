//! NATS JetStream through [`async_nats`]: sends and deliveries traced and
//! measured by the [messaging core](super), with the trace context in the
//! NATS headers, the JetStream publish acknowledgement as the end of a
//! send, JetStream's own message time as the fallback for a message's age
//! and its delivery count on the span, the consumer's info as queue depth
//! (pending, waiting for acknowledgement, redelivered, clients taking its
//! messages), and the client's connection as a readiness check.
//!
//! ```no_run
//! use futures_util::StreamExt as _;
//! use obskit::messaging::Messaging;
//! use obskit::messaging::nats::{Consumer, Publisher};
//!
//! # async fn run(telemetry: &obskit::Telemetry) -> Result<(), async_nats::Error> {
//! let messaging = Messaging::new(telemetry, obskit::messaging::nats::SYSTEM);
//! let client = async_nats::connect("127.0.0.1:4222").await?;
//! telemetry.health().register(obskit::messaging::nats::connection_check("nats", &client))?;
//! let jetstream = async_nats::jetstream::new(client);
//!
//! let publisher = Publisher::new(&messaging, jetstream.clone());
//! publisher.publish("orders.created", async_nats::HeaderMap::new(), "{}".into()).await?;
//!
//! let stream = jetstream.get_stream("ORDERS").await?;
//! let pull: async_nats::jetstream::consumer::PullConsumer = stream.get_consumer("worker").await?;
//! let mut consumer = Consumer::new(&messaging, "orders", pull.messages().await?);
//! while let Some(message) = consumer.next().await {
//!     let message = message?;
//!     // ... process message.message().payload inside message.context() ...
//!     message.ack().await?;
//! }
//! # Ok(()) }
//! ```

use std::time::{Duration, SystemTime};

use async_nats::jetstream::context::{PublishAckFuture, PublishErrorKind};
use async_nats::jetstream::message::{AckKind, Message as JsMessage};
use async_nats::jetstream::publish::PublishAck;
use async_nats::{HeaderMap, HeaderValue};
use bytes::Bytes;
use futures_util::Stream;
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector};

use super::consume::Consuming;
use super::{DeliveryInfo, Depth, Destination, Messaging, Processing, Settlement};
use crate::health::Check;

/// The `messaging.system` of NATS.
pub const SYSTEM: &str = "nats";

/// The header JetStream deduplicates by, read as the message id.
const MSG_ID: &str = "Nats-Msg-Id";

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value);
    }
}

/// Reads propagation headers, names compared without regard to case.
struct HeaderExtractor<'a>(Option<&'a HeaderMap>);

impl<'a> HeaderExtractor<'a> {
    fn values<'k>(&self, key: &'k str) -> impl Iterator<Item = &'a str> + use<'a, 'k> {
        self.0
            .into_iter()
            .flat_map(|h: &'a HeaderMap| h.iter())
            .filter(move |(k, _)| AsRef::<str>::as_ref(k).eq_ignore_ascii_case(key))
            .flat_map(|(_, v)| v.iter().map(HeaderValue::as_str))
    }
}

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.values(key).next()
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .map(|h| h.iter().map(|(k, _)| AsRef::<str>::as_ref(k)).collect())
            .unwrap_or_default()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let all: Vec<&str> = self.values(key).collect();
        (!all.is_empty()).then_some(all)
    }
}

fn publish_error_type(kind: PublishErrorKind) -> &'static str {
    match kind {
        PublishErrorKind::TimedOut => "timeout",
        PublishErrorKind::BrokenPipe => "connection",
        PublishErrorKind::StreamNotFound => "stream_not_found",
        PublishErrorKind::MaxPayloadExceeded => "max_payload",
        _ => crate::instrument::FAILED,
    }
}

/// Publishes to JetStream with a send span and the send figures.
#[derive(Clone)]
pub struct Publisher {
    messaging: Messaging,
    context: async_nats::jetstream::Context,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").finish_non_exhaustive()
    }
}

impl Publisher {
    /// Publishes through `context`.
    pub fn new(messaging: &Messaging, context: async_nats::jetstream::Context) -> Self {
        Self {
            messaging: messaging.clone(),
            context,
        }
    }

    /// Publishes `payload` to `subject` and waits for the stream's
    /// acknowledgement: the current context's child span `send {subject}`,
    /// its context and the creation time added to `headers`. A send the
    /// stream did not acknowledge counts as failed, with the error's class
    /// as `error_type` (`timeout`, `connection`, `stream_not_found`, ...).
    pub async fn publish(
        &self,
        subject: &str,
        mut headers: HeaderMap,
        payload: Bytes,
    ) -> Result<PublishAck, async_nats::jetstream::context::PublishError> {
        let destination = Destination::new(subject.to_owned());
        let send = self
            .messaging
            .publish(&destination, &mut HeaderInjector(&mut headers));
        if let Some(id) = headers.get(MSG_ID) {
            send.set_message_id(id.as_str());
        }
        let result = async {
            let ack: PublishAckFuture = self
                .context
                .publish_with_headers(subject.to_owned(), headers, payload)
                .await?;
            ack.await
        }
        .await;
        match &result {
            Ok(_) => send.succeeded(),
            Err(e) => send.failed(publish_error_type(e.kind())),
        }
        result
    }
}

/// Starts the processing of one JetStream message from `destination`
/// (the name its figures go under: the stream, the consumer, the subject).
pub fn process(
    messaging: &Messaging,
    destination: &Destination,
    message: &JsMessage,
) -> Processing {
    let headers = message.message.headers.as_ref();
    let mut info = DeliveryInfo::default().body_size(message.message.payload.len() as u64);
    if let Some(id) = headers.and_then(|h| h.get(MSG_ID)) {
        info = info.message_id(id.as_str());
    }
    if let Ok(meta) = message.info() {
        info = info.broker_timestamp(SystemTime::from(meta.published));
        if let Ok(n) = u64::try_from(meta.delivered) {
            info = info.delivery_count(n);
        }
    }
    messaging.process(destination, &HeaderExtractor(headers), &info)
}

/// A JetStream message stream whose every message starts its processing span.
pub struct Consumer<S> {
    consuming: Consuming<S>,
}

impl<S> std::fmt::Debug for Consumer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("destination", self.consuming.destination())
            .finish_non_exhaustive()
    }
}

impl<S, E> Consumer<S>
where
    S: Stream<Item = Result<JsMessage, E>> + Unpin,
{
    /// Wraps `messages` (e.g. a pull consumer's `messages()`), its figures
    /// under `destination`.
    pub fn new(messaging: &Messaging, destination: &str, messages: S) -> Self {
        Self {
            consuming: Consuming::new(messaging, destination, messages),
        }
    }

    /// The next message, its processing started; `None` once the stream
    /// ends (it then no longer counts in `obskit_messaging_consumers`).
    pub async fn next(&mut self) -> Option<Result<Message, E>> {
        let item = self.consuming.next(process).await?;
        Some(item.map(|(message, processing)| Message {
            message,
            processing,
        }))
    }
}

/// One JetStream message being processed. Settle it with
/// [`ack`](Self::ack), [`requeue`](Self::requeue) or
/// [`dead_letter`](Self::dead_letter); dropped unsettled, JetStream
/// delivers it again after the consumer's ack wait.
#[must_use = "settle it with ack, requeue or dead_letter"]
pub struct Message {
    message: JsMessage,
    processing: Processing,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("subject", &self.message.message.subject)
            .field("processing", &self.processing)
            .finish_non_exhaustive()
    }
}

impl Message {
    /// The JetStream message: subject, payload, headers.
    pub fn message(&self) -> &JsMessage {
        &self.message
    }

    /// The processing's context, for the code that processes the message.
    pub fn context(&self) -> &Context {
        self.processing.context()
    }

    /// The processing: its context and the message's age.
    pub fn processing(&self) -> &Processing {
        &self.processing
    }

    /// Acknowledges the message (`+ACK`).
    pub async fn ack(self) -> Result<(), async_nats::Error> {
        self.settle(Settlement::Ack, None).await
    }

    /// Returns the message for another attempt (`-NAK`).
    pub async fn requeue(self, error_type: &'static str) -> Result<(), async_nats::Error> {
        self.settle(Settlement::Requeue, Some(error_type)).await
    }

    /// Stops its redelivery (`+TERM`): JetStream's dead end.
    pub async fn dead_letter(self, error_type: &'static str) -> Result<(), async_nats::Error> {
        self.settle(Settlement::DeadLetter, Some(error_type)).await
    }

    /// Settles the message with the server, then records the settlement;
    /// one the server did not get is recorded as unsettled.
    pub async fn settle(
        self,
        settlement: Settlement,
        error_type: Option<&'static str>,
    ) -> Result<(), async_nats::Error> {
        let kind = match settlement {
            Settlement::Ack => AckKind::Ack,
            Settlement::Requeue => AckKind::Nak(None),
            Settlement::DeadLetter => AckKind::Term,
        };
        // Double ack: the server confirms it took the settlement.
        let result = self.message.double_ack_with(kind).await;
        self.processing.settled(settlement, error_type, result)
    }
}

/// The depth of a JetStream consumer from its info: messages pending
/// delivery, delivered and waiting for acknowledgement, redelivered, and the
/// clients taking its messages (see [`ACTIVE_WITHIN`]). For
/// [`Messaging::poll_depth`].
pub async fn consumer_depth<T>(
    consumer: &async_nats::jetstream::consumer::Consumer<T>,
) -> Result<Depth, async_nats::jetstream::context::ConsumerInfoError>
where
    T: async_nats::jetstream::consumer::IntoConsumerConfig + Sync,
{
    let info = consumer.get_info().await?;
    Ok(Depth {
        ready: Some(info.num_pending),
        unacked: Some(info.num_ack_pending as u64),
        consumers: Some(attached(&info, SystemTime::now())),
        redelivered: Some(info.num_redelivered as u64),
    })
}

/// How recently a pull consumer must have had a message delivered or
/// acknowledged to count as attached while no pull request of its waits on
/// the server: the expiry of the pull requests of
/// [`PullConsumer::messages`](async_nats::jetstream::consumer::PullConsumer::messages),
/// within which a client that is alive asks again.
pub const ACTIVE_WITHIN: Duration = Duration::from_secs(30);

/// The clients taking a JetStream consumer's messages, as far as the server
/// tells: for a push consumer, 1 while a subscriber is bound to it; for a
/// pull consumer, the pull requests waiting on the server, and at least 1
/// while it delivered or was acknowledged a message within
/// [`ACTIVE_WITHIN`] (a client busy with a batch has no request waiting).
/// JetStream does not count clients, so several clients pulling show as
/// the requests they have waiting; the stock rules only ask whether there
/// are none or some.
fn attached(info: &async_nats::jetstream::consumer::Info, now: SystemTime) -> u64 {
    if info.config.deliver_subject.is_some() {
        return u64::from(info.push_bound);
    }
    let recent = |sequence: &async_nats::jetstream::consumer::SequenceInfo| {
        sequence.last_active.is_some_and(|at| {
            now.duration_since(SystemTime::from(at))
                .map_or(true, |ago| ago < ACTIVE_WITHIN)
        })
    };
    let active = recent(&info.delivered) || recent(&info.ack_floor);
    (info.num_waiting as u64).max(u64::from(active))
}

/// A readiness check that passes while the client is connected; the
/// client reconnects by itself, and readiness follows.
pub fn connection_check(name: impl Into<String>, client: &async_nats::Client) -> Check {
    let client = client.clone();
    Check::new(name, move || {
        let state = client.connection_state();
        async move {
            if state == async_nats::connection::State::Connected {
                Ok(())
            } else {
                Err(format!(
                    "the NATS connection is {state:?}; the client reconnects by itself"
                ))
            }
        }
    })
    .cache_for(Duration::ZERO)
}
