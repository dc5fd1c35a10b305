//! `obskit dev` benchmarks: how fast the receiver ingests spans (decode + convert + store,
//! protobuf and OTLP/JSON), and how long the waterfall of a 1 000-span trace takes to render.
//!
//! Run with `taskset -c 0 cargo bench -p obskit-dev --bench dev` (one core).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use obskit_dev::log_line::LogLine;
use obskit_dev::model::{Attribute, Span, SpanId, SpanKind, StatusCode, TraceId};
use obskit_dev::receiver::{decode_json, decode_protobuf};
use obskit_dev::store::{Limits, Store};
use obskit_dev::ui::waterfall;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as ProtoSpan};
use prost::Message as _;

/// Spans per export: the SDKs' default batch size.
const BATCH: usize = 512;
/// Spans per trace in the export (a server span and its children).
const SPANS_PER_TRACE: usize = 4;

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// One export of `BATCH` spans shaped like an HTTP service's, trace ids starting at `first`.
fn export(first: u64) -> ExportTraceServiceRequest {
    let string = |s: &str| any_value::Value::StringValue(s.to_owned());
    let spans = (0..BATCH)
        .map(|i| {
            let trace = first + (i / SPANS_PER_TRACE) as u64;
            let mut trace_id = [0u8; 16];
            trace_id[..8].copy_from_slice(&trace.to_be_bytes());
            trace_id[8] = 1;
            let index = (i % SPANS_PER_TRACE) as u8;
            ProtoSpan {
                trace_id: trace_id.to_vec(),
                span_id: vec![index + 1; 8],
                parent_span_id: if index == 0 { Vec::new() } else { vec![1; 8] },
                name: if index == 0 {
                    "GET /orders/{id}".to_owned()
                } else {
                    "SELECT orders".to_owned()
                },
                kind: if index == 0 { 2 } else { 3 },
                start_time_unix_nano: 1_733_000_000_000_000_000 + i as u64 * 1000,
                end_time_unix_nano: 1_733_000_000_000_000_000 + i as u64 * 1000 + 2_500_000,
                attributes: vec![
                    kv("http.request.method", string("GET")),
                    kv("http.route", string("/orders/{id}")),
                    kv("url.path", string("/orders/12345")),
                    kv("http.response.status_code", any_value::Value::IntValue(200)),
                    kv("server.address", string("orders.internal")),
                    kv("network.protocol.version", string("1.1")),
                    kv("user_agent.original", string("curl/8.5.0")),
                    kv("request_id", string("b9c7a1f0e2d34c5b8a6f7e8d9c0b1a2f")),
                ],
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", string("orders")),
                    kv("service.version", string("1.2.3")),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn ingest(c: &mut Criterion) {
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(BATCH as u64));
    // The default limits: once 1 000 traces are stored, every new one evicts the oldest.
    let store = Store::new(Limits::default());
    let mut next = 0u64;
    group.bench_function("protobuf_512_spans", |b| {
        b.iter_batched(
            || {
                next += (BATCH / SPANS_PER_TRACE) as u64;
                export(next).encode_to_vec()
            },
            |body| store.insert_spans(decode_protobuf(black_box(&body)).unwrap()),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("json_512_spans", |b| {
        b.iter_batched(
            || {
                next += (BATCH / SPANS_PER_TRACE) as u64;
                serde_json::to_vec(&export(next)).unwrap()
            },
            |body| store.insert_spans(decode_json(black_box(&body)).unwrap()),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

/// A 1 000-span trace: a root, 10 children, each with 99 descendants in chains of 3 levels.
fn big_trace() -> Vec<Arc<Span>> {
    let id = |n: u32| {
        let mut bytes = [0u8; 8];
        bytes[4..].copy_from_slice(&(n + 1).to_be_bytes());
        SpanId(bytes)
    };
    (0..1000u32)
        .map(|n| {
            let parent = match n {
                0 => None,
                1..=10 => Some(id(0)),
                _ if n % 3 == 0 => Some(id(n % 10 + 1)),
                _ => Some(id(n - 1)),
            };
            let start = 1_733_000_000_000_000_000 + u64::from(n) * 50_000;
            Arc::new(Span {
                trace_id: TraceId([7; 16]),
                span_id: id(n),
                parent_span_id: parent,
                name: format!("SELECT <table_{n}>"),
                kind: if n == 0 {
                    SpanKind::Server
                } else {
                    SpanKind::Client
                },
                start_unix_nanos: start,
                end_unix_nanos: start + 1_000_000,
                status: if n % 97 == 0 {
                    StatusCode::Error
                } else {
                    StatusCode::Unset
                },
                status_message: String::new(),
                service: Arc::from("orders"),
                attributes: (0..6)
                    .map(|a| {
                        Attribute::new(
                            format!("db.attribute_{a}"),
                            format!("value \"{a}\" & <{n}>"),
                        )
                    })
                    .collect(),
                events: Vec::new(),
                links: Vec::new(),
            })
        })
        .collect()
}

fn render(c: &mut Criterion) {
    let spans = big_trace();
    let lines: Vec<Arc<LogLine>> = (0..200)
        .map(|i| {
            Arc::new(LogLine::parse(&format!(
                r#"{{"level":"INFO","message":"row {i}","trace_id":"07070707070707070707070707070707","span_id":"00000000{:08x}","n":{i}}}"#,
                i % 1000 + 1
            )))
        })
        .collect();
    c.bench_function("waterfall_1000_spans", |b| {
        b.iter(|| waterfall::body(&TraceId([7; 16]), black_box(&spans), &lines, &[], 0));
    });
}

criterion_group!(benches, ingest, render);
criterion_main!(benches);
