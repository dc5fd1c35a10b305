//! What the service depends on, for the stock Messaging and Dependencies panels and rules: a
//! RabbitMQ queue it publishes to and consumes from (with a dead-letter queue and a depth
//! poll), a PostgreSQL pool and a Redis connection it queries. Each is set up only when its
//! variable is set, so the tests that need none of them run the service without them:
//! - `E2E_AMQP_URL` and `E2E_QUEUE`: `GET /publish/{ok,poison}` publishes one message (the
//!   consumer acknowledges `ok` and dead-letters `poison`, a processing failure);
//!   `GET /consumer/{stall,release}` stops and resumes taking deliveries, as a consumer
//!   blocked in its processing would.
//! - `E2E_NATS_URL` and `E2E_NATS_STREAM`: the same over NATS JetStream (see `nats`).
//! - `E2E_POSTGRES_URL` and `E2E_REDIS_URL`: `GET /db/ok` runs `SELECT 1` on the pool and a
//!   Redis `SETEX` and `GET`; `GET /db/fail` sends a statement with a syntax error (SQLSTATE
//!   42601). Both answer 200 (the outcome is in the body), so HTTP figures stay as sent.
//!   `GET /db/hold` takes every connection of the pool and keeps them, with one more request
//!   waiting for a connection meanwhile, as a pool exhausted by slow work would be;
//!   `GET /db/release` gives them back.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use obskit::db::postgres::{Connection as Pooled, Pool};
use obskit::db::redis::Connection as Redis;
use obskit::messaging::rabbitmq::{self, Consumer, Publisher, queue_depth};
use obskit::messaging::{DepthOptions, DepthPoller, Destination, Messaging};
use obskit::slo::Slo;
use redis::AsyncCommands as _;
use redis::aio::ConnectionManager;
use tokio::sync::watch;

use crate::gate::{Gate, Waiter};

/// The freshness objective of the consumed messages: a message waiting longer than this
/// before its processing starts is bad for the SLO.
const FRESHNESS: Duration = Duration::from_secs(1);
/// Deliveries the consumer may hold unacknowledged.
const PREFETCH: u16 = 10;
/// How often the queue's depth is asked from the broker.
const DEPTH_INTERVAL: Duration = Duration::from_secs(1);
/// The broker deletes the queues this long after their last use (a service that was killed
/// leaves nothing behind for long).
const QUEUE_EXPIRES_MS: i32 = 60_000;
/// How long a request waits for a pooled PostgreSQL connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a Redis command may take.
const REDIS_TIMEOUT: Duration = Duration::from_secs(5);

/// The routes of every dependency whose variables are set.
pub(crate) async fn routes(telemetry: &obskit::Telemetry) -> anyhow::Result<Router> {
    let mut router = Router::new();
    if let Some(url) = var("E2E_AMQP_URL")? {
        let queue = var("E2E_QUEUE")?.context("E2E_AMQP_URL is set but E2E_QUEUE is not")?;
        router = router.merge(queue_routes(telemetry, &url, &queue).await?);
    }
    if let Some(url) = var("E2E_NATS_URL")? {
        let stream =
            var("E2E_NATS_STREAM")?.context("E2E_NATS_URL is set but E2E_NATS_STREAM is not")?;
        router = router.merge(crate::nats::routes(telemetry, &url, &stream).await?);
    }
    if let Some(postgres) = var("E2E_POSTGRES_URL")? {
        let redis =
            var("E2E_REDIS_URL")?.context("E2E_POSTGRES_URL is set but E2E_REDIS_URL is not")?;
        router = router.merge(datastore_routes(telemetry, &postgres, &redis).await?);
    }
    Ok(router)
}

fn var(name: &str) -> anyhow::Result<Option<String>> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Ok(Some(value)),
        Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("{name} is not valid unicode")),
    }
}

/// The queue, its publisher and the depth poll.
struct Queue {
    name: String,
    publisher: Publisher,
    _connection: Connection,
    _poller: DepthPoller,
}

