//! The message broker: one connection, the queues this service publishes to and consumes
//! from, and obskit's instrumentation over both (a `send` span per message published, a
//! `process` span per message processed in the same trace, RED figures, message age,
//! settlements, the broker's own depth figures, and readiness tied to the connection).
//!
{%- if messaging == "rabbitmq" %}
//! RabbitMQ through lapin: tasks go to the queue [`Topology::queue`] through the default
//! exchange, with publisher confirms; a task processing gives up on goes to the queue's
//! dead-letter queue, [`Topology::dead_letter`], through RabbitMQ's dead-letter exchange.
{%- elsif messaging == "nats" %}
//! NATS JetStream through async-nats: tasks go to the subject [`Topology::subject`], kept by
//! the stream [`Topology::stream`] and read by its durable pull consumer `worker`; a task
//! processing gives up on is published to [`Topology::dead_letter`] (a stream of its own)
//! and terminated, so JetStream never delivers it again.
{%- endif %}

use std::time::Duration;

use anyhow::Context as _;
{%- if messaging == "nats" %}
use async_nats::jetstream::consumer::{PullConsumer, pull};
use async_nats::jetstream::{self, stream};
{%- endif %}
{%- if messaging == "rabbitmq" %}
use lapin::options::{
    BasicCancelOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
{%- endif %}
use obskit::health::Check;
{%- if messaging == "rabbitmq" %}
use obskit::messaging::rabbitmq::{self, Publisher};
{%- elsif messaging == "nats" %}
use obskit::messaging::nats::{self, Publisher};
{%- endif %}
use obskit::messaging::{DepthOptions, DepthPoller, Destination, Messaging};
use obskit::opentelemetry::Context;
use obskit::slo::Slo;
{%- if messaging == "rabbitmq" %}

/// Where the broker is when `AMQP_URL` is not set: a local RabbitMQ (README.md says how
/// to start one).
pub const DEFAULT_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
/// The variable holding the broker's URL.
pub const URL_VAR: &str = "AMQP_URL";
/// The broker, for people.
const WHAT: &str = "RabbitMQ";
/// How to start one locally (README.md says more).
const START: &str = "start it with `rabbitmq-server -detached` or `docker run -d -p 5672:5672 rabbitmq:3` (README.md)";
/// Deliveries the broker hands this process before it acknowledges any (RabbitMQ's
/// prefetch): the most tasks processed at once.
pub const PREFETCH: u16 = 16;
{%- elsif messaging == "nats" %}

/// Where the broker is when `NATS_URL` is not set: a local NATS server with JetStream
/// (README.md says how to start one).
pub const DEFAULT_URL: &str = "nats://127.0.0.1:4222";
/// The variable holding the broker's URL.
pub const URL_VAR: &str = "NATS_URL";
/// The broker, for people.
const WHAT: &str = "NATS";
/// How to start one locally (README.md says more).
const START: &str = "start it with JetStream: `nats-server -js` or `docker run -d -p 4222:4222 nats -js` (README.md)";
/// Deliveries waiting for an acknowledgement at once (the consumer's `max_ack_pending`):
/// the most tasks processed at once.
pub const MAX_ACK_PENDING: i64 = 16;
/// How long JetStream waits for an acknowledgement before delivering a task again; longer
/// than processing with all its retries takes.
pub const ACK_WAIT: Duration = Duration::from_secs(60);
{%- endif %}

/// How long connecting to the broker may take at start (the client retries a refused
/// connection meanwhile); then the service stops with an error saying how to start one.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The variable naming the queue (tests set their own, so runs never share one).
pub const QUEUE_VAR: &str = "TASKS_QUEUE";
/// The queue's name when `TASKS_QUEUE` is not set.
pub const DEFAULT_QUEUE: &str = "{{project-name}}-tasks";

/// The names of what this service declares on the broker, all derived from one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    name: String,
}

impl Topology {
    /// The topology named `name`: letters, digits, `-` and `_` only (it names queues,
    /// subjects and streams alike).
    pub fn new(name: impl Into<String>) -> anyhow::Result<Self> {
        let name = name.into();
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        anyhow::ensure!(
            valid,
            "{QUEUE_VAR} is `{name}`; use letters, digits, `-` and `_` only, such as {DEFAULT_QUEUE}"
        );
        Ok(Self { name })
    }

    /// The topology named by `TASKS_QUEUE`, else [`DEFAULT_QUEUE`].
    pub fn from_env() -> anyhow::Result<Self> {
        match std::env::var(QUEUE_VAR) {
            Ok(name) => Self::new(name),
            Err(std::env::VarError::NotPresent) => Self::new(DEFAULT_QUEUE),
            Err(err) => Err(err).with_context(|| format!("{QUEUE_VAR} is not valid unicode")),
        }
    }
{%- if messaging == "rabbitmq" %}

