//! The messaging series, cached per label set like the HTTP and gRPC ones:
//! a message costs a lookup under a read lock, never a label vector.

use std::sync::Arc;

use crate::metrics::cache::HandleMap;
use crate::metrics::{MetricsHandle, names};
use metrics::{Counter, Gauge, Histogram, Label, Unit};

/// The series of one label set: name, destination label, operation or
/// settlement, error type.
type Key = (&'static str, Arc<str>, &'static str, Option<&'static str>);

/// Every messaging series of one [`Messaging`](super::Messaging).
pub(crate) struct MessagingMetrics {
    metrics: MetricsHandle,
    system: Arc<str>,
    counters: HandleMap<Key, Counter>,
    histograms: HandleMap<Key, Histogram>,
    gauges: HandleMap<Key, Gauge>,
}

impl MessagingMetrics {
    pub(crate) fn new(metrics: MetricsHandle, system: Arc<str>) -> Self {
        // The age histogram measures waits, not calls: its own buckets. Set
        // before its first series; a second `Messaging` finds them set.
        let _ = metrics
            .set_histogram_buckets(names::MESSAGING_MESSAGE_AGE, names::MESSAGING_AGE_BUCKETS);
        describe(&metrics);
        Self {
            metrics,
            system,
            counters: HandleMap::default(),
            histograms: HandleMap::default(),
            gauges: HandleMap::default(),
        }
    }

    /// The registry.
    pub(crate) fn handle(&self) -> &MetricsHandle {
        &self.metrics
    }

    /// The messaging system, the `messaging_system` label.
    pub(crate) fn system(&self) -> &Arc<str> {
        &self.system
    }

    fn labels(&self, key: &Key) -> Vec<Label> {
        let (name, destination, op, error) = key;
        let mut labels = vec![
            Label::new(names::MESSAGING_SYSTEM, Arc::clone(&self.system)),
            Label::new(names::MESSAGING_DESTINATION_NAME, Arc::clone(destination)),
        ];
        match *name {
            names::MESSAGING_SETTLEMENTS_TOTAL => {
                labels.push(Label::new(names::MESSAGING_SETTLEMENT, *op));
            }
            names::MESSAGING_MESSAGE_AGE
            | names::MESSAGING_PROCESS_ACTIVE
            | names::MESSAGING_CONSUMERS => {}
            _ => labels.push(Label::new(names::MESSAGING_OPERATION_NAME, *op)),
        }
        if let Some(e) = error {
            labels.push(Label::new(names::ERROR_TYPE, *e));
        }
        labels
    }

    pub(crate) fn counter(
        &self,
        name: &'static str,
        destination: &Arc<str>,
        op: &'static str,
        error: Option<&'static str>,
    ) -> Counter {
        let key = (name, Arc::clone(destination), op, error);
        self.counters
            .get_or_make(key, |k| self.metrics.counter(name, self.labels(k)))
    }

    pub(crate) fn histogram(
        &self,
        name: &'static str,
        destination: &Arc<str>,
        op: &'static str,
        error: Option<&'static str>,
    ) -> Histogram {
        let key = (name, Arc::clone(destination), op, error);
        self.histograms
            .get_or_make(key, |k| self.metrics.histogram(name, self.labels(k)))
    }

    pub(crate) fn gauge(&self, name: &'static str, destination: &Arc<str>) -> Gauge {
        let key = (name, Arc::clone(destination), "", None);
        self.gauges
            .get_or_make(key, |k| self.metrics.gauge(name, self.labels(k)))
    }
}

/// Name, unit and HELP text of each messaging family.
const DESCRIPTIONS: &[(&str, Option<Unit>, &str)] = &[
    (
        names::MESSAGING_CLIENT_SENT_MESSAGES,
        None,
        "Messages a producer attempted to send.",
    ),
    (
        names::MESSAGING_CLIENT_CONSUMED_MESSAGES,
        None,
        "Messages a consumer received for processing.",
    ),
    (
        names::MESSAGING_CLIENT_OPERATION_DURATION,
        Some(Unit::Seconds),
        "Duration of messaging client operations (send, settle).",
    ),
    (
        names::MESSAGING_PROCESS_DURATION,
        Some(Unit::Seconds),
        "Duration of message processing.",
    ),
    (
        names::MESSAGING_MESSAGE_AGE,
        Some(Unit::Seconds),
        "Age of messages when their processing started.",
    ),
    (
        names::MESSAGING_SETTLEMENTS_TOTAL,
        None,
        "Message deliveries settled, by outcome: ack, requeue, dead_letter.",
    ),
    (
        names::MESSAGING_PROCESS_ACTIVE,
        None,
        "Message processing operations in progress (a batch counts once).",
    ),
    (
        names::MESSAGING_QUEUE_MESSAGES,
        None,
        "Messages in the destination as the broker last reported them, by state.",
    ),
    (
        names::MESSAGING_QUEUE_CONSUMERS,
        None,
        "Consumers attached to the destination as the broker last reported them.",
    ),
    (
        names::MESSAGING_QUEUE_REDELIVERED,
        None,
        "Messages delivered more than once and not yet acknowledged, as the broker last reported them.",
    ),
    (
        names::MESSAGING_QUEUE_STALE,
        None,
        "1 while the last depth poll failed and the depth gauges hold an older reading.",
    ),
    (
        names::MESSAGING_CONSUMERS,
        None,
        "Consumers in this process taking messages from the destination.",
    ),
    (
        names::SLO_FRESHNESS_THRESHOLD,
        Some(Unit::Seconds),
        "Age threshold of each freshness service level objective.",
    ),
];

fn describe(m: &MetricsHandle) {
    for &(name, unit, help) in DESCRIPTIONS {
        m.describe(name, unit, help);
    }
}
