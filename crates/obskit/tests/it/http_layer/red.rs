//! RED figures: exact counts after known traffic, the in-flight gauge,
//! bounded route cardinality, unknown methods, and an exposition `promtool`
//! accepts.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use obskit::http::HttpLayer;
use obskit::reqwest;
use obskit::slo::Slo;
use obskit_test_receiver::Receiver;

use super::common::{DURATION_COUNT, SPAN_WAIT, app, call, metrics_only, status_of, traced};
use crate::support;
use obskit_test_support::prom;

#[tokio::test]
async fn red_figures_are_exact_after_known_traffic() {
    let h = metrics_only("red");
    let base = support::server::spawn(app(&h, HttpLayer::new(&h.telemetry))).await;
    let client = reqwest::Client::new();

    for id in 1..=3 {
        assert_eq!(
            status_of(&client, "GET", &format!("{base}/users/{id}")).await,
            200
        );
    }
    for _ in 0..2 {
        assert_eq!(
            status_of(&client, "POST", &format!("{base}/users")).await,
            201
        );
    }
    assert_eq!(
        status_of(&client, "GET", &format!("{base}/boom")).await,
        500
    );
    for id in ["7", "8"] {
        assert_eq!(
            status_of(&client, "GET", &format!("{base}/api/v1/items/{id}")).await,
            200
        );
    }
    assert_eq!(
        status_of(&client, "GET", &format!("{base}/no/such/page")).await,
        404
    );
    // A method the route does not accept: the route matched, the method did not.
    assert_eq!(
        status_of(&client, "DELETE", &format!("{base}/users/1")).await,
        405
    );

    let text = h.telemetry.metrics().render();
    let svc = ("service_name", "red");
    let count = |labels: &[(&str, &str)]| prom::exact(&text, DURATION_COUNT, labels);
    assert_eq!(
        count(&[
            svc,
            ("http_request_method", "GET"),
            ("http_route", "/users/{id}"),
            ("http_response_status_code", "200")
        ]),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        count(&[
            svc,
            ("http_request_method", "POST"),
            ("http_route", "/users"),
            ("http_response_status_code", "201")
        ]),
        Some(2.0)
    );
    assert_eq!(
        count(&[
            svc,
            ("http_request_method", "GET"),
            ("http_route", "/boom"),
            ("http_response_status_code", "500"),
            ("error_type", "500"),
        ]),
        Some(1.0),
        "a 5xx carries error_type\n{text}"
    );
    assert_eq!(
        count(&[
            svc,
            ("http_request_method", "GET"),
            ("http_route", "/api/v1/items/{id}"),
            ("http_response_status_code", "200")
        ]),
        Some(2.0),
        "a nested router reports the full template\n{text}"
    );
    assert_eq!(
        count(&[
            svc,
            ("http_request_method", "GET"),
            ("http_route", "_unmatched"),
            ("http_response_status_code", "404")
        ]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        count(&[
            svc,
            ("http_request_method", "DELETE"),
            ("http_route", "/users/{id}"),
            ("http_response_status_code", "405")
        ]),
        Some(1.0),
        "{text}"
    );
    // Nothing else: exactly these six series, and the raw paths are nowhere.
    assert_eq!(
        prom::series(&text, "http_server_request_duration_seconds").len(),
        6,
        "{text}"
    );
    let routes = prom::label_values(&text, DURATION_COUNT, "http_route");
    assert_eq!(
        routes.into_iter().collect::<Vec<_>>(),
        [
            "/api/v1/items/{id}",
            "/boom",
            "/users",
            "/users/{id}",
            "_unmatched"
        ]
    );
    for raw in ["/users/1", "/api/v1/items/7", "/no/such/page"] {
        assert!(
            !text.contains(&format!("\"{raw}\"")),
            "raw path {raw} in\n{text}"
        );
    }
    // The histogram is consistent: +Inf bucket equals the count.
    let inf = prom::value(
        &text,
        "http_server_request_duration_seconds_bucket",
        &[
            ("http_route", "/users/{id}"),
            ("http_request_method", "GET"),
            ("le", "+Inf"),
        ],
    );
    assert_eq!(inf, Some(3.0));
    // The semantic-convention buckets, for the server and the client alike.
    let les: Vec<String> = prom::matching(
        &text,
        "http_server_request_duration_seconds_bucket",
        &[
            ("http_route", "/users/{id}"),
            ("http_request_method", "GET"),
        ],
    )
    .into_iter()
    .map(|s| s.labels["le"].clone())
    .collect();
    assert_eq!(
        les,
        [
            "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1", "2.5",
            "5", "7.5", "10", "+Inf"
        ]
    );
    // No request is in flight any more.
    for m in ["GET", "POST", "DELETE"] {
        assert_eq!(
            prom::exact(
                &text,
                "http_server_active_requests",
                &[svc, ("http_request_method", m), ("url_scheme", "http")]
            ),
            Some(0.0),
            "{text}"
        );
    }
}

#[tokio::test]
async fn active_requests_follow_an_in_flight_request() {
    let h = metrics_only("active");
    let release = Arc::new(tokio::sync::Notify::new());
    let r = Arc::clone(&release);
    let router = Router::new()
        .route(
            "/hold",
            get(move || {
                let r = Arc::clone(&r);
                async move {
                    r.notified().await;
                    "released"
                }
            }),
        )
        .layer(HttpLayer::new(&h.telemetry));
    let base = support::server::spawn(router).await;
    let client = reqwest::Client::new();
    let pending = tokio::spawn({
        let client = client.clone();
        async move { status_of(&client, "GET", &format!("{base}/hold")).await }
    });
    let gauge = || {
        prom::value(
            &h.telemetry.metrics().render(),
            "http_server_active_requests",
            &[("http_request_method", "GET")],
        )
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while gauge() != Some(1.0) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the gauge never reached 1"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    release.notify_one();
    assert_eq!(pending.await.unwrap(), 200);
    assert_eq!(gauge(), Some(0.0));
}

#[tokio::test]
async fn ten_thousand_random_unmatched_paths_add_at_most_one_series() {
    let h = metrics_only("cardinality");
    let base = support::server::spawn(app(&h, HttpLayer::new(&h.telemetry))).await;
    let client = reqwest::Client::new();
    assert_eq!(
        status_of(&client, "GET", &format!("{base}/users/1")).await,
        200
    );
    assert_eq!(
        status_of(&client, "GET", &format!("{base}/boom")).await,
        500
    );

    let before = h.telemetry.metrics().render();
    let series_before = prom::series(&before, "http_server_request_duration_seconds");
    let routes_before = prom::label_values(&before, DURATION_COUNT, "http_route");

    let workers = (0..8).map(|w| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let mut rng = fastrand::Rng::with_seed(w);
            for i in 0..1250 {
                let path = match i % 5 {
                    0 => format!("/{:032x}", rng.u128(..)),
                    1 => format!("/users/{}/orders/{}", rng.u64(..), rng.u32(..)),
                    2 => format!("/api/v2/items/{}", rng.u64(..)),
                    3 => format!("/%2e%2e/{}/%3Cscript%3E", rng.alphanumeric()),
                    _ => format!("/users/{}/", rng.u16(..)),
                };
                let status = status_of(&client, "GET", &format!("{base}{path}")).await;
                assert_eq!(status, 404, "{path}");
            }
        }
    });
    futures_util::future::join_all(workers).await;

    let after = h.telemetry.metrics().render();
    let series_after = prom::series(&after, "http_server_request_duration_seconds");
    let routes_after = prom::label_values(&after, DURATION_COUNT, "http_route");
    assert!(
        series_after.len() <= series_before.len() + 1,
        "{} series before, {} after",
        series_before.len(),
        series_after.len()
    );
    assert!(
        routes_after.len() <= routes_before.len() + 1,
        "{routes_after:?}"
    );
    assert!(series_after.is_superset(&series_before));
    assert_eq!(
        prom::exact(
            &after,
            DURATION_COUNT,
            &[
                ("service_name", "cardinality"),
                ("http_request_method", "GET"),
                ("http_route", "_unmatched"),
                ("http_response_status_code", "404"),
            ]
        ),
        Some(10_000.0)
    );
}

