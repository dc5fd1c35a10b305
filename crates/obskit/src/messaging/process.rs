//! The consumer's side: a CONSUMER span `process {destination}` per message
//! (continuing the producer's trace, with a link to it) or per batch (with
//! a link per message), the message's age when processing starts, and an
//! end through the same [`Finish`] as HTTP requests and gRPC calls: RED,
//! SLO classification, span status and end, in one order.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::propagation::Extractor;
use opentelemetry::trace::{
    FutureExt as _, Link, SpanKind, TraceContextExt, Tracer as _, WithContext,
};
use opentelemetry::{Context, KeyValue};

use super::destination::Destination;
use super::{Shared, carrier};
use crate::instrument::{Finish, Outcome, Protocol};
use crate::metrics::names;
use crate::slo::SloSet;
use crate::traces::known_unsampled;

/// How a delivery was settled with the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Settlement {
    /// Processed; the broker may forget it (AMQP `basic.ack`, JetStream `+ACK`).
    Ack,
    /// Returned for another attempt (AMQP `basic.nack` with requeue,
    /// JetStream `-NAK`).
    Requeue,
    /// Refused for good: to the dead-letter queue where there is one,
    /// dropped otherwise (AMQP `basic.reject` without requeue, JetStream `+TERM`).
    DeadLetter,
}

impl Settlement {
    /// The `settlement` label value: `ack`, `requeue` or `dead_letter`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ack => names::SETTLEMENT_ACK,
            Self::Requeue => names::SETTLEMENT_REQUEUE,
            Self::DeadLetter => names::SETTLEMENT_DEAD_LETTER,
        }
    }
}

/// What the broker tells about a delivery, besides its headers.
///
/// ```
/// use std::time::SystemTime;
/// let info = obskit::messaging::DeliveryInfo::default()
///     .broker_timestamp(SystemTime::now())
///     .message_id("m-1")
///     .body_size(512);
/// # let _ = info;
/// ```
#[derive(Debug, Clone, Default)]
pub struct DeliveryInfo {
    broker_timestamp: Option<SystemTime>,
    message_id: Option<String>,
    body_size: Option<u64>,
    delivery_count: Option<u64>,
}

impl DeliveryInfo {
    /// When the broker (or the sending client) stamped the message: AMQP's
    /// `timestamp` property, JetStream's message time. Used for the age
    /// when the headers carry no creation time of obskit's.
    #[must_use]
    pub fn broker_timestamp(mut self, at: SystemTime) -> Self {
        self.broker_timestamp = Some(at);
        self
    }

    /// The message's id (`messaging.message.id`).
    #[must_use]
    pub fn message_id(mut self, id: impl Into<String>) -> Self {
        self.message_id = Some(id.into());
        self
    }

    /// The body's size in bytes (`messaging.message.body.size`).
    #[must_use]
    pub fn body_size(mut self, bytes: u64) -> Self {
        self.body_size = Some(bytes);
        self
    }

    /// How many times the broker has delivered it, this time included
    /// (`messaging.message.delivery_count`, not set when unknown).
    #[must_use]
    pub fn delivery_count(mut self, n: u64) -> Self {
        self.delivery_count = Some(n);
        self
    }
}

/// How a processing ended, for the [`Finish`] path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Settled {
    settlement: Settlement,
    error_type: Option<&'static str>,
}

/// One message (or one batch) being processed. End it by settling it
/// ([`ack`](Self::ack), [`requeue`](Self::requeue),
/// [`dead_letter`](Self::dead_letter)) once the broker has been told.
///
/// Dropped unsettled (a consumer shutting down, a task cancelled), it is
/// recorded as cancelled: no settlement is counted, since the broker will
/// deliver the message again.
#[must_use = "settle it once the broker has been told"]
pub struct Processing {
    finish: Option<Finish<MessageProcess>>,
    age: Option<Duration>,
}

impl std::fmt::Debug for Processing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Processing")
            .field("age", &self.age)
            .finish_non_exhaustive()
    }
}

/// The message or batch of one [`Processing`], as its end records it.
pub(crate) struct MessageProcess {
    shared: Arc<Shared>,
    label: Arc<str>,
    /// Each message's age at the start, `None` where unknown.
    ages: Vec<Option<Duration>>,
}

impl Processing {
    pub(super) fn start(
        shared: &Arc<Shared>,
        destination: &Destination,
        carrier: &dyn Extractor,
        info: &DeliveryInfo,
    ) -> Self {
        let start = Instant::now();
        let now = SystemTime::now();
        let parent = shared
            .propagator
            .extract_with_context(&Context::new(), carrier);
        // A processing the sampler leaves out builds no span, nor its
        // attributes and link.
        let cx = known_unsampled(shared.sampling, &parent).unwrap_or_else(|| {
            let remote = parent.span().span_context().clone();
            let mut attributes = attributes(shared, destination, info);
            if let Some(n) = info.delivery_count {
                attributes.push(KeyValue::new(
                    "messaging.message.delivery_count",
                    i64::try_from(n).unwrap_or(i64::MAX),
                ));
            }
            let links = if remote.is_valid() {
                vec![Link::with_context(remote)]
            } else {
                Vec::new()
            };
            // A valid remote parent is continued; anything else (no headers,
            // malformed ones) starts a fresh trace: the propagator's rules,
            // the same as for HTTP requests.
            process_span(shared, destination, &parent, attributes, links)
        });
        let age = message_age(carrier, info, now);
        Self::begin(shared, destination, cx, start, vec![age])
    }

