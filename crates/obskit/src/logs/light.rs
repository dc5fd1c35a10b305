//! Spans under a parent, kept out of `tracing-subscriber`'s registry:
//! "light" spans.
//!
//! Under a sampler that follows the parent, a span created inside a trace
//! that is not sampled records nothing for OpenTelemetry. In the registry
//! it would still cost a slot, the layers' per-span work (the bridge's
//! extension, the log layer's fields) and the dispatch of its enter, exit
//! and close to every layer: most of what such a span costs. When obskit
//! installs the subscriber itself ([`WithLightSpans`], used only with the
//! JSON log layer or no log layer, obskit's bridge and a log filter
//! without span directives), such a span is answered here
//! instead: a node holding its metadata, its parent, the OpenTelemetry
//! context it carries and its fields. The JSON
//! layer reads these nodes, so the lines logged inside such a span list it
//! in their `spans` as before and carry the request's trace and span ids.
//!
//! Light spans live in a table of slots per thread (see [`store`]), and a
//! span's numeric fields are written as JSON only once a line lists them
//! (see [`fields`]).
//!
//! A light span's id has bit 50 set; the registry's never does: it packs
//! a slot index as `generation | thread | address` (sharded-slab's default
//! layout: the address in bits 0 to 37, the thread number in bits 38 to 50,
//! the generation above), and it has slots for 4 096 threads only (thread
//! numbers up to 4 095, in bits 38 to 49, so bit 50 stays clear; the 2 049th
//! thread already sets bit 49). A registry span's id is its index plus one,
//! which never carries into it since no address is all ones.
//!
//! A span under a sampled parent (or any parent, under a sampler that
//! does not follow it) is light too: its node also holds the OpenTelemetry
//! span obskit's bridge would keep in the registry span's extensions
//! ([`Bridged`]), started on first entry, given the warnings and errors
//! logged inside it as events, ended at its last exit when it closes.
//! The registry and its layers never see it: no slot, no extensions, no
//! per-layer dispatch, and its fields written as JSON only if a line
//! lists them.
//!
//! [`SpanExt::set_parent`](crate::SpanExt::set_parent) on a light span
//! under an unsampled parent makes it a registry span after all (it is
//! "promoted"): the light node then forwards everything to that span.

mod fields;
mod store;

use std::cell::RefCell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::{Context, ContextGuard};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Metadata, Subscriber};
use tracing_core::span::Current;
use tracing_subscriber::registry::LookupSpan;

use crate::bridged::{Bridged, Pending, Recorded, Starter};
use crate::span_context::is_current;
use fields::Fields;
use store::{LIGHT, Parent};

/// Whether `id` is a light span's.
pub(crate) fn is_light(id: &Id) -> bool {
    id.into_u64() & LIGHT != 0
}

/// Whether light span `id` is open (not yet closed).
#[cfg(test)]
fn is_open(id: &Id) -> bool {
    store::lock(id).is_some()
}

/// The light spans of one subscriber, shared by the subscriber that makes
/// them, the JSON layer that lists them and the bridge. (Their nodes live
/// in [`store`], shared by every subscriber: an id is only ever handed back
/// to the subscriber that made it.)
pub(crate) struct LightSpans {
    /// Tells this table's entries in a thread's [`ENTERED`] from another
    /// subscriber's (tests run several on one thread).
    owner: usize,
    /// Whether span fields are kept as JSON (a JSON log layer reads them).
    json_fields: bool,
    /// Whether the sampler follows the parent: see [`LightSpans::new`].
    follows_parent: bool,
    /// What the bridge starts spans with: spans under a sampled parent are
    /// light too, bridged here, once the bridge has given it.
    tracer: OnceLock<Starter>,
}

impl std::fmt::Debug for LightSpans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LightSpans")
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

