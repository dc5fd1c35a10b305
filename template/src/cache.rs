//! Redis through redis-rs, instrumented by obskit: every command gets a client span (named
//! by the command, never by the key), the database RED series, and `/health/ready` checks
//! the server with a bounded `PING`. `GET /cached/{name}` is the example route: a
//! cache-aside read.

use anyhow::Context as _;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use redis::AsyncCommands as _;
use redis::aio::ConnectionManager;
use serde_json::{Value, json};

/// The variable holding the server's URL.
pub const URL_VAR: &str = "REDIS_URL";
/// Where the server is when `REDIS_URL` is not set: a local Redis (README.md says how to
/// start one).
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379/0";
/// How long a cached greeting lives.
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
