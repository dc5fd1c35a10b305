//! What the configured sampler will decide for a new span, when that is
//! known without asking it: a server span whose decision is known gets its
//! attributes in its builder (or none at all), instead of being started
//! bare and filled in afterwards.

use std::borrow::Cow;
use std::sync::Arc;

use opentelemetry::Context;
use opentelemetry::trace::{
    Span as _, SpanContext, SpanKind, TraceContextExt as _, TraceFlags, TraceState, Tracer as _,
};
use opentelemetry_sdk::trace::Tracer;

use super::ids::{random_span_id, random_trace_id};
use super::own::{Described, OwnSpans};
use crate::config::Sampler;

/// The sampler of a tracer provider, as far as its decisions can be told
/// in advance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sampling(Sampler);

impl Sampling {
    pub(crate) fn new(sampler: Sampler) -> Self {
        Self(sampler)
    }

    /// Whether a child of an unsampled parent is never sampled: the
    /// parent-based samplers follow the parent, `always_off` samples
    /// nothing. (`always_on` and a bare ratio may sample the child of a
    /// remote parent that was not sampled.)
    pub(crate) fn follows_parent(self) -> bool {
        match self.0 {
            Sampler::AlwaysOff
            | Sampler::ParentBasedAlwaysOn
            | Sampler::ParentBasedAlwaysOff
            | Sampler::ParentBasedTraceIdRatio(_) => true,
            Sampler::AlwaysOn | Sampler::TraceIdRatio(_) => false,
        }
    }

    /// Whether a new span under `parent` will be sampled, when the answer
    /// does not depend on a trace id yet to be drawn: `None` for a ratio
    /// sampler's new trace.
    pub(crate) fn predict(self, parent: &Context) -> Option<bool> {
        let span = parent.span();
        let sc = span.span_context();
        let parent_sampled = sc.is_valid().then(|| sc.is_sampled());
        match self.0 {
            Sampler::AlwaysOn => Some(true),
            Sampler::AlwaysOff => Some(false),
            Sampler::TraceIdRatio(ratio) => certain(ratio),
            Sampler::ParentBasedAlwaysOn => parent_sampled.or(Some(true)),
            Sampler::ParentBasedAlwaysOff => parent_sampled.or(Some(false)),
            Sampler::ParentBasedTraceIdRatio(ratio) => parent_sampled.or_else(|| certain(ratio)),
        }
    }
}