    /// The queue tasks are published to and consumed from.
    pub fn queue(&self) -> &str {
        &self.name
    }

    /// The queue tasks processing gave up on go to.
    pub fn dead_letter(&self) -> String {
        format!("{}-dead", self.name)
    }
{%- elsif messaging == "nats" %}

    /// The subject tasks are published to, and the destination name in figures.
    pub fn subject(&self) -> String {
        format!("{}.tasks", self.name)
    }

    /// The stream keeping the tasks.
    pub fn stream(&self) -> String {
        self.name.to_uppercase().replace('-', "_")
    }

    /// The subject (and stream `<stream>_DEAD`) tasks processing gave up on go to.
    pub fn dead_letter(&self) -> String {
        format!("{}.dead", self.name)
    }
{%- endif %}

    /// The destination consumed from, as it is named in spans and metric labels.
    pub fn destination(&self) -> Destination {
{%- if messaging == "rabbitmq" %}
        Destination::new(self.queue().to_owned())
{%- elsif messaging == "nats" %}
        Destination::new(self.subject())
{%- endif %}
    }
}

/// Runs `connect`, the client's connection to the broker at `url`, for at most
/// [`CONNECT_TIMEOUT`]; its error names the URL, the variable and how to start a broker.
async fn bounded<T, E>(
    url: &str,
    connect: impl std::future::Future<Output = Result<T, E>>,
) -> anyhow::Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let connected = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(connected) => connected.map_err(anyhow::Error::from),
        Err(_) => Err(anyhow::anyhow!("no connection within {CONNECT_TIMEOUT:?}")),
    };
    connected.with_context(|| {
        format!("could not connect to {WHAT} at {url} ({URL_VAR}); {START}, or set {URL_VAR}")
    })
}

/// The objectives of the worker: tasks processed without error, and processed soon after
/// they were published. Exported on `/metrics` like the HTTP ones; the stock alert rules
/// page on them the same way.
pub fn objectives() -> anyhow::Result<[Slo; 2]> {
    Ok([
        Slo::availability("tasks-processed", 0.999)?,
        Slo::freshness("tasks-fresh", Duration::from_secs(30), 0.99)?,
    ])
}

/// The connection and everything declared on it. Cheap to clone.
#[derive(Clone)]
pub struct Broker {
    messaging: Messaging,
    topology: Topology,
{%- if messaging == "rabbitmq" %}
    connection: std::sync::Arc<Connection>,
    publisher: Publisher,
{%- elsif messaging == "nats" %}
    client: async_nats::Client,
    jetstream: jetstream::Context,
    publisher: Publisher,
{%- endif %}
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("topology", &self.topology)
            .finish_non_exhaustive()
    }
}

impl Broker {
    /// Connects to the broker `URL_VAR` names (else [`DEFAULT_URL`]) and declares the
    /// topology `TASKS_QUEUE` names.
    pub async fn from_env(telemetry: &obskit::Telemetry) -> anyhow::Result<Self> {
        let url = std::env::var(URL_VAR).unwrap_or_else(|_| DEFAULT_URL.to_owned());
        Self::connect(telemetry, &url, Topology::from_env()?).await
    }

