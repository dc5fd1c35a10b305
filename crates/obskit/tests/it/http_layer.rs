//! The server layer over real sockets: exact RED and SLO figures after known
//! traffic, bounded cardinality, request ids, hostile propagation headers,
//! span attributes and redaction, and an exposition `promtool` accepts.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{any, get, post};
use obskit::http::{HeaderError, HttpLayer, observability_routes};
use obskit::reqwest;
use obskit::slo::Slo;
use obskit_test_receiver::{ReceivedSpan, Receiver, SpanKind, StatusCode as SpanStatus};
use support::{Harness, config, harness, prom};

const DURATION_COUNT: &str = "http_server_request_duration_seconds_count";
const LOG_WAIT: Duration = Duration::from_secs(5);
const SPAN_WAIT: Duration = Duration::from_secs(10);

/// A service without span export (figures only).
fn metrics_only(name: &str) -> Harness {
    harness(config(&[
        ("OTEL_SERVICE_NAME", name),
        ("OTEL_TRACES_EXPORTER", "none"),
    ]))
}

/// A service exporting its spans to `rx`.
fn traced(name: &str, rx: &Receiver) -> Harness {
    harness(config(&[
        ("OTEL_SERVICE_NAME", name),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
    ]))
}

/// The test application: plain, created, failing, nested, slow and
/// any-method routes, a handler that logs, and the observability routes.
fn app(h: &Harness, layer: HttpLayer) -> Router {
    let items = Router::new().route(
        "/items/{id}",
        get(|Path(id): Path<String>| async move { format!("item {id}") }),
    );
    Router::new()
        .route(
            "/users/{id}",
            get(|Path(id): Path<String>| async move {
                tracing::info!(user = %id, "loading user");
                format!("user {id}")
            }),
        )
        .route(
            "/users",
            post(|| async { (StatusCode::CREATED, "created") }),
        )
        .route(
            "/boom",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route("/fast", get(|| async { "fast" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(120)).await;
                "slow"
            }),
        )
        .route("/cache/{key}", any(|| async { "done" }))
        .nest("/api/v1", items)
        .merge(observability_routes(&h.telemetry))
        .layer(layer)
}

async fn call(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = client.request(
        reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
        url,
    );
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

async fn status_of(client: &reqwest::Client, method: &str, url: &str) -> u16 {
    call(client, method, url, &[]).await.status().as_u16()
}

fn span_with_request_id<'a>(spans: &'a [ReceivedSpan], id: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|s| {
            s.attr("http.request.header.x-request-id")
                .and_then(|v| v.as_str())
                == Some(id)
        })
        .unwrap_or_else(|| panic!("no span for request {id}: {spans:#?}"))
}

