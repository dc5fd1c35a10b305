//! obskit's bridge from `tracing` spans to OpenTelemetry spans: what makes
//! a user's `#[tracing::instrument]` function a child span of the request.
//!
//! It does what tracing-opentelemetry does with the settings obskit used
//! (context activation, code locations, `otel.*` fields, warnings and
//! errors as span events, `#[instrument(err)]` failing the span), with two
//! differences that make a span cheap:
//!
//! - **The sampler's answer is known before anything is built.** A span
//!   whose parent is not sampled, under a sampler that follows its parent
//!   (every `parentbased_*` sampler, and `always_off`), records nothing:
//!   its fields are not visited, no span builder, attribute vector or SDK
//!   span is made; it carries its parent's context, so log lines and
//!   outgoing calls inside it keep the trace id and the sampling decision.
//! - **No bookkeeping the export does not need**: no busy/idle timings, no
//!   thread attributes, no reference-counted lock per span. Bridged spans
//!   therefore carry none of tracing-opentelemetry's `busy_ns`, `idle_ns`,
//!   `thread.id` or `thread.name` attributes (tracing-opentelemetry itself
//!   makes them optional; obskit turns them off with its bridge too).
//!
//! When obskit installs the subscriber itself, spans under a parent (a
//! request's) do not even reach `tracing-subscriber`'s registry or this
//! layer: [`LightSpans`] keeps them, bridging a sampled one with the same
//! state ([`Bridged`]) this layer keeps in a registry span.
//!
//! A span is started lazily, on first entry (or when a child, its context
//! or its end needs it), so [`SpanExt::set_parent`](crate::SpanExt::set_parent)
//! can still give it a remote parent after it is created.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::trace::{SpanKind, TraceContextExt as _};
use opentelemetry::{Context, ContextGuard};
use opentelemetry_sdk::trace::Tracer;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context as LayerContext, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::bridged::{Attrs, OwnStart, Recorded, Starter, span_event};
pub(crate) use crate::bridged::{Bridged, Pending};
use crate::traces::attributes::BridgedSpan;
use crate::traces::{Described, OwnSpans, Sampling};

/// Bridged spans known to be sampled, as obskit's own spans.
struct OwnBridged {
    own: Arc<OwnSpans>,
    sampling: Sampling,
}

impl OwnStart for OwnBridged {
    fn starts(&self, parent: &Context) -> bool {
        self.sampling.predict(parent) == Some(true) && self.own.can_start(parent)
    }

    fn start(
        &self,
        parent: &Context,
        kind: SpanKind,
        name: Cow<'static, str>,
        meta: &'static Metadata<'static>,
        attributes: Attrs,
        start: SystemTime,
    ) -> Context {
        let described = Described::Bridged(BridgedSpan {
            meta,
            fields: attributes,
        });
        let span = self.own.start_at(parent, kind, name, described, start);
        parent.with_span(span)
    }
}
use crate::logs::LightSpans;
use crate::span_context::{is_current, unsampled};

/// The `tracing` layer that turns spans into OpenTelemetry spans.
#[derive(Debug, Clone)]
pub(crate) struct SpanBridge {
    tracer: Starter,
    /// Whether a child of an unsampled parent is never sampled (the
    /// sampler follows the parent): such a child is not built at all.
    follows_parent: bool,
    /// The spans obskit's subscriber keeps out of the registry, if it
    /// keeps some: a warning logged inside one belongs to it, not to the
    /// registry's current span.
    light: Option<Arc<LightSpans>>,
}

thread_local! {
    /// The spans entered on this thread, innermost last: the context each
    /// attached (`None` when its context was current already), and whether
    /// it is a started span, whose last exit is kept as its end.
    static ENTERED: RefCell<Vec<Entered>> = const { RefCell::new(Vec::new()) };
}

/// One entered span, in [`ENTERED`].
struct Entered {
    id: Id,
    guard: Option<ContextGuard>,
    started: bool,
}

impl SpanBridge {
    pub(crate) fn new(tracer: Tracer, follows_parent: bool) -> Self {
        Self {
            tracer: Starter::new(tracer),
            follows_parent,
            light: None,
        }
    }

    /// Knows the light spans of `light` (see [`LightSpans`]), and has
    /// them bridged with this bridge's tracer.
    pub(crate) fn with_light(mut self, light: Option<Arc<LightSpans>>) -> Self {
        if let Some(light) = &light {
            light.bridge_with(self.tracer.clone());
        }
        self.light = light;
        self
    }

    /// Starts spans known to be sampled as obskit's own spans, recorded
    /// without the SDK's span, under `sampling`.
    pub(crate) fn with_own(mut self, own: Arc<OwnSpans>, sampling: Sampling) -> Self {
        self.tracer = self.tracer.with_own(Arc::new(OwnBridged { own, sampling }));
        self
    }

