//! obskit's own spans: the spans obskit starts itself (a served request's,
//! a served call's) when the sampler is known to sample them, recorded
//! without the SDK's span and exported without its `SpanData`.
//!
//! The SDK's span keeps every attribute as a `KeyValue` (a vector, an
//! owned string per value obskit copies out of the request), hands a
//! `SpanData` to the processor when it ends, and the exporter walks it
//! again. A span obskit starts knows its attributes' keys in advance: it
//! keeps the request's values as typed fields ([`Described`]) and the
//! encoder writes them behind keys encoded once. What the user adds later
//! through the OpenTelemetry API (`set_attribute`, `add_event`, ...) is
//! kept as the SDK keeps it, with the SDK's limits and orderings, so the
//! span a collector receives is the one the SDK would have sent; a test
//! holds the two together.
//!
//! Where a `SpanData` is wanted (the console and HTTP/JSON exporters,
//! [`TestTelemetry`](crate::testing::TestTelemetry)), the span is converted
//! to one.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::SystemTime;

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLimits, SpanLinks};
use parking_lot::Mutex;

use super::ExportProcessor;
#[cfg(feature = "grpc")]
use super::attributes::RpcServer;
use super::attributes::{BridgedSpan, HttpServer, TypedAttributes};
use super::ids::{random_span_id, random_trace_id};

/// The name of obskit's tracer, the scope of every span it starts.
pub(crate) const SCOPE_NAME: &str = "obskit";

/// The instrumentation scope of obskit's tracer (as the SDK makes it for
/// `provider.tracer("obskit")`).
pub(crate) fn scope() -> &'static InstrumentationScope {
    static SCOPE: LazyLock<InstrumentationScope> =
        LazyLock::new(|| InstrumentationScope::builder(SCOPE_NAME).build());
    &SCOPE
}

/// The SDK's span limits as its provider reads them: the defaults, with
/// `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`, `OTEL_SPAN_EVENT_COUNT_LIMIT` and
/// `OTEL_SPAN_LINK_COUNT_LIMIT` when set to a number.
fn limits_from_env() -> SpanLimits {
    let read = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u32>().ok());
    let mut limits = SpanLimits::default();
    if let Some(n) = read("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT") {
        limits.max_attributes_per_span = n;
    }
    if let Some(n) = read("OTEL_SPAN_EVENT_COUNT_LIMIT") {
        limits.max_events_per_span = n;
    }
    if let Some(n) = read("OTEL_SPAN_LINK_COUNT_LIMIT") {
        limits.max_links_per_span = n;
    }
    limits
}

/// Where obskit's own spans go when they end: the same pipelines the SDK's
/// processors push to, or a test's capture.
#[derive(Debug)]
pub(crate) struct OwnSpans {
    targets: Targets,
    limits: SpanLimits,
    /// Set when the tracer provider shuts down: from then on no span is
    /// recorded, as the SDK records none.
    closed: Arc<AtomicBool>,
}

#[derive(Debug)]
enum Targets {
    Export(Vec<Arc<ExportProcessor>>),
    Capture(Arc<Mutex<Vec<SpanData>>>),
    /// The spans as they are, for tests of the encoding.
    #[cfg(test)]
    Keep(Arc<Mutex<Vec<OwnFinished>>>),
}

impl OwnSpans {
    /// Spans ending in `pipelines`; `closed` is set when the provider
    /// shuts down.
    pub(crate) fn export(pipelines: Vec<Arc<ExportProcessor>>, closed: Arc<AtomicBool>) -> Self {
        Self {
            targets: Targets::Export(pipelines),
            limits: limits_from_env(),
            closed,
        }
    }

    /// Spans ending in `spans` as the SDK's `SpanData`, for tests.
    pub(crate) fn capture(spans: Arc<Mutex<Vec<SpanData>>>, closed: Arc<AtomicBool>) -> Self {
        Self {
            targets: Targets::Capture(spans),
            limits: limits_from_env(),
            closed,
        }
    }

    /// Whether a span under `parent` can be one of obskit's own: the
    /// provider is running and telemetry is not suppressed there (the SDK
    /// then starts a span that records nothing).
    pub(crate) fn can_start(&self, parent: &Context) -> bool {
        !self.closed.load(Ordering::Relaxed) && !parent.is_telemetry_suppressed()
    }

