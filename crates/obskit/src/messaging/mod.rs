//! Messaging: one trace across message queues, with the RED figures of
//! sending and processing, the age of each message when its processing
//! starts, settlements, and SLOs, by the OpenTelemetry messaging semantic
//! conventions.
//!
//! [`Messaging`] works over any header carrier: anything that implements
//! OpenTelemetry's [`Injector`] (to
//! publish) and [`Extractor`] (to
//! process). The producer's span context travels as W3C `traceparent`,
//! `tracestate` and `baggage` (obskit's propagator, `OTEL_PROPAGATORS`),
//! with the creation time in [`CREATED_AT_HEADER`]. Here it is for a broker
//! obskit does not wrap, with Kafka-style headers (a list of names and byte
//! values):
//!
//! ```
//! use obskit::messaging::{DeliveryInfo, Destination, Messaging};
//! use obskit::opentelemetry::propagation::{Extractor, Injector};
//!
//! /// Kafka record headers: names with byte values, in order.
//! #[derive(Default)]
//! struct Headers(Vec<(String, Vec<u8>)>);
//!
//! impl Injector for Headers {
//!     fn set(&mut self, key: &str, value: String) {
//!         self.0.retain(|(k, _)| k != key);
//!         self.0.push((key.to_owned(), value.into_bytes()));
//!     }
//! }
//!
//! impl Extractor for Headers {
//!     fn get(&self, key: &str) -> Option<&str> {
//!         let (_, v) = self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(key))?;
//!         std::str::from_utf8(v).ok()
//!     }
//!     fn keys(&self) -> Vec<&str> {
//!         self.0.iter().map(|(k, _)| k.as_str()).collect()
//!     }
//! }
//!
//! let telemetry = obskit::testing::TestTelemetry::new();
//! let messaging = Messaging::new(&telemetry, "kafka");
//! let orders = Destination::new("orders");
//!
//! // Producer: a `send orders` span; its context goes into the headers.
//! let mut headers = Headers::default();
//! let send = messaging.publish(&orders, &mut headers);
//! // ... hand the record and its headers to the Kafka client ...
//! send.succeeded();
//!
//! // Consumer: a `process orders` span continuing the producer's trace.
//! let processing = messaging.process(&orders, &headers, &DeliveryInfo::default());
//! // ... process the record, inside `processing.context()` ...
//! processing.ack();
//!
//! let send = telemetry.span("send orders").unwrap();
//! let process = telemetry.span("process orders").unwrap();
//! assert_eq!(process.trace_id(), send.trace_id());
//! assert_eq!(process.parent_span_id(), Some(send.span_id()));
//! let metrics = telemetry.metrics().render();
//! assert!(metrics.contains(r#"obskit_messaging_settlements_total{service_name="test",messaging_system="kafka",messaging_destination_name="orders",settlement="ack"} 1"#));
//! ```
//!
//! Spans: a PRODUCER span `send {destination}` per message sent, a
//! CONSUMER span `process {destination}` per message processed, child of
//! the producer's span and linked to it. A batch processed together gets
//! one span with a link per message ([`Messaging::process_batch`]).
//! Headers that are missing or malformed start a fresh trace, by the same
//! strict rules as HTTP requests. Temporary destinations (reply queues,
//! inboxes) are named `(temporary)` in span names and metric labels.
//!
//! Metrics, each labelled `messaging_system`, `messaging_destination_name`
//! (at most [`DEFAULT_DESTINATION_LIMIT`] values, then `_OTHER`):
//! - `messaging_client_sent_messages_total` and
//!   `messaging_client_operation_duration_seconds` (operation `send`),
//!   with `error_type` when the broker refused or the send was abandoned;
//! - `messaging_client_consumed_messages_total` and
//!   `messaging_process_duration_seconds` (operation `process`), with
//!   `error_type` when processing failed;
//! - `obskit_messaging_message_age_seconds`: the age of each message when
//!   its processing started, from the creation time, else the broker's
//!   timestamp ([`DeliveryInfo::broker_timestamp`]);
//! - `obskit_messaging_settlements_total{settlement}`: `ack`, `requeue`,
//!   `dead_letter`, once per delivery attempt;
//! - `obskit_messaging_process_active`: processing in progress;
//! - `obskit_messaging_consumers`: this process's consumers that are taking
//!   messages, so a consumer that stopped is visible;
//! - `obskit_messaging_queue_messages{state}` (`ready`, `unacked`),
//!   `obskit_messaging_queue_consumers` and
//!   `obskit_messaging_queue_depth_stale`: the broker's own figures, polled
//!   in the background ([`Messaging::poll_depth`]).
//!
//! SLOs given to [`MessagingBuilder::slos`] classify every processed
//! message into `obskit_slo_requests_total`, like HTTP requests:
//! availability (acknowledged without error), latency (processing time)
//! and freshness (age at the start, [`Slo::freshness`]). A route filter
//! matches the destination label, a method filter `PROCESS`.
//!
//! On SIGTERM a consumer stops the way [`serve`](fn@crate::serve) does:
//! [`Drain`] fails readiness, stops taking messages, lets the ones in
//! flight finish within the in-flight bound, closes the channel (the broker
//! takes back what nobody settled) and flushes telemetry.
//! `examples/rabbitmq_worker.rs` and `examples/nats_worker.rs` are whole
//! workers to copy. A process that
//! also serves HTTP stops its consumer with [`Drain::settle`] first and
//! leaves readiness and the flush to [`Server`](crate::Server).

