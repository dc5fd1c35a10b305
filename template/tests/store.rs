//! The database against a real PostgreSQL on 127.0.0.1 (README.md says how to start one):
//! the migration applies, `POST /visits/{name}` counts, each query is a span in the
//! request's trace and a RED series, and readiness checks the database. Without a server
//! the tests say so and pass, unless `CI` is set.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use obskit::testing::TestTelemetry;
use tower::ServiceExt as _;

use {{crate_name}}::store;

mod common;

#[tokio::test]
async fn visits_are_counted_and_every_query_is_recorded() {
    let telemetry = TestTelemetry::new();
    let Some(pool) = common::pool(&telemetry).await else {
        return;
    };
    let app = store::router(pool);
    let name = common::unique("ada");
    for expected in [1, 2] {
        let request = Request::post(format!("/visits/{name}"))
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["visits"], expected, "{body}");
    }
    let metrics = telemetry.metrics().render();
    let inserts = metrics.lines().find(|line| {
        line.starts_with("db_client_operation_duration_seconds_count{")
            && line.contains(r#"db_operation_name="INSERT""#)
    });
    assert!(
        inserts.is_some_and(|line| line.ends_with(" 2")),
        "{metrics}"
    );
    assert!(metrics.contains("db_client_connection_max"), "{metrics}");
    assert!(
        !metrics.contains(&name),
        "values never become labels:\n{metrics}"
    );
}

#[tokio::test]
async fn readiness_checks_the_database() {
    let telemetry = TestTelemetry::new();
    let Some(_pool) = common::pool(&telemetry).await else {
        return;
    };
    common::assert_ready(&telemetry, "postgresql").await;
}