    /// Starts a sampled span of `kind` under `parent`, as the SDK starts
    /// one its sampler samples: the parent's trace, flags (now sampled) and
    /// trace state, or a new random trace; a new random span id.
    pub(crate) fn start(
        self: &Arc<Self>,
        parent: &Context,
        kind: SpanKind,
        name: Cow<'static, str>,
        described: Described,
    ) -> OwnSpan {
        self.start_at(parent, kind, name, described, opentelemetry::time::now())
    }

    /// [`OwnSpans::start`] for a span that started at `start_time` (a
    /// bridged `tracing` span, started when first entered, began when it
    /// was created).
    pub(crate) fn start_at(
        self: &Arc<Self>,
        parent: &Context,
        kind: SpanKind,
        name: Cow<'static, str>,
        described: Described,
        start_time: SystemTime,
    ) -> OwnSpan {
        let span = parent.span();
        let psc = span.span_context();
        let span_context = if psc.is_valid() {
            SpanContext::new(
                psc.trace_id(),
                random_span_id(),
                psc.trace_flags().with_sampled(true),
                false,
                psc.trace_state().clone(),
            )
        } else {
            SpanContext::new(
                random_trace_id(),
                random_span_id(),
                opentelemetry::trace::TraceFlags::SAMPLED,
                false,
                psc.trace_state().clone(),
            )
        };
        let limit = self.limits.max_attributes_per_span as usize;
        let (described, dropped_attributes_count) = if described.len() > limit {
            // More attributes than the limit: kept as the SDK keeps them.
            let mut all = described.into_key_values();
            let dropped = all.len() - limit;
            all.truncate(limit);
            (Described::List(all), dropped as u32)
        } else {
            (described, 0)
        };
        OwnSpan {
            data: Some(OwnFinished {
                span_context,
                parent_span_id: psc.span_id(),
                parent_span_is_remote: psc.is_valid() && psc.is_remote(),
                kind,
                name,
                start_time,
                end_time: start_time,
                described,
                added: Added::default(),
                dropped_attributes_count,
                events_links: None,
                status: Status::Unset,
            }),
            spans: Arc::clone(self),
        }
    }

    /// Hands an ended span to every target.
    /// Hands the ended span in `slot` to every target, leaving `None`.
    /// (Taken out of its slot as it is written into the queue: a span is
    /// large, and each move copies it.)
    fn finish(&self, slot: &mut Option<OwnFinished>) {
        match &self.targets {
            Targets::Export(pipelines) => match pipelines.as_slice() {
                [] => *slot = None,
                [one] => {
                    one.push_with(|| slot.take().map(Finished::Own));
                    // Still there when the queue was full: dropped.
                    *slot = None;
                }
                many => {
                    for p in many {
                        p.push_with(|| slot.clone().map(Finished::Own));
                    }
                    *slot = None;
                }
            },
            Targets::Capture(spans) => {
                if let Some(span) = slot.take() {
                    spans.lock().push(span.to_span_data());
                }
            }
            #[cfg(test)]
            Targets::Keep(spans) => spans.lock().extend(slot.take()),
        }
    }
}

/// A finished span in the export pipeline: the SDK's, or one of obskit's own.
// Each variant is queued as it is: boxing either would allocate once more
// per span.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub(crate) enum Finished {
    /// A span the SDK recorded (the user's, the bridge's, a ratio sampler's).
    Sdk(SpanData),
    /// A span obskit recorded itself.
    Own(OwnFinished),
}

impl Finished {
    /// The span as the SDK's `SpanData`, for exporters that take one.
    pub(crate) fn to_span_data(&self) -> SpanData {
        match self {
            Self::Sdk(s) => s.clone(),
            Self::Own(s) => s.to_span_data(),
        }
    }
}

