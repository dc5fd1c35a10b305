//! The real `opentelemetry-otlp` exporters against the receiver, over both protocols, as the core crate will use them.

use std::collections::HashMap;
use std::time::Duration;

use obskit_test_receiver::{Behavior, Protocol, ReceivedSpan, Receiver, SpanKind};
use opentelemetry::KeyValue;
use opentelemetry::trace::{
    SpanKind as OtelSpanKind, TraceContextExt, Tracer, TracerProvider as _,
};
use opentelemetry_otlp::{SpanExporter, WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tonic::metadata::MetadataMap;

/// Records a server span with one child span and ends both.
fn record_two_spans(provider: &SdkTracerProvider) {
    let tracer = provider.tracer("obskit-exporter-test");
    let parent = tracer
        .span_builder("GET /users/{id}")
        .with_kind(OtelSpanKind::Server)
        .with_attributes([KeyValue::new("http.route", "/users/{id}")])
        .start(&tracer);
    let cx = opentelemetry::Context::current_with_span(parent);
    tracer.in_span_with_context("load user", &cx, |_| {});
    cx.span().end();
}

fn resource() -> Resource {
    Resource::builder().with_service_name("payments").build()
}

fn assert_parent_and_child(spans: &[ReceivedSpan], protocol: Protocol) {
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let child = spans.iter().find(|span| span.name == "load user").unwrap();
    let parent = spans
        .iter()
        .find(|span| span.name == "GET /users/{id}")
        .unwrap();
    assert_eq!(parent.kind, SpanKind::Server);
    assert_eq!(parent.attributes["http.route"], "/users/{id}");
    assert_eq!(parent.parent_span_id, None);
    assert_eq!(
        child.parent_span_id.as_deref(),
        Some(parent.span_id.as_str())
    );
    assert_eq!(child.trace_id, parent.trace_id);
    assert_eq!(parent.trace_id.len(), 32);
    assert_eq!(parent.service_name(), Some("payments"));
    assert_eq!(parent.scope_name, "obskit-exporter-test");
    assert_eq!(parent.protocol, protocol);
}

/// Runs `work` on a blocking-pool thread: there both a blocking and an async
/// reqwest client work (whichever `opentelemetry-otlp` features the workspace
/// picked), and the exporters' blocking calls cannot stall the runtime.
async fn off_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_protobuf_exporter_delivers_spans_and_headers() {
    let receiver = Receiver::start().await.unwrap();
    let url = receiver.http_traces_url();
    off_runtime(move || {
        let exporter = SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(url)
            .with_headers(HashMap::from([(
                "X-Api-Key".to_owned(),
                "Secret".to_owned(),
            )]))
            .with_timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter)
            .with_resource(resource())
            .build();
        record_two_spans(&provider);
        provider.shutdown().unwrap();
    })
    .await;

    let spans = receiver.wait_for_spans(2, Duration::from_secs(5)).await;
    assert_parent_and_child(&spans, Protocol::Http);
    let request = &receiver.requests()[0];
    assert_eq!(request.header("x-api-key"), Some("Secret"));
    assert_eq!(
        request.header("content-type"),
        Some("application/x-protobuf")
    );
}

/// The tonic channel needs a runtime; the batch processor's blocking
/// shutdown runs off the runtime's workers, as the machine notes advise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_exporter_delivers_spans_and_metadata() {
    let receiver = Receiver::start().await.unwrap();
    let mut metadata = MetadataMap::new();
    metadata.insert("x-api-key", "Secret".parse().unwrap());
    let exporter = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(receiver.grpc_endpoint())
        .with_metadata(metadata)
        .with_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource())
        .build();
    record_two_spans(&provider);
    off_runtime(move || provider.shutdown()).await.unwrap();

    let spans = receiver.wait_for_spans(2, Duration::from_secs(5)).await;
    assert_parent_and_child(&spans, Protocol::Grpc);
    assert_eq!(receiver.requests()[0].header("x-api-key"), Some("Secret"));
}

/// A collector that is down makes the export fail; nothing is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_exporter_sees_the_error_behavior() {
    let receiver = Receiver::start_with(Behavior::Error).await.unwrap();
    let url = receiver.http_traces_url();
    off_runtime(move || {
        let exporter = SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(url)
            .with_timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter)
            .with_resource(resource())
            .build();
        record_two_spans(&provider);
        provider.shutdown().unwrap();
    })
    .await;

    assert!(receiver.spans().is_empty());
    let requests = receiver.requests();
    assert!(!requests.is_empty());
    assert!(requests.iter().all(|request| !request.accepted));
}
