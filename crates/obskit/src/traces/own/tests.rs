//! obskit's own span against the SDK's: the same calls give the same span,
//! as `SpanData` and as the protobuf the collector decodes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceId,
    TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanLimits};
use parking_lot::Mutex;
use prost::Message as _;
use tracing::Metadata;

use super::*;
use crate::request_id::RequestId;
use crate::traces::attributes::{BridgedSpan, HttpServer, Text};
// The SDK's ended spans, kept.
use crate::traces::bridge::tests::Finished as Sdk;
use crate::traces::otlp_proto::Encoder;

fn at(nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(1_700_000_000_000_000_000 + nanos)
}

/// A served request with every optional attribute set.
fn http_attributes() -> HttpServer {
    HttpServer {
        method: "_OTHER",
        method_original: Some("PURGE".into()),
        route: Some(Arc::from("/users/{id}")),
        scheme: "https",
        path: Text::new("/users/42"),
        version: "2",
        user_agent: Some(http::HeaderValue::from_static("curl/8.5.0")),
        client: Some("[2001:db8::7]:51234".parse::<SocketAddr>().unwrap()),
        request_id: RequestId::parse(b"req-42").unwrap(),
        headers: vec![KeyValue::new("http.request.header.x-tenant", "acme")],
    }
}

/// A `tracing` callsite, with its code location or without.
struct Site(&'static Metadata<'static>);

impl tracing_core::Callsite for Site {
    fn set_interest(&self, _: tracing_core::Interest) {}
    fn metadata(&self) -> &Metadata<'_> {
        self.0
    }
}

static LOCATED_SITE: Site = Site(&LOCATED);
static LOCATED: Metadata<'static> = Metadata::new(
    "load_order",
    "shop::orders",
    tracing::Level::INFO,
    Some("src/orders.rs"),
    Some(42),
    Some("shop::orders"),
    tracing_core::field::FieldSet::new(
        &["order.id"],
        tracing_core::identify_callsite!(&LOCATED_SITE),
    ),
    tracing_core::metadata::Kind::SPAN,
);

static UNLOCATED_SITE: Site = Site(&UNLOCATED);
static UNLOCATED: Metadata<'static> = Metadata::new(
    "generated",
    "shop",
    tracing::Level::INFO,
    None,
    None,
    None,
    tracing_core::field::FieldSet::new(&[], tracing_core::identify_callsite!(&UNLOCATED_SITE)),
    tracing_core::metadata::Kind::SPAN,
);

/// A bridged span's fields, of every kind of value, long ones included:
/// 8 of them, 11 attributes with the code location.
fn bridged_fields() -> Vec<KeyValue> {
    vec![
        KeyValue::new("order.id", 42_i64),
        KeyValue::new("customer", "acme"),
        KeyValue::new("express", true),
        KeyValue::new("ratio", 0.25),
        KeyValue::new("note", "n".repeat(200)),
        KeyValue::new("k".repeat(130), -1_i64),
        KeyValue::new(
            "tags",
            opentelemetry::Value::Array(opentelemetry::Array::String(vec!["a".into(), "b".into()])),
        ),
        KeyValue::new("empty", ""),
    ]
}

/// A bridged span's attributes.
fn bridged_attributes() -> Described {
    Described::Bridged(BridgedSpan {
        meta: &LOCATED,
        fields: bridged_fields().into(),
    })
}

/// The attributes a span can start with, and its kind: a served request's,
/// a bridged span's.
fn starts() -> [(SpanKind, fn() -> Described); 2] {
    [
        (
            SpanKind::Server,
            || Described::HttpServer(http_attributes()),
        ),
        (SpanKind::Internal, bridged_attributes),
    ]
}

/// The same calls, on either span.
fn exercise<S: opentelemetry::trace::Span>(span: &mut S, extra: usize) {
    span.set_attribute(KeyValue::new("http.response.status_code", 503_i64));
    span.set_attribute(KeyValue::new("error.type", "_OTHER"));
    for i in 0..extra {
        span.set_attribute(KeyValue::new(format!("extra.{i}"), i as i64));
    }
    for i in 0..3 {
        span.add_event_with_timestamp(
            "exception",
            at(10 + i),
            vec![
                KeyValue::new("exception.message", "boom"),
                KeyValue::new("exception.type", "io"),
            ],
        );
    }
    for i in 0..2 {
        span.add_link(
            SpanContext::new(
                TraceId::from(7_u128 + i),
                SpanId::from(9_u64),
                TraceFlags::SAMPLED,
                true,
                TraceState::from_key_value([("k", "v")]).unwrap(),
            ),
            vec![KeyValue::new("a", 1_i64), KeyValue::new("b", 2_i64)],
        );
    }
    span.set_status(Status::error("the handler failed"));
    span.set_status(Status::Unset);
    span.update_name("GET /users/{id}");
    span.end_with_timestamp(at(500));
    // Nothing is recorded after the end.
    assert!(!span.is_recording());
    span.set_attribute(KeyValue::new("late", true));
}

