//! The per-request cost of `HttpLayer`: one `GET /users/42` through the
//! bench routes with `oneshot`, bare and with obskit (every span sampled and
//! exported to an in-process OTLP sink; sampled with no exporter; unsampled);
//! and the same for `GET /orders/42`, whose handler adds one
//! `#[tracing::instrument]` span: the difference between the two is what a
//! user's own bridged span costs.
//!
//! Run with `cargo bench -p obskit-bench --bench hot_path`.
//!
//! Criterion times the request on the bench thread. The export thread and
//! the sink run beside it on the other core, so their CPU is not in these
//! times; `bench/run.sh` measures whole-process CPU per request.

use std::io;

use axum::Router;
use axum::body::Body;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use obskit::Telemetry;
use obskit::config::{Sampler, TracesExporter};
use obskit::http::HttpLayer;
use obskit::slo::Slo;
use obskit_bench::{app, sink::Sink};
use tower::ServiceExt;
use tracing_subscriber::layer::SubscriberExt;

/// The two routes timed: without and with a `#[tracing::instrument]` child span.
const PATHS: [(&str, &str); 2] = [("users", "/users/42"), ("orders", "/orders/42")];

/// One request, its body read to the end.
fn request(runtime: &tokio::runtime::Runtime, router: &Router, path: &str) {
    runtime.block_on(async {
        let response = router
            .clone()
            .oneshot(
                Request::get(path)
                    .body(Body::empty())
                    .expect("a valid request"),
            )
            .await
            .expect("axum routers are infallible");
        assert_eq!(response.status(), StatusCode::OK);
        let body = response
            .into_body()
            .collect()
            .await
            .expect("an in-memory body");
        std::hint::black_box(body);
    });
}

/// obskit built as a user composing their own subscriber would, logs into `io::sink`.
fn instrumented(config: obskit::Config) -> (Telemetry, tracing::Dispatch, Router) {
    let (telemetry, layer) = config
        .service_name("bench")
        .expect("a valid service name")
        .build_layer_with_writer::<tracing_subscriber::Registry>(io::sink())
        .expect("obskit builds");
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    telemetry.set_diagnostics_dispatch(dispatch.clone());
    let slos = [
        Slo::availability("availability", 0.999).expect("a valid SLO"),
        Slo::latency("latency", std::time::Duration::from_millis(300), 0.99).expect("a valid SLO"),
    ];
    let router = app::routes().layer(HttpLayer::new(&telemetry).slos(slos).expect("valid SLOs"));
    (telemetry, dispatch, router)
}

#[allow(clippy::print_stderr)]
fn hot_path(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let sink = Sink::start().expect("the in-process OTLP sink starts");
    let mut group = c.benchmark_group("hot_path");

    let bare = app::routes();
    for (route, path) in PATHS {
        group.bench_function(format!("bare/{route}"), |b| {
            b.iter(|| request(&runtime, &bare, path));
        });
    }

    let variants = [
        (
            "obskit_sampled_exported",
            obskit::Config::default()
                .sampler(Sampler::AlwaysOn)
                .and_then(|c| c.otlp_endpoint(&sink.traces_url())),
        ),
        (
            "obskit_sampled_no_exporter",
            obskit::Config::default()
                .sampler(Sampler::AlwaysOn)
                .map(|c| c.traces_exporter(TracesExporter::None)),
        ),
        (
            "obskit_unsampled",
            obskit::Config::default()
                .sampler(Sampler::AlwaysOff)
                .and_then(|c| c.otlp_endpoint(&sink.traces_url())),
        ),
    ];
    for (name, config) in variants {
        let (telemetry, dispatch, router) = instrumented(config.expect("a valid configuration"));
        let spans_before = sink.counts().spans();
        tracing::dispatcher::with_default(&dispatch, || {
            for (route, path) in PATHS {
                group.bench_function(format!("{name}/{route}"), |b| {
                    b.iter(|| request(&runtime, &router, path));
                });
            }
        });
        let report = telemetry.shutdown_blocking();
        eprintln!(
            "hot_path/{name}: spans exported {} (sink received {}), dropped {}, log lines dropped {}",
            report.spans_exported,
            sink.counts().spans() - spans_before,
            report.spans_dropped,
            report.log_lines_dropped
        );
    }
    group.finish();
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