#[tokio::test]
async fn an_unknown_method_becomes_other() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("methods", &rx);
    let base = support::server::spawn(app(&h, HttpLayer::new(&h.telemetry))).await;
    let client = reqwest::Client::new();
    assert_eq!(
        status_of(&client, "PURGE", &format!("{base}/cache/k1")).await,
        200
    );
    assert_eq!(
        status_of(&client, "PURGE", &format!("{base}/cache/k2")).await,
        200
    );

    let text = h.telemetry.metrics().render();
    assert_eq!(
        prom::exact(
            &text,
            DURATION_COUNT,
            &[
                ("service_name", "methods"),
                ("http_request_method", "_OTHER"),
                ("http_route", "/cache/{key}"),
                ("http_response_status_code", "200"),
            ]
        ),
        Some(2.0),
        "{text}"
    );
    assert!(!text.contains("PURGE"), "{text}");

    let spans = rx.wait_for_spans(2, SPAN_WAIT).await;
    let span = &spans[0];
    assert_eq!(
        span.name, "HTTP",
        "semconv: an unknown method names the span HTTP"
    );
    assert_eq!(span.attributes["http.request.method"], "_OTHER");
    assert_eq!(span.attributes["http.request.method_original"], "PURGE");
    assert_eq!(span.attributes["http.route"], "/cache/{key}");
}

#[tokio::test]
async fn promtool_accepts_the_exposition() {
    let h = metrics_only("promtool");
    let layer = HttpLayer::new(&h.telemetry)
        .slos([
            Slo::availability("availability", 0.999).unwrap(),
            Slo::latency("latency", Duration::from_millis(50), 0.99).unwrap(),
        ])
        .unwrap();
    h.telemetry
        .health()
        .register(obskit::health::Check::new("db", || async {
            Ok::<(), String>(())
        }))
        .unwrap();
    h.telemetry.health().mark_started();
    let base = support::server::spawn(app(&h, layer)).await;
    let client = reqwest::Client::new();
    for path in [
        "/users/1",
        "/boom",
        "/nope",
        "/api/v1/items/1",
        "/health/ready",
    ] {
        call(&client, "GET", &format!("{base}{path}"), &[]).await;
    }
    call(&client, "PURGE", &format!("{base}/cache/x"), &[]).await;
    let outgoing =
        obskit::http::HttpClientMiddleware::new(&h.telemetry).wrap(reqwest::Client::new());
    outgoing
        .get(format!("{base}/users/2"))
        .send()
        .await
        .unwrap();

    // Served over HTTP exactly as Prometheus scrapes it.
    let res = call(&client, "GET", &format!("{base}/metrics"), &[]).await;
    assert_eq!(
        res.headers()["content-type"],
        obskit::http::METRICS_CONTENT_TYPE
    );
    let text = res.text().await.unwrap();
    assert!(
        text.contains("http_client_request_duration_seconds_count"),
        "{text}"
    );
    obskit_test_support::assert_promtool_accepts(&text);
}
