//! {{project-name}}: an axum service with obskit telemetry: JSON logs with trace ids,
//! OTLP traces, Prometheus RED and SLO metrics, and Kubernetes probes.
{%- if grpc %}
//! It also serves gRPC on the same port, with the standard gRPC health service.
{%- endif %}
//!
//! The application is [`app`]; `main.rs` only installs telemetry, builds the
//! [`Dependencies`] from the environment and serves it. Tests drive [`app`] directly with
//! `tower::ServiceExt::oneshot` (below) or start the binary and call it over a socket
//! (`tests/*.rs`).

// One module per concern; `main.rs` wires them together.
{%- if messaging != "none" %}
pub mod broker;
{%- endif %}
{%- if redis %}
pub mod cache;
{%- endif %}
{%- if grpc %}
pub mod greeter;
{%- endif %}
pub mod routes;
{%- if postgres %}
pub mod store;
{%- endif %}
{%- if messaging != "none" %}
pub mod tasks;
{%- endif %}
pub mod upstream;
{%- if messaging != "none" %}
pub mod worker;
{%- endif %}

use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
{%- if grpc %}
use obskit::grpc::{GrpcLayer, GrpcRoutes, HealthService};
{%- endif %}
use obskit::http::{HttpLayer, observability_routes};
use obskit::slo::Slo;

pub use upstream::Upstream;

/// Port the service listens on when `PORT` is not set.
pub const DEFAULT_PORT: u16 = 8080;

/// What the application calls, built once by `main` from the environment (or by a test).
pub struct Dependencies {
    /// The HTTP service `GET /relay/{name}` calls.
    pub upstream: Upstream,
{%- if grpc %}
    /// The gRPC client `GET /grpc-hello/{name}` calls the Greeter through.
    pub greeter: greeter::Client,
{%- endif %}
{%- if messaging != "none" %}
    /// The broker `POST /tasks` publishes to (the worker consumes from it too); `None`
    /// leaves the route out, for tests of the other routes.
    pub broker: Option<broker::Broker>,
{%- endif %}
{%- if postgres %}
    /// The database `POST /visits/{name}` uses; `None` leaves the route out, for tests of
    /// the other routes.
    pub pool: Option<obskit::db::postgres::Pool>,
{%- endif %}
{%- if redis %}
    /// The cache `GET /cached/{name}` uses; `None` leaves the route out, for tests of the
    /// other routes.
    pub cache: Option<cache::Cache>,
{%- endif %}
}

/// The service's objectives. They are exported on `/metrics`, where the stock alert rules
/// in alerts/ find them: changing an objective is a code change, not a rule change.
{%- if grpc %}
/// gRPC calls count against the same objectives as HTTP requests.
{%- endif %}
pub fn objectives() -> anyhow::Result<[Slo; 2]> {
    Ok([
        Slo::availability("availability", 0.999)?,
        Slo::latency("latency", Duration::from_millis(300), 0.99)?,
    ])
}

/// The whole application: the example routes, the probes and `/metrics`, all behind the
/// obskit layer (server spans, RED metrics, SLO counters, access log).
{%- if grpc %}
/// The gRPC services (`greeter.v1.Greeter`, the standard `grpc.health.v1.Health` and server
/// reflection) sit behind the gRPC layer, which does the same for each call.
{%- endif %}
pub fn app(telemetry: &obskit::Telemetry, deps: Dependencies) -> anyhow::Result<Router> {
    // `/health/ready` reports these checks; add one per dependency (database, queue, ...).
    telemetry.health().register(deps.upstream.health_check())?;
    let router = routes::router(deps.upstream);
{%- if messaging != "none" %}

    // Not ready while the broker connection is down: tasks could not be published.
    let router = match deps.broker {
        Some(broker) => {
            telemetry.health().register(broker.health_check())?;
            router.merge(tasks::router(broker))
        }
        None => router,
    };
{%- endif %}
{%- if postgres and redis %}
    // `GET /visits/{name}` reads the database through the cache.
    let router = match (&deps.pool, &deps.cache) {
        (Some(pool), Some(cache)) => {
            router.merge(cache::visits_router(cache.clone(), pool.clone()))
        }
        _ => router,
    };
{%- endif %}
{%- if postgres %}
    // The pool registered its readiness check (`postgresql`) when it was made.
    let router = match deps.pool {
        Some(pool) => router.merge(store::router(pool)),
        None => router,
    };
{%- endif %}
{%- if redis %}
    // The connection registered its readiness check (`redis`) when it was made.
    let router = match deps.cache {
        Some(cache) => router.merge(cache::router(cache)),
        None => router,
    };
{%- endif %}
{%- if grpc %}

    // gRPC services answer on the same port as HTTP (HTTP/2 with content-type
    // application/grpc). The health service answers SERVING while `/health/ready` is
    // ready, and NOT_SERVING from the first moment of a shutdown, for the whole server
    // ("") and for the Greeter by name; `liveness` and `startup` answer Kubernetes'
    // liveness and startup probes. Server reflection lets `grpcurl` and `grpcui` list
    // and call the services without the .proto. Health and reflection calls stay out of
    // the RED and SLO figures.
    let health = HealthService::new(telemetry).service::<greeter::Server>();
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(greeter::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let grpc = GrpcRoutes::new()
        .add_service(health.into_server())
        .add_service(greeter::GreeterService.into_server())
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?)
        .into_router()
        .layer(GrpcLayer::new(telemetry).slos(objectives()?)?);
    let router = router.merge(greeter::router(deps.greeter)).merge(grpc);
{%- endif %}

    // The HTTP layer goes outside, so it also sees unknown paths (and leaves gRPC calls
    // to the gRPC layer inside).
    Ok(router
        .merge(observability_routes(telemetry))
        .layer(HttpLayer::new(telemetry).slos(objectives()?)?))
}

