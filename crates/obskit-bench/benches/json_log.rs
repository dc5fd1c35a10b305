//! Formatting one JSON log line with five fields inside a span: obskit's
//! layer (built with `Config::build_layer_with_writer`, writing to `io::sink`)
//! against tracing-subscriber's `fmt().json()`.
//!
//! Run with `cargo bench -p obskit-bench --bench json_log`.
//!
//! Both write through tracing-appender's lossy non-blocking writer (obskit
//! always does), so the formatting is what differs; `fmt_json_direct`
//! writes straight into `io::sink` to show the writer's share. obskit's
//! line also carries the OpenTelemetry trace and span ids and the request
//! id of the context the request layer would have attached.

use std::io;

use criterion::{Criterion, criterion_group, criterion_main};
use obskit::config::TracesExporter;
use obskit::opentelemetry::trace::{TraceContextExt, Tracer as _};
use obskit::request_id::RequestId;
use tracing_appender::non_blocking::NonBlockingBuilder;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;

/// The event measured: five fields and a message, inside `handler`.
fn event() {
    tracing::info!(
        order_id = 42_u64,
        customer = "c-1",
        amount = 12.5_f64,
        paid = true,
        items = 3_i64,
        "order placed"
    );
}

/// Runs `event` in a loop inside a span with two fields, under `dispatch`.
fn bench_in_span(c: &mut Criterion, name: &str, dispatch: &tracing::Dispatch) {
    tracing::dispatcher::with_default(dispatch, || {
        let span = tracing::info_span!("handler", route = "/orders/{id}", user_id = 7_u64);
        let _entered = span.enter();
        c.bench_function(name, |b| b.iter(event));
    });
}

#[allow(clippy::print_stderr)]
fn json_log(c: &mut Criterion) {
    // obskit: the layer it returns holds its filter, JSON formatter and OTel bridge.
    let (telemetry, layer) = obskit::Config::default()
        .service_name("bench")
        .expect("a valid service name")
        .traces_exporter(TracesExporter::None)
        .build_layer_with_writer::<tracing_subscriber::Registry>(io::sink())
        .expect("obskit builds");
    let obskit_dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    let request_span = telemetry.tracer().start("GET /orders/{id}");
    let request_id = RequestId::parse(b"3f2c9a7e-bench").expect("a valid request id");
    {
        let _cx = request_id
            .add_to(&obskit::opentelemetry::Context::current_with_span(
                request_span,
            ))
            .attach();
        bench_in_span(c, "json_log/obskit", &obskit_dispatch);
    }
    let report = telemetry.shutdown_blocking();
    eprintln!(
        "json_log/obskit: log lines dropped by the writer: {}",
        report.log_lines_dropped
    );

    // tracing-subscriber's JSON formatter, same filter, same writer.
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(16_384)
        .finish(io::sink());
    let dropped = writer.error_counter();
    let fmt_dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(EnvFilter::new("info"))
            .with(tracing_subscriber::fmt::layer().json().with_writer(writer)),
    );
    bench_in_span(c, "json_log/fmt_json", &fmt_dispatch);
    drop(guard);
    eprintln!(
        "json_log/fmt_json: log lines dropped by the writer: {}",
        dropped.dropped_lines()
    );

    let direct = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(EnvFilter::new("info"))
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(io::sink),
            ),
    );
    bench_in_span(c, "json_log/fmt_json_direct", &direct);
}

criterion_group!(benches, json_log);
criterion_main!(benches);
