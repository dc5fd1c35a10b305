//! What propagation allocates on the request path, counted by a counting
//! global allocator: nothing to find that a request carries no context in
//! any listed format, and one allocation per header written (its value)
//! when injecting, whatever the formats.

use obskit::config::PropagationFormat as Kind;
use obskit::opentelemetry::Context;
use obskit::opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use obskit::propagation::Propagator;
use stats_alloc::Region;

use crate::{GLOBAL, exclusive};

const ROUNDS: usize = 1_000;

/// Allocations per call of `f`, over [`ROUNDS`] calls: the fewest of a
/// few passes. The allocator counts every thread, and the test harness's
/// own thread may allocate now and then; what the path itself allocates
/// it allocates in every pass.
fn allocations_per_call(mut f: impl FnMut()) -> f64 {
    f(); // warm-up: lazily built statics
    let mut fewest = usize::MAX;
    for _ in 0..5 {
        let region = Region::new(GLOBAL);
        for _ in 0..ROUNDS {
            f();
        }
        fewest = fewest.min(region.change().allocations);
    }
    fewest as f64 / ROUNDS as f64
}

#[test]
fn propagation_allocates_nothing_without_context_and_one_value_per_header() {
    let _alone = exclusive();
    let every = Propagator::new(&[
        Kind::TraceContext,
        Kind::Baggage,
        Kind::B3,
        Kind::B3Multi,
        Kind::Jaeger,
    ]);
    let mut plain = http::HeaderMap::new();
    plain.insert("host", "example.com".parse().unwrap());
    plain.insert("user-agent", "curl/8".parse().unwrap());
    plain.insert("accept", "*/*".parse().unwrap());
    plain.insert("x-request-id", "abc".parse().unwrap());
    for p in [&Propagator::default(), &every] {
        let per_call = allocations_per_call(|| {
            let cx = p.extract(&plain);
            assert!(!cx.span().span_context().is_valid());
        });
        assert_eq!(per_call, 0.0, "{p:?}: extraction without context");
    }

    let cx = Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736_u128),
        SpanId::from(0x00f0_67aa_0ba9_02b7_u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ));
    for (list, headers) in [
        (vec![Kind::TraceContext], 1),
        (vec![Kind::B3], 1),
        (vec![Kind::B3Multi], 3),
        (vec![Kind::Jaeger], 1),
        (
            vec![Kind::TraceContext, Kind::Baggage, Kind::B3, Kind::Jaeger],
            3,
        ),
    ] {
        let p = Propagator::new(&list);
        let mut out = http::HeaderMap::with_capacity(16);
        p.inject(&cx, &mut out);
        assert_eq!(out.len(), headers, "{list:?}: {out:?}");
        let per_call = allocations_per_call(|| {
            out.clear();
            p.inject(&cx, &mut out);
        });
        assert!(
            per_call <= headers as f64,
            "{list:?}: {per_call} allocations for {headers} headers"
        );
    }
}