async fn declare(channel: &Channel, name: &str, mut args: FieldTable) -> anyhow::Result<()> {
    args.insert("x-expires".into(), AMQPValue::LongInt(QUEUE_EXPIRES_MS));
    channel
        .queue_declare(name.to_owned().into(), QueueDeclareOptions::default(), args)
        .await
        .with_context(|| format!("could not declare the queue {name}"))?;
    Ok(())
}

async fn queue_routes(
    telemetry: &obskit::Telemetry,
    url: &str,
    name: &str,
) -> anyhow::Result<Router> {
    let messaging = Messaging::builder(telemetry, rabbitmq::SYSTEM)
        .slos([Slo::freshness("freshness", FRESHNESS, 0.99)?])
        .build()?;
    let connection = Connection::connect(url, ConnectionProperties::default())
        .await
        .with_context(|| format!("could not connect to RabbitMQ at {url}"))?;
    telemetry
        .health()
        .register(rabbitmq::connection_check("rabbitmq", &connection))?;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let dead = format!("{name}.dead");
    declare(&channel, &dead, FieldTable::default()).await?;
    let mut args = FieldTable::default();
    args.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString("".into()),
    );
    args.insert(
        "x-dead-letter-routing-key".into(),
        AMQPValue::LongString(LongString::from(dead)),
    );
    declare(&channel, name, args).await?;

    let consuming = connection.create_channel().await?;
    consuming
        .basic_qos(PREFETCH, BasicQosOptions::default())
        .await?;
    let deliveries = consuming
        .basic_consume(
            name.to_owned().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let gate = Gate::new();
    tokio::spawn(work(
        Consumer::new(&messaging, name, deliveries),
        gate.waiter(),
    ));

    let polling = connection.create_channel().await?;
    let polled = name.to_owned();
    let poller = messaging.poll_depth(
        &Destination::new(name.to_owned()),
        DepthOptions::default().interval(DEPTH_INTERVAL),
        move || {
            let (channel, queue) = (polling.clone(), polled.clone());
            async move { queue_depth(&channel, &queue).await }
        },
    );
    let queue = Arc::new(Queue {
        name: name.to_owned(),
        publisher: Publisher::new(&messaging, channel),
        _connection: connection,
        _poller: poller,
    });
    Ok(Router::new()
        .route("/publish/{kind}", get(publish))
        .with_state(queue)
        .merge(gate.routes()))
}

/// Takes deliveries while the gate is open: acknowledges `ok`, dead-letters `poison`.
async fn work(mut consumer: Consumer, mut gate: Waiter) {
    loop {
        if !gate.open().await {
            return;
        }
        let Some(Ok(message)) = consumer.next().await else {
            return;
        };
        let settled = if message.delivery().data == b"poison" {
            message.dead_letter("poison").await
        } else {
            message.ack().await
        };
        if let Err(e) = settled {
            obskit::tracing::warn!(error = %e, "could not settle a delivery");
        }
    }
}

/// `GET /publish/{ok,poison}`: one message, confirmed by the broker.
async fn publish(
    State(queue): State<Arc<Queue>>,
    Path(kind): Path<String>,
) -> Result<&'static str, (StatusCode, String)> {
    let payload: &[u8] = match kind.as_str() {
        "ok" => b"ok",
        "poison" => b"poison",
        other => {
            return Err((
                StatusCode::NOT_FOUND,
                format!("no message kind {other:?}; use ok or poison"),
            ));
        }
    };
    let confirmation = queue
        .publisher
        .publish(
            "",
            &queue.name,
            BasicPublishOptions::default(),
            payload,
            BasicProperties::default(),
        )
        .await
        .map_err(|e| (StatusCode::BAD_GATEWAY, format!("publish failed: {e}")))?;
    match confirmation {
        lapin::Confirmation::Ack(None) => Ok("published"),
        other => Err((
            StatusCode::BAD_GATEWAY,
            format!("the broker did not take the message: {other:?}"),
        )),
    }
}