fn parents() -> Vec<Context> {
    let remote = |flags: TraceFlags, state: TraceState| {
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736_u128),
            SpanId::from(0x00f0_67aa_0ba9_02b7_u64),
            flags,
            true,
            state,
        ))
    };
    vec![
        Context::new(),
        remote(
            TraceFlags::SAMPLED,
            TraceState::from_key_value([("vendor", "x")]).unwrap(),
        ),
        // `always_on` samples the child of an unsampled parent.
        remote(TraceFlags::default(), TraceState::default()),
    ]
}

/// The SDK's span and obskit's, for the same parent, start and calls.
fn both(
    parent: &Context,
    limits: SpanLimits,
    extra: usize,
    (kind, described): (SpanKind, fn() -> Described),
) -> (SpanData, OwnFinished) {
    let sdk = Sdk::default();
    let provider = SdkTracerProvider::builder()
        .with_span_limits(limits)
        .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn)
        .with_span_processor(sdk.clone())
        .build();
    let tracer = provider.tracer(SCOPE_NAME);
    let mut span = tracer.build_with_context(
        tracer
            .span_builder("GET")
            .with_kind(kind.clone())
            .with_attributes(described().into_key_values()),
        parent,
    );
    exercise(&mut span, extra);
    drop(span);

    let kept = Arc::new(Mutex::new(Vec::new()));
    let own = Arc::new(OwnSpans {
        targets: Targets::Keep(Arc::clone(&kept)),
        limits,
        closed: Arc::new(AtomicBool::new(false)),
    });
    assert!(own.can_start(parent));
    let mut span = own.start(parent, kind, "GET".into(), described());
    exercise(&mut span, extra);
    drop(span);

    let mut sdk = std::mem::take(&mut *sdk.0.lock());
    let mut own = std::mem::take(&mut *kept.lock());
    assert_eq!((sdk.len(), own.len()), (1, 1), "each span ends once");
    (sdk.remove(0), own.remove(0))
}

/// The ids and start time are drawn anew for each span: the own span's
/// are set to the SDK's, after checking what they must share.
fn align(sdk: &SpanData, own: &mut OwnFinished, parent: &Context) {
    let psc = parent.span().span_context().clone();
    let sc = &own.span_context;
    assert!(sc.is_valid() && sc.is_sampled() && !sc.is_remote());
    assert_eq!(sc.trace_flags(), sdk.span_context.trace_flags());
    assert_eq!(sc.trace_state(), sdk.span_context.trace_state());
    if psc.is_valid() {
        assert_eq!(sc.trace_id(), psc.trace_id());
    } else {
        assert_ne!(sc.trace_id(), sdk.span_context.trace_id(), "a new trace");
    }
    assert_ne!(sc.span_id(), psc.span_id());
    own.span_context = sdk.span_context.clone();
    own.start_time = sdk.start_time;
}

fn limits(attributes: u32, events: u32, links: u32, per_item: u32) -> SpanLimits {
    SpanLimits {
        max_attributes_per_span: attributes,
        max_events_per_span: events,
        max_links_per_span: links,
        max_attributes_per_event: per_item,
        max_attributes_per_link: per_item,
    }
}

fn decode(spans: &[Finished]) -> ExportTraceServiceRequest {
    let resource = Resource::builder_empty().with_service_name("svc").build();
    let mut encoder = Encoder::default();
    encoder.set_resource(&resource);
    ExportTraceServiceRequest::decode(encoder.encode(spans).as_slice()).expect("valid protobuf")
}

