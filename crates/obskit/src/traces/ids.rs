//! New trace and span ids, made as the SDK's random id generator makes
//! them: every id obskit draws itself (its own spans, the span
//! contexts of spans the sampler leaves out) come from here.

use opentelemetry::trace::{SpanId, TraceId};

/// A new random trace id, as the SDK's id generator makes one: never zero
/// (an invalid id).
pub(crate) fn random_trace_id() -> TraceId {
    TraceId::from(nonzero(|| fastrand::u128(..)))
}

/// A new random span id, never zero (see [`random_trace_id`]).
pub(crate) fn random_span_id() -> SpanId {
    SpanId::from(nonzero(|| fastrand::u64(..)))
}

/// A random id that is not zero (an invalid id): drawn again in the
/// unlikely case, which keeps every other value equally likely. Drawing
/// from a range (`1..`) would instead map a full-width draw onto it, a
/// wide multiplication and division on every id.
fn nonzero<T: Default + PartialEq>(draw: impl Fn() -> T) -> T {
    loop {
        let id = draw();
        if id != T::default() {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_draw_is_drawn_again() {
        let draws = std::cell::Cell::new(0_u64);
        let id = nonzero(|| {
            draws.set(draws.get() + 1);
            draws.get() / 3
        });
        assert_eq!((id, draws.get()), (1, 3));
    }

    #[test]
    fn ids_are_valid_and_differ() {
        assert_ne!(random_trace_id(), TraceId::INVALID);
        assert_ne!(random_span_id(), SpanId::INVALID);
        assert_ne!(random_span_id(), random_span_id());
    }
}