/// The PostgreSQL pool and the Redis connection, and the key the service reads and writes.
#[derive(Clone)]
struct Datastores {
    pool: Pool,
    redis: Redis<ConnectionManager>,
    key: Arc<str>,
    held: Arc<Held>,
}

/// The connections `GET /db/hold` took, and whether it holds them.
struct Held {
    connections: tokio::sync::Mutex<Vec<Pooled>>,
    holding: watch::Sender<bool>,
}

async fn datastore_routes(
    telemetry: &obskit::Telemetry,
    postgres: &str,
    redis_url: &str,
) -> anyhow::Result<Router> {
    let pg = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect(postgres)
        .await
        .with_context(|| format!("could not connect to PostgreSQL at {postgres}"))?;
    let pool = Pool::builder(telemetry, pg).name("e2e").build()?;
    let client = redis::Client::open(redis_url)
        .with_context(|| format!("{redis_url} is not a Redis URL"))?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(REDIS_TIMEOUT))
        .set_response_timeout(Some(REDIS_TIMEOUT));
    let manager = ConnectionManager::new_with_config(client, config)
        .await
        .with_context(|| format!("could not connect to Redis at {redis_url}"))?;
    let stores = Datastores {
        pool,
        redis: Redis::new(telemetry, manager)?,
        key: format!("obskit-e2e:{}", std::process::id()).into(),
        held: Arc::new(Held {
            connections: tokio::sync::Mutex::new(Vec::new()),
            holding: watch::channel(false).0,
        }),
    };
    Ok(Router::new()
        .route("/db/{kind}", get(query))
        .with_state(stores))
}

/// `GET /db/{ok,fail,hold,release}`.
async fn query(
    State(mut stores): State<Datastores>,
    Path(kind): Path<String>,
) -> Result<String, (StatusCode, String)> {
    let failed = |e: String| (StatusCode::BAD_GATEWAY, e);
    match kind.as_str() {
        "ok" => {
            sqlx::query("SELECT 1")
                .execute(&stores.pool)
                .await
                .map_err(|e| failed(format!("SELECT 1 failed: {e}")))?;
            let () = stores
                .redis
                .set_ex(&*stores.key, "value", 60)
                .await
                .map_err(|e| failed(format!("SETEX failed: {e}")))?;
            let value: String = stores
                .redis
                .get(&*stores.key)
                .await
                .map_err(|e| failed(format!("GET failed: {e}")))?;
            Ok(format!("queried: {value}"))
        }
        "fail" => match sqlx::query("SELEC 1").execute(&stores.pool).await {
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42601") => {
                Ok("failed as intended: 42601".to_owned())
            }
            other => Err(failed(format!(
                "expected a syntax error (42601), got {other:?}"
            ))),
        },
        "hold" => hold(&stores).await.map_err(failed),
        "release" => {
            stores.held.holding.send_replace(false);
            stores.held.connections.lock().await.clear();
            Ok("released".to_owned())
        }
        other => Err((
            StatusCode::NOT_FOUND,
            format!("no query kind {other:?}; use ok, fail, hold or release"),
        )),
    }
}

/// Takes every connection of the pool and keeps them, and starts one more request that waits
/// for a connection until they are given back (asking again whenever its wait times out).
async fn hold(stores: &Datastores) -> Result<String, String> {
    let max = stores.pool.inner().options().get_max_connections();
    let mut held = stores.held.connections.lock().await;
    while held.len() < usize::try_from(max).unwrap_or(usize::MAX) {
        let connection = stores
            .pool
            .acquire()
            .await
            .map_err(|e| format!("could not take a connection to hold: {e}"))?;
        held.push(connection);
    }
    stores.held.holding.send_replace(true);
    let (pool, holding) = (stores.pool.clone(), stores.held.holding.subscribe());
    tokio::spawn(async move {
        while *holding.borrow() {
            if pool.acquire().await.is_ok() {
                return;
            }
        }
    });
    Ok(format!("holding {max} connections, one request waiting"))
}
