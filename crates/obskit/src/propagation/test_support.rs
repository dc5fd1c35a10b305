//! What the propagation formats' tests share: header maps from pairs, a
//! remote span context from fixed ids, and the random inputs every parser
//! and the whole propagator must survive without panicking (one generator
//! of each kind, so every format is tried the same way).

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

/// A header map holding `pairs`, in order (a name may repeat).
pub(super) fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

/// A remote span context with these hex ids, sampled or not.
pub(crate) fn span_context(trace_id: &str, span_id: &str, sampled: bool) -> SpanContext {
    SpanContext::new(
        TraceId::from_hex(trace_id).unwrap(),
        SpanId::from_hex(span_id).unwrap(),
        if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        },
        true,
        TraceState::default(),
    )
}

/// Calls `check` with `count` values made from `valid` by one to three
/// random edits (a byte replaced, removed or inserted, from `alphabet`).
pub(super) fn edited_values(
    seed: u64,
    valid: &str,
    alphabet: &[u8],
    count: usize,
    mut check: impl FnMut(&str),
) {
    let mut rng = fastrand::Rng::with_seed(seed);
    for _ in 0..count {
        let mut v = valid.as_bytes().to_vec();
        for _ in 0..rng.usize(1..4) {
            let i = rng.usize(0..v.len());
            match rng.u8(0..3) {
                0 => v[i] = alphabet[rng.usize(0..alphabet.len())],
                1 => {
                    v.remove(i);
                }
                _ => v.insert(i, alphabet[rng.usize(0..alphabet.len())]),
            }
            if v.is_empty() {
                break;
            }
        }
        let s = String::from_utf8(v).expect("ASCII edits of an ASCII value");
        check(&s);
    }
}

/// Calls `check` with `count` header maps of fewer than `max_headers`
/// headers named from `names`, each value up to five random `pieces` or
/// printable characters.
pub(super) fn random_headers(
    seed: u64,
    names: &[&'static str],
    pieces: &[String],
    max_headers: usize,
    count: usize,
    mut check: impl FnMut(&http::HeaderMap),
) {
    let mut rng = fastrand::Rng::with_seed(seed);
    for _ in 0..count {
        let mut h = http::HeaderMap::new();
        for _ in 0..rng.usize(0..max_headers) {
            let mut v = String::new();
            for _ in 0..rng.usize(0..6) {
                if rng.bool() {
                    v.push_str(&pieces[rng.usize(0..pieces.len())]);
                } else {
                    v.push(char::from(rng.u8(0x20..0x7f)));
                }
            }
            if let Ok(v) = http::HeaderValue::from_str(&v) {
                h.append(names[rng.usize(0..names.len())], v);
            }
        }
        check(&h);
    }
}
