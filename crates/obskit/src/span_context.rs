//! What obskit asks of an OpenTelemetry context when it decides how to
//! carry a `tracing` span: the bridge and the light spans ask the same.
//! A leaf: it uses nothing else in the crate.

use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt as _;

/// Whether `cx` holds a valid span that is not sampled.
pub(crate) fn unsampled(cx: &Context) -> bool {
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid() && !sc.is_sampled()
}

/// Whether the current context's span is `cx`'s.
pub(crate) fn is_current(cx: &Context) -> bool {
    let span = cx.span();
    let sc = span.span_context();
    Context::map_current(|current| {
        let span = current.span();
        let now = span.span_context();
        // The same span (a context keeps its span's context in the span's
        // allocation), or one with the same context.
        std::ptr::eq(now, sc) || now == sc
    })
}