    pub(super) fn start_batch<'a>(
        shared: &Arc<Shared>,
        destination: &Destination,
        messages: impl IntoIterator<Item = (&'a dyn Extractor, &'a DeliveryInfo)>,
    ) -> Self {
        let start = Instant::now();
        let now = SystemTime::now();
        let mut links = Vec::new();
        let mut ages = Vec::new();
        for (carrier, info) in messages {
            let cx = shared
                .propagator
                .extract_with_context(&Context::new(), carrier);
            let remote = cx.span().span_context().clone();
            if remote.is_valid() {
                let mut attrs = Vec::new();
                if let Some(id) = &info.message_id {
                    attrs.push(KeyValue::new("messaging.message.id", id.clone()));
                }
                links.push(Link::new(remote, attrs, 0));
            }
            ages.push(message_age(carrier, info, now));
        }
        let mut attributes = attributes(shared, destination, &DeliveryInfo::default());
        attributes.push(KeyValue::new(
            "messaging.batch.message_count",
            i64::try_from(ages.len()).unwrap_or(i64::MAX),
        ));
        // A batch has many producers: no parent among them. It belongs to
        // whatever the consumer is doing (a root span when nothing).
        let cx = process_span(shared, destination, &Context::current(), attributes, links);
        Self::begin(shared, destination, cx, start, ages)
    }

    fn begin(
        shared: &Arc<Shared>,
        destination: &Destination,
        cx: Context,
        start: Instant,
        ages: Vec<Option<Duration>>,
    ) -> Self {
        let label = shared.labels.label(destination);
        let red = &shared.red;
        let active = red.gauge(names::MESSAGING_PROCESS_ACTIVE, &label);
        active.increment(1.0);
        {
            // Inside the processing's context: sampled messages leave exemplars.
            let _attached = cx.clone().attach();
            red.counter(
                names::MESSAGING_CLIENT_CONSUMED_MESSAGES,
                &label,
                "process",
                None,
            )
            .increment(ages.len() as u64);
            let histogram = red.histogram(names::MESSAGING_MESSAGE_AGE, &label, "", None);
            for age in ages.iter().flatten() {
                histogram.record(age.as_secs_f64());
            }
        }
        let age = ages.iter().flatten().max().copied();
        let protocol = MessageProcess {
            shared: Arc::clone(shared),
            label,
            ages,
        };
        Self {
            finish: Some(Finish::new(cx, start, active, protocol)),
            age,
        }
    }

    /// The processing's context, for the code that processes the message:
    /// its spans and log lines belong to the message's trace.
    pub fn context(&self) -> &Context {
        self.finish
            .as_ref()
            .map(Finish::context)
            .expect("a processing holds its context until it ends")
    }

    /// Runs `future` inside the processing's context.
    pub fn in_context<F: Future>(&self, future: F) -> WithContext<F> {
        future.with_context(self.context().clone())
    }

    /// The message's age when processing started: from the producer's
    /// creation time, else the broker's timestamp; the oldest message's
    /// for a batch. `None` when neither was known.
    pub fn age(&self) -> Option<Duration> {
        self.age
    }

    /// Processed and acknowledged.
    pub fn ack(self) {
        self.settle(Settlement::Ack, None);
    }

    /// Failed and returned for another attempt; `error_type` is a short,
    /// low-cardinality class of the failure.
    pub fn requeue(self, error_type: &'static str) {
        self.settle(Settlement::Requeue, Some(error_type));
    }

    /// Failed for good and refused (dead-lettered where the destination
    /// has a dead-letter queue); `error_type` classes the failure.
    pub fn dead_letter(self, error_type: &'static str) {
        self.settle(Settlement::DeadLetter, Some(error_type));
    }

    /// Ends the processing with `settlement`. `error_type` marks a failed
    /// processing; a requeue or dead-letter without one gets `_OTHER`.
    pub fn settle(mut self, settlement: Settlement, error_type: Option<&'static str>) {
        if let Some(finish) = self.finish.take() {
            finish.finish(Outcome::Completed(Settled {
                settlement,
                error_type,
            }));
        }
    }

    /// Records the settlement a broker adapter asked for, as `result` says
    /// it went: made ([`settle`](Self::settle)) or not
    /// ([`unsettled`](Self::unsettled)); the broker's error is handed back.
    #[cfg(any(feature = "nats", feature = "rabbitmq"))]
    pub(crate) fn settled<T, E>(
        self,
        settlement: Settlement,
        error_type: Option<&'static str>,
        result: Result<T, E>,
    ) -> Result<(), E> {
        match result {
            Ok(_) => {
                self.settle(settlement, error_type);
                Ok(())
            }
            Err(e) => {
                self.unsettled();
                Err(e)
            }
        }
    }

    /// The processing could not be settled (the broker connection was lost
    /// while acknowledging): the broker will deliver the message again.
    /// Counted in the processing figures as failed, with no settlement.
    pub fn unsettled(mut self) {
        if let Some(finish) = self.finish.take() {
            finish.finish(Outcome::Failed(None));
        }
    }
}