/// The attributes of a span obskit starts, known when it starts: kept as
/// the request's values, written behind pre-encoded keys.
// Kept in the span as it is: boxing it would allocate once more per span.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub(crate) enum Described {
    /// Attributes as the SDK keeps them.
    List(Vec<KeyValue>),
    /// A served HTTP request's.
    HttpServer(HttpServer),
    /// A bridged `tracing` span's: its code location and fields.
    Bridged(BridgedSpan),
    /// A served RPC's.
    #[cfg(feature = "grpc")]
    RpcServer(RpcServer),
}

impl Described {
    fn len(&self) -> usize {
        match self {
            Self::List(l) => l.len(),
            Self::HttpServer(a) => a.len(),
            Self::Bridged(a) => a.len(),
            #[cfg(feature = "grpc")]
            Self::RpcServer(a) => a.len(),
        }
    }

    /// Writes every attribute as a `KeyValue` of field `field`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>, field: u32) {
        match self {
            Self::List(l) => crate::export::proto::attributes(out, field, l),
            Self::HttpServer(a) => a.encode(out, field),
            Self::Bridged(a) => a.encode(out, field),
            #[cfg(feature = "grpc")]
            Self::RpcServer(a) => a.encode(out, field),
        }
    }

    fn key_values(&self, out: &mut Vec<KeyValue>) {
        match self {
            Self::List(l) => out.extend_from_slice(l),
            Self::HttpServer(a) => a.key_values(out),
            Self::Bridged(a) => a.key_values(out),
            #[cfg(feature = "grpc")]
            Self::RpcServer(a) => a.key_values(out),
        }
    }

    /// The attributes as the SDK's span would hold them.
    pub(crate) fn into_key_values(self) -> Vec<KeyValue> {
        match self {
            Self::List(l) => l,
            other => {
                let mut out = Vec::with_capacity(other.len());
                other.key_values(&mut out);
                out
            }
        }
    }
}

/// The attributes added after the start, in order: the first inline (a
/// request's status code), the rest in a vector.
#[derive(Debug, Clone, Default)]
pub(crate) struct Added {
    inline: [Option<KeyValue>; 1],
    more: Vec<KeyValue>,
}

impl Added {
    fn len(&self) -> usize {
        self.inline.iter().filter(|kv| kv.is_some()).count() + self.more.len()
    }

    fn push(&mut self, kv: KeyValue) {
        for slot in &mut self.inline {
            if slot.is_none() {
                *slot = Some(kv);
                return;
            }
        }
        self.more.push(kv);
    }

    /// Each attribute, in the order it was added.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &KeyValue> {
        self.inline.iter().flatten().chain(self.more.iter())
    }
}

/// A span obskit recorded itself, ended or in progress.
#[derive(Debug, Clone)]
pub(crate) struct OwnFinished {
    pub(crate) span_context: SpanContext,
    pub(crate) parent_span_id: SpanId,
    pub(crate) parent_span_is_remote: bool,
    pub(crate) kind: SpanKind,
    pub(crate) name: Cow<'static, str>,
    pub(crate) start_time: SystemTime,
    pub(crate) end_time: SystemTime,
    /// The attributes set when it started.
    pub(crate) described: Described,
    /// The attributes set afterwards.
    pub(crate) added: Added,
    pub(crate) dropped_attributes_count: u32,
    /// Events and links, boxed when there are any: obskit adds none, and a
    /// smaller span moves faster.
    pub(crate) events_links: Option<Box<EventsLinks>>,
    pub(crate) status: Status,
}

/// A span's events and links.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventsLinks {
    pub(crate) events: SpanEvents,
    pub(crate) links: SpanLinks,
}

/// No events and no links, for a span that has none.
static NONE: LazyLock<EventsLinks> = LazyLock::new(EventsLinks::default);

impl OwnFinished {
    /// The span's events.
    pub(crate) fn events(&self) -> &SpanEvents {
        &self.events_links.as_deref().unwrap_or(&NONE).events
    }

    /// The span's links.
    pub(crate) fn links(&self) -> &SpanLinks {
        &self.events_links.as_deref().unwrap_or(&NONE).links
    }

