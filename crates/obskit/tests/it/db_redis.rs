//! Redis through `obskit::db::redis` against the real server on
//! 127.0.0.1:6379: spans under the request that sent them, exact counts
//! and error types for commands and pipelines, keys and values never
//! exported, and readiness through a cache cut off and restored by a
//! proxy of the test's own.

use crate::db_support;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::routing::get;
use db_support::{Proxy, REDIS, unique};
use obskit::db::redis::Connection;
use obskit::health::Status;
use obskit::http::HttpLayer;
use obskit::testing::TestTelemetry;
use obskit_test_support::{prom, wait};
use redis::AsyncCommands as _;
use redis::aio::ConnectionManager;
use tower::ServiceExt as _;

async fn manager(addr: &str) -> ConnectionManager {
    let client = redis::Client::open(format!("redis://{addr}/0")).unwrap();
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(2)))
        // Fail fast while the test cuts the cache off.
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(200));
    ConnectionManager::new_with_config(client, config)
        .await
        .expect("connect to Redis")
}

fn count(text: &str, operation: &str, error: Option<&str>) -> Option<f64> {
    let mut labels = vec![
        ("service_name", "test"),
        ("db_system_name", "redis"),
        ("db_operation_name", operation),
    ];
    if let Some(e) = error {
        labels.push(("error_type", e));
    }
    prom::exact(text, "db_client_operation_duration_seconds_count", &labels)
}

#[tokio::test]
async fn commands_and_pipelines_are_recorded_under_their_request() {
    if !obskit_test_support::server_up(REDIS, "Redis") {
        return;
    }
    let telemetry = TestTelemetry::new();
    let conn = Connection::builder(&telemetry, manager(REDIS).await)
        .server("127.0.0.1", Some(6379))
        .query_text(true)
        .build()
        .unwrap();
    let key = unique("obskit:key-secret");
    let list = unique("obskit:list");

    let (k, l) = (key.clone(), list.clone());
    let app = Router::new()
        .route(
            "/cache",
            get(
                |State(mut conn): State<Connection<ConnectionManager>>| async move {
                    let () = conn.set_ex(&k, "value-secret", 60).await.unwrap();
                    let v: String = conn.get(&k).await.unwrap();
                    let () = conn.rpush(&l, "x").await.unwrap();
                    // A command on the wrong type: the server's WRONGTYPE.
                    let err = conn.get::<_, String>(&l).await.unwrap_err();
                    assert_eq!(err.code(), Some("WRONGTYPE"));
                    let (a, b): (i64, i64) = redis::pipe()
                        .incr(k.replace("key", "n1"), 1)
                        .incr(k.replace("key", "n2"), 2)
                        .query_async(&mut conn)
                        .await
                        .unwrap();
                    let () = conn
                        .del(&[&k, &l, &k.replace("key", "n1"), &k.replace("key", "n2")])
                        .await
                        .unwrap();
                    format!("{v} {a} {b}")
                },
            ),
        )
        .with_state(conn.clone())
        .layer(HttpLayer::new(&telemetry));
    let res = app
        .oneshot(Request::get("/cache").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(&body[..], b"value-secret 1 2");

    let server = telemetry.span("GET /cache").expect("the server span");
    let spans = telemetry.spans();
    let names: Vec<_> = spans.iter().map(|s| s.name().to_owned()).collect();
    for want in ["SETEX", "GET", "RPUSH", "BATCH INCRBY", "DEL"] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    for s in spans.iter().filter(|s| s.name() != "GET /cache") {
        assert_eq!(s.parent_span_id(), Some(server.span_id()), "{}", s.name());
        assert_eq!(s.trace_id(), server.trace_id());
        assert_eq!(s.attribute("db.system.name").as_deref(), Some("redis"));
        assert_eq!(s.attribute("db.namespace").as_deref(), Some("0"));
        assert_eq!(s.attribute("server.port").as_deref(), Some("6379"));
    }
    let set = telemetry.span("SETEX").unwrap();
    assert_eq!(
        set.attribute("db.query.text").as_deref(),
        Some("SETEX ? ? ?")
    );
    let batch = telemetry.span("BATCH INCRBY").unwrap();
    assert_eq!(
        batch.attribute("db.operation.batch.size").as_deref(),
        Some("2")
    );
    assert_eq!(
        batch.attribute("db.query.text").as_deref(),
        Some("INCRBY ? ?; INCRBY ? ?")
    );
    let wrong = spans
        .iter()
        .find(|s| s.attribute("error.type").as_deref() == Some("WRONGTYPE"))
        .expect("the WRONGTYPE span");
    assert_eq!(wrong.name(), "GET");
    assert!(wrong.is_error());
    assert_eq!(
        wrong.attribute("db.response.status_code").as_deref(),
        Some("WRONGTYPE")
    );

    let text = telemetry.metrics().render();
    assert_eq!(count(&text, "SETEX", None), Some(1.0), "{text}");
    assert_eq!(count(&text, "GET", None), Some(1.0), "{text}");
    assert_eq!(count(&text, "GET", Some("WRONGTYPE")), Some(1.0), "{text}");
    assert_eq!(count(&text, "RPUSH", None), Some(1.0), "{text}");
    assert_eq!(count(&text, "BATCH INCRBY", None), Some(1.0), "{text}");
    assert_eq!(count(&text, "DEL", None), Some(1.0), "{text}");
    // Keys and values appear nowhere: not in a span, not in a label.
    let all = format!("{spans:?}{text}");
    assert!(!all.contains("secret"), "{all}");
}

#[tokio::test]
async fn readiness_follows_a_cache_cut_off_and_restored() {
    if !obskit_test_support::server_up(REDIS, "Redis") {
        return;
    }
    let telemetry = TestTelemetry::new();
    let proxy = Proxy::start(REDIS).await;
    let mut conn = Connection::new(&telemetry, manager(&proxy.addr.to_string()).await).unwrap();
    let health = telemetry.health();
    health.mark_started();
    let ready = || {
        let health = health.clone();
        async move { health.readiness().await.status == Status::Up }
    };
    assert!(
        wait::until_async(Duration::from_secs(30), ready).await,
        "ready at first"
    );
    let key = unique("obskit:ready");
    let () = conn.set_ex(&key, 1, 60).await.unwrap();

    proxy.cut();
    assert!(
        wait::until_async(Duration::from_secs(60), || async { !ready().await }).await,
        "not ready while the cache is cut off"
    );
    for _ in 0..3 {
        assert!(conn.get::<_, i64>(&key).await.is_err());
    }
    let warnings: Vec<_> = telemetry
        .logs()
        .into_iter()
        .filter(|l| l["target"] == "obskit::db" && l["level"] == "WARN")
        .collect();
    assert_eq!(warnings.len(), 1, "one warning a minute: {warnings:#?}");
    let text = telemetry.metrics().render();
    let failed: f64 = prom::matching(
        &text,
        "db_client_operation_duration_seconds_count",
        &[("db_operation_name", "GET")],
    )
    .iter()
    .filter(|s| s.labels.contains_key("error_type"))
    .map(|s| s.value)
    .sum();
    assert_eq!(failed, 3.0, "{text}");

    proxy.restore();
    assert!(
        wait::until_async(Duration::from_secs(60), ready).await,
        "ready again once the cache answers"
    );
    // The connection manager reconnects by itself.
    assert!(
        wait::until_async(Duration::from_secs(60), || {
            let mut c = conn.clone();
            let k = key.clone();
            async move { c.get::<_, i64>(&k).await.is_ok() }
        })
        .await
    );
    let () = conn.del(&key).await.unwrap();
}
