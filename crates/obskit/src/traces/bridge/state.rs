//! A bridged span's OpenTelemetry side, as kept in the span's extensions:
//! pending (what the SDK span will be made of), started, or carrying an
//! unsampled parent's context.

use std::borrow::Cow;
use std::time::SystemTime;

use opentelemetry::trace::{
    Link, SpanContext, SpanKind, Status, TraceContextExt as _, Tracer as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::Tracer;
use tracing::Metadata;

use super::fields::{self, SpanFields};

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

/// A span not started yet.
pub(crate) struct Pending {
    parent: Context,
    name: Cow<'static, str>,
    kind: SpanKind,
    start: SystemTime,
    attributes: Vec<KeyValue>,
    pub(super) events: Vec<opentelemetry::trace::Event>,
    links: Vec<Link>,
    pub(super) status: Status,
}

impl Pending {
    /// A pending span named after `meta`, with its code location.
    pub(crate) fn new(meta: &'static Metadata<'static>, parent: Context) -> Self {
        let mut attributes = Vec::with_capacity(meta.fields().len() + 3);
        fields::location(meta, &mut attributes);
        Self {
            parent,
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
    pub(super) fn record(&mut self, record: &dyn Fn(&mut SpanFields<'_>)) {
        let mut fields = SpanFields::new(&mut self.attributes);
        record(&mut fields);
        let SpanFields {
            name, kind, status, ..
        } = fields;
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

impl Bridged {
    /// The span's context, starting the span first if it is pending.
    pub(crate) fn context(&mut self, tracer: &Tracer) -> Context {
        self.start(tracer);
        match self {
            Self::Started { cx, .. } | Self::Unsampled { cx } => cx.clone(),
            Self::Pending(_) => Context::new(),
        }
    }

    /// Starts the SDK span of a pending span; does nothing otherwise.
    pub(crate) fn start(&mut self, tracer: &Tracer) {
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
            name,
            kind,
            start,
            attributes,
            events,
            links,
            status,
        } = pending;
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

    /// Whether anything done to the span is kept.
    pub(crate) fn records(&self) -> bool {
        match self {
            Self::Pending(_) => true,
            Self::Started { cx, .. } => cx.span().is_recording(),
            Self::Unsampled { .. } => false,
        }
    }
}
