//! The four stacks the benchmarks compare, built once here so that the
//! `bench-server` binary (served on a port, loaded by `wrk`) and the
//! `per-request` binary (driven in-process, for allocation and instruction
//! counts) measure exactly the same instrumentation.
//!
//! ```
//! # fn main() -> anyhow::Result<()> {
//! use obskit_bench::stacks::{Stack, build};
//!
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! let built = build(Stack::Plain, "http://127.0.0.1:4318", &runtime)?;
//! let _router = built.router().clone();
//! println!("{}", built.finish());
//! # Ok(()) }
//! ```

use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use axum_prometheus::PrometheusMetricLayer;
use http::Request;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::app;

/// The stacks compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stack {
    /// axum alone.
    Plain,
    /// obskit fully on: JSON access log, RED and SLO metrics, every span sampled and exported.
    Obskit,
    /// obskit with every trace unsampled (`always_off`): logs and metrics only.
    ObskitUnsampled,
    /// tower-http TraceLayer, tracing-opentelemetry + OTLP batch exporter, axum-prometheus, JSON logs.
    Popular,
}

impl Stack {
    /// The name `bench/run.sh` and the tables use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Obskit => "obskit",
            Self::ObskitUnsampled => "obskit-unsampled",
            Self::Popular => "popular",
        }
    }
}

/// A stack ready to serve: the instrumented router and what must be shut
/// down (flushed) after the last request.
#[derive(Debug)]
pub enum Built {
    /// Plain axum: nothing to flush.
    Plain(Router),
    /// obskit: the telemetry guard flushes spans and log lines.
    Obskit {
        /// The routes with obskit's layer, SLOs and observability routes.
        router: Router,
        /// The installed telemetry.
        telemetry: obskit::Telemetry,
    },
    /// The popular crates: the SDK's tracer provider and the log writer's guard.
    Popular {
        /// The routes with TraceLayer and axum-prometheus.
        router: Router,
        /// The SDK provider with its batch processor.
        provider: SdkTracerProvider,
        /// Flushes the non-blocking log writer when dropped.
        log_guard: tracing_appender::non_blocking::WorkerGuard,
    },
}

impl Built {
    /// The instrumented routes.
    pub fn router(&self) -> &Router {
        match self {
            Self::Plain(router) | Self::Obskit { router, .. } | Self::Popular { router, .. } => {
                router
            }
        }
    }

    /// Flushes and stops the telemetry after the last request (blocking;
    /// call it outside the runtime) and says what was exported.
    pub fn finish(self) -> String {
        match self {
            Self::Plain(_) => "plain: nothing to flush".to_owned(),
            Self::Obskit { telemetry, .. } => {
                let report = telemetry.shutdown_blocking();
                format!(
                    "obskit shut down: spans_exported={} spans_dropped={} log_lines_dropped={} timed_out={}",
                    report.spans_exported,
                    report.spans_dropped,
                    report.log_lines_dropped,
                    report.timed_out
                )
            }
            Self::Popular {
                provider,
                log_guard,
                ..
            } => {
                let flushed = provider.shutdown();
                drop(log_guard);
                format!("popular stack shut down: tracer provider shutdown {flushed:?}")
            }
        }
    }
}

/// Builds `stack` around [`app::routes`], exporting spans to the OTLP/HTTP
/// base URL `otlp`, and installs its global subscriber (once per process).
/// `runtime` is entered where a stack spawns background tasks.
pub fn build(stack: Stack, otlp: &str, runtime: &tokio::runtime::Runtime) -> anyhow::Result<Built> {
    match stack {
        Stack::Plain => Ok(Built::Plain(app::routes())),
        Stack::Obskit => obskit_stack(otlp, true),
        Stack::ObskitUnsampled => obskit_stack(otlp, false),
        Stack::Popular => popular(otlp, runtime),
    }
}