fn is_hex32(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[test]
fn the_exposition_parser_reads_labels_escapes_and_special_values() {
    let text = "# HELP x y\n# TYPE x counter\nx_total{a=\"1\",b=\"q\\\"uote\\\\\"} 3\nup 1\nh_bucket{le=\"+Inf\"} +Inf\n";
    let s = prom::parse(text);
    assert_eq!(s.len(), 3);
    assert_eq!(s[0].labels["b"], "q\"uote\\");
    assert_eq!(
        prom::exact(text, "x_total", &[("a", "1"), ("b", "q\"uote\\")]),
        Some(3.0)
    );
    assert_eq!(prom::exact(text, "x_total", &[("a", "1")]), None);
    assert_eq!(prom::value(text, "x_total", &[("a", "1")]), Some(3.0));
    assert_eq!(prom::value(text, "up", &[]), Some(1.0));
    assert!(prom::value(text, "h_bucket", &[]).unwrap().is_infinite());
}

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
async fn slo_counters_classify_both_sides_of_the_threshold() {
    let h = metrics_only("slo");
    let layer = HttpLayer::new(&h.telemetry)
        .slos([
            Slo::availability("availability", 0.99).unwrap(),
            Slo::latency("latency", Duration::from_millis(50), 0.95).unwrap(),
            Slo::availability("users", 0.9)
                .unwrap()
                .routes(["/users/{id}"]),
            Slo::availability("writes", 0.999)
                .unwrap()
                .methods(["post"]),
        ])
        .unwrap();
    let base = support::server::spawn(app(&h, layer)).await;
    let client = reqwest::Client::new();

    let text = h.telemetry.metrics().render();
    let slo = |text: &str, name: &str, result: &str| {
        prom::exact(
            text,
            "obskit_slo_requests_total",
            &[("service_name", "slo"), ("slo", name), ("result", result)],
        )
    };
    for name in ["availability", "latency", "users", "writes"] {
        assert_eq!(
            slo(&text, name, "good"),
            Some(0.0),
            "both series exist before traffic"
        );
        assert_eq!(slo(&text, name, "bad"), Some(0.0));
    }

    for _ in 0..4 {
        assert_eq!(
            status_of(&client, "GET", &format!("{base}/fast")).await,
            200
        );
    }
    for _ in 0..2 {
        assert_eq!(
            status_of(&client, "GET", &format!("{base}/slow")).await,
            200
        );
    }
    assert_eq!(
        status_of(&client, "GET", &format!("{base}/boom")).await,
        500
    );
    assert_eq!(
        status_of(&client, "GET", &format!("{base}/users/9")).await,
        200
    );
    assert_eq!(
        status_of(&client, "POST", &format!("{base}/users")).await,
        201
    );
    // Excluded paths count for nothing.
    for path in [
        "/health/live",
        "/health/ready",
        "/health/startup",
        "/metrics",
    ] {
        call(&client, "GET", &format!("{base}{path}"), &[]).await;
    }

    let text = h.telemetry.metrics().render();
    // 9 requests: /boom is the only 5xx; /slow ×2 are the only slow ones.
    assert_eq!(slo(&text, "availability", "good"), Some(8.0), "{text}");
    assert_eq!(slo(&text, "availability", "bad"), Some(1.0));
    assert_eq!(slo(&text, "latency", "good"), Some(7.0));
    assert_eq!(slo(&text, "latency", "bad"), Some(2.0));
    assert_eq!(slo(&text, "users", "good"), Some(1.0));
    assert_eq!(slo(&text, "users", "bad"), Some(0.0));
    assert_eq!(slo(&text, "writes", "good"), Some(1.0));
    assert_eq!(slo(&text, "writes", "bad"), Some(0.0));

    let objective = |name: &str| {
        prom::exact(
            &text,
            "obskit_slo_objective_ratio",
            &[("service_name", "slo"), ("slo", name)],
        )
    };
    assert_eq!(objective("availability"), Some(0.99));
    assert_eq!(objective("latency"), Some(0.95));
    assert_eq!(objective("users"), Some(0.9));
    assert_eq!(objective("writes"), Some(0.999));
    assert_eq!(
        prom::exact(
            &text,
            "obskit_slo_latency_threshold_seconds",
            &[("service_name", "slo"), ("slo", "latency")]
        ),
        Some(0.05)
    );
    assert_eq!(
        prom::matching(&text, "obskit_slo_latency_threshold_seconds", &[]).len(),
        1,
        "only latency SLOs publish a threshold"
    );
}

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
async fn a_valid_request_id_is_kept_everywhere() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("reqid", &rx);
    let base = support::server::spawn(app(&h, HttpLayer::new(&h.telemetry))).await;
    let client = reqwest::Client::new();
    let id = "req-7f3a.b_c:d+e=f/g";
    let res = call(
        &client,
        "GET",
        &format!("{base}/users/5"),
        &[("x-request-id", id)],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-request-id"], id, "a valid id is echoed");

    let spans = rx.wait_for_spans(1, SPAN_WAIT).await;
    let span = span_with_request_id(&spans, id);
    let access = h
        .logs
        .wait_for(LOG_WAIT, |l| l["target"] == "obskit::access")
        .expect("an access line");
    assert_eq!(access["request_id"], id);
    assert_eq!(access["trace_id"], span.trace_id.as_str());
    assert_eq!(access["span_id"], span.span_id.as_str());
    assert_eq!(access["http.request.method"], "GET");
    assert_eq!(access["http.route"], "/users/{id}");
    assert_eq!(access["http.response.status_code"], 200);
    assert!(
        access["duration_ms"].as_f64().is_some_and(|d| d >= 0.0),
        "{access}"
    );
    assert_eq!(access["message"], "GET /users/{id} 200");
    // The handler's own line carries the same request and trace.
    let own = h
        .logs
        .wait_for(LOG_WAIT, |l| l["message"] == "loading user")
        .expect("the handler's line");
    assert_eq!(own["request_id"], id);
    assert_eq!(own["trace_id"], span.trace_id.as_str());

    // Without an incoming id, one is generated and returned.
    let res = call(&client, "GET", &format!("{base}/users/6"), &[]).await;
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(is_hex32(&generated), "{generated}");
}

#[tokio::test]
async fn the_request_id_is_current_in_handlers_and_in_their_extension() {
    use obskit::request_id::RequestId;

    let h = metrics_only("reqid-current");
    let app = Router::new()
        .route(
            "/id",
            get(
                |axum::Extension(ext): axum::Extension<RequestId>| async move {
                    let before = RequestId::current();
                    // Still the request's after the handler has yielded.
                    tokio::task::yield_now().await;
                    let after = RequestId::current();
                    let text = |id: Option<RequestId>| id.map_or("none".into(), |i| i.to_string());
                    format!("{} {} {}", text(before), text(after), ext)
                },
            ),
        )
        .layer(HttpLayer::new(&h.telemetry));
    let base = support::server::spawn(app).await;
    let client = reqwest::Client::new();
    let res = call(
        &client,
        "GET",
        &format!("{base}/id"),
        &[("x-request-id", "abc-1")],
    )
    .await;
    assert_eq!(res.text().await.unwrap(), "abc-1 abc-1 abc-1");
    let res = call(&client, "GET", &format!("{base}/id"), &[]).await;
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(
        res.text().await.unwrap(),
        format!("{generated} {generated} {generated}")
    );
    assert_eq!(RequestId::current(), None, "no request outside handlers");
}

#[tokio::test]
async fn an_invalid_request_id_is_replaced_and_never_echoed() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("badreqid", &rx);
    let base = support::server::spawn(app(&h, HttpLayer::new(&h.telemetry))).await;
    let client = reqwest::Client::new();
    let oversized = "a".repeat(500);
    let just_over = "a".repeat(129);
    let bad = [
        oversized.as_str(),
        "<script>alert(1)</script>",
        "has space",
        "quote\"d",
        just_over.as_str(),
    ];
    let mut generated = Vec::new();
    for value in bad {
        let res = call(
            &client,
            "GET",
            &format!("{base}/users/1"),
            &[("x-request-id", value)],
        )
        .await;
        assert_eq!(res.status(), 200);
        let echoed = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(echoed, value);
        assert!(
            is_hex32(&echoed),
            "replaced by a generated id, got {echoed:?}"
        );
        generated.push(echoed);
    }
    let logs = h.logs.clone();
    h.telemetry.shutdown().await;
    let spans = rx.wait_for_spans(bad.len(), SPAN_WAIT).await;
    let text = String::from_utf8(serde_json::to_vec(&logs.lines()).unwrap()).unwrap();
    for (value, id) in bad.iter().zip(&generated) {
        let span = span_with_request_id(&spans, id);
        let attrs = format!("{:?}", span.attributes);
        assert!(!attrs.contains(*value), "{value} recorded on the span");
        assert!(!text.contains(*value), "{value} in the logs");
        assert!(
            logs.lines()
                .iter()
                .any(|l| l["target"] == "obskit::access" && l["request_id"] == id.as_str()),
            "the access line carries the generated id {id}"
        );
    }
    assert!(!text.contains("<script>"));
}

