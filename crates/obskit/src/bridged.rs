//! A bridged span's OpenTelemetry side, as obskit's bridge keeps it in a
//! registry span's extensions and light spans keep it in their nodes:
//! pending (what the SDK span will be made of), started, or carrying an
//! unsampled parent's context. A leaf: it uses nothing else in the crate.

mod attrs;
pub(crate) mod fields;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::trace::{
    Link, SpanContext, SpanKind, Status, TraceContextExt as _, Tracer as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::Tracer;
use tracing::Metadata;

pub(crate) use attrs::Attrs;
use fields::{EventFields, SpanFields};
use tracing::{Event, Level};

/// A span's OpenTelemetry side, kept in the span's extensions.
pub(crate) enum Bridged {
    /// Not started yet: what the SDK span will be made of.
    Pending(Pending),
    /// Started: the context holding the SDK span, and when the span was
    /// last exited (its end, unless it is entered again).
    Started {
        cx: Context,
        last_exit: Option<SystemTime>,
    },
    /// A child of an unsampled parent under a sampler that follows the
    /// parent: nothing is recorded; the parent's context is carried.
    Unsampled { cx: Context },
}

/// Fields of a span visited apart from it: what [`Bridged::apply`] records.
#[derive(Default)]
pub(crate) struct Recorded {
    attributes: Attrs,
    name: Option<Cow<'static, str>>,
    kind: Option<SpanKind>,
    status: Option<Status>,
}

impl Recorded {
    /// The fields `record` visits.
    pub(crate) fn new(record: impl FnOnce(&mut SpanFields<'_>)) -> Self {
        let mut attributes = Attrs::default();
        let mut fields = SpanFields::new(&mut attributes);
        record(&mut fields);
        let SpanFields {
            name, kind, status, ..
        } = fields;
        Self {
            attributes,
            name,
            kind,
            status,
        }
    }
}

/// A span event made apart from its span: what [`Bridged::add_event`] adds.
pub(crate) struct SpanEvent {
    pub(crate) name: Cow<'static, str>,
    pub(crate) time: SystemTime,
    pub(crate) attributes: Vec<KeyValue>,
    /// The span's status the event sets, if any.
    pub(crate) status: Option<Status>,
}

/// A span not started yet.
pub(crate) struct Pending {
    parent: Context,
    /// Where its code location attributes come from (written first).
    meta: &'static Metadata<'static>,
    name: Cow<'static, str>,
    kind: SpanKind,
    start: SystemTime,
    /// The attributes after its code location: its fields, and the
    /// attributes set before it started.
    attributes: Attrs,
    pub(crate) events: Vec<opentelemetry::trace::Event>,
    links: Vec<Link>,
    pub(crate) status: Status,
}

impl Pending {
    /// A pending span named after `meta`, with its code location.
    pub(crate) fn new(meta: &'static Metadata<'static>, parent: Context) -> Self {
        let attributes = Attrs::with_capacity(meta.fields().len());
        Self {
            parent,
            meta,
            name: Cow::Borrowed(meta.name()),
            kind: SpanKind::Internal,
            start: SystemTime::now(),
            attributes,
            events: Vec::new(),
            links: Vec::new(),
            status: Status::Unset,
        }
    }

