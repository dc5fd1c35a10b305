//! PostgreSQL through `obskit::db::postgres` against the real server on
//! 127.0.0.1:5432 (database `test`): one trace from an HTTP request through
//! its queries, exported over OTLP; exact counts and error types; literals
//! never exported; pool figures under contention equal to what the pool
//! reports; and readiness through a database cut off and restored by a
//! proxy of the test's own.

use crate::db_support;
use crate::support;

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use db_support::{POSTGRES, Proxy, unique};
use obskit::db::postgres::Pool;
use obskit::health::Status;
use obskit::http::HttpLayer;
use obskit::testing::TestTelemetry;
use obskit_test_receiver::{Receiver, SpanKind};
use obskit_test_support::{prom, wait};
use sqlx::postgres::PgPoolOptions;
use support::{config, harness};

async fn pg(addr: &str, max: u32) -> sqlx::PgPool {
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(30))
        .connect(&format!("postgres://postgres@{addr}/test"))
        .await
        .expect("connect to PostgreSQL")
}

/// Drops the test's table whatever happens.
async fn drop_table(pool: &sqlx::PgPool, table: &str) {
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS {table}")))
        .execute(pool)
        .await;
}

fn duration_count(
    text: &str,
    operation: &str,
    table: Option<&str>,
    error: Option<&str>,
) -> Option<f64> {
    let mut labels = vec![
        ("service_name", "test"),
        ("db_system_name", "postgresql"),
        ("db_operation_name", operation),
    ];
    if let Some(t) = table {
        labels.push(("db_collection_name", t));
    }
    if let Some(e) = error {
        labels.push(("error_type", e));
    }
    prom::exact(text, "db_client_operation_duration_seconds_count", &labels)
}

#[tokio::test]
async fn an_http_request_and_its_queries_make_one_trace() {
    if !obskit_test_support::server_up(POSTGRES, "PostgreSQL") {
        return;
    }
    let rx = Receiver::start().await.unwrap();
    let h = harness(config(&[
        ("OTEL_SERVICE_NAME", "shop"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
    ]));
    let raw = pg(POSTGRES, 2).await;
    let table = unique("obskit_trace");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {table} (id serial PRIMARY KEY, email text)"
    )))
    .execute(&raw)
    .await
    .unwrap();
    let pool = Pool::builder(&h.telemetry, raw.clone())
        .query_text(true)
        .build()
        .unwrap();

    let t = table.clone();
    let app = Router::new()
        .route(
            "/users",
            get(|State(pool): State<Pool>| async move {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO {t} (email) VALUES ('ada-secret@example.com')"
                )))
                .execute(&pool)
                .await
                .unwrap();
                let n: (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT count(*) FROM {t} WHERE email <> $1 OR id > 41"
                )))
                .bind("bound-secret")
                .fetch_one(&pool)
                .await
                .unwrap();
                n.0.to_string()
            }),
        )
        .with_state(pool.clone())
        .layer(HttpLayer::new(&h.telemetry));
    let base = support::server::spawn(app).await;
    let body = obskit::reqwest::get(format!("{base}/users"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "1");

    let report = h.telemetry.shutdown().await;
    assert_eq!(report.spans_dropped, 0, "{report:?}");
    let spans = rx.wait_for_spans(3, Duration::from_secs(30)).await;
    drop_table(&raw, &table).await;
    let server = spans
        .iter()
        .find(|s| s.kind == SpanKind::Server)
        .expect("server span");
    let insert = spans
        .iter()
        .find(|s| s.name == format!("INSERT {table}"))
        .unwrap_or_else(|| panic!("INSERT span: {spans:#?}"));
    let select = spans
        .iter()
        .find(|s| s.name == format!("SELECT {table}"))
        .unwrap_or_else(|| panic!("SELECT span: {spans:#?}"));
    for db in [insert, select] {
        assert_eq!(db.kind, SpanKind::Client);
        assert_eq!(db.trace_id, server.trace_id);
        assert_eq!(db.parent_span_id.as_deref(), Some(server.span_id.as_str()));
        let attr = |k: &str| db.attributes.get(k).map(ToString::to_string);
        assert_eq!(attr("db.system.name").as_deref(), Some("postgresql"));
        assert_eq!(attr("db.namespace").as_deref(), Some("test"));
        assert_eq!(attr("db.collection.name").as_deref(), Some(table.as_str()));
        assert_eq!(attr("server.address").as_deref(), Some("127.0.0.1"));
        assert_eq!(attr("server.port").as_deref(), Some("5432"));
    }
    assert_eq!(
        insert
            .attributes
            .get("db.query.text")
            .map(ToString::to_string),
        Some(format!("INSERT INTO {table} (email) VALUES (?)"))
    );
    assert_eq!(
        select
            .attributes
            .get("db.query.text")
            .map(ToString::to_string),
        Some(format!(
            "SELECT count(*) FROM {table} WHERE email <> $1 OR id > ?"
        ))
    );
    // Neither a literal nor a bound value leaves the process.
    let all = format!("{spans:?}");
    assert!(!all.contains("ada-secret"), "{all}");
    assert!(!all.contains("bound-secret"), "{all}");
}

