//! RabbitMQ through [`lapin`]: sends and deliveries traced and measured by
//! the [messaging core](super), with the trace context in the AMQP header
//! table, publisher confirms counted, the AMQP `timestamp` property as the
//! fallback for a message's age, and the broker connection as a readiness
//! check.
//!
//! ```no_run
//! use obskit::messaging::Messaging;
//! use obskit::messaging::rabbitmq::{Consumer, Publisher};
//! use lapin::{options::*, types::FieldTable, BasicProperties, Connection, ConnectionProperties};
//!
//! # async fn run(telemetry: &obskit::Telemetry) -> Result<(), Box<dyn std::error::Error>> {
//! let messaging = Messaging::new(telemetry, obskit::messaging::rabbitmq::SYSTEM);
//! let connection = Connection::connect(
//!     "amqp://127.0.0.1:5672/%2f",
//!     ConnectionProperties::default().enable_auto_recover(),
//! )
//! .await?;
//! telemetry.health().register(obskit::messaging::rabbitmq::connection_check("rabbitmq", &connection))?;
//! let channel = connection.create_channel().await?;
//!
//! let publisher = Publisher::new(&messaging, channel.clone());
//! publisher
//!     .publish("", "orders", BasicPublishOptions::default(), b"{}", BasicProperties::default())
//!     .await?;
//!
//! let deliveries = channel
//!     .basic_consume("orders".into(), "".into(), BasicConsumeOptions::default(), FieldTable::default())
//!     .await?;
//! let mut consumer = Consumer::new(&messaging, "orders", deliveries);
//! while let Some(message) = consumer.next().await {
//!     let message = message?;
//!     // ... process message.delivery().data inside message.context() ...
//!     message.ack().await?;
//! }
//! # Ok(()) }
//! ```

use std::time::{Duration, UNIX_EPOCH};

use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicNackOptions, BasicPublishOptions, BasicRejectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, Connection};
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector};

use super::consume::Consuming;
use super::{DeliveryInfo, Depth, Destination, Messaging, Processing, Settlement};
use crate::health::Check;

/// The `messaging.system` of RabbitMQ.
pub const SYSTEM: &str = "rabbitmq";

/// Writes propagation headers into an AMQP header table, as long strings.
struct TableInjector<'a>(&'a mut FieldTable);

impl Injector for TableInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(
            ShortString::from(key.to_owned()),
            AMQPValue::LongString(LongString::from(value)),
        );
    }
}

/// Reads propagation headers from an AMQP header table: text values only
/// (long and short strings), names compared without regard to case.
struct TableExtractor<'a>(Option<&'a FieldTable>);

impl<'a> TableExtractor<'a> {
    fn values<'k>(&self, key: &'k str) -> impl Iterator<Item = &'a str> + use<'a, 'k> {
        self.0
            .into_iter()
            .flat_map(|t: &'a FieldTable| t.inner().iter())
            .filter(move |(k, _)| k.as_str().eq_ignore_ascii_case(key))
            .map(|(_, v)| match v {
                AMQPValue::LongString(s) => std::str::from_utf8(s.as_bytes()).unwrap_or("\u{0}"),
                AMQPValue::ShortString(s) => s.as_str(),
                // Not text: no propagation grammar accepts it.
                _ => "\u{0}",
            })
    }
}

impl Extractor for TableExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.values(key).next()
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .map(|t| t.inner().keys().map(ShortString::as_str).collect())
            .unwrap_or_default()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let all: Vec<&str> = self.values(key).collect();
        (!all.is_empty()).then_some(all)
    }
}

/// The destination of a publish by the semantic conventions' naming: the
/// routing key through the default exchange (the queue), else
/// `exchange:routing_key`, or the exchange alone with an empty key.
pub fn publish_destination(exchange: &str, routing_key: &str) -> Destination {
    if exchange.is_empty() {
        Destination::new(routing_key.to_owned())
    } else if routing_key.is_empty() {
        Destination::new(exchange.to_owned())
    } else if Destination::new(routing_key.to_owned()).is_temporary() {
        Destination::temporary(format!("{exchange}:{routing_key}"))
    } else {
        Destination::new(format!("{exchange}:{routing_key}"))
    }
}

