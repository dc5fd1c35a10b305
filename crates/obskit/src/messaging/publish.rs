//! The producer's side: a PRODUCER span `send {destination}` whose context
//! travels in the message's headers, with the creation time beside it, and
//! the `messaging_client_*` figures of the send.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use opentelemetry::propagation::Injector;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue};

use super::destination::Destination;
use super::{Shared, carrier};
use crate::metrics::names;
use crate::traces::known_unsampled;

/// `error.type` of a send abandoned before it was confirmed.
const CANCELLED: &str = "cancelled";

/// One message being sent: its span is open until the broker has taken the
/// message ([`succeeded`](Self::succeeded)) or refused it
/// ([`failed`](Self::failed)). Dropped without either, it counts as a
/// failed send with `error.type` `cancelled`.
#[must_use = "end it with `succeeded()` or `failed()` once the broker has answered"]
pub struct Publish {
    cx: Context,
    start: Instant,
    shared: Arc<Shared>,
    label: Arc<str>,
    ended: bool,
}

impl std::fmt::Debug for Publish {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publish")
            .field("destination", &self.label)
            .finish_non_exhaustive()
    }
}

impl Publish {
    pub(super) fn start(
        shared: &Arc<Shared>,
        destination: &Destination,
        carrier: &mut dyn Injector,
    ) -> Self {
        let start = Instant::now();
        let parent = Context::current();
        // A send the sampler leaves out builds no span: its context alone
        // travels, so the consumer's span is left out too.
        let cx = known_unsampled(shared.sampling, &parent).unwrap_or_else(|| {
            let mut attributes = vec![
                KeyValue::new("messaging.system", shared.red.system().to_string()),
                KeyValue::new("messaging.operation.name", "send"),
                KeyValue::new("messaging.operation.type", "send"),
                KeyValue::new("messaging.destination.name", destination.name().to_owned()),
            ];
            if destination.is_temporary() {
                attributes.push(KeyValue::new("messaging.destination.temporary", true));
            }
            let tracer = &shared.tracer;
            let span = tracer.build_with_context(
                tracer
                    .span_builder(format!("send {}", destination.span_part()))
                    .with_kind(SpanKind::Producer)
                    .with_attributes(attributes),
                &parent,
            );
            parent.with_span(span)
        });
        shared.propagator.inject_context(&cx, carrier);
        carrier::write_created(carrier, SystemTime::now());
        Self {
            cx,
            start,
            label: shared.labels.label(destination),
            shared: Arc::clone(shared),
            ended: false,
        }
    }

    /// The send's context: its span is the parent the consumer continues.
    pub fn context(&self) -> &Context {
        &self.cx
    }

    /// Sets `messaging.message.id` on the span.
    pub fn set_message_id(&self, id: impl Into<String>) {
        let span = self.cx.span();
        if span.is_recording() {
            span.set_attribute(KeyValue::new("messaging.message.id", id.into()));
        }
    }

    /// The broker took the message (or, with publisher confirms, confirmed it).
    pub fn succeeded(mut self) {
        self.end(None);
    }

    /// The send failed; `error_type` is a short, low-cardinality class such
    /// as `nack`, `timeout` or `connection`.
    pub fn failed(mut self, error_type: &'static str) {
        self.end(Some(error_type));
    }

    fn end(&mut self, error_type: Option<&'static str>) {
        self.ended = true;
        let elapsed = self.start.elapsed();
        let span = self.cx.span();
        if let Some(e) = error_type {
            span.set_attribute(KeyValue::new("error.type", e));
            span.set_status(Status::error(if e == CANCELLED {
                "the send was abandoned before the broker answered"
            } else {
                "the broker did not take the message"
            }));
        }
        {
            // Inside the send's context: a sampled send leaves its exemplar.
            let _attached = self.cx.clone().attach();
            let red = &self.shared.red;
            red.counter(
                names::MESSAGING_CLIENT_SENT_MESSAGES,
                &self.label,
                "send",
                error_type,
            )
            .increment(1);
            red.histogram(
                names::MESSAGING_CLIENT_OPERATION_DURATION,
                &self.label,
                "send",
                error_type,
            )
            .record(elapsed.as_secs_f64());
        }
        span.end();
    }
}

impl Drop for Publish {
    fn drop(&mut self) {
        if !self.ended {
            self.end(Some(CANCELLED));
        }
    }
}