    /// Records `record`'s fields: attributes, and the `otel.*` fields.
    pub(crate) fn record(&mut self, record: &dyn Fn(&mut SpanFields<'_>)) {
        let mut fields = SpanFields::new(&mut self.attributes);
        record(&mut fields);
        let SpanFields {
            name, kind, status, ..
        } = fields;
        self.set_otel(name, kind, status);
    }

    /// Takes what the `otel.name`, `otel.kind` and `otel.status_code`
    /// fields said, where they said anything.
    fn set_otel(
        &mut self,
        name: Option<Cow<'static, str>>,
        kind: Option<SpanKind>,
        status: Option<Status>,
    ) {
        if let Some(name) = name {
            self.name = name;
        }
        if let Some(kind) = kind {
            self.kind = kind;
        }
        if let Some(status) = status {
            self.status = status;
        }
    }

    /// Sets the parent the span will start under.
    pub(crate) fn set_parent(&mut self, parent: Context) {
        self.parent = parent;
    }

    /// Adds an attribute the span will start with.
    pub(crate) fn push_attribute(&mut self, attribute: KeyValue) {
        self.attributes.push(attribute);
    }

    /// Adds a link the span will start with.
    pub(crate) fn push_link(&mut self, span_context: SpanContext) {
        self.links.push(Link::with_context(span_context));
    }

    /// Sets the status the span will start with.
    pub(crate) fn set_status(&mut self, status: Status) {
        self.status = status;
    }
}

/// What starts a pending span: the SDK's tracer, and the spans obskit
/// records itself when it knows a span is sampled.
#[derive(Clone)]
pub(crate) struct Starter {
    tracer: Tracer,
    own: Option<Arc<dyn OwnStart>>,
}

impl std::fmt::Debug for Starter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Starter")
            .field("own", &self.own.is_some())
            .finish_non_exhaustive()
    }
}

/// Starts a span obskit records itself instead of the SDK.
pub(crate) trait OwnStart: Send + Sync {
    /// Whether a span under `parent` is started here: it is known to be
    /// sampled, and can be recorded.
    fn starts(&self, parent: &Context) -> bool;

    /// The context holding a new sampled span under `parent` that started
    /// at `start`: its attributes are the code location `meta` gives (as
    /// [`fields::location`] makes them), then `attributes`.
    fn start(
        &self,
        parent: &Context,
        kind: SpanKind,
        name: Cow<'static, str>,
        meta: &'static Metadata<'static>,
        attributes: Attrs,
        start: SystemTime,
    ) -> Context;
}

impl Starter {
    /// Spans started by the SDK's `tracer` only.
    pub(crate) fn new(tracer: Tracer) -> Self {
        Self { tracer, own: None }
    }

    /// Spans known to be sampled started by `own` instead.
    pub(crate) fn with_own(mut self, own: Arc<dyn OwnStart>) -> Self {
        self.own = Some(own);
        self
    }
}

impl Bridged {
    /// The span's context, starting the span first if it is pending.
    pub(crate) fn context(&mut self, tracer: &Starter) -> Context {
        self.start(tracer);
        match self {
            Self::Started { cx, .. } | Self::Unsampled { cx } => cx.clone(),
            Self::Pending(_) => Context::new(),
        }
    }

    /// Starts the span of a pending span; does nothing otherwise.
    pub(crate) fn start(&mut self, starter: &Starter) {
        if !matches!(self, Self::Pending(_)) {
            return;
        }
        let Self::Pending(pending) =
            std::mem::replace(self, Self::Unsampled { cx: Context::new() })
        else {
            return;
        };
        let Pending {
            parent,
            meta,
            name,
            kind,
            start,
            attributes,
            events,
            links,
            status,
        } = pending;
        if let Some(own) = &starter.own
            && own.starts(&parent)
        {
            let cx = own.start(&parent, kind, name, meta, attributes, start);
            {
                let span = cx.span();
                for event in events {
                    span.add_event_with_timestamp(event.name, event.timestamp, event.attributes);
                }
                for link in links {
                    span.add_link(link.span_context, link.attributes);
                }
                if status != Status::Unset {
                    span.set_status(status);
                }
            }
            *self = Self::Started {
                cx,
                last_exit: None,
            };
            return;
        }
        // The code location first.
        let mut all = Vec::with_capacity(3 + attributes.len());
        fields::location(meta, &mut all);
        all.extend(attributes);
        let attributes = all;
        let tracer = &starter.tracer;
        let builder = tracer
            .span_builder(name)
            .with_kind(kind)
            .with_start_time(start)
            .with_attributes(attributes)
            .with_events(events)
            .with_links(links);
        let mut span = tracer.build_with_context(builder, &parent);
        if status != Status::Unset {
            opentelemetry::trace::Span::set_status(&mut span, status);
        }
        *self = Self::Started {
            cx: parent.with_span(span),
            last_exit: None,
        };
    }