/// obskit as its README tells users to set it up: configuration from the
/// environment, the layer with two SLOs, the observability routes.
///
/// `sampled` picks `always_on` or `always_off` whatever
/// `OTEL_TRACES_SAMPLER` says, so a stray variable cannot change what a
/// stack measures.
fn obskit_stack(otlp: &str, sampled: bool) -> anyhow::Result<Built> {
    use obskit::http::{HttpLayer, observability_routes};
    use obskit::slo::Slo;

    let telemetry = obskit_telemetry(otlp, sampled)?;
    let slos = [
        Slo::availability("availability", 0.999)?,
        Slo::latency("latency", Duration::from_millis(300), 0.99)?,
    ];
    let router = app::routes()
        .merge(observability_routes(&telemetry))
        .layer(HttpLayer::new(&telemetry).slos(slos)?);
    Ok(Built::Obskit { router, telemetry })
}

/// obskit installed from the environment, exporting to `otlp`, with every
/// trace sampled or none.
fn obskit_telemetry(otlp: &str, sampled: bool) -> anyhow::Result<obskit::Telemetry> {
    use obskit::config::Sampler;

    let sampler = if sampled {
        Sampler::AlwaysOn
    } else {
        Sampler::AlwaysOff
    };
    obskit::Config::from_env()
        .context("the OTEL_*/OBSKIT_* environment is invalid")?
        .build_info(obskit::build_info!())
        .sampler(sampler)?
        .otlp_endpoint(&format!("{}/v1/traces", otlp.trim_end_matches('/')))?
        .install()
        .context("cannot install obskit")
}

/// The unary gRPC service the gRPC rows measure: the test service
/// `obskit.test.v1.Echo` alone (`plain`) or behind obskit's `GrpcLayer`
/// with the same two SLOs as the HTTP stack. Driven in-process like the
/// HTTP routes; the returned [`Built`] flushes the telemetry.
pub fn grpc(stack: Stack, otlp: &str) -> anyhow::Result<(GrpcService, Built)> {
    use obskit::grpc::GrpcLayer;
    use obskit::slo::Slo;
    use tower::{Layer as _, ServiceExt};

    let echo = obskit_grpc_testing::EchoService::new()
        .without_trace_id()
        .server();
    match stack {
        Stack::Plain => Ok((
            tower::util::BoxCloneService::new(echo),
            Built::Plain(Router::new()),
        )),
        Stack::Obskit | Stack::ObskitUnsampled => {
            let telemetry = obskit_telemetry(otlp, stack == Stack::Obskit)?;
            let slos = [
                Slo::availability("availability", 0.999)?,
                Slo::latency("latency", Duration::from_millis(300), 0.99)?,
            ];
            let service = ServiceExt::<Request<tonic::body::Body>>::map_response(
                GrpcLayer::new(&telemetry).slos(slos)?.layer(echo),
                |r| r.map(tonic::body::Body::new),
            );
            Ok((
                tower::util::BoxCloneService::new(service),
                Built::Obskit {
                    router: Router::new(),
                    telemetry,
                },
            ))
        }
        Stack::Popular => anyhow::bail!("the gRPC rows have no popular stack"),
    }
}

/// A gRPC service driven in-process: tonic's bodies in and out.
pub type GrpcService = tower::util::BoxCloneService<
    Request<tonic::body::Body>,
    http::Response<tonic::body::Body>,
    std::convert::Infallible,
>;

/// The stack a careful user assembles from the popular crates: tower-http's
/// `TraceLayer` with an INFO span per request and an INFO line per response,
/// tracing-opentelemetry feeding the SDK's batch processor and the OTLP/HTTP
/// protobuf exporter, axum-prometheus for RED metrics, and
/// tracing-subscriber's JSON formatter behind a non-blocking writer.
fn popular(otlp: &str, runtime: &tokio::runtime::Runtime) -> anyhow::Result<Built> {
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

    // axum-prometheus spawns its upkeep task when the pair is made.
    let (prometheus_layer, metric_handle) = {
        let _entered = runtime.enter();
        PrometheusMetricLayer::pair()
    };
    let router = app::routes()
        .route("/metrics", get(move || std::future::ready(metric_handle.render())))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<Body>| {
                    tracing::info_span!("request", method = %request.method(), uri = %request.uri())
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(prometheus_layer);
    Ok(Built::Popular {
        router,
        provider,
        log_guard,
    })
}