    /// The span as the SDK's `SpanData`.
    pub(crate) fn to_span_data(&self) -> SpanData {
        let mut attributes = Vec::with_capacity(self.described.len() + self.added.len());
        self.described.key_values(&mut attributes);
        attributes.extend(self.added.iter().cloned());
        SpanData {
            span_context: self.span_context.clone(),
            parent_span_id: self.parent_span_id,
            parent_span_is_remote: self.parent_span_is_remote,
            span_kind: self.kind.clone(),
            name: self.name.clone(),
            start_time: self.start_time,
            end_time: self.end_time,
            attributes,
            dropped_attributes_count: self.dropped_attributes_count,
            events: self.events().clone(),
            links: self.links().clone(),
            status: self.status.clone(),
            instrumentation_scope: scope().clone(),
        }
    }
}

/// A span obskit started and records itself, with the SDK span's
/// behaviour: limits on attributes, events and links (with dropped
/// counts), status ordering (`Ok` over `Error` over `Unset`), nothing
/// recorded after its end, and an end on drop when it was not ended.
#[derive(Debug)]
pub(crate) struct OwnSpan {
    /// `None` once ended. Not boxed: the context boxes the span already,
    /// and one more allocation per request costs more than the moves.
    data: Option<OwnFinished>,
    spans: Arc<OwnSpans>,
}

impl OwnSpan {
    fn ensure_ended(&mut self, timestamp: Option<SystemTime>) {
        let Some(data) = self.data.as_mut() else {
            return;
        };
        if self.spans.closed.load(Ordering::Relaxed) {
            self.data = None;
            return;
        }
        data.end_time = match timestamp {
            Some(t) => t,
            None if data.end_time == data.start_time => opentelemetry::time::now(),
            None => data.end_time,
        };
        self.spans.finish(&mut self.data);
    }
}

impl Drop for OwnSpan {
    fn drop(&mut self) {
        self.ensure_ended(None);
    }
}

impl opentelemetry::trace::Span for OwnSpan {
    fn add_event_with_timestamp<T>(
        &mut self,
        name: T,
        timestamp: SystemTime,
        mut attributes: Vec<KeyValue>,
    ) where
        T: Into<Cow<'static, str>>,
    {
        let limits = self.spans.limits;
        if let Some(data) = self.data.as_mut() {
            let events = &mut data.events_links.get_or_insert_with(Box::default).events;
            if events.len() < limits.max_events_per_span as usize {
                let limit = limits.max_attributes_per_event as usize;
                let dropped = attributes.len().saturating_sub(limit);
                attributes.truncate(limit);
                events
                    .events
                    .push(Event::new(name, timestamp, attributes, dropped as u32));
            } else {
                events.dropped_count += 1;
            }
        }
    }

    /// The span's context while it records. (Once it has ended nothing
    /// asks: the context holding a span answers with its own copy, taken
    /// when the span was put in it.)
    fn span_context(&self) -> &SpanContext {
        self.data
            .as_ref()
            .map_or(&SpanContext::NONE, |d| &d.span_context)
    }

    fn is_recording(&self) -> bool {
        self.data.is_some()
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        let limit = self.spans.limits.max_attributes_per_span as usize;
        if let Some(data) = self.data.as_mut() {
            if data.described.len() + data.added.len() < limit {
                data.added.push(attribute);
            } else {
                data.dropped_attributes_count += 1;
            }
        }
    }

    fn set_status(&mut self, status: Status) {
        if let Some(data) = self.data.as_mut()
            && status > data.status
        {
            data.status = status;
        }
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        if let Some(data) = self.data.as_mut() {
            data.name = new_name.into();
        }
    }

    fn add_link(&mut self, span_context: SpanContext, mut attributes: Vec<KeyValue>) {
        let limits = self.spans.limits;
        if let Some(data) = self.data.as_mut() {
            let links = &mut data.events_links.get_or_insert_with(Box::default).links;
            if links.links.len() < limits.max_links_per_span as usize {
                let limit = limits.max_attributes_per_link as usize;
                let dropped = attributes.len().saturating_sub(limit);
                attributes.truncate(limit);
                links
                    .links
                    .push(Link::new(span_context, attributes, dropped as u32));
            } else {
                links.dropped_count += 1;
            }
        }
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        self.ensure_ended(Some(timestamp));
    }
}

#[cfg(test)]
mod tests;