/// One step of a light span's scope, from the root: what the JSON layer
/// writes into a line's `spans`.
pub(crate) enum Step<'a> {
    /// A registry span and its registry parents.
    Scope(&'a Id),
    /// A registry span alone (a promoted light span).
    One(&'a Id),
    /// A light span: its name and fields.
    Light(&'static str, &'a str),
}

thread_local! {
    /// The spans entered on this thread through a [`WithLightSpans`],
    /// innermost last, light or not: which one is current.
    static ENTERED: RefCell<Vec<Entered>> = const { RefCell::new(Vec::new()) };
    /// Buffers a span's fields are recorded into before they are moved to
    /// its node (recording may run a `Debug` impl that makes spans, so it
    /// is never done with a node locked); the node's emptied buffers take
    /// their place.
    static SCRATCH: RefCell<Fields> = const { RefCell::new(Fields::new()) };
}

/// Runs `f` with this thread's spare field buffers (new ones when they are
/// in use or gone).
fn with_scratch<R>(f: impl FnOnce(&mut Fields) -> R) -> R {
    let mut f = Some(f);
    // Borrowed in place: recording a field that makes a span finds them
    // in use, and takes new ones.
    let done = SCRATCH.try_with(|scratch| {
        let mut fields = scratch.try_borrow_mut().ok()?;
        f.take().map(|f| f(&mut fields))
    });
    match (done, f) {
        (Ok(Some(result)), _) => result,
        (_, Some(f)) => f(&mut Fields::default()),
        (_, None) => unreachable!("`f` ran and returned"),
    }
}

/// One entered span, in [`ENTERED`].
struct Entered {
    owner: usize,
    id: Id,
    light: bool,
    /// Whether it is a light span with a started OpenTelemetry span, whose
    /// last exit is kept as its end.
    started: bool,
    /// The context a light span attached (`None` when it was current),
    /// detached when the entry is dropped.
    _guard: Option<ContextGuard>,
}

impl LightSpans {
    /// A table for one subscriber; `json_fields`: whether a JSON log layer
    /// lists the spans (their fields are then kept); `follows_parent`:
    /// whether the sampler never samples a child of an unsampled parent
    /// (only then is such a child made light, carrying its parent's context).
    pub(crate) fn new(json_fields: bool, follows_parent: bool) -> Self {
        static OWNERS: AtomicUsize = AtomicUsize::new(0);
        Self {
            owner: OWNERS.fetch_add(1, Ordering::Relaxed),
            json_fields,
            follows_parent,
            tracer: OnceLock::new(),
        }
    }

    /// Keeps spans under a sampled parent light too, bridged to
    /// OpenTelemetry with `tracer` as obskit's bridge does.
    pub(crate) fn bridge_with(&self, tracer: Starter) {
        let _ = self.tracer.set(tracer);
    }

    /// Whether light span `id` has an OpenTelemetry span that records.
    pub(crate) fn records(&self, id: &Id) -> bool {
        store::lock(id).is_some_and(|node| node.otel.get().is_some_and(Bridged::records))
    }

    /// Runs `f` on the OpenTelemetry span of light span `id`, if it has one
    /// (it is under a sampled parent and not promoted).
    pub(crate) fn with_bridged<R>(&self, id: &Id, f: impl FnOnce(&mut Bridged) -> R) -> Option<R> {
        let mut node = store::lock(id)?;
        node.otel.get_mut().map(f)
    }

    /// The innermost span entered on this thread (through this table's
    /// subscriber), and whether it is light.
    fn top(&self) -> Option<(Id, bool)> {
        ENTERED.with(|entered| {
            let entered = entered.try_borrow().ok()?;
            entered
                .iter()
                .rev()
                .find(|e| e.owner == self.owner)
                .map(|e| (e.id.clone(), e.light))
        })
    }

    /// The light span `event` belongs to, if it belongs to one: its
    /// explicit parent, or the current span for a contextual event.
    pub(crate) fn event_span(&self, event: &Event<'_>) -> Option<Id> {
        match event.parent() {
            Some(parent) => is_light(parent).then(|| parent.clone()),
            None if event.is_contextual() => self.top().and_then(|(id, light)| light.then_some(id)),
            None => None,
        }
    }

    /// Calls `f` with each step of light span `id`'s scope, root first.
    pub(crate) fn walk(&self, id: &Id, f: &mut dyn FnMut(Step<'_>)) {
        let Some(parent) = store::lock(id).map(|node| node.parent.clone()) else {
            return;
        };
        match &parent {
            Parent::None => {}
            Parent::Light(parent) => self.walk(parent, f),
            Parent::Registry(parent) => f(Step::Scope(parent)),
        }
        let Some(mut node) = store::lock(id) else {
            return;
        };
        match (node.promoted.clone(), node.meta) {
            (Some(promoted), _) => {
                drop(node);
                f(Step::One(&promoted));
            }
            // `f` writes text: it runs with the node locked.
            (None, Some(meta)) => f(Step::Light(meta.name(), node.fields.json())),
            (None, None) => {}
        }
    }

    /// Counts one more holder of light span `id`.
    fn hold(id: &Id) {
        if let Some(mut node) = store::lock(id) {
            node.refs += 1;
        }
    }

    /// The registry span a promoted light span would be a child of: the
    /// nearest registry span (or promoted light span) above `parent`.
    fn registry_ancestor(parent: &Parent) -> Option<Id> {
        match parent {
            Parent::None => None,
            Parent::Registry(id) => Some(id.clone()),
            Parent::Light(id) => {
                let (promoted, parent) = {
                    let node = store::lock(id)?;
                    (node.promoted.clone(), node.parent.clone())
                };
                match promoted {
                    Some(promoted) => Some(promoted),
                    None => Self::registry_ancestor(&parent),
                }
            }
        }
    }
}

/// How a new span is made.
enum Place {
    /// In the registry, as it came.
    Registry,
    /// In the registry, as a child of this span (the promoted span standing
    /// for its light parent).
    ChildOf(Id),
    /// Light, with this parent, under this context.
    Light(Parent, Carry),
}

/// The context a light span is made under.
enum Carry {
    /// Not sampled: the span carries it and records nothing.
    Unsampled(Context),
    /// Sampled: the span is bridged to an OpenTelemetry span under it.
    Sampled(Context),
}

impl Carry {
    /// How a span under `cx` is carried in `light`, if it is light: `None`
    /// for no valid span in `cx`, or one to bridge with no tracer to do it.
    /// Under a sampler that does not follow the parent, the SDK decides for
    /// every span: it is bridged, as the bridge does.
    fn of(cx: &Context, light: &LightSpans) -> Option<Self> {
        let span = cx.span();
        let sc = span.span_context();
        if !sc.is_valid() {
            None
        } else if !sc.is_sampled() && light.follows_parent {
            Some(Self::Unsampled(cx.clone()))
        } else {
            light.tracer.get().map(|_| Self::Sampled(cx.clone()))
        }
    }
}

/// A subscriber in front of `S` (a registry with obskit's layers) that
/// keeps spans under an unsampled parent out of it: see the module docs.
pub(crate) struct WithLightSpans<S> {
    inner: S,
    light: std::sync::Arc<LightSpans>,
}

impl<S> std::fmt::Debug for WithLightSpans<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithLightSpans")
            .field("light", &self.light)
            .finish_non_exhaustive()
    }
}