    /// Connects to the broker at `url` and declares `topology` (idempotent: every instance
    /// declares the same).
    pub async fn connect(
        telemetry: &obskit::Telemetry,
        url: &str,
        topology: Topology,
    ) -> anyhow::Result<Self> {
        let messaging = Messaging::builder(telemetry, SYSTEM)
            .slos(objectives()?)
            .build()?;
{%- if messaging == "rabbitmq" %}
        // Auto-recovery reconnects after the broker comes back; readiness follows. It also
        // retries the first connection, for minutes: bounded here.
        let properties = ConnectionProperties::default().enable_auto_recover();
        let connection = bounded(url, Connection::connect(url, properties)).await?;
        let channel = connection.create_channel().await?;
        // Each publish ends with the broker's answer (a confirm), so a lost one counts.
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        declare(&channel, &topology.dead_letter(), FieldTable::default()).await?;
        let mut arguments = FieldTable::default();
        arguments.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString("".into()),
        );
        arguments.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(LongString::from(topology.dead_letter())),
        );
        declare(&channel, topology.queue(), arguments).await?;
        let publisher = Publisher::new(&messaging, channel);
        Ok(Self {
            messaging,
            topology,
            connection: std::sync::Arc::new(connection),
            publisher,
        })
{%- elsif messaging == "nats" %}
        let client = bounded(url, async_nats::connect(url)).await?;
        let jetstream = jetstream::new(client.clone());
        for (name, subject) in [
            (topology.stream(), topology.subject()),
            (
                format!("{}_DEAD", topology.stream()),
                topology.dead_letter(),
            ),
        ] {
            jetstream
                .get_or_create_stream(stream::Config {
                    name,
                    subjects: vec![subject],
                    ..Default::default()
                })
                .await
                .context("could not declare a JetStream stream; is JetStream on (`-js`)?")?;
        }
        let publisher = Publisher::new(&messaging, jetstream.clone());
        Ok(Self {
            messaging,
            topology,
            client,
            jetstream,
            publisher,
        })
{%- endif %}
    }

    /// The topology.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// A readiness check that passes while the connection is up.
    pub fn health_check(&self) -> Check {
{%- if messaging == "rabbitmq" %}
        rabbitmq::connection_check(SYSTEM, &self.connection)
{%- elsif messaging == "nats" %}
        nats::connection_check(SYSTEM, &self.client)
{%- endif %}
    }

    /// Publishes one task, in a `send` span that is a child of the current context, and
    /// waits for the broker to take it.
    pub async fn publish(&self, body: Vec<u8>) -> anyhow::Result<()> {
{%- if messaging == "rabbitmq" %}
        let confirmation = self
            .publisher
            .publish(
                "",
                self.topology.queue(),
                BasicPublishOptions::default(),
                &body,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await?;
        anyhow::ensure!(
            matches!(confirmation, Confirmation::Ack(None)),
            "RabbitMQ did not take the task: {confirmation:?}"
        );
{%- elsif messaging == "nats" %}
        self.publisher
            .publish(
                &self.topology.subject(),
                async_nats::HeaderMap::new(),
                body.into(),
            )
            .await?;
{%- endif %}
        Ok(())
    }

    /// Starts consuming: the worker takes deliveries from the returned consumer.
    pub async fn consume(&self) -> anyhow::Result<Consumer> {
{%- if messaging == "rabbitmq" %}
        let channel = self.connection.create_channel().await?;
        channel
            .basic_qos(PREFETCH, BasicQosOptions::default())
            .await?;
        let deliveries = channel
            .basic_consume(
                self.topology.queue().into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let inner = rabbitmq::Consumer::new(&self.messaging, self.topology.queue(), deliveries);
        Ok(Consumer { inner, channel })
{%- elsif messaging == "nats" %}
        let consumer = self.pull_consumer().await?;
        let messages = consumer.messages().await?;
        let destination = self.topology.subject();
        let inner = nats::Consumer::new(&self.messaging, &destination, messages);
        Ok(Consumer {
            inner,
            broker: self.clone(),
        })
{%- endif %}
    }
{%- if messaging == "nats" %}

    /// The stream's durable pull consumer, created on first use.
    async fn pull_consumer(&self) -> anyhow::Result<PullConsumer> {
        let stream = self.jetstream.get_stream(self.topology.stream()).await?;
        let consumer = stream
            .get_or_create_consumer(
                "worker",
                pull::Config {
                    durable_name: Some("worker".to_owned()),
                    ack_wait: ACK_WAIT,
                    max_ack_pending: MAX_ACK_PENDING,
                    ..Default::default()
                },
            )
            .await?;
        Ok(consumer)
    }
{%- endif %}

    /// Tasks waiting in the dead-letter destination.
    pub async fn dead_lettered(&self) -> anyhow::Result<u64> {
{%- if messaging == "rabbitmq" %}
        let channel = self.connection.create_channel().await?;
        let depth = rabbitmq::queue_depth(&channel, &self.topology.dead_letter()).await?;
        let _ = channel.close(200, "done".into()).await;
        Ok(depth.ready.unwrap_or(0))
{%- elsif messaging == "nats" %}
        let stream = format!("{}_DEAD", self.topology.stream());
        let info = self.jetstream.get_stream(stream).await?.get_info().await?;
        Ok(info.state.messages)
{%- endif %}
    }

    /// Polls the broker's figures for the queue in the background, into
    /// `obskit_messaging_queue_messages` and friends: what KEDA and the stock alerts read.
    /// Dropping the poller stops it.
    pub async fn poll_depth(&self, options: DepthOptions) -> anyhow::Result<DepthPoller> {
{%- if messaging == "rabbitmq" %}
        // A channel of its own: the broker closes a channel that asks about a missing queue.
        let channel = self.connection.create_channel().await?;
        let queue = self.topology.queue().to_owned();
        Ok(self
            .messaging
            .poll_depth(&self.topology.destination(), options, move || {
                let (channel, queue) = (channel.clone(), queue.clone());
                async move { rabbitmq::queue_depth(&channel, &queue).await }
            }))
{%- elsif messaging == "nats" %}
        let consumer = self.pull_consumer().await?;
        Ok(self
            .messaging
            .poll_depth(&self.topology.destination(), options, move || {
                let consumer = consumer.clone();
                async move { nats::consumer_depth(&consumer).await }
            }))
{%- endif %}
    }
}
{%- if messaging == "rabbitmq" %}

/// The `messaging.system` of the broker.
pub const SYSTEM: &str = rabbitmq::SYSTEM;

/// Declares a durable queue (idempotent with the same arguments).
async fn declare(channel: &Channel, name: &str, arguments: FieldTable) -> anyhow::Result<()> {
    let options = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(name.to_owned().into(), options, arguments)
        .await
        .with_context(|| format!("could not declare the queue {name}"))?;
    Ok(())
}
{%- elsif messaging == "nats" %}

/// The `messaging.system` of the broker.
pub const SYSTEM: &str = nats::SYSTEM;
{%- endif %}

/// Deliveries, each with its `process` span started.
pub struct Consumer {
{%- if messaging == "rabbitmq" %}
    inner: rabbitmq::Consumer,
    channel: Channel,
{%- elsif messaging == "nats" %}
    inner: nats::Consumer<pull::Stream>,
    broker: Broker,
{%- endif %}
}

impl Consumer {
    /// The next delivery; `None` once the consumer has stopped.
    pub async fn next(&mut self) -> Option<anyhow::Result<Delivery>> {
        let message = self.inner.next().await?;
{%- if messaging == "rabbitmq" %}
        Some(
            message
                .map(|message| Delivery { message })
                .map_err(anyhow::Error::from),
        )
{%- elsif messaging == "nats" %}
        let broker = self.broker.clone();
        Some(
            message
                .map(|message| Delivery { message, broker })
                .map_err(anyhow::Error::from),
        )
{%- endif %}
    }

    /// Stops taking deliveries. Those already taken are still settled.
    pub async fn stop(&self) {
{%- if messaging == "rabbitmq" %}
        let _ = self
            .channel
            .basic_cancel(self.inner.tag().into(), BasicCancelOptions::default())
            .await;
{%- elsif messaging == "nats" %}
        // A pull consumer takes nothing more once its stream of messages is dropped; a
        // delivery pulled and never taken comes back after the consumer's ack wait.
{%- endif %}
    }

    /// Closes the consumer's channel once the tasks taken have settled: the broker takes
    /// back whatever it delivered and nobody settled.
    pub async fn close(&self) {
{%- if messaging == "rabbitmq" %}
        let _ = self.channel.close(200, "worker stopped".into()).await;
{%- elsif messaging == "nats" %}
        // JetStream delivers whatever was pulled and never acknowledged again after the
        // consumer's ack wait; there is no channel to close.
{%- endif %}
    }
}

/// One delivered task being processed.
pub struct Delivery {
{%- if messaging == "rabbitmq" %}
    message: rabbitmq::Message,
{%- elsif messaging == "nats" %}
    message: nats::Message,
    broker: Broker,
{%- endif %}
}

impl Delivery {
    /// The task's body.
    pub fn body(&self) -> &[u8] {
{%- if messaging == "rabbitmq" %}
        &self.message.delivery().data
{%- elsif messaging == "nats" %}
        &self.message.message().payload
{%- endif %}
    }

    /// The processing span's context: work done inside it belongs to the task's trace.
    pub fn context(&self) -> &Context {
        self.message.context()
    }

    /// Acknowledges the task: processed.
    pub async fn ack(self) -> anyhow::Result<()> {
        // The client's own error (a boxed error for NATS), with its message.
        self.message.ack().await.map_err(|err| anyhow::anyhow!(err))
    }

    /// Gives up on the task: it goes to the dead-letter destination, counted as
    /// dead-lettered with `error_type`.
    pub async fn dead_letter(self, error_type: &'static str) -> anyhow::Result<()> {
{%- if messaging == "nats" %}
        // JetStream has no dead-letter queue: keep the task in one of our own, then
        // terminate it so it is never delivered again.
        self.broker
            .jetstream
            .publish(
                self.broker.topology.dead_letter(),
                self.body().to_vec().into(),
            )
            .await?
            .await?;
{%- endif %}
        self.message
            .dead_letter(error_type)
            .await
            .map_err(|err| anyhow::anyhow!(err))
    }

    /// Returns the task to the broker for another delivery (used when shutting down).
    pub async fn requeue(self, error_type: &'static str) -> anyhow::Result<()> {
        self.message
            .requeue(error_type)
            .await
            .map_err(|err| anyhow::anyhow!(err))
    }
}