#[tokio::test]
async fn hostile_propagation_headers_start_a_fresh_trace() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("hostile", &rx);
    let base = support::server::spawn(app(&h, HttpLayer::new(&h.telemetry))).await;
    let client = reqwest::Client::new();
    let tid = "4bf92f3577b34da6a3ce929d0e0e4736";
    let sid = "00f067aa0ba902b7";
    let zero = "00000000000000000000000000000000";
    let long_traceparent = format!("00-{tid}-{sid}-01-{}", "a".repeat(10 * 1024));
    let future_version_oversized = format!("cc-{tid}-{sid}-01-{}", "b".repeat(10 * 1024));
    let huge_baggage = format!("k={}", "v".repeat(100 * 1024));
    let many_members = (0..5000)
        .map(|i| format!("k{i}=v{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("garbage", vec![("traceparent", "garbage".into())]),
        (
            "wrong-version",
            vec![("traceparent", format!("ff-{tid}-{sid}-01"))],
        ),
        (
            "zero-trace",
            vec![("traceparent", format!("00-{zero}-{sid}-01"))],
        ),
        (
            "zero-span",
            vec![("traceparent", format!("00-{tid}-0000000000000000-01"))],
        ),
        (
            "uppercase",
            vec![("traceparent", format!("00-{}-{sid}-01", tid.to_uppercase()))],
        ),
        ("oversized", vec![("traceparent", long_traceparent)]),
        (
            "future-oversized",
            vec![("traceparent", future_version_oversized)],
        ),
        ("baggage-huge", vec![("baggage", huge_baggage)]),
        (
            "baggage-garbage",
            vec![("baggage", "=;=;,,%%%zz;;=,k=%ZZ,=v".into())],
        ),
        ("baggage-many", vec![("baggage", many_members)]),
        (
            "both-bad",
            vec![("traceparent", "00-xyz".into()), ("baggage", ",,,".into())],
        ),
    ];
    for (id, headers) in &cases {
        let mut all: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.push(("x-request-id", id));
        let res = call(&client, "GET", &format!("{base}/users/1"), &all).await;
        assert_eq!(res.status(), 200, "{id}");
        assert_eq!(res.headers()["x-request-id"], *id);
        for (name, _) in headers {
            assert!(res.headers().get(*name).is_none(), "{id}: {name} echoed");
        }
    }
    h.telemetry.shutdown().await;
    let spans = rx.wait_for_spans(cases.len(), SPAN_WAIT).await;
    let mut trace_ids = std::collections::HashSet::new();
    for (id, _) in &cases {
        let span = span_with_request_id(&spans, id);
        assert_eq!(span.parent_span_id, None, "{id}: a fresh root span");
        assert!(is_hex32(&span.trace_id) && span.trace_id != zero, "{id}");
        assert_ne!(span.trace_id, tid, "{id}: the header's trace was continued");
        assert!(
            trace_ids.insert(span.trace_id.clone()),
            "{id}: trace id reused"
        );
        for (k, v) in &span.attributes {
            let v = format!("{v:?}");
            assert!(v.len() < 1024, "{id}: {k} holds {} bytes", v.len());
        }
    }
}