impl Drop for Processing {
    fn drop(&mut self) {
        if let Some(finish) = self.finish.take() {
            finish.finish(Outcome::Cancelled(None));
        }
    }
}

/// The CONSUMER span `process {destination}` under `parent`, and the
/// context that holds it: one message's and a batch's alike.
fn process_span(
    shared: &Shared,
    destination: &Destination,
    parent: &Context,
    attributes: Vec<KeyValue>,
    links: Vec<Link>,
) -> Context {
    let tracer = &shared.tracer;
    let span = tracer.build_with_context(
        tracer
            .span_builder(format!("process {}", destination.span_part()))
            .with_kind(SpanKind::Consumer)
            .with_attributes(attributes)
            .with_links(links),
        parent,
    );
    parent.with_span(span)
}

fn attributes(shared: &Shared, destination: &Destination, info: &DeliveryInfo) -> Vec<KeyValue> {
    let mut attributes = vec![
        KeyValue::new("messaging.system", shared.red.system().to_string()),
        KeyValue::new("messaging.operation.name", "process"),
        KeyValue::new("messaging.operation.type", "process"),
        KeyValue::new("messaging.destination.name", destination.name().to_owned()),
    ];
    if destination.is_temporary() {
        attributes.push(KeyValue::new("messaging.destination.temporary", true));
    }
    if let Some(id) = &info.message_id {
        attributes.push(KeyValue::new("messaging.message.id", id.clone()));
    }
    if let Some(size) = info.body_size {
        attributes.push(KeyValue::new(
            "messaging.message.body.size",
            i64::try_from(size).unwrap_or(i64::MAX),
        ));
    }
    attributes
}

/// The age from obskit's creation header, else the broker's timestamp.
fn message_age(carrier: &dyn Extractor, info: &DeliveryInfo, now: SystemTime) -> Option<Duration> {
    carrier::read_created(carrier)
        .or(info.broker_timestamp)
        .map(|created| carrier::age(created, now))
}

impl Protocol for MessageProcess {
    type Status = Settled;

    fn slo_key(&self) -> (&str, &str) {
        ("PROCESS", &self.label)
    }

    fn slos(&self) -> &SloSet {
        &self.shared.slos
    }

    fn record_slos(&self, failed: bool, elapsed: Duration, abandoned: bool) {
        let slos = &self.shared.slos;
        for age in &self.ages {
            if abandoned {
                slos.record_abandoned("PROCESS", &self.label, elapsed, *age);
            } else {
                slos.record("PROCESS", &self.label, failed, elapsed, *age);
            }
        }
    }

    fn error_type(&self, status: Settled) -> Option<&'static str> {
        match status.settlement {
            Settlement::Ack => status.error_type,
            Settlement::Requeue | Settlement::DeadLetter => {
                Some(status.error_type.unwrap_or(crate::instrument::FAILED))
            }
        }
    }

    fn failure_description(&self, outcome: Outcome<Settled>) -> &'static str {
        match outcome {
            Outcome::Completed(s) => match s.settlement {
                Settlement::Ack => "processing failed",
                Settlement::Requeue => "processing failed; the message was returned to the broker",
                Settlement::DeadLetter => "processing failed; the message was refused",
            },
            Outcome::Failed(_) => "the message could not be settled with the broker",
            Outcome::Cancelled(_) => "processing ended before the message was settled",
        }
    }

    fn status_attribute(&self, status: Settled) -> Option<KeyValue> {
        Some(KeyValue::new(
            "obskit.messaging.settlement",
            status.settlement.as_str(),
        ))
    }

    fn record_duration(&self, status: Option<Settled>, failed: bool, elapsed: Duration) {
        let red = &self.shared.red;
        let error_type = match status {
            Some(s) if !failed => self.error_type(s),
            _ => Some(crate::instrument::FAILED),
        };
        red.histogram(
            names::MESSAGING_PROCESS_DURATION,
            &self.label,
            "process",
            error_type,
        )
        .record(elapsed.as_secs_f64());
        if let Some(s) = status {
            red.counter(
                names::MESSAGING_SETTLEMENTS_TOTAL,
                &self.label,
                s.settlement.as_str(),
                None,
            )
            .increment(self.ages.len() as u64);
        }
    }

    fn access_line(
        &self,
        _outcome: Outcome<Settled>,
        _error_type: Option<&'static str>,
        _elapsed: Duration,
    ) {
        // Messages write no access line: at thousands a second it would be
        // most of the log, and the figures above say what it would.
    }
}