/// Starts a span of `kind` under `parent` and returns the context that
/// holds it. `describe` gives its name and attributes, and is called only
/// for a span that records; one that does not is named `bare_name` and
/// carries nothing.
///
/// When the sampler's answer is known in advance, a span that will record
/// is one of obskit's own ([`OwnSpans`]), with its attributes as the
/// request's values, and one that will not is no SDK span at all: just its
/// span context, made as the SDK makes it (the parent's trace and trace
/// state, or a new random trace; a new random span id; not sampled), since
/// the SDK hands an unsampled span to no processor. Otherwise the SDK's
/// sampler decides: the span is started bare and, if it records, renamed
/// and filled in.
pub(crate) fn start_described(
    tracer: &Tracer,
    own: &Arc<OwnSpans>,
    sampling: Sampling,
    parent: &Context,
    kind: SpanKind,
    bare_name: &'static str,
    describe: impl FnOnce() -> (Cow<'static, str>, Described),
) -> Context {
    let span = match sampling.predict(parent) {
        Some(false) => return parent.with_remote_span_context(unsampled_child(parent)),
        Some(true) if own.can_start(parent) => {
            let (name, described) = describe();
            return parent.with_span(own.start(parent, kind, name, described));
        }
        Some(true) => {
            // A shut provider or suppressed telemetry: the SDK's span, which
            // records nothing then.
            let (name, described) = describe();
            let builder = tracer
                .span_builder(name)
                .with_kind(kind)
                .with_attributes(described.into_key_values());
            tracer.build_with_context(builder, parent)
        }
        None => {
            let bare = tracer.span_builder(bare_name).with_kind(kind);
            let mut span = tracer.build_with_context(bare, parent);
            if span.is_recording() {
                let (name, described) = describe();
                span.update_name(name);
                span.set_attributes(described.into_key_values());
            }
            span
        }
    };
    parent.with_span(span)
}

/// The context of a new span under `parent` when the sampler is known to
/// leave it out: no SDK span, only its span context (see
/// [`start_described`]). `None` when it may be sampled, for the caller to
/// build the span.
pub(crate) fn known_unsampled(sampling: Sampling, parent: &Context) -> Option<Context> {
    (sampling.predict(parent) == Some(false))
        .then(|| parent.with_remote_span_context(unsampled_child(parent)))
}

/// The span context of an unsampled child of `parent`.
fn unsampled_child(parent: &Context) -> SpanContext {
    let span = parent.span();
    let sc = span.span_context();
    let (trace_id, flags, state) = if sc.is_valid() {
        (
            sc.trace_id(),
            sc.trace_flags().with_sampled(false),
            sc.trace_state().clone(),
        )
    } else {
        (
            random_trace_id(),
            TraceFlags::default(),
            TraceState::default(),
        )
    };
    SpanContext::new(trace_id, random_span_id(), flags, false, state)
}

/// A ratio's decision when it does not depend on the trace id.
fn certain(ratio: f64) -> Option<bool> {
    if ratio >= 1.0 {
        Some(true)
    } else if ratio <= 0.0 {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanKind, Tracer as _, TracerProvider as _};

    use super::*;
    use crate::traces::remote_parent;

    /// Every prediction the SDK's sampler, asked for real, agrees with.
    #[test]
    fn predictions_match_what_the_sdk_decides() {
        let samplers = [
            Sampler::AlwaysOn,
            Sampler::AlwaysOff,
            Sampler::TraceIdRatio(0.5),
            Sampler::TraceIdRatio(1.0),
            Sampler::TraceIdRatio(0.0),
            Sampler::ParentBasedAlwaysOn,
            Sampler::ParentBasedAlwaysOff,
            Sampler::ParentBasedTraceIdRatio(0.5),
            Sampler::ParentBasedTraceIdRatio(1.0),
        ];
        let parents = [Context::new(), remote_parent(true), remote_parent(false)];
        for sampler in samplers {
            let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
                .with_sampler(super::super::sdk_sampler(sampler))
                .build();
            let tracer = provider.tracer("test");
            let sampling = Sampling::new(sampler);
            for (i, cx) in parents.iter().enumerate() {
                let Some(predicted) = sampling.predict(cx) else {
                    continue;
                };
                for _ in 0..20 {
                    let span = tracer.build_with_context(
                        tracer.span_builder("s").with_kind(SpanKind::Server),
                        cx,
                    );
                    assert_eq!(
                        predicted,
                        span.span_context().is_sampled(),
                        "{sampler:?}, parent {i}"
                    );
                }
            }
            let follows = sampling.follows_parent();
            let span = tracer.build_with_context(tracer.span_builder("s"), &remote_parent(false));
            if follows {
                assert!(!span.span_context().is_sampled(), "{sampler:?}");
            }
        }
    }

    #[test]
    fn an_unsampled_child_is_what_the_sdk_would_make() {
        let tracer = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_sampler(super::super::sdk_sampler(Sampler::ParentBasedAlwaysOn))
            .build()
            .tracer("test");
        let sampling = Sampling::new(Sampler::ParentBasedAlwaysOn);
        let upstream = remote_parent(false);
        let own = test_own_spans();
        let cx = start_described(
            &tracer,
            &own,
            sampling,
            &upstream,
            SpanKind::Server,
            "GET",
            || unreachable!("an unsampled span is not described"),
        );
        let span = cx.span();
        let sc = span.span_context();
        let psc = upstream.span().span_context().clone();
        assert!(sc.is_valid() && !sc.is_sampled() && !sc.is_remote());
        assert_eq!(sc.trace_id(), psc.trace_id());
        assert_ne!(sc.span_id(), psc.span_id());
        assert!(!span.is_recording());

        let unsampled_root = || {
            let cx = start_described(
                &tracer,
                &own,
                Sampling::new(Sampler::AlwaysOff),
                &Context::new(),
                SpanKind::Server,
                "GET",
                || unreachable!(),
            );
            cx.span().span_context().clone()
        };
        let (a, b) = (unsampled_root(), unsampled_root());
        assert!(a.is_valid() && b.is_valid() && !a.is_sampled());
        assert_ne!(a.trace_id(), b.trace_id(), "a new trace each time");

        let sampled = start_described(
            &tracer,
            &own,
            sampling,
            &remote_parent(true),
            SpanKind::Server,
            "GET",
            || {
                (
                    "GET /users/{id}".into(),
                    Described::List(vec![opentelemetry::KeyValue::new(
                        "http.route",
                        "/users/{id}",
                    )]),
                )
            },
        );
        assert!(sampled.span().is_recording());
    }

    fn test_own_spans() -> Arc<OwnSpans> {
        Arc::new(OwnSpans::capture(Arc::default(), Arc::default()))
    }

    #[test]
    fn a_ratio_cannot_be_told_for_a_new_trace() {
        assert_eq!(
            Sampling::new(Sampler::TraceIdRatio(0.5)).predict(&Context::new()),
            None
        );
        assert_eq!(
            Sampling::new(Sampler::ParentBasedTraceIdRatio(0.5)).predict(&remote_parent(false)),
            Some(false)
        );
    }
}
