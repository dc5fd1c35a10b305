//! The stack a careful user assembles from the popular crates: tower-http's
//! `TraceLayer` with an INFO span per request and an INFO line per response,
//! tracing-opentelemetry feeding the SDK's batch processor and the OTLP/HTTP
//! protobuf exporter, axum-prometheus for RED metrics, and
//! tracing-subscriber's JSON formatter behind a non-blocking writer.

use std::time::Duration;

use anyhow::Context as _;
use axum::body::Body;
use axum::routing::get;
use axum_prometheus::PrometheusMetricLayer;
use http::Request;
use obskit_bench::app;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Serves until SIGTERM, then shuts the tracer provider down (flushing spans).
#[allow(clippy::print_stderr)]
pub(crate) fn run(port: u16, otlp: &str) -> anyhow::Result<()> {
    // The SDK's batch processor exports from a plain thread, so the client is
    // reqwest's blocking one, built (and later dropped) outside the runtime.
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .context("cannot build the HTTP client")?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(format!("{}/v1/traces", otlp.trim_end_matches('/')))
        .with_http_client(client)
        .build()
        .context("cannot build the OTLP exporter")?;
    let provider = SdkTracerProvider::builder()
        .with_resource(
            Resource::builder()
                .with_service_name("bench-popular")
                .build(),
        )
        .with_batch_exporter(exporter)
        .build();
    let (writer, log_guard) = tracing_appender::non_blocking(std::io::stdout());
    tracing_subscriber::registry()
        .with(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with(tracing_subscriber::fmt::layer().json().with_writer(writer))
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench-server")))
        .try_init()
        .context("cannot install the tracing subscriber")?;

    let runtime = super::runtime()?;
    // axum-prometheus spawns its upkeep task when the pair is made.
    let (prometheus_layer, metric_handle) = {
        let _entered = runtime.enter();
        PrometheusMetricLayer::pair()
    };
    let app = app::routes()
        .route("/metrics", get(move || std::future::ready(metric_handle.render())))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<Body>| {
                    tracing::info_span!("request", method = %request.method(), uri = %request.uri())
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(prometheus_layer);

    let workers = runtime.metrics().num_workers();
    runtime.block_on(async {
        let listener = super::bind(port, "popular", workers).await?;
        axum::serve(listener, app)
            .with_graceful_shutdown(super::termination())
            .await
            .context("the HTTP server failed")
    })?;
    drop(runtime);
    let flushed = provider.shutdown();
    drop(log_guard);
    eprintln!("bench-server: popular stack shut down: tracer provider shutdown {flushed:?}");
    Ok(())
}