/// Reads the listening port from `PORT`, defaulting to [`DEFAULT_PORT`].
pub fn port_from_env() -> anyhow::Result<u16> {
    match std::env::var("PORT") {
        Ok(value) => parse_port(&value),
        Err(std::env::VarError::NotPresent) => Ok(DEFAULT_PORT),
        Err(err) => {
            Err(err).context("PORT is not valid unicode; set it to a port number such as 8080")
        }
    }
}

/// Parses a port number, naming the variable and the fix when it is not one.
fn parse_port(value: &str) -> anyhow::Result<u16> {
    value
        .trim()
        .parse()
        .with_context(|| format!("PORT is `{value}`; set it to a port number such as 8080"))
}

/// Helpers for the unit tests of every module.
#[cfg(test)]
pub(crate) mod test_support {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    /// Sends one GET through `router`, without a socket, and reads the whole body (the
    /// obskit layer records a request when its body ends).
    pub(crate) async fn get(router: Router, uri: &str) -> (StatusCode, String) {
        let request = Request::get(uri).body(Body::empty()).unwrap();
        let response = router.oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    /// A URL on 127.0.0.1 where nothing listens.
    pub(crate) fn closed_port_url() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("http://127.0.0.1:{port}")
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use obskit::testing::TestTelemetry;

    use super::*;
    use crate::test_support::{closed_port_url, get};
    use crate::upstream::plain_client;

    /// The application as `main` builds it, recording into `telemetry`, with every
    /// dependency pointing where nothing listens.
    fn test_app(telemetry: &TestTelemetry) -> Router {
        let deps = Dependencies {
            upstream: Upstream::new(plain_client(), &closed_port_url()).unwrap(),
{%- if grpc %}
            greeter: greeter::client(telemetry, &closed_port_url()).unwrap(),
{%- endif %}
{%- if messaging != "none" %}
            broker: None,
{%- endif %}
{%- if postgres %}
            pool: None,
{%- endif %}
{%- if redis %}
            cache: None,
{%- endif %}
        };
        app(telemetry, deps).unwrap()
    }

    #[tokio::test]
    async fn a_request_gets_a_span_a_log_line_with_its_trace_id_and_metrics() {
        let telemetry = TestTelemetry::new();
        let app = test_app(&telemetry);
        let (status, _) = get(app.clone(), "/hello/ada").await;
        assert_eq!(status, StatusCode::OK);

        let span = telemetry
            .span("GET /hello/{name}")
            .expect("the server span");
        assert_eq!(
            span.attribute("http.response.status_code").as_deref(),
            Some("200")
        );
        let logs = telemetry.logs();
        let hello = logs
            .iter()
            .find(|line| line["message"] == "saying hello")
            .expect("the handler's log line");
        assert_eq!(hello["trace_id"], span.trace_id());

        let (status, metrics) = get(app, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            metrics.contains(r#"http_route="/hello/{name}""#),
            "{metrics}"
        );
        assert!(
            metrics.contains(
                r#"obskit_slo_objective_ratio{service_name="test",slo="availability"} 0.999"#
            ),
            "{metrics}"
        );
    }

    #[tokio::test]
    async fn readiness_reports_the_upstream_check_without_failing() {
        let telemetry = TestTelemetry::new();
        let app = test_app(&telemetry);
        // `obskit::serve` marks the service started once it listens; here, the test does.
        telemetry.health().mark_started();
        let (status, body) = get(app, "/health/ready").await;
        // The upstream check is not critical: down, it shows in the report only.
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            body.contains(r#""name":"upstream","status":"down""#),
            "{body}"
        );
    }

    #[test]
    fn parses_a_port_number() {
        assert_eq!(parse_port("8080").unwrap(), 8080);
        assert_eq!(parse_port(" 3000\n").unwrap(), 3000);
    }

    #[test]
    fn rejects_what_is_not_a_port_and_says_how_to_fix_it() {
        for bad in ["", "http", "65536", "-1"] {
            let message = format!("{:#}", parse_port(bad).unwrap_err());
            assert!(message.contains("set it to a port number"), "{message}");
        }
    }
}
