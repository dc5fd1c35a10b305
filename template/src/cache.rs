//! Redis through redis-rs, instrumented by obskit: every command gets a client span (named
//! by the command, never by the key), the database RED series, and `/health/ready` checks
//! the server with a bounded `PING`. `GET /cached/{name}` is the example route: a
//! cache-aside read.
{%- if postgres and redis %}
//!
//! `GET /visits/{name}` reads through the cache to PostgreSQL (`store.rs` counts the
//! visits): a `GET` of the count, and on a miss the `SELECT` and a `SETEX` that keeps the
//! count for [`TTL_SECONDS`], so a hit costs the database nothing and a count lags the
//! database by at most that long.
{%- endif %}

use anyhow::Context as _;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
{%- if postgres and redis %}
use obskit::db::postgres::Pool;
{%- endif %}
use redis::AsyncCommands as _;
use redis::aio::ConnectionManager;
use serde_json::{Value, json};

/// The variable holding the server's URL.
pub const URL_VAR: &str = "REDIS_URL";
/// Where the server is when `REDIS_URL` is not set: a local Redis (README.md says how to
/// start one).
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379/0";
/// How long a cached value lives.
pub const TTL_SECONDS: u64 = 60;

/// The instrumented connection; it reconnects by itself. Cheap to clone.
pub type Cache = obskit::db::redis::Connection<ConnectionManager>;

/// Connects to the server `REDIS_URL` names (else [`DEFAULT_URL`]).
pub async fn from_env(telemetry: &obskit::Telemetry) -> anyhow::Result<Cache> {
    let url = std::env::var(URL_VAR).unwrap_or_else(|_| DEFAULT_URL.to_owned());
    connect(telemetry, &url).await
}

/// Connects to the server at `url` and registers its readiness check (`redis`).
pub async fn connect(telemetry: &obskit::Telemetry, url: &str) -> anyhow::Result<Cache> {
    let client = redis::Client::open(url)
        .with_context(|| format!("{URL_VAR} `{url}` is not a Redis URL such as {DEFAULT_URL}"))?;
    let manager = ConnectionManager::new(client).await.with_context(|| {
        format!("could not connect to Redis at {url}; start it (README.md) or set {URL_VAR}")
    })?;
    Ok(Cache::new(telemetry, manager)?)
}

/// The routes that use the cache.
pub fn router(cache: Cache) -> Router {
    Router::new()
        .route("/cached/{name}", get(cached))
        .with_state(cache)
}

/// Cache-aside: the greeting from the cache, else made (the slow part of a real service)
/// and cached for [`TTL_SECONDS`].
async fn cached(
    State(mut cache): State<Cache>,
    Path(name): Path<String>,
) -> Result<Json<Value>, StatusCode> {
    let unavailable = |err: redis::RedisError| {
        tracing::warn!(error = %err, "the cache did not answer");
        StatusCode::SERVICE_UNAVAILABLE
    };
    let key = format!("greeting:{name}");
    let hit: Option<String> = cache.get(&key).await.map_err(unavailable)?;
    if let Some(greeting) = hit {
        return Ok(Json(json!({ "greeting": greeting, "cached": true })));
    }
    let greeting = format!("hello, {name}");
    let () = cache
        .set_ex(&key, &greeting, TTL_SECONDS)
        .await
        .map_err(unavailable)?;
    Ok(Json(json!({ "greeting": greeting, "cached": false })))
}
{%- if postgres and redis %}

/// The routes that read the database through the cache.
pub fn visits_router(cache: Cache, pool: Pool) -> Router {
    Router::new()
        .route("/visits/{name}", get(visits))
        .with_state((cache, pool))
}

/// Cache-aside over the database: the visit count of `name` from the cache, else read from
/// the database and cached for [`TTL_SECONDS`]. The cache only saves work: when it fails,
/// the database still answers.
async fn visits(
    State((mut cache, pool)): State<(Cache, Pool)>,
    Path(name): Path<String>,
) -> Result<Json<Value>, StatusCode> {
    let key = format!("visits:{name}");
    let hit: redis::RedisResult<Option<i64>> = cache.get(&key).await;
    let hit = hit.unwrap_or_else(|err| {
        tracing::warn!(error = %err, "the cache did not answer; reading the database");
        None
    });
    if let Some(visits) = hit {
        let body = json!({ "name": name, "visits": visits, "cached": true });
        return Ok(Json(body));
    }
    let visits: i64 = sqlx::query_scalar("SELECT count FROM visits WHERE name = $1")
        .bind(&name)
        .fetch_optional(&pool)
        .await
        .map_err(|err| {
            tracing::warn!(error = %err, "could not read a visit count");
            StatusCode::SERVICE_UNAVAILABLE
        })?
        .unwrap_or(0);
    let filled: redis::RedisResult<()> = cache.set_ex(&key, visits, TTL_SECONDS).await;
    if let Err(err) = filled {
        tracing::warn!(error = %err, "could not cache a visit count");
    }
    let body = json!({ "name": name, "visits": visits, "cached": false });
    Ok(Json(body))
}
{%- endif %}