#[tokio::test]
async fn counts_and_error_types_are_exact() {
    if !obskit_test_support::server_up(POSTGRES, "PostgreSQL") {
        return;
    }
    let telemetry = TestTelemetry::new();
    let raw = pg(POSTGRES, 2).await;
    let table = unique("obskit_errors");
    let pool = Pool::new(&telemetry, raw.clone()).unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {table} (email text UNIQUE)"
    )))
    .execute(&pool)
    .await
    .unwrap();
    for i in 0..3 {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} (email) VALUES ($1)"
        )))
        .bind(format!("user{i}@example.com"))
        .execute(&pool)
        .await
        .unwrap();
    }
    let dup = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} (email) VALUES ($1)"
    )))
    .bind("user0@example.com")
    .execute(&pool)
    .await
    .unwrap_err();
    assert_eq!(
        dup.as_database_error().unwrap().code().as_deref(),
        Some("23505")
    );
    let syntax = sqlx::query(sqlx::AssertSqlSafe(format!("SELEC email FROM {table}")))
        .fetch_all(&pool)
        .await
        .unwrap_err();
    assert_eq!(
        syntax.as_database_error().unwrap().code().as_deref(),
        Some("42601")
    );
    // A statement timeout, on a connection of its own.
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET statement_timeout = 50")
        .execute(&mut conn)
        .await
        .unwrap();
    let timeout = sqlx::query("SELECT pg_sleep(5)")
        .execute(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(
        timeout.as_database_error().unwrap().code().as_deref(),
        Some("57014")
    );
    sqlx::query("RESET statement_timeout")
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    // A transaction: BEGIN, a row, ROLLBACK.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} (email) VALUES ('x')"
    )))
    .execute(&mut tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    let rows: Vec<(String,)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT email FROM {table}")))
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 3, "the rollback kept the row out");
    drop_table(&raw, &table).await;

    let text = telemetry.metrics().render();
    let t = Some(table.as_str());
    assert_eq!(
        duration_count(&text, "INSERT", t, None),
        Some(4.0),
        "{text}"
    );
    assert_eq!(
        duration_count(&text, "INSERT", t, Some("23505")),
        Some(1.0),
        "{text}"
    );
    // A statement the server could not parse has no known operation.
    assert_eq!(
        duration_count(&text, "_OTHER", None, Some("42601")),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        duration_count(&text, "SELECT", None, Some("57014")),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        duration_count(&text, "SELECT", t, None),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        duration_count(&text, "BEGIN", None, None),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        duration_count(&text, "ROLLBACK", None, None),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        duration_count(&text, "CREATE", t, None),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        duration_count(&text, "SET", None, None),
        Some(1.0),
        "{text}"
    );

    let dup_span = telemetry
        .spans()
        .into_iter()
        .find(|s| s.attribute("error.type").as_deref() == Some("23505"))
        .expect("the unique violation's span");
    assert!(dup_span.is_error());
    assert_eq!(
        dup_span.attribute("db.response.status_code").as_deref(),
        Some("23505")
    );
    assert_eq!(
        dup_span.attribute("db.query.text"),
        None,
        "query text is opt-in"
    );
    let all = format!("{:?}", telemetry.spans());
    assert!(!all.contains("user0@example.com"), "{all}");
    // No span or label carries the server's message (it can quote a row).
    assert!(!all.contains("duplicate key"), "{all}");
}