/// W3C trace context: trace-id is exactly 32 and parent-id exactly 16
/// lowercase hex digits, trace-flags exactly 2; anything else is invalid
/// and must start a fresh trace. The SDK's propagator parses the fields
/// with `from_str_radix`, which accepts shorter fields and a leading `+`.
#[tokio::test]
async fn a_traceparent_with_non_canonical_fields_starts_a_fresh_trace() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("canonical", &rx);
    let base = support::server::spawn(app(&h, HttpLayer::new(&h.telemetry))).await;
    let client = reqwest::Client::new();
    let tid = "4bf92f3577b34da6a3ce929d0e0e4736";
    let sid = "00f067aa0ba902b7";
    let cases = [
        ("short-trace-id", format!("00-{}-{sid}-01", &tid[..30])),
        ("short-span-id", format!("00-{tid}-{}-01", &sid[..10])),
        ("plus-trace-id", format!("00-+{}-{sid}-01", &tid[1..])),
        ("plus-span-id", format!("00-{tid}-+{}-01", &sid[1..])),
        ("one-digit-flags", format!("00-{tid}-{sid}-1")),
        ("one-digit-version", format!("0-{tid}-{sid}-01")),
    ];
    for (id, traceparent) in &cases {
        let res = call(
            &client,
            "GET",
            &format!("{base}/users/1"),
            &[("traceparent", traceparent), ("x-request-id", id)],
        )
        .await;
        assert_eq!(res.status(), 200, "{id}");
    }
    h.telemetry.shutdown().await;
    let spans = rx.wait_for_spans(cases.len(), SPAN_WAIT).await;
    let continued: Vec<_> = cases
        .iter()
        .filter(|(id, _)| span_with_request_id(&spans, id).parent_span_id.is_some())
        .map(|(id, tp)| format!("{id}: {tp}"))
        .collect();
    assert!(
        continued.is_empty(),
        "invalid traceparents were continued: {continued:#?}"
    );
}