impl<S> WithLightSpans<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    /// `inner`, whose layers read light spans from `light`.
    pub(crate) fn new(inner: S, light: std::sync::Arc<LightSpans>) -> Self {
        Self { inner, light }
    }

    /// The subscriber behind this one.
    pub(crate) fn inner(&self) -> &S {
        &self.inner
    }

    /// Where a span with `attrs` goes.
    fn place(&self, attrs: &Attributes<'_>) -> Place {
        if let Some(parent) = attrs.parent() {
            let tracer = self.light.tracer.get();
            if !is_light(parent) {
                return Place::Registry;
            }
            let Some(mut node) = store::lock(parent) else {
                return Place::Light(Parent::None, Carry::Unsampled(Context::new()));
            };
            if let Some(promoted) = &node.promoted {
                return Place::ChildOf(promoted.clone());
            }
            let carry = match (node.otel.get_mut(), tracer) {
                (Some(otel), Some(tracer)) => Carry::of(&otel.context(tracer), &self.light),
                _ => Some(Carry::Unsampled(node.cx.clone())),
            };
            let Some(carry) = carry else {
                // A parent that did not start: the registry decides.
                return Place::Registry;
            };
            node.refs += 1;
            return Place::Light(Parent::Light(parent.clone()), carry);
        }
        if !attrs.is_contextual() {
            return Place::Registry;
        }
        let Some(carry) = Context::map_current(|cx| Carry::of(cx, &self.light)) else {
            return Place::Registry;
        };
        let parent = match self.light.top() {
            None => Parent::None,
            Some((id, true)) => {
                LightSpans::hold(&id);
                Parent::Light(id)
            }
            Some((id, false)) => Parent::Registry(self.inner.clone_span(&id)),
        };
        Place::Light(parent, carry)
    }

    /// A light span with `attrs` and `parent`, under `carry`; `None` when
    /// this thread has no slots (more threads than the table serves).
    fn create(&self, attrs: &Attributes<'_>, parent: &Parent, carry: Carry) -> Option<Id> {
        let meta = attrs.metadata();
        let mut otel = None;
        let cx = match carry {
            Carry::Unsampled(cx) => cx,
            Carry::Sampled(cx) => {
                let mut pending = Pending::new(meta, cx);
                pending.record(&|fields| attrs.record(fields));
                otel = Some(Bridged::Pending(pending));
                Context::new()
            }
        };
        let init = |fields: Option<&mut Fields>| {
            store::create(|node| {
                node.meta = Some(meta);
                node.cx = cx;
                if let Some(otel) = otel.take() {
                    node.otel.set(otel);
                }
                node.parent = parent.clone();
                node.refs = 1;
                if let Some(fields) = fields {
                    // The node's buffers are empty: they become the spare.
                    node.fields.take_from(fields);
                }
            })
        };
        // A callsite without fields records none (one whose values are all
        // empty records none either, through the buffers).
        if !self.light.json_fields || attrs.metadata().fields().is_empty() {
            return init(None);
        }
        with_scratch(|fields| {
            attrs.record(&mut fields.recorder());
            let id = init(Some(&mut *fields));
            if id.is_none() {
                // No node took what was recorded (one that did gave back
                // its buffers, empty).
                fields.clear();
            }
            id
        })
    }

    /// Lets go of one holder of light span `id`, and of what it holds once
    /// it has none.
    fn release(&self, id: &Id) -> bool {
        // The span ends with its node locked: only the SDK or obskit's own
        // span runs, and the context is dropped after.
        let starter = self.light.tracer.get();
        let Some(freed) = store::lock(id).and_then(|node| node.release(starter)) else {
            return false;
        };
        self.release_parent(&freed.parent);
        if let Some(promoted) = freed.promoted {
            self.inner.try_close(promoted);
        }
        true
    }

    fn release_parent(&self, parent: &Parent) {
        match parent {
            Parent::None => {}
            Parent::Light(id) => {
                self.release(id);
            }
            Parent::Registry(id) => {
                self.inner.try_close(id.clone());
            }
        }
    }

    /// The registry span standing for light span `id`, made now if it has
    /// none: it starts with the span's name and JSON fields, and `bridged`
    /// as its OpenTelemetry side. `None` when `id` is not a light span.
    pub(crate) fn promote(
        &self,
        id: &Id,
        bridged: impl FnOnce(&S, &Id),
        fields: impl FnOnce(&S, &Id, String),
    ) -> Option<Id> {
        let (meta, parent) = {
            let node = store::lock(id)?;
            if let Some(promoted) = &node.promoted {
                return Some(promoted.clone());
            }
            (node.meta?, node.parent.clone())
        };
        let empty: [(&tracing::field::Field, Option<&dyn tracing::Value>); 0] = [];
        let values = meta.fields().value_set(&empty);
        let attrs = match LightSpans::registry_ancestor(&parent) {
            Some(parent) => Attributes::child_of(parent, meta, &values),
            None => Attributes::new_root(meta, &values),
        };
        let promoted = self.inner.new_span(&attrs);
        let otel = store::lock(id).and_then(|mut node| node.otel.take());
        match otel {
            // A span under a sampled parent brings its OpenTelemetry span.
            Some(otel) => {
                if let Some(span) = self.inner.span(&promoted) {
                    span.extensions_mut().replace(otel);
                }
            }
            None => bridged(&self.inner, &promoted),
        }
        let mut node = store::lock(id);
        let first = match node.as_deref_mut() {
            Some(node) if node.promoted.is_none() => {
                // Handed over with the node locked, so no line lists the
                // promoted span without its fields: only the registry runs.
                fields(&self.inner, &promoted, node.fields.take_json());
                node.promoted = Some(promoted.clone());
                return Some(promoted);
            }
            // Another thread promoted it first, or it closed meanwhile.
            Some(node) => node.promoted.clone(),
            None => None,
        };
        drop(node);
        self.inner.try_close(promoted);
        first
    }

    /// Light span `id`'s context, if it is a light span under an
    /// unsampled parent, not promoted.
    pub(crate) fn light_context(&self, id: &Id) -> Option<Context> {
        let node = store::lock(id)?;
        (node.promoted.is_none() && !node.otel.is_some()).then(|| node.cx.clone())
    }

    /// Runs `f` on the OpenTelemetry span of light span `id`, if it has
    /// one (see [`LightSpans::with_bridged`]).
    pub(crate) fn with_light_bridged<R>(
        &self,
        id: &Id,
        f: impl FnOnce(&mut Bridged) -> R,
    ) -> Option<R> {
        self.light.with_bridged(id, f)
    }

    /// Whether `id` is a light span with an OpenTelemetry span of its own.
    pub(crate) fn is_bridged_light(&self, id: &Id) -> bool {
        is_light(id) && store::lock(id).is_some_and(|node| node.otel.is_some())
    }

    /// The span context `follows` links to, for a light span with an
    /// OpenTelemetry span of its own (started now if it was not).
    fn link_to(&self, follows: &Id) -> Option<opentelemetry::trace::SpanContext> {
        let tracer = self.light.tracer.get()?;
        let linked = |otel: &mut Bridged| otel.context(tracer).span().span_context().clone();
        if let Some(linked) = self.light.with_bridged(follows, linked) {
            return Some(linked);
        }
        let span = self.inner.span(&self.registry_id(follows)?)?;
        let mut ext = span.extensions_mut();
        ext.get_mut::<Bridged>().map(linked)
    }

    /// The registry span `id` stands for: itself, or the span a promoted
    /// light span forwards to.
    pub(crate) fn registry_id(&self, id: &Id) -> Option<Id> {
        if !is_light(id) {
            return Some(id.clone());
        }
        store::lock(id)?.promoted.clone()
    }
}

