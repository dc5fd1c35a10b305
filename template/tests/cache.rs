//! The cache against a real Redis on 127.0.0.1 (README.md says how to start one):
//! `GET /cached/{name}` misses, then hits; each command is a span and a RED series named
//! by the command, never the key; readiness pings the server. Without a server the tests
//! say so and pass, unless `CI` is set.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use obskit::testing::TestTelemetry;
use tower::ServiceExt as _;

use {{crate_name}}::cache;

mod common;

#[tokio::test]
async fn a_miss_fills_the_cache_and_the_next_read_hits() {
    let telemetry = TestTelemetry::new();
    let Some(cache) = common::cache(&telemetry).await else {
        return;
    };
    let app = cache::router(cache);
    let name = common::unique("grace");
    for cached in [false, true] {
        let request = Request::get(format!("/cached/{name}"))
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["cached"], cached, "{body}");
        assert_eq!(body["greeting"], format!("hello, {name}"), "{body}");
    }
    let metrics = telemetry.metrics().render();
    for (operation, count) in [("GET", " 2"), ("SETEX", " 1")] {
        let found = metrics.lines().find(|line| {
            line.starts_with("db_client_operation_duration_seconds_count{")
                && line.contains(&format!(r#"db_operation_name="{operation}""#))
        });
        assert!(
            found.is_some_and(|line| line.ends_with(count)),
            "{operation}:\n{metrics}"
        );
    }
    assert!(
        !metrics.contains(&name),
        "keys never become labels:\n{metrics}"
    );
}

#[tokio::test]
async fn readiness_pings_the_server() {
    let telemetry = TestTelemetry::new();
    let Some(_cache) = common::cache(&telemetry).await else {
        return;
    };
    common::assert_ready(&telemetry, "redis").await;
}
