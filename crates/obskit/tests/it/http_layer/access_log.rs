//! The access line, and what stays out of it: probe and metrics paths,
//! configured exclusions, levels and `access_log(None)`.

use axum::Router;
use axum::routing::get;
use obskit::http::HttpLayer;
use obskit::reqwest;
use obskit::slo::Slo;
use obskit_test_receiver::Receiver;

use super::common::{DURATION_COUNT, LOG_WAIT, SPAN_WAIT, app, status_of, traced};
use crate::support;
use crate::support::{config, harness};
use obskit_test_support::prom;

#[tokio::test]
async fn probe_and_metrics_paths_stay_out_of_every_figure() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("excluded", &rx);
    let layer = HttpLayer::new(&h.telemetry)
        .slos([Slo::availability("availability", 0.99).unwrap()])
        .unwrap();
    let base = support::server::spawn(app(&h, layer)).await;
    let client = reqwest::Client::new();
    h.telemetry.health().mark_started();
    for _ in 0..3 {
        for path in [
            "/health/live",
            "/health/ready",
            "/health/startup",
            "/metrics",
        ] {
            assert_eq!(
                status_of(&client, "GET", &format!("{base}{path}")).await,
                200,
                "{path}"
            );
        }
    }
    assert_eq!(
        status_of(&client, "GET", &format!("{base}/users/1")).await,
        200
    );

    let text = h.telemetry.metrics().render();
    let routes = prom::label_values(&text, DURATION_COUNT, "http_route");
    assert_eq!(
        routes.into_iter().collect::<Vec<_>>(),
        ["/users/{id}"],
        "{text}"
    );
    let slo_total: f64 = prom::matching(&text, "obskit_slo_requests_total", &[])
        .iter()
        .map(|s| s.value)
        .sum();
    assert_eq!(slo_total, 1.0, "{text}");

    let logs = h.logs.clone();
    let report = h.telemetry.shutdown().await;
    assert_eq!(report.spans_exported, 1, "{report:?}");
    let spans = rx.wait_for_spans(1, SPAN_WAIT).await;
    let names: Vec<_> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["GET /users/{id}"]);
    let access: Vec<_> = logs
        .lines()
        .into_iter()
        .filter(|l| l["target"] == "obskit::access")
        .collect();
    assert_eq!(access.len(), 1, "{access:#?}");
    assert_eq!(access[0]["http.route"], "/users/{id}");
}

#[tokio::test]
async fn the_access_log_level_and_exclusions_are_configurable() {
    let h = harness(config(&[
        ("OTEL_SERVICE_NAME", "configured"),
        ("OTEL_TRACES_EXPORTER", "none"),
        ("RUST_LOG", "info"),
    ]));
    let warn = HttpLayer::new(&h.telemetry)
        .access_log(Some(tracing::Level::WARN))
        .excluded_paths(["/internal/{name}"]);
    let quiet = HttpLayer::new(&h.telemetry).access_log(None);
    let debug = HttpLayer::new(&h.telemetry).access_log(Some(tracing::Level::DEBUG));
    let router = Router::new()
        .route("/loud", get(|| async { "loud" }))
        .route("/internal/{name}", get(|| async { "internal" }))
        .route("/metrics", get(|| async { "now counted" }))
        .layer(warn)
        .merge(
            Router::new()
                .route("/quiet", get(|| async { "quiet" }))
                .layer(quiet),
        )
        .merge(
            Router::new()
                .route("/debug", get(|| async { "debug" }))
                .layer(debug),
        );
    let base = support::server::spawn(router).await;
    let client = reqwest::Client::new();
    for path in [
        "/loud",
        "/internal/a",
        "/internal/b",
        "/metrics",
        "/quiet",
        "/debug",
    ] {
        assert_eq!(
            status_of(&client, "GET", &format!("{base}{path}")).await,
            200
        );
    }
    let loud = h
        .logs
        .wait_for(LOG_WAIT, |l| l["message"] == "GET /loud 200")
        .expect("the /loud access line");
    assert_eq!(loud["level"], "WARN");
    h.logs
        .wait_for(LOG_WAIT, |l| l["message"] == "GET /metrics 200")
        .expect("/metrics is no longer excluded once the exclusions are replaced");
    let logs = h.logs.clone();
    let text = h.telemetry.metrics().render();
    h.telemetry.shutdown().await;
    let access: Vec<String> = logs
        .lines()
        .iter()
        .filter(|l| l["target"] == "obskit::access")
        .map(|l| l["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        access,
        ["GET /loud 200", "GET /metrics 200"],
        "no line for excluded paths, access_log(None), or a level RUST_LOG filters out"
    );
    let routes = prom::label_values(&text, DURATION_COUNT, "http_route");
    assert_eq!(
        routes.into_iter().collect::<Vec<_>>(),
        ["/debug", "/loud", "/metrics", "/quiet"],
        "the access log setting does not affect RED; the excluded template does\n{text}"
    );
}