/// The own span is the SDK's span: as `SpanData` (what tests and the
/// console see) and as the protobuf a collector decodes (attributes in
/// the same order, flags, status, parent, kind, events, links and dropped
/// counts), with the default limits and with limits that drop.
#[test]
fn an_own_span_is_the_sdks_span() {
    let cases = [
        (SpanLimits::default(), 3),
        // 11 attributes at the start: one more fits, the rest are dropped.
        (limits(12, 2, 1, 1), 3),
        // Fewer than the attributes at the start: kept as the SDK keeps them.
        (limits(4, 0, 0, 0), 0),
    ];
    for (limits, extra) in cases {
        for (kind, described) in starts() {
            for (i, parent) in parents().iter().enumerate() {
                let (sdk, mut own) = both(parent, limits, extra, (kind.clone(), described));
                align(&sdk, &mut own, parent);
                let case = format!("{kind:?}, parent {i}, {limits:?}");
                assert_eq!(own.to_span_data(), sdk, "{case}");
                let ours = decode(&[Finished::Own(own.clone())]);
                let reference = decode(&[Finished::Sdk(sdk.clone())]);
                assert_eq!(ours, reference, "{case}");
                // Mixed in one batch, in one scope.
                let mixed = decode(&[Finished::Own(own), Finished::Sdk(sdk)]);
                assert_eq!(mixed.resource_spans[0].scope_spans.len(), 1);
                assert_eq!(mixed.resource_spans[0].scope_spans[0].spans.len(), 2);
            }
        }
    }
}

/// The typed attributes write what their `KeyValue`s write, including
/// text past the inline size and an IPv4 client.
#[test]
fn typed_attributes_encode_as_their_key_values() {
    let mut long = http_attributes();
    long.path = Text::new(&"/segment".repeat(40));
    long.client = Some("10.1.2.3:80".parse().unwrap());
    long.method_original = None;
    long.route = None;
    long.user_agent = None;
    for a in [http_attributes(), long] {
        let mut typed = Vec::new();
        a.encode(&mut typed, 9);
        let mut kvs = Vec::new();
        a.key_values(&mut kvs);
        assert_eq!(kvs.len(), a.len());
        let mut generic = Vec::new();
        crate::export::proto::attributes(&mut generic, 9, &kvs);
        assert_eq!(typed, generic);
    }
}

/// A bridged span's attributes write what the bridge's `KeyValue`s write:
/// the code location as the bridge reads it (none for a callsite without
/// one), then the fields.
#[test]
fn bridged_attributes_encode_as_their_key_values() {
    for (meta, fields) in [
        (&LOCATED, bridged_fields()),
        (&LOCATED, Vec::new()),
        (&UNLOCATED, bridged_fields()),
        (&UNLOCATED, Vec::new()),
    ] {
        let a = BridgedSpan {
            meta,
            fields: fields.clone().into(),
        };
        let mut expected = Vec::new();
        crate::bridged::fields::location(meta, &mut expected);
        expected.extend(fields);
        let mut kvs = Vec::new();
        a.key_values(&mut kvs);
        assert_eq!(kvs, expected);
        assert_eq!(a.len(), kvs.len());
        // Written twice (the second time from the cache), in two fields.
        for field in [9, 9, 3, 9] {
            let mut typed = Vec::new();
            a.encode(&mut typed, field);
            let mut generic = Vec::new();
            crate::export::proto::attributes(&mut generic, field, &kvs);
            assert_eq!(typed, generic, "{} in field {field}", meta.name());
        }
    }
}

/// A span dropped without an end is ended and exported, as the SDK does;
/// none is recorded once the provider is shut.
#[test]
fn a_dropped_span_ends_and_a_closed_one_records_nothing() {
    let kept = Arc::new(Mutex::new(Vec::new()));
    let closed = Arc::new(AtomicBool::new(false));
    let own = Arc::new(OwnSpans {
        targets: Targets::Keep(Arc::clone(&kept)),
        limits: SpanLimits::default(),
        closed: Arc::clone(&closed),
    });
    let span = own.start(
        &Context::new(),
        SpanKind::Server,
        "GET".into(),
        Described::List(vec![]),
    );
    assert!(span.is_recording());
    drop(span);
    let ended = kept.lock().pop().expect("exported on drop");
    assert!(ended.end_time > ended.start_time);

    let span = own.start(
        &Context::new(),
        SpanKind::Server,
        "GET".into(),
        Described::List(vec![]),
    );
    closed.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(!own.can_start(&Context::new()));
    drop(span);
    assert!(kept.lock().is_empty());
}
