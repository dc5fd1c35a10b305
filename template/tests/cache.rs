//! The cache against a real Redis on 127.0.0.1 (README.md says how to start one):
//! `GET /cached/{name}` misses, then hits; each command is a span and a RED series named
//! by the command, never the key; readiness pings the server. Without a server the tests
//! say so and pass, unless `CI` is set.
{%- if postgres and redis %}
//! With the database, `GET /visits/{name}` reads a visit count from the database on a miss
//! and from the cache on a hit.
{%- endif %}

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use obskit::testing::TestTelemetry;
use tower::ServiceExt as _;

use {{crate_name}}::cache;
{%- if postgres and redis %}
use {{crate_name}}::store;
{%- endif %}

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
{%- if postgres and redis %}

#[tokio::test]
async fn a_visit_count_is_read_from_the_database_on_a_miss_and_from_the_cache_on_a_hit() {
    let telemetry = TestTelemetry::new();
    let (Some(pool), Some(cache)) = (
        common::pool(&telemetry).await,
        common::cache(&telemetry).await,
    ) else {
        return;
    };
    let app = store::router(pool.clone()).merge(cache::visits_router(cache, pool));
    let name = common::unique("ada");
    let path = format!("/visits/{name}");
    // A visit; a read that misses and takes the count from the database; a second visit;
    // a read that hits and answers the cached count, which has not seen the second visit.
    let steps = [
        ("POST", 1, None),
        ("GET", 1, Some(false)),
        ("POST", 2, None),
        ("GET", 1, Some(true)),
    ];
    for (method, visits, cached) in steps {
        let request = Request::builder()
            .method(method)
            .uri(&path)
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{method} {path}");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["visits"], visits, "{method} {path}: {body}");
        assert_eq!(body["cached"].as_bool(), cached, "{method} {path}: {body}");
    }
    // The same on /metrics: one SELECT (the hit never reached the database), two INSERTs,
    // two GETs and one SETEX.
    let metrics = telemetry.metrics().render();
    let select = [
        r#"db_operation_name="SELECT""#,
        r#"db_collection_name="visits""#,
    ];
    for (labels, count) in [
        (&select[..], " 1"),
        (&[r#"db_operation_name="INSERT""#], " 2"),
        (&[r#"db_operation_name="GET""#], " 2"),
        (&[r#"db_operation_name="SETEX""#], " 1"),
    ] {
        let found = metrics.lines().find(|line| {
            line.starts_with("db_client_operation_duration_seconds_count{")
                && labels.iter().all(|label| line.contains(label))
        });
        assert!(
            found.is_some_and(|line| line.ends_with(count)),
            "{labels:?}:\n{metrics}"
        );
    }
}
{%- endif %}