    /// Records fields visited apart (`fields`), as `on_record` does.
    pub(crate) fn apply(&mut self, fields: Recorded) {
        let Recorded {
            attributes,
            name,
            kind,
            status,
        } = fields;
        match self {
            Self::Pending(pending) => {
                pending.attributes.extend(attributes);
                pending.set_otel(name, kind, status);
            }
            Self::Started { cx, .. } => {
                let span = cx.span();
                span.set_attributes(attributes);
                if let Some(name) = name {
                    span.update_name(name);
                }
                if let Some(status) = status {
                    span.set_status(status);
                }
            }
            Self::Unsampled { .. } => {}
        }
    }

    /// Adds a span event (a warning or error logged inside the span), and
    /// the status it sets.
    pub(crate) fn add_event(&mut self, event: SpanEvent) {
        let SpanEvent {
            name,
            time,
            attributes,
            status,
        } = event;
        match self {
            Self::Pending(pending) => {
                pending
                    .events
                    .push(opentelemetry::trace::Event::new(name, time, attributes, 0));
                if let Some(status) = status
                    && pending.status == Status::Unset
                {
                    pending.status = status;
                }
            }
            Self::Started { cx, .. } => {
                let span = cx.span();
                span.add_event_with_timestamp(name, time, attributes);
                if let Some(status) = status {
                    span.set_status(status);
                }
            }
            Self::Unsampled { .. } => {}
        }
    }

    /// Ends the span (started first if it never was) at its last exit, or
    /// now if it was never exited.
    pub(crate) fn end(mut self, tracer: &Starter) {
        drop(self.end_in_place(tracer));
    }

    /// [`Bridged::end`] without moving the state: returns the context that
    /// held the span, for the caller to drop; what is left is stale.
    pub(crate) fn end_in_place(&mut self, tracer: &Starter) -> Context {
        self.start(tracer);
        match self {
            Self::Started { cx, last_exit } => {
                let span = cx.span();
                if span.is_recording() {
                    span.end_with_timestamp(last_exit.unwrap_or_else(SystemTime::now));
                }
                std::mem::take(cx)
            }
            Self::Unsampled { .. } | Self::Pending(_) => Context::new(),
        }
    }

    /// Links the span to `span_context`.
    pub(crate) fn add_link(&mut self, span_context: SpanContext) {
        match self {
            Self::Pending(pending) => pending.push_link(span_context),
            Self::Started { cx, .. } => cx.span().add_link(span_context, Vec::new()),
            Self::Unsampled { .. } => {}
        }
    }

    /// Whether anything done to the span is kept.
    pub(crate) fn records(&self) -> bool {
        match self {
            Self::Pending(_) => true,
            Self::Started { cx, .. } => cx.span().is_recording(),
            Self::Unsampled { .. } => false,
        }
    }
}

/// What `event` adds to its span: named by its message, its other fields
/// as attributes, with its code location; an `error` field (what
/// `#[instrument(err)]` records) makes it an `exception` event that fails
/// the span, as does the error level.
pub(crate) fn span_event(event: &Event<'_>) -> SpanEvent {
    let meta = event.metadata();
    let mut fields = EventFields::new(meta.level(), meta.target());
    event.record(&mut fields);
    fields::location(meta, &mut fields.attributes);
    let status = fields
        .status
        .or_else(|| (*meta.level() == Level::ERROR).then(|| Status::error("")));
    SpanEvent {
        name: fields.name.unwrap_or(Cow::Borrowed(meta.name())),
        time: SystemTime::now(),
        attributes: fields.attributes,
        status,
    }
}