/// Pushes an entered span.
fn push(owner: usize, id: Id, light: bool, started: bool, guard: Option<ContextGuard>) {
    ENTERED.with(|entered| {
        if let Ok(mut entered) = entered.try_borrow_mut() {
            entered.push(Entered {
                owner,
                id,
                light,
                started,
                _guard: guard,
            });
        }
    });
}

/// Takes the innermost entry of `id` (light or not) off this thread's
/// stack.
fn pop(owner: usize, id: &Id, light: bool) -> Option<Entered> {
    ENTERED.with(|entered| {
        let mut entered = entered.try_borrow_mut().ok()?;
        let is = |e: &Entered| e.owner == owner && e.light == light && e.id == *id;
        // Spans are exited innermost first, nearly always.
        if entered.last().is_some_and(is) {
            return entered.pop();
        }
        let at = entered.iter().rposition(is)?;
        Some(entered.remove(at))
    })
}

impl<S> Subscriber for WithLightSpans<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        self.inner.on_register_dispatch(subscriber);
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        self.inner.register_callsite(metadata)
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.inner.enabled(metadata)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.inner.max_level_hint()
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        match self.place(attrs) {
            Place::Registry => self.inner.new_span(attrs),
            Place::ChildOf(parent) => {
                let attrs = Attributes::child_of(parent, attrs.metadata(), attrs.values());
                self.inner.new_span(&attrs)
            }
            Place::Light(parent, carry) => match self.create(attrs, &parent, carry) {
                Some(id) => id,
                None => {
                    // No slot (more threads than the table serves): the
                    // registry decides.
                    self.release_parent(&parent);
                    self.inner.new_span(attrs)
                }
            },
        }
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        if !is_light(span) {
            return self.inner.record(span, values);
        }
        let Some(node) = store::lock(span) else {
            return;
        };
        if let Some(promoted) = node.promoted.clone() {
            drop(node);
            return self.inner.record(&promoted, values);
        }
        let bridged = node.otel.get().is_some_and(Bridged::records);
        drop(node);
        if bridged {
            let recorded = Recorded::new(|fields| values.record(fields));
            self.light.with_bridged(span, |otel| otel.apply(recorded));
        }
        if self.light.json_fields && !values.is_empty() {
            with_scratch(|fields| {
                values.record(&mut fields.recorder());
                if let Some(mut node) = store::lock(span) {
                    node.fields.append(fields);
                }
                fields.clear();
            });
        }
    }

    fn record_follows_from(&self, span: &Id, follows: &Id) {
        // A light span records nothing; one that follows from a light span
        // gets no link (its context is not sampled).
        if self.is_bridged_light(span) || self.is_bridged_light(follows) {
            // The link is recorded here: the bridge sees no light span.
            let Some(linked) = self.link_to(follows) else {
                return;
            };
            let mut linked = Some(linked);
            let mut link = |otel: &mut Bridged| {
                if let Some(linked) = linked.take() {
                    otel.add_link(linked);
                }
            };
            if self.light.with_bridged(span, &mut link).is_none()
                && let Some(span) = self.registry_id(span)
                && let Some(data) = self.inner.span(&span)
                && let Some(otel) = data.extensions_mut().get_mut::<Bridged>()
            {
                link(otel);
            }
            return;
        }
        let Some(follows) = self.registry_id(follows) else {
            return;
        };
        let Some(span) = self.registry_id(span) else {
            return;
        };
        self.inner.record_follows_from(&span, &follows);
    }

    fn event_enabled(&self, event: &Event<'_>) -> bool {
        self.inner.event_enabled(event)
    }

    fn event(&self, event: &Event<'_>) {
        self.inner.event(event);
    }

    fn enter(&self, span: &Id) {
        let owner = self.light.owner;
        if !is_light(span) {
            self.inner.enter(span);
            return push(owner, span.clone(), false, false, None);
        }
        let Some(mut node) = store::lock(span) else {
            return;
        };
        if let Some(promoted) = node.promoted.clone() {
            drop(node);
            self.inner.enter(&promoted);
            return push(owner, promoted, false, false, None);
        }
        let tracer = if node.otel.is_some() {
            self.light.tracer.get()
        } else {
            None
        };
        let (cx, started) = match (node.otel.get_mut(), tracer) {
            // Started on first entry; its context attached.
            (Some(otel), Some(tracer)) => {
                let cx = otel.context(tracer);
                (Some(cx), matches!(otel, Bridged::Started { .. }))
            }
            // Entered where its parent's span is current (a function
            // called by the handler), it attaches nothing.
            _ => ((!is_current(&node.cx)).then(|| node.cx.clone()), false),
        };
        drop(node);
        push(owner, span.clone(), true, started, cx.map(Context::attach));
    }

    fn exit(&self, span: &Id) {
        let owner = self.light.owner;
        if !is_light(span) {
            self.inner.exit(span);
            drop(pop(owner, span, false));
            return;
        }
        if let Some(entered) = pop(owner, span, true) {
            let started = entered.started;
            drop(entered);
            if started {
                let now = SystemTime::now();
                if let Some(mut node) = store::lock(span)
                    && let Some(Bridged::Started { last_exit, .. }) = node.otel.get_mut()
                {
                    *last_exit = Some(now);
                }
            }
            return;
        }
        if let Some(promoted) = self.registry_id(span) {
            self.inner.exit(&promoted);
            drop(pop(owner, &promoted, false));
        }
    }

    fn clone_span(&self, id: &Id) -> Id {
        if !is_light(id) {
            return self.inner.clone_span(id);
        }
        LightSpans::hold(id);
        id.clone()
    }

    fn try_close(&self, id: Id) -> bool {
        if !is_light(&id) {
            return self.inner.try_close(id);
        }
        self.release(&id)
    }

    fn current_span(&self) -> Current {
        match self.light.top() {
            None => Current::none(),
            Some((id, true)) => match store::lock(&id).and_then(|node| node.meta) {
                Some(meta) => Current::new(id, meta),
                None => Current::none(),
            },
            Some((_, false)) => self.inner.current_span(),
        }
    }
}

#[cfg(test)]
mod tests;