/// A low-cardinality class of a lapin error, for `error.type`.
fn error_type(e: &lapin::Error) -> &'static str {
    use lapin::ErrorKind as K;
    match e.kind() {
        K::IOError(_) | K::InvalidConnectionState(_) | K::InvalidChannelState(..) => "connection",
        K::ProtocolError(_) => "protocol",
        _ => crate::instrument::FAILED,
    }
}

/// Publishes on one channel with a send span and the send figures.
#[derive(Clone)]
pub struct Publisher {
    messaging: Messaging,
    channel: Channel,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").finish_non_exhaustive()
    }
}

impl Publisher {
    /// Publishes on `channel`. Put the channel in confirm mode
    /// (`confirm_select`) to have each send end with the broker's answer.
    pub fn new(messaging: &Messaging, channel: Channel) -> Self {
        Self {
            messaging: messaging.clone(),
            channel,
        }
    }

    /// The channel.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// Publishes `payload`: the current context's child span `send
    /// {destination}`, its context and the creation time added to the
    /// header table. With publisher confirms, the send ends with the
    /// broker's answer: a nack counts as a failed send (`error_type`
    /// `nack`), and so does a mandatory message returned unroutable
    /// (`unroutable`).
    pub async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        options: BasicPublishOptions,
        payload: &[u8],
        properties: BasicProperties,
    ) -> lapin::Result<Confirmation> {
        let destination = publish_destination(exchange, routing_key);
        let mut headers = properties.headers().clone().unwrap_or_default();
        let send = self
            .messaging
            .publish(&destination, &mut TableInjector(&mut headers));
        if let Some(id) = properties.message_id() {
            send.set_message_id(id.as_str());
        }
        let properties = properties.with_headers(headers);
        let result = async {
            self.channel
                .basic_publish(
                    exchange.to_owned().into(),
                    routing_key.to_owned().into(),
                    options,
                    payload,
                    properties,
                )
                .await?
                .await
        }
        .await;
        match &result {
            Ok(Confirmation::Nack(_)) => send.failed("nack"),
            Ok(Confirmation::Ack(Some(_))) => send.failed("unroutable"),
            Ok(_) => send.succeeded(),
            Err(e) => send.failed(error_type(e)),
        }
        result
    }
}

/// What a delivery tells the core: headers, timestamp, id, size, and the
/// delivery count where the queue keeps one (quorum queues' `x-delivery-count`).
pub fn process(messaging: &Messaging, queue: &Destination, delivery: &Delivery) -> Processing {
    let props = &delivery.properties;
    let headers = props.headers().as_ref();
    let mut info = DeliveryInfo::default().body_size(delivery.data.len() as u64);
    if let Some(seconds) = props.timestamp() {
        info = info.broker_timestamp(UNIX_EPOCH + Duration::from_secs(*seconds));
    }
    if let Some(id) = props.message_id() {
        info = info.message_id(id.as_str());
    }
    let count = headers.and_then(|h| {
        h.inner().iter().find_map(|(k, v)| {
            (k.as_str() == "x-delivery-count").then(|| match v {
                AMQPValue::LongLongInt(n) => u64::try_from(*n).ok(),
                AMQPValue::LongInt(n) => u64::try_from(*n).ok(),
                AMQPValue::LongUInt(n) => Some(u64::from(*n)),
                _ => None,
            })?
        })
    });
    if let Some(previous) = count {
        info = info.delivery_count(previous + 1);
    }
    messaging.process(queue, &TableExtractor(headers), &info)
}

/// A lapin consumer whose every delivery starts its processing span.
pub struct Consumer {
    consuming: Consuming<lapin::Consumer>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("queue", self.consuming.destination())
            .finish_non_exhaustive()
    }
}

impl Consumer {
    /// Wraps `consumer`, consuming from `queue`.
    pub fn new(messaging: &Messaging, queue: &str, consumer: lapin::Consumer) -> Self {
        Self {
            consuming: Consuming::new(messaging, queue, consumer),
        }
    }

    /// The consumer tag, for `basic_cancel` when shutting down.
    pub fn tag(&self) -> String {
        self.consuming.inner().tag().to_string()
    }

    /// The next delivery, its processing started; `None` once the consumer
    /// is cancelled or its channel closed (it then no longer counts in
    /// `obskit_messaging_consumers`).
    pub async fn next(&mut self) -> Option<lapin::Result<Message>> {
        let item = self.consuming.next(process).await?;
        Some(item.map(|(delivery, processing)| Message {
            delivery,
            processing,
        }))
    }
}

