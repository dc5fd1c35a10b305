//! PostgreSQL through sqlx, instrumented by obskit: every query gets a client span (a
//! child of the request's), the database RED series and the pool's figures (connections
//! by state, waiters, wait time), and `/health/ready` checks the database with a bounded
//! ping. `POST /visits/{name}` is the example route that uses it.

use std::time::Duration;

use anyhow::Context as _;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use obskit::db::postgres::Pool;
use serde_json::{Value, json};
use sqlx::postgres::PgPoolOptions;

/// The variable holding the database's URL.
pub const URL_VAR: &str = "DATABASE_URL";
/// Where the database is when `DATABASE_URL` is not set: a local PostgreSQL (README.md
/// says how to start one).
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The most connections the pool opens.
pub const MAX_CONNECTIONS: u32 = 10;
/// How long a query waits for a free connection before it fails.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// The schema this service needs, applied at start (idempotent).
pub const MIGRATION: &str =
    "CREATE TABLE IF NOT EXISTS visits (name TEXT PRIMARY KEY, count BIGINT NOT NULL)";

/// Connects to the database `DATABASE_URL` names (else [`DEFAULT_URL`]) and migrates it.
pub async fn from_env(telemetry: &obskit::Telemetry) -> anyhow::Result<Pool> {
    let url = std::env::var(URL_VAR).unwrap_or_else(|_| DEFAULT_URL.to_owned());
    connect(telemetry, &url).await
}

/// Connects to the database at `url`, registers its readiness check (`postgresql`) and
/// applies [`MIGRATION`].
pub async fn connect(telemetry: &obskit::Telemetry, url: &str) -> anyhow::Result<Pool> {
    let pg = PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect(url)
        .await
        .with_context(|| {
            format!(
                "could not connect to PostgreSQL at {url}; start it (README.md) or set {URL_VAR}"
            )
        })?;
    let pool = Pool::new(telemetry, pg)?;
    // One instance migrates at a time: concurrent `CREATE TABLE IF NOT EXISTS` can collide.
    let mut migration = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(7301)")
        .execute(&mut migration)
        .await?;
    sqlx::query(MIGRATION).execute(&mut migration).await?;
    migration.commit().await?;
    Ok(pool)
}

/// The routes that use the database.
pub fn router(pool: Pool) -> Router {
    Router::new()
        .route("/visits/{name}", post(visit))
        .with_state(pool)
}

/// Counts a visit of `name` and answers the count so far.
async fn visit(
    State(pool): State<Pool>,
    Path(name): Path<String>,
) -> Result<Json<Value>, StatusCode> {
    let (count,): (i64,) = sqlx::query_as(
        "INSERT INTO visits (name, count) VALUES ($1, 1) \
         ON CONFLICT (name) DO UPDATE SET count = visits.count + 1 RETURNING count",
    )
    .bind(&name)
    .fetch_one(&pool)
    .await
    .map_err(|err| {
        tracing::warn!(error = %err, "could not count a visit");
        StatusCode::SERVICE_UNAVAILABLE
    })?;
    Ok(Json(json!({ "name": name, "visits": count })))
}