    /// What spans are started with.
    pub(crate) fn starter(&self) -> &Starter {
        &self.tracer
    }

    /// The context a new span starts under: its explicit parent's, the
    /// current one (entered spans attach theirs), or none for a root.
    fn parent_context<S>(&self, attrs: &Attributes<'_>, ctx: &LayerContext<'_, S>) -> Context
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        if let Some(parent) = attrs.parent() {
            return ctx
                .span(parent)
                .and_then(|span| {
                    span.extensions_mut()
                        .get_mut::<Bridged>()
                        .map(|b| b.context(&self.tracer))
                })
                .unwrap_or_default();
        }
        if attrs.is_contextual() {
            Context::current()
        } else {
            Context::new()
        }
    }
}

impl<S> Layer<S> for SpanBridge
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let parent = self.parent_context(attrs, &ctx);
        let bridged = if self.follows_parent && unsampled(&parent) {
            Bridged::Unsampled { cx: parent }
        } else {
            let mut pending = Pending::new(attrs.metadata(), parent);
            pending.record(&|fields| attrs.record(fields));
            Bridged::Pending(pending)
        };
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(bridged);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        let Some(bridged) = ext.get_mut::<Bridged>() else {
            return;
        };
        if !bridged.records() {
            return;
        }
        match bridged {
            Bridged::Pending(pending) => pending.record(&|fields| values.record(fields)),
            bridged => bridged.apply(Recorded::new(|fields| values.record(fields))),
        }
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: LayerContext<'_, S>) {
        let Some(follows) = ctx.span(follows) else {
            return;
        };
        let Some(linked) = follows
            .extensions_mut()
            .get_mut::<Bridged>()
            .map(|b| b.context(&self.tracer).span().span_context().clone())
        else {
            return;
        };
        let Some(span) = ctx.span(id) else { return };
        if let Some(bridged) = span.extensions_mut().get_mut::<Bridged>() {
            bridged.add_link(linked);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        // Only warnings and errors become span events: copying every log
        // line into the span would cost more than the span.
        if *event.metadata().level() > Level::WARN {
            return;
        }
        if let Some(light) = &self.light
            && let Some(id) = light.event_span(event)
        {
            // A light span under an unsampled parent records nothing.
            if light.records(&id) {
                let span_event = span_event(event);
                light.with_bridged(&id, |bridged| bridged.add_event(span_event));
            }
            return;
        }
        let span = match event.parent() {
            Some(parent) => ctx.span(parent),
            None if event.is_contextual() => ctx.lookup_current(),
            None => None,
        };
        let Some(span) = span else { return };
        let mut ext = span.extensions_mut();
        let Some(bridged) = ext.get_mut::<Bridged>() else {
            return;
        };
        if !bridged.records() {
            return;
        }
        bridged.add_event(span_event(event));
    }

    fn on_enter(&self, id: &Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let (cx, started) = match span.extensions_mut().get_mut::<Bridged>() {
            // An unsampled span entered where its parent's span is current
            // (a function called by the handler): attaching the same span
            // again would change nothing.
            Some(Bridged::Unsampled { cx }) if is_current(cx) => (None, false),
            Some(bridged) => {
                let cx = bridged.context(&self.tracer);
                (Some(cx), matches!(bridged, Bridged::Started { .. }))
            }
            None => return,
        };
        let guard = cx.map(Context::attach);
        ENTERED.with(|entered| {
            entered.borrow_mut().push(Entered {
                id: id.clone(),
                guard,
                started,
            });
        });
    }

    fn on_exit(&self, id: &Id, ctx: LayerContext<'_, S>) {
        let entered = ENTERED.with(|entered| {
            let mut entered = entered.borrow_mut();
            // Spans are exited innermost first, nearly always.
            if entered.last().is_some_and(|last| last.id == *id) {
                return entered.pop();
            }
            let at = entered.iter().rposition(|entered| entered.id == *id)?;
            Some(entered.remove(at))
        });
        // Only a started span keeps its last exit: an unsampled one is not
        // looked up again.
        let Some(Entered { guard, started, .. }) = entered else {
            return;
        };
        drop(guard);
        if !started {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(Bridged::Started { cx, last_exit }) = ext.get_mut::<Bridged>()
            && cx.span().is_recording()
        {
            *last_exit = Some(SystemTime::now());
        }
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let mut extensions = span.extensions_mut();
        // An unsampled span has nothing to end: the registry drops what it
        // carries with the span.
        if matches!(
            extensions.get_mut::<Bridged>(),
            Some(Bridged::Unsampled { .. }) | None
        ) {
            return;
        }
        let Some(bridged) = extensions.remove::<Bridged>() else {
            return;
        };
        drop(extensions);
        // A span never entered is started now, so it is exported too.
        bridged.end(&self.tracer);
    }
}

#[cfg(test)]
pub(crate) mod tests;