#[tokio::test]
async fn pool_figures_equal_what_the_pool_reports() {
    if !obskit_test_support::server_up(POSTGRES, "PostgreSQL") {
        return;
    }
    let telemetry = TestTelemetry::new();
    let raw = pg(POSTGRES, 2).await;
    let pool = Pool::builder(&telemetry, raw.clone())
        .name("pg-small")
        .build()
        .unwrap();
    let metric = |name: &str, extra: &[(&str, &str)]| {
        let mut labels = vec![
            ("service_name", "test"),
            ("db_system_name", "postgresql"),
            ("db_client_connection_pool_name", "pg-small"),
        ];
        labels.extend_from_slice(extra);
        prom::exact(&telemetry.metrics().render(), name, &labels)
    };
    let pending = || metric("db_client_connection_pending_requests", &[]);
    let waits = || metric("db_client_connection_wait_time_seconds_count", &[]);

    // Hold both connections; five queries must wait.
    let started = std::time::Instant::now();
    let held = [pool.acquire().await.unwrap(), pool.acquire().await.unwrap()];
    assert_eq!(metric("db_client_connection_max", &[]), Some(2.0));
    assert_eq!((raw.size(), raw.num_idle()), (2, 0));
    assert_eq!(
        metric(
            "db_client_connections",
            &[("db_client_connection_state", "used")]
        ),
        Some(2.0)
    );
    assert_eq!(
        metric(
            "db_client_connections",
            &[("db_client_connection_state", "idle")]
        ),
        Some(0.0)
    );
    let waiting: Vec<_> = (0..5)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { sqlx::query("SELECT 1").execute(&pool).await.map(|_| ()) })
        })
        .collect();
    assert!(
        wait::until_async(Duration::from_secs(30), || async { pending() == Some(5.0) }).await,
        "five waiters: {:?}",
        pending()
    );
    assert_eq!(waits(), Some(2.0), "only the two holders got connections");
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(held);
    for w in waiting {
        w.await.unwrap().unwrap();
    }
    assert_eq!(pending(), Some(0.0));
    assert_eq!(waits(), Some(7.0));
    let text = telemetry.metrics().render();
    let sum = prom::value(
        &text,
        "db_client_connection_wait_time_seconds_sum",
        &[("db_client_connection_pool_name", "pg-small")],
    )
    .unwrap();
    assert!(
        sum >= 5.0 * 0.1 && sum <= 7.0 * started.elapsed().as_secs_f64(),
        "wait sum {sum}"
    );

    // Fifty at once through a pool of two: every request waits its turn,
    // and every one is counted.
    let results = futures_util::future::join_all(
        (0..50).map(|_| sqlx::query("SELECT pg_sleep(0.005)").execute(&pool)),
    )
    .await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(pending(), Some(0.0));
    assert_eq!(waits(), Some(57.0));
    // Connections go back to the pool in the background: compare once
    // the pool holds still between two reads.
    let agree = wait::until_async(Duration::from_secs(30), || {
        let state = |s| {
            metric(
                "db_client_connections",
                &[("db_client_connection_state", s)],
            )
        };
        let before = (raw.size(), raw.num_idle());
        let (used, idle) = (state("used"), state("idle"));
        let after = (raw.size(), raw.num_idle());
        #[allow(clippy::cast_precision_loss)]
        let reported = (f64::from(before.0) - before.1 as f64, before.1 as f64);
        let same = before == after && (used, idle) == (Some(reported.0), Some(reported.1));
        async move { same }
    })
    .await;
    assert!(agree, "the pool's counts by state match what it reports");
    assert!(raw.size() <= 2);

    // An acquire that times out is counted, and fails its query.
    let tight = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_millis(200))
        .connect(&format!("postgres://postgres@{POSTGRES}/test"))
        .await
        .unwrap();
    let tight = Pool::builder(&telemetry, tight)
        .name("pg-tight")
        .build()
        .unwrap();
    let hold = tight.acquire().await.unwrap();
    let err = sqlx::query("SELECT 1").execute(&tight).await.unwrap_err();
    assert!(matches!(err, sqlx::Error::PoolTimedOut), "{err:?}");
    drop(hold);
    let text = telemetry.metrics().render();
    assert_eq!(
        prom::value(
            &text,
            "db_client_connection_timeouts_total",
            &[("db_client_connection_pool_name", "pg-tight")]
        ),
        Some(1.0)
    );
    assert_eq!(
        prom::value(
            &text,
            "db_client_operation_duration_seconds_count",
            &[
                ("db_operation_name", "SELECT"),
                ("error_type", "pool_timeout")
            ]
        ),
        Some(1.0)
    );
    // The families pass Prometheus' own linter.
    obskit_test_support::assert_promtool_accepts(&text);
}

#[tokio::test]
async fn readiness_follows_a_database_cut_off_and_restored() {
    if !obskit_test_support::server_up(POSTGRES, "PostgreSQL") {
        return;
    }
    let telemetry = TestTelemetry::new();
    let proxy = Proxy::start(POSTGRES).await;
    let raw = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(1))
        .connect(&format!("postgres://postgres@{}/test", proxy.addr))
        .await
        .unwrap();
    let pool = Pool::new(&telemetry, raw).unwrap();
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
    sqlx::query("SELECT 1").execute(&pool).await.unwrap();

    proxy.cut();
    assert!(
        wait::until_async(Duration::from_secs(60), || async { !ready().await }).await,
        "not ready while the database is cut off"
    );
    let report = health.readiness().await;
    assert_eq!(report.checks[0].name, "postgresql");
    assert_eq!(report.checks[0].status, Status::Down);
    for _ in 0..5 {
        assert!(sqlx::query("SELECT 1").execute(&pool).await.is_err());
    }
    let warnings: Vec<_> = telemetry
        .logs()
        .into_iter()
        .filter(|l| l["target"] == "obskit::db" && l["level"] == "WARN")
        .collect();
    assert_eq!(warnings.len(), 1, "one warning a minute: {warnings:#?}");

    proxy.restore();
    assert!(
        wait::until_async(Duration::from_secs(60), ready).await,
        "ready again once the database answers"
    );
    sqlx::query("SELECT 1").execute(&pool).await.unwrap();
}
