//! The OpenTelemetry side of a `tracing` span: its context, a remote
//! parent, attributes, status and links set from code.
//!
//! obskit turns `tracing` spans into OpenTelemetry spans with a bridge of
//! its own, so this trait takes the place of tracing-opentelemetry's
//! `OpenTelemetrySpanExt` (which finds only tracing-opentelemetry's layer;
//! set `OBSKIT_SPAN_BRIDGE=tracing-opentelemetry` to keep using it).

use opentelemetry::trace::{SpanContext, Status, TraceContextExt as _};
use opentelemetry::{Context, Key, KeyValue, Value};
use tracing_subscriber::registry::LookupSpan as _;

use crate::bridged::Starter;
use crate::telemetry::ObskitSubscriber;
use crate::traces::bridge::{Bridged, Pending, SpanBridge};

/// Why [`SpanExt::set_parent`] did not take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetParentError {
    /// The span was already started (entered, or asked for its context):
    /// its parent is fixed. Set the parent right after creating the span.
    #[error(
        "the span already started, so its parent is fixed; call set_parent right after creating the span, before entering it"
    )]
    AlreadyStarted,
    /// No obskit bridge sees the span: obskit is not installed, the span is
    /// disabled, or tracing-opentelemetry bridges spans instead.
    #[error(
        "no obskit span bridge sees this span; install obskit (obskit::init!()), or use tracing-opentelemetry's OpenTelemetrySpanExt when OBSKIT_SPAN_BRIDGE=tracing-opentelemetry"
    )]
    NoBridge,
}

/// OpenTelemetry operations on a `tracing` span bridged by obskit.
///
/// ```
/// use obskit::SpanExt as _;
/// use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId};
///
/// let telemetry = obskit::testing::TestTelemetry::new();
///
/// // A message handler continues the trace its producer started.
/// let remote = SpanContext::new(
///     TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736_u128),
///     SpanId::from(0x00f0_67aa_0ba9_02b7_u64),
///     TraceFlags::SAMPLED,
///     true,
///     Default::default(),
/// );
/// let span = tracing::info_span!("handle_message");
/// span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote.clone()))?;
/// span.set_attribute("messaging.system", "kafka");
/// span.in_scope(|| tracing::info!("handled"));
/// drop(span);
///
/// let handled = telemetry.span("handle_message").expect("exported");
/// assert_eq!(handled.trace_id(), remote.trace_id().to_string());
/// assert_eq!(handled.parent_span_id(), Some(remote.span_id().to_string()));
/// assert_eq!(handled.attribute("messaging.system").as_deref(), Some("kafka"));
/// # Ok::<(), obskit::SetParentError>(())
/// ```
pub trait SpanExt {
    /// The span's OpenTelemetry context (the span started if it was not):
    /// what to inject into an outgoing request by hand. Empty when no obskit
    /// bridge sees the span.
    fn context(&self) -> Context;

    /// Makes `parent` (typically extracted from an incoming message) the
    /// span's parent. Call it before the span is first entered.
    ///
    /// A span created inside a trace that is not sampled records nothing;
    /// given a parent afterwards, it starts with its name and location and
    /// the fields recorded from then on, not the ones it was created with.
    fn set_parent(&self, parent: Context) -> Result<(), SetParentError>;

    /// Sets an attribute, whatever its name (no `tracing` field needed).
    fn set_attribute(&self, key: impl Into<Key>, value: impl Into<Value>);

    /// Sets the span's status.
    fn set_status(&self, status: Status);

    /// Links the span to another span (a batch job to the messages it reads).
    fn add_link(&self, span_context: SpanContext);
}

/// Runs `f` on the span's bridged state, if obskit's bridge sees the span.
fn with_bridged<R>(span: &tracing::Span, f: impl FnOnce(&Starter, &mut Bridged) -> R) -> Option<R> {
    span.with_subscriber(
        |(id, dispatch)| match dispatch.downcast_ref::<ObskitSubscriber>() {
            Some(subscriber) => with_light_or_bridged(subscriber, id, f),
            None => with_registry_bridged(dispatch, id, f),
        },
    )
    .flatten()
}