/// One delivery being processed. Settle it with [`ack`](Self::ack),
/// [`requeue`](Self::requeue) or [`dead_letter`](Self::dead_letter);
/// dropped unsettled, the broker delivers it again once the channel closes.
#[must_use = "settle it with ack, requeue or dead_letter"]
pub struct Message {
    delivery: Delivery,
    processing: Processing,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("delivery_tag", &self.delivery.delivery_tag)
            .field("processing", &self.processing)
            .finish_non_exhaustive()
    }
}

impl Message {
    /// The delivery: body, properties, routing.
    pub fn delivery(&self) -> &Delivery {
        &self.delivery
    }

    /// The processing's context, for the code that processes the message.
    pub fn context(&self) -> &Context {
        self.processing.context()
    }

    /// The processing: its context and the message's age.
    pub fn processing(&self) -> &Processing {
        &self.processing
    }

    /// Acknowledges the message.
    pub async fn ack(self) -> lapin::Result<()> {
        self.settle(Settlement::Ack, None).await
    }

    /// Returns the message for another attempt (`basic.nack` with requeue).
    pub async fn requeue(self, error_type: &'static str) -> lapin::Result<()> {
        self.settle(Settlement::Requeue, Some(error_type)).await
    }

    /// Refuses the message for good (`basic.reject` without requeue): to
    /// the queue's dead-letter exchange where it has one.
    pub async fn dead_letter(self, error_type: &'static str) -> lapin::Result<()> {
        self.settle(Settlement::DeadLetter, Some(error_type)).await
    }

    /// Settles the message with the broker, then records the settlement; a
    /// settlement the broker did not get is recorded as unsettled.
    pub async fn settle(
        self,
        settlement: Settlement,
        error_type: Option<&'static str>,
    ) -> lapin::Result<()> {
        let acker = &self.delivery.acker;
        let result = match settlement {
            Settlement::Ack => acker.ack(BasicAckOptions::default()).await,
            Settlement::Requeue => {
                acker
                    .nack(BasicNackOptions {
                        multiple: false,
                        requeue: true,
                    })
                    .await
            }
            Settlement::DeadLetter => acker.reject(BasicRejectOptions { requeue: false }).await,
        };
        self.processing.settled(settlement, error_type, result)
    }
}

/// A readiness check that passes while the connection is open. With
/// lapin's automatic recovery (`ConnectionProperties::enable_auto_recover`,
/// with a backoff that does not give up) readiness comes back by itself
/// when the broker does.
pub fn connection_check(name: impl Into<String>, connection: &Connection) -> Check {
    let status = connection.status().clone();
    Check::new(name, move || {
        let connected = status.connected();
        async move {
            if connected {
                Ok(())
            } else {
                Err(
                    "the RabbitMQ connection is down; lapin reconnects by itself when auto-recovery is on",
                )
            }
        }
    })
    // A read of the connection's state: nothing to spare the broker.
    .cache_for(Duration::ZERO)
}

/// The depth of `queue` from a passive `queue.declare`: messages ready and
/// consumers (AMQP does not report unacknowledged messages this way). For
/// [`Messaging::poll_depth`]. Use a channel of its own: the broker closes
/// a channel that asks about a queue that does not exist.
///
/// ```no_run
/// # async fn run(messaging: obskit::messaging::Messaging, connection: lapin::Connection) -> lapin::Result<()> {
/// use obskit::messaging::{DepthOptions, Destination};
/// let channel = connection.create_channel().await?;
/// let poller = messaging.poll_depth(&Destination::new("orders"), DepthOptions::default(), move || {
///     let channel = channel.clone();
///     async move { obskit::messaging::rabbitmq::queue_depth(&channel, "orders").await }
/// });
/// # drop(poller); Ok(()) }
/// ```
pub async fn queue_depth(channel: &Channel, queue: &str) -> lapin::Result<Depth> {
    let q = channel
        .queue_declare(
            queue.to_owned().into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok(Depth {
        ready: Some(u64::from(q.message_count())),
        unacked: None,
        consumers: Some(u64::from(q.consumer_count())),
        redelivered: None,
    })
}
