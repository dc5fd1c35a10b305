//! Health checks run untraced: a check that calls a dependency through
//! obskit's HTTP client exports no span and sends no trace context, so an
//! idle service exports nothing; the same call outside a check is traced.

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use obskit::health::Check;
use obskit_test_receiver::Receiver;
use support::{config, harness};

/// An upstream that records the `traceparent` of each call.
async fn upstream() -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let app = Router::new().route(
        "/health/live",
        get(move |headers: http::HeaderMap| {
            let record = Arc::clone(&record);
            async move {
                record.lock().unwrap().push(
                    headers
                        .get("traceparent")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                );
                "ok"
            }
        }),
    );
    (support::server::spawn(app).await, seen)
}

#[tokio::test]
async fn an_idle_service_with_a_dependency_check_exports_no_span() {
    let rx = Receiver::start().await.unwrap();
    let h = harness(config(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY", "10"),
    ]));
    let (base, seen) = upstream().await;
    let client = obskit::http::HttpClientMiddleware::new(&h.telemetry).wrap(reqwest::Client::new());
    let url = format!("{base}/health/live");
    let check_client = client.clone();
    let check_url = url.clone();
    let health = h.telemetry.health();
    health
        .register(
            Check::new("upstream", move || {
                let client = check_client.clone();
                let url = check_url.clone();
                async move {
                    client
                        .get(&url)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
            })
            .cache_for(Duration::ZERO),
        )
        .unwrap();
    health.mark_started();
    // Probes, as Kubernetes sends them, and the background refresh.
    for _ in 0..3 {
        let report = health.readiness().await;
        assert_eq!(report.status, obskit::health::Status::Up, "{report:?}");
    }
    // A request span around the probe must not leak into the check either.
    {
        let _span = tracing::info_span!("probe_handler").entered();
        let report = health.readiness().await;
        assert_eq!(report.status, obskit::health::Status::Up);
    }
    let checked = seen.lock().unwrap().len();
    assert!(checked >= 4, "the check ran {checked} times");
    assert!(
        seen.lock().unwrap().iter().all(Option::is_none),
        "a check sent trace context: {:?}",
        seen.lock().unwrap()
    );

    // The same call outside a check is traced and propagated.
    client.get(&url).send().await.unwrap();
    assert!(seen.lock().unwrap().last().unwrap().is_some());

    let report = h.telemetry.shutdown().await;
    let spans = rx.wait_for_spans(2, Duration::from_millis(500)).await;
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names.iter().filter(|n| **n == "GET").count(),
        1,
        "only the call outside the check: {names:?}"
    );
    assert_eq!(report.spans_exported, spans.len() as u64, "{report:?}");
    assert!(names.contains(&"probe_handler"), "{names:?}");
}