/// [`with_bridged`] for a span of a subscriber `dispatch` downcasts to.
fn with_registry_bridged<R>(
    dispatch: &tracing::Dispatch,
    id: &tracing::Id,
    f: impl FnOnce(&Starter, &mut Bridged) -> R,
) -> Option<R> {
    let bridge = dispatch.downcast_ref::<SpanBridge>()?;
    let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
    in_registry(bridge, registry, id, f)
}

/// Runs `f` on the bridged state of registry span `id`.
fn in_registry<R>(
    bridge: &SpanBridge,
    registry: &tracing_subscriber::Registry,
    id: &tracing::Id,
    f: impl FnOnce(&Starter, &mut Bridged) -> R,
) -> Option<R> {
    let data = registry.span(id)?;
    let mut extensions = data.extensions_mut();
    let bridged = extensions.get_mut::<Bridged>()?;
    Some(f(bridge.starter(), bridged))
}

/// [`with_bridged`] for a span of obskit's subscriber, which may be light:
/// `f` sees a light span's own OpenTelemetry span when it has one; else it
/// sees it as an unsampled bridged span, and a light span `f` gives a
/// parent (makes pending) becomes a registry span with that state.
fn with_light_or_bridged<R>(
    subscriber: &ObskitSubscriber,
    id: &tracing::Id,
    f: impl FnOnce(&Starter, &mut Bridged) -> R,
) -> Option<R> {
    let inner: &dyn tracing::Subscriber = subscriber.inner();
    let bridge = inner.downcast_ref::<SpanBridge>()?;
    if subscriber.is_bridged_light(id) {
        return subscriber.with_light_bridged(id, |bridged| f(bridge.starter(), bridged));
    }
    let Some(cx) = subscriber.light_context(id) else {
        let registry = inner.downcast_ref::<tracing_subscriber::Registry>()?;
        let id = subscriber.registry_id(id)?;
        return in_registry(bridge, registry, &id, f);
    };
    let mut bridged = Bridged::Unsampled { cx };
    let result = f(bridge.starter(), &mut bridged);
    if matches!(bridged, Bridged::Unsampled { .. }) {
        return Some(result);
    }
    subscriber.promote(
        id,
        |inner, promoted| {
            if let Some(span) = inner.span(promoted) {
                span.extensions_mut().replace(bridged);
            }
        },
        |inner, promoted, fields| {
            if let Some(span) = inner.span(promoted) {
                crate::logs::json::store_fields(&mut span.extensions_mut(), fields);
            }
        },
    );
    Some(result)
}

impl SpanExt for tracing::Span {
    fn context(&self) -> Context {
        with_bridged(self, |tracer, bridged| bridged.context(tracer)).unwrap_or_default()
    }

    fn set_parent(&self, parent: Context) -> Result<(), SetParentError> {
        let meta = self.metadata().ok_or(SetParentError::NoBridge)?;
        with_bridged(self, |_, bridged| match bridged {
            Bridged::Pending(pending) => {
                pending.set_parent(parent);
                Ok(())
            }
            Bridged::Unsampled { .. } => {
                *bridged = Bridged::Pending(Pending::new(meta, parent));
                Ok(())
            }
            Bridged::Started { .. } => Err(SetParentError::AlreadyStarted),
        })
        .unwrap_or(Err(SetParentError::NoBridge))
    }

    fn set_attribute(&self, key: impl Into<Key>, value: impl Into<Value>) {
        let attribute = KeyValue::new(key, value);
        with_bridged(self, |_, bridged| match bridged {
            Bridged::Pending(pending) => pending.push_attribute(attribute),
            Bridged::Started { cx, .. } => cx.span().set_attribute(attribute),
            Bridged::Unsampled { .. } => {}
        });
    }

    fn set_status(&self, status: Status) {
        with_bridged(self, |_, bridged| match bridged {
            Bridged::Pending(pending) => pending.set_status(status),
            Bridged::Started { cx, .. } => cx.span().set_status(status),
            Bridged::Unsampled { .. } => {}
        });
    }

    fn add_link(&self, span_context: SpanContext) {
        with_bridged(self, |_, bridged| match bridged {
            Bridged::Pending(pending) => pending.push_link(span_context),
            Bridged::Started { cx, .. } => cx.span().add_link(span_context, Vec::new()),
            Bridged::Unsampled { .. } => {}
        });
    }
}