#[tokio::test]
async fn a_valid_traceparent_is_continued() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("continue", &rx);
    let base = support::server::spawn(app(&h, HttpLayer::new(&h.telemetry))).await;
    let client = reqwest::Client::new();
    let tid = "4bf92f3577b34da6a3ce929d0e0e4736";
    let sid = "00f067aa0ba902b7";
    let res = call(
        &client,
        "GET",
        &format!("{base}/users/3"),
        &[
            ("traceparent", &format!("00-{tid}-{sid}-01")),
            ("baggage", "tenant=acme,region=eu"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    let spans = rx.wait_for_spans(1, SPAN_WAIT).await;
    assert_eq!(spans[0].trace_id, tid);
    assert_eq!(spans[0].parent_span_id.as_deref(), Some(sid));
    let access = h
        .logs
        .wait_for(LOG_WAIT, |l| l["target"] == "obskit::access")
        .expect("an access line");
    assert_eq!(access["trace_id"], tid);

    // The caller decided not to sample: the trace is continued in the logs
    // and counted in the metrics, but no span is exported.
    let unsampled = "0af7651916cd43dd8448eb211c80319c";
    let res = call(
        &client,
        "GET",
        &format!("{base}/users/4"),
        &[(
            "traceparent",
            &format!("00-{unsampled}-b7ad6b7169203331-00"),
        )],
    )
    .await;
    assert_eq!(res.status(), 200);
    let line = h
        .logs
        .wait_for(LOG_WAIT, |l| {
            l["target"] == "obskit::access" && l["trace_id"] == unsampled
        })
        .expect("the unsampled request's access line carries its trace id");
    assert_eq!(line["http.response.status_code"], 200);
    let text = h.telemetry.metrics().render();
    assert_eq!(
        prom::value(&text, DURATION_COUNT, &[("http_route", "/users/{id}")]),
        Some(2.0)
    );
    let report = h.telemetry.shutdown().await;
    assert_eq!(report.spans_exported, 1, "{report:?}");
    assert!(rx.spans().iter().all(|s| s.trace_id != unsampled));
}

#[tokio::test]
async fn credentials_and_query_strings_are_never_recorded() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("redact", &rx);
    for sensitive in [
        "authorization",
        "Authorization",
        "cookie",
        "Set-Cookie",
        "proxy-authorization",
    ] {
        let err = HttpLayer::new(&h.telemetry)
            .record_header(sensitive)
            .expect_err(sensitive);
        assert_eq!(err, HeaderError::Sensitive(sensitive.to_owned()));
        assert!(err.to_string().contains("never recorded"), "{err}");
    }
    assert!(matches!(
        HttpLayer::new(&h.telemetry).record_header("bad header"),
        Err(HeaderError::Invalid(_))
    ));
    let layer = HttpLayer::new(&h.telemetry)
        .record_header("X-Tenant")
        .unwrap();
    let base = support::server::spawn(app(&h, layer)).await;
    let client = reqwest::Client::new();
    let res = call(
        &client,
        "GET",
        &format!("{base}/users/1?token=secret-query-789&x=1"),
        &[
            ("authorization", "Bearer secret-token-123"),
            ("cookie", "session=secret-cookie-456"),
            ("proxy-authorization", "Basic secret-proxy-000"),
            ("x-tenant", "acme"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    let logs = h.logs.clone();
    h.telemetry.shutdown().await;
    let spans = rx.wait_for_spans(1, SPAN_WAIT).await;
    let span = &spans[0];
    assert_eq!(span.attributes["http.request.header.x-tenant"], "acme");
    assert_eq!(span.attributes["url.path"], "/users/1");
    let everything = format!("{:?}{:?}", span.attributes, span.raw);
    let log_text = serde_json::to_string(&logs.lines()).unwrap();
    for secret in [
        "secret-token-123",
        "secret-cookie-456",
        "secret-proxy-000",
        "secret-query-789",
    ] {
        assert!(
            !everything.contains(secret),
            "{secret} on the span: {everything}"
        );
        assert!(!log_text.contains(secret), "{secret} in the logs");
    }
    for key in span.attributes.keys() {
        let k = key.to_ascii_lowercase();
        assert!(
            !k.contains("authorization") && !k.contains("cookie"),
            "{key}"
        );
    }
}

#[tokio::test]
async fn server_spans_carry_the_semantic_convention_attributes() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("attrs", &rx);
    let base = support::server::spawn(app(&h, HttpLayer::new(&h.telemetry))).await;
    let client = reqwest::Client::builder()
        .user_agent("obskit-test/1.0")
        .build()
        .unwrap();
    let ok = call(
        &client,
        "GET",
        &format!("{base}/users/42"),
        &[("x-request-id", "ok-1")],
    )
    .await;
    assert_eq!(ok.status(), 200);
    let boom = call(
        &client,
        "GET",
        &format!("{base}/boom"),
        &[("x-request-id", "boom-1")],
    )
    .await;
    assert_eq!(boom.status(), 500);
    let spans = rx.wait_for_spans(2, SPAN_WAIT).await;

    let span = span_with_request_id(&spans, "ok-1");
    assert_eq!(span.name, "GET /users/{id}");
    assert_eq!(span.kind, SpanKind::Server);
    assert_eq!(span.scope_name, "obskit");
    assert_eq!(span.service_name(), Some("attrs"));
    let a = &span.attributes;
    assert_eq!(a["http.request.method"], "GET");
    assert_eq!(a["http.route"], "/users/{id}");
    assert_eq!(a["url.scheme"], "http");
    assert_eq!(a["url.path"], "/users/42");
    assert_eq!(a["http.response.status_code"], 200);
    assert_eq!(a["user_agent.original"], "obskit-test/1.0");
    assert_eq!(a["client.address"], "127.0.0.1");
    assert!(a["client.port"].as_i64().is_some_and(|p| p > 0));
    assert!(!a.contains_key("error.type"));
    assert_eq!(span.status_code, SpanStatus::Unset);
    assert_eq!(span.parent_span_id, None);

    let failed = span_with_request_id(&spans, "boom-1");
    assert_eq!(failed.name, "GET /boom");
    assert_eq!(failed.attributes["http.response.status_code"], 500);
    assert_eq!(failed.attributes["error.type"], "500");
    assert_eq!(failed.status_code, SpanStatus::Error);
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
    let Some(promtool) = support::promtool() else {
        return; // support::promtool() said so loudly; in CI it fails instead.
    };
    let out = support::run_with_stdin(&promtool, &["check", "metrics"], &text);
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics:\nstdout: {}\nstderr: {}\n---\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
}

#[tokio::test]
async fn a_request_the_client_abandons_ends_its_span_and_leaves_no_active_request() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("abandoned", &rx);
    let router = Router::new()
        .route("/forever", get(std::future::pending::<&'static str>))
        .layer(HttpLayer::new(&h.telemetry));
    let base = support::server::spawn(router).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = client
        .get(format!("{base}/forever"))
        .header("x-request-id", "gone-1")
        .send()
        .await
        .expect_err("the handler never answers");
    assert!(err.is_timeout(), "{err}");

    // The server notices the closed connection and drops the request.
    let active = || {
        prom::value(
            &h.telemetry.metrics().render(),
            "http_server_active_requests",
            &[("http_request_method", "GET")],
        )
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while active() != Some(0.0) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the abandoned request is still counted as active: {:?}",
            active()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // In RED with `error_type="cancelled"` and no status code: none was sent.
    let left = || {
        prom::exact(
            &h.telemetry.metrics().render(),
            "http_server_request_duration_seconds_count",
            &[
                ("service_name", "abandoned"),
                ("http_request_method", "GET"),
                ("http_route", "/forever"),
                ("error_type", "cancelled"),
            ],
        )
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while left().is_none() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(left(), Some(1.0), "{}", h.telemetry.metrics().render());
    let spans = rx.wait_for_spans(1, SPAN_WAIT).await;
    let span = span_with_request_id(&spans, "gone-1");
    assert_eq!(span.name, "GET /forever");
    assert_eq!(span.attributes["error.type"], "cancelled");
    assert_eq!(span.status_code, SpanStatus::Error);
}

/// A panicking handler is the classic availability failure. axum has no
/// panic handler of its own, so the panic unwinds through the layer's
/// future: it must still be counted as a failed request in RED and in the
/// availability SLO, and its span must say so.
#[tokio::test]
async fn a_panicking_handler_counts_as_a_failed_request() {
    let rx = Receiver::start().await.unwrap();
    let h = traced("panics", &rx);
    let layer = HttpLayer::new(&h.telemetry)
        .slos([Slo::availability("availability", 0.99).unwrap()])
        .unwrap();
    let router = Router::new()
        .route(
            "/panic",
            get(|| async {
                if std::hint::black_box(true) {
                    panic!("handler bug (expected by the test)");
                }
                "unreachable"
            }),
        )
        .layer(layer);
    let base = support::server::spawn(router).await;
    let client = reqwest::Client::new();
    let res = client
        .get(format!("{base}/panic"))
        .header("x-request-id", "panic-1")
        .send()
        .await;
    assert!(res.is_err(), "the connection is dropped: {res:?}");

    let spans = rx.wait_for_spans(1, SPAN_WAIT).await;
    let span = span_with_request_id(&spans, "panic-1");
    assert_eq!(span.status_code, SpanStatus::Error);
    let text = h.telemetry.metrics().render();
    let counted: f64 = prom::matching(&text, DURATION_COUNT, &[("http_route", "/panic")])
        .iter()
        .map(|s| s.value)
        .sum();
    assert_eq!(
        counted, 1.0,
        "the panicked request is missing from RED\n{text}"
    );
    assert_eq!(
        prom::value(
            &text,
            "obskit_slo_requests_total",
            &[("slo", "availability"), ("result", "bad")]
        ),
        Some(1.0),
        "the panicked request is missing from the availability SLO"
    );
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

/// `OTEL_PROPAGATORS=none`: an incoming `traceparent` is ignored (a new
/// trace starts); `baggage` alone keeps the trace context out too.
#[tokio::test]
async fn propagators_from_the_environment_decide_what_is_read() {
    let rx = Receiver::start().await.unwrap();
    let tid = "4bf92f3577b34da6a3ce929d0e0e4736";
    let sid = "00f067aa0ba902b7";
    let traceparent = format!("00-{tid}-{sid}-01");
    for (propagators, continued) in [("none", false), ("baggage", false), ("tracecontext", true)] {
        rx.clear();
        let h = harness(config(&[
            ("OTEL_SERVICE_NAME", "propagators"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
            ("OTEL_PROPAGATORS", propagators),
        ]));
        let base = support::server::spawn(app(&h, HttpLayer::new(&h.telemetry))).await;
        let res = call(
            &reqwest::Client::new(),
            "GET",
            &format!("{base}/users/1"),
            &[("traceparent", &traceparent)],
        )
        .await;
        assert_eq!(res.status(), 200);
        let report = h.telemetry.shutdown().await;
        assert_eq!(report.spans_exported, 1, "{propagators}: {report:?}");
        let span = &rx.spans()[0];
        assert_eq!(span.trace_id == tid, continued, "{propagators}: {span:#?}");
        assert_eq!(span.parent_span_id.is_some(), continued, "{propagators}");
    }
}