mod carrier;
#[cfg(any(feature = "nats", feature = "rabbitmq"))]
mod consume;
mod depth;
mod destination;
mod drain;
mod process;
mod publish;
mod red;

#[cfg(feature = "nats")]
pub mod nats;
#[cfg(feature = "rabbitmq")]
pub mod rabbitmq;

use std::sync::Arc;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry_sdk::trace::Tracer;

pub use carrier::CREATED_AT_HEADER;
pub use depth::{DEFAULT_DEPTH_INTERVAL, DEFAULT_DEPTH_TIMEOUT, Depth, DepthOptions, DepthPoller};
pub use destination::{DEFAULT_DESTINATION_LIMIT, Destination};
pub use drain::{Drain, DrainReport};
pub use process::{DeliveryInfo, Processing, Settlement};
pub use publish::Publish;

use crate::Telemetry;
use crate::slo::{Slo, SloError, SloSet};

/// Instrumentation for one messaging system: start sends with
/// [`publish`](Self::publish), processing with [`process`](Self::process).
/// Cheap to clone. See the [module docs](self).
#[derive(Clone)]
pub struct Messaging {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Messaging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messaging")
            .field("system", self.shared.red.system())
            .finish_non_exhaustive()
    }
}

/// A consumer counted as running until dropped
/// ([`Messaging::consumer_running`]).
#[derive(Debug)]
pub struct ConsumerRunning(#[allow(dead_code)] depth::Running);

/// What every send and processing of one [`Messaging`] shares.
pub(crate) struct Shared {
    tracer: Tracer,
    sampling: crate::traces::Sampling,
    propagator: Arc<dyn TextMapPropagator + Send + Sync>,
    red: red::MessagingMetrics,
    slos: SloSet,
    labels: destination::Labels,
}

/// Options of a [`Messaging`]: its SLOs and destination limit.
#[must_use = "call `build()` to get the `Messaging`"]
pub struct MessagingBuilder {
    tracer: Tracer,
    sampling: crate::traces::Sampling,
    propagator: Arc<dyn TextMapPropagator + Send + Sync>,
    metrics: crate::metrics::MetricsHandle,
    system: Arc<str>,
    slos: Vec<Slo>,
    limit: usize,
}

impl std::fmt::Debug for MessagingBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessagingBuilder")
            .field("system", &self.system)
            .field("slos", &self.slos)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl MessagingBuilder {
    /// The SLOs processed messages are classified for.
    pub fn slos(mut self, slos: impl IntoIterator<Item = Slo>) -> Self {
        self.slos = slos.into_iter().collect();
        self
    }

    /// How many destinations get a label value of their own
    /// ([`DEFAULT_DESTINATION_LIMIT`] unless set).
    pub fn destination_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// The instrumentation, or the first SLO declaration that is refused
    /// (two SLOs with one name).
    pub fn build(self) -> Result<Messaging, SloError> {
        let slos = SloSet::new(self.slos, &self.metrics)?;
        Ok(Messaging {
            shared: Arc::new(Shared {
                tracer: self.tracer,
                sampling: self.sampling,
                propagator: self.propagator,
                red: red::MessagingMetrics::new(self.metrics, self.system),
                slos,
                labels: destination::Labels::new(self.limit),
            }),
        })
    }
}

impl Messaging {
    /// Instrumentation for `system` (the `messaging.system` value:
    /// `rabbitmq`, `nats`, `kafka`, `aws_sqs`, ...) with no SLOs.
    pub fn new(telemetry: &Telemetry, system: impl Into<Arc<str>>) -> Self {
        Self::builder(telemetry, system)
            .build()
            .expect("no SLOs, nothing to refuse")
    }

    /// Options: SLOs, destination limit.
    ///
    /// ```
    /// use std::time::Duration;
    /// use obskit::slo::Slo;
    ///
    /// # let telemetry = obskit::testing::TestTelemetry::new();
    /// let messaging = obskit::messaging::Messaging::builder(&telemetry, "rabbitmq")
    ///     .slos([
    ///         Slo::availability("orders-processed", 0.999)?.routes(["orders"]),
    ///         Slo::freshness("orders-fresh", Duration::from_secs(30), 0.99)?.routes(["orders"]),
    ///     ])
    ///     .build()?;
    /// # let _ = messaging;
    /// # Ok::<(), obskit::slo::SloError>(())
    /// ```
    pub fn builder(telemetry: &Telemetry, system: impl Into<Arc<str>>) -> MessagingBuilder {
        MessagingBuilder {
            tracer: telemetry.tracer(),
            sampling: telemetry.sampling(),
            propagator: telemetry.propagator(),
            metrics: telemetry.metrics(),
            system: system.into(),
            slos: Vec::new(),
            limit: DEFAULT_DESTINATION_LIMIT,
        }
    }

    /// The messaging system.
    pub fn system(&self) -> &str {
        self.shared.red.system()
    }

    /// Starts sending one message to `destination`: opens its span (a
    /// child of the current OpenTelemetry context) and writes the span's
    /// context and the creation time into `headers`.
    pub fn publish(&self, destination: &Destination, headers: &mut dyn Injector) -> Publish {
        Publish::start(&self.shared, destination, headers)
    }

    /// Starts processing one message from `destination`: continues the
    /// trace its `headers` carry (or starts one), records its age and
    /// counts it as consumed.
    pub fn process(
        &self,
        destination: &Destination,
        headers: &dyn Extractor,
        info: &DeliveryInfo,
    ) -> Processing {
        Processing::start(&self.shared, destination, headers, info)
    }

    /// Marks a consumer of `destination` running until the guard drops:
    /// `obskit_messaging_consumers` counts them, so a consumer that stopped
    /// is visible. The adapters' consumers hold one.
    pub fn consumer_running(&self, destination: &Destination) -> ConsumerRunning {
        ConsumerRunning(depth::Running::new(&self.shared, destination))
    }

    /// Starts processing a batch of messages from `destination` together:
    /// one span, child of the current context, with a link to each
    /// message's producer; each message is counted and its age recorded.
    pub fn process_batch<'a>(
        &self,
        destination: &Destination,
        messages: impl IntoIterator<Item = (&'a dyn Extractor, &'a DeliveryInfo)>,
    ) -> Processing {
        Processing::start_batch(&self.shared, destination, messages)
    }
}
