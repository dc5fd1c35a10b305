//! Redis through redis-rs: a [`Connection`] that wraps any async
//! connection (`ConnectionManager`, `MultiplexedConnection`) and is itself
//! a `redis::aio::ConnectionLike`, so commands and pipelines keep their
//! redis-rs form (`AsyncCommands`, `redis::cmd`, `redis::pipe`) and gain a
//! client span, the RED series and SLO classification, and a readiness
//! check (a bounded `PING`).
//!
//! ```no_run
//! use obskit::db::redis::Connection;
//! use redis::AsyncCommands as _;
//!
//! # async fn demo(telemetry: &obskit::Telemetry) -> Result<(), Box<dyn std::error::Error>> {
//! let client = redis::Client::open("redis://127.0.0.1:6379/0")?;
//! let manager = redis::aio::ConnectionManager::new(client).await?;
//! let mut cache = Connection::new(telemetry, manager)?; // readiness check "redis"
//!
//! let _: () = cache.set_ex("user:42", "ada", 60).await?; // span `SETEX`
//! let name: Option<String> = cache.get("user:42").await?; // span `GET`
//! let (a, b): (i64, i64) = redis::pipe().incr("hits", 1).incr("misses", 1).query_async(&mut cache).await?; // span `BATCH INCR`
//! # Ok(()) }
//! ```
//!
//! The span is named by the command (`GET`), a pipeline by `BATCH` and its
//! command when all are alike (`BATCH INCR`, with
//! `db.operation.batch.size`). Keys and values never become a span name, a
//! label or an attribute; with [`ConnectionBuilder::query_text`] the span
//! carries the command with a `?` per argument (`SET ? ? ? ?`).
//!
//! Error types: the error code the server answered (`WRONGTYPE`, `ERR`,
//! `NOSCRIPT`), also `db.response.status_code`; else `timeout`,
//! `connection_refused`, `io`, `_OTHER`.
//!
//! Redis clients multiplex one connection rather than pool several, so
//! there are no pool figures; readiness and the RED series show an outage.

use std::time::Duration;

use redis::aio::ConnectionLike;
use redis::{Arg, Cmd, Pipeline, RedisError, RedisFuture, Value};

use super::readiness::register_ping;
use super::warn::not_answering;
use super::{Call, Client, ClientBuilder, DbError, Operation};
use crate::Telemetry;
use crate::metrics::names;
use crate::slo::Slo;

/// How long the readiness check waits for `PONG`.
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest command name kept as a name; longer ones are `_OTHER`.
const COMMAND_MAX: usize = 32;

/// Builds a [`Connection`].
#[derive(Debug)]
#[must_use]
pub struct ConnectionBuilder<C> {
    client: ClientBuilder,
    conn: C,
    name: String,
}

impl<C> ConnectionBuilder<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    builder_options! {
        /// The readiness check's name (default `redis`).
        name;
        /// Whether spans carry `db.query.text`: the command with a `?` for
        /// each argument (off by default).
        query_text;
        /// SLOs of this cache's commands (see [`ClientBuilder::slos`]).
        slos;
    }

    /// `server.address` and `server.port` of the spans.
    pub fn server(mut self, address: impl Into<String>, port: Option<u16>) -> Self {
        self.client = self.client.server(address, port);
        self
    }

    /// The connection, with its readiness check registered: a `PING`
    /// bounded by [`PING_TIMEOUT`] on a clone of the connection.
    pub fn build(self) -> Result<Connection<C>, DbError> {
        let health = self.client.health.clone();
        let client = self
            .client
            .namespace(self.conn.get_db().to_string())
            .build()?;
        let ping = self.conn.clone();
        register_ping(&health, &self.name, PING_TIMEOUT, move || {
            let mut conn = ping.clone();
            async move {
                redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .map(|_| ())
                    .map_err(|e| describe(&e))
            }
        })?;
        Ok(Connection {
            inner: self.conn,
            client,
        })
    }
}

/// A Redis connection that records every command and pipeline sent
/// through it. Clone it as you would the connection inside.
#[derive(Clone, Debug)]
pub struct Connection<C> {
    inner: C,
    client: Client,
}

impl<C> Connection<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// Instruments `conn` with the defaults: check named `redis`, no
    /// query text, no SLOs.
    pub fn new(telemetry: &Telemetry, conn: C) -> Result<Self, DbError> {
        Self::builder(telemetry, conn).build()
    }

    /// A builder for instrumenting `conn`.
    pub fn builder(telemetry: &Telemetry, conn: C) -> ConnectionBuilder<C> {
        ConnectionBuilder {
            client: Client::builder(telemetry, names::DB_SYSTEM_REDIS),
            conn,
            name: names::DB_SYSTEM_REDIS.to_owned(),
        }
    }
}

impl<C> Connection<C> {
    /// The connection inside (what is sent on it directly is not recorded).
    pub fn inner(&mut self) -> &mut C {
        &mut self.inner
    }

    /// The datastore client the connection records through.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl<C: ConnectionLike + Send> ConnectionLike for Connection<C> {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let call = self
            .client
            .start(command(cmd, self.client.shared().query_text));
        Box::pin(async move {
            let result = self.inner.req_packed_command(cmd).await;
            match &result {
                // The server's refusal arrives as a value; the caller turns
                // it into an error.
                Ok(Value::ServerError(e)) => call.end_error(e.code(), Some(e.code())),
                other => end(call, &self.client, other.as_ref().map(|_| ())),
            }
            result
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let call = self
            .client
            .start(batch(pipeline, self.client.shared().query_text));
        Box::pin(async move {
            let result = self
                .inner
                .req_packed_commands(pipeline, offset, count)
                .await;
            let outcome = match &result {
                // A command of the batch the server refused fails it.
                Ok(values) => values
                    .iter()
                    .find_map(|v| match v {
                        Value::ServerError(e) => Some(e.code().to_owned()),
                        _ => None,
                    })
                    .map_or(Ok(()), Err),
                Err(e) => {
                    end(call, &self.client, Err(e));
                    return result;
                }
            };
            match outcome {
                Ok(()) => call.end_ok(),
                Err(code) => call.end_error(&code, Some(&code)),
            }
            result
        })
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}

/// A command's name: its first argument, upper-cased, if it looks like one.
fn name(cmd: &Cmd) -> &'static str {
    let Some(Arg::Simple(first)) = cmd.args_iter().next() else {
        return names::DB_VALUE_OTHER;
    };
    let plausible = !first.is_empty()
        && first.len() <= COMMAND_MAX
        && first
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'|'));
    if !plausible {
        return names::DB_VALUE_OTHER;
    }
    // Command names are a small set; the client's label bound caps the rest.
    let upper = String::from_utf8_lossy(first).to_ascii_uppercase();
    super::labels::intern_static(&upper)
}

/// The text of a command: its name and a `?` per argument.
fn text(name: &str, cmd: &Cmd) -> String {
    let mut t = String::from(name);
    for _ in 1..cmd.args_iter().len() {
        t.push_str(" ?");
    }
    t
}

/// A command as an operation; its text only for a client that exports it.
fn command(cmd: &Cmd, with_text: bool) -> Operation {
    let n = name(cmd);
    // Named by the command alone: the key is no target to name a span by.
    let op = Operation::new(n).summary(n);
    if with_text {
        op.text_without_literals(text(n, cmd))
    } else {
        op
    }
}

fn batch(pipeline: &Pipeline, with_text: bool) -> Operation {
    let mut names = pipeline.cmd_iter().map(name);
    let first = names.next();
    let same = first.filter(|f| names.all(|n| n == *f));
    let operation = match same {
        Some(n) => format!("BATCH {n}"),
        None => "BATCH".to_owned(),
    };
    let size = pipeline.cmd_iter().count();
    let op = Operation::new(operation.clone())
        .summary(operation)
        .batch_size(size);
    if !with_text {
        return op;
    }
    let text = pipeline
        .cmd_iter()
        .map(|c| text(name(c), c))
        .collect::<Vec<_>>()
        .join("; ");
    op.text_without_literals(text)
}

/// Ends `call` by `result`, warning (once a minute) when Redis could not
/// be reached.
fn end(call: Call, client: &Client, result: Result<(), &RedisError>) {
    let Err(e) = result else {
        call.end_ok();
        return;
    };
    match e.code() {
        Some(code) => call.end_error(code, Some(code)),
        None => call.end_error(classify(e), None),
    }
    if unavailable(e) {
        not_answering(
            client,
            || describe(e),
            "redis is not answering; commands are failing (at most one warning a minute)",
        );
    }
}

fn classify(e: &RedisError) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connection_refusal() {
        "connection_refused"
    } else if e.is_io_error() || e.is_connection_dropped() {
        "io"
    } else {
        "_OTHER"
    }
}

fn unavailable(e: &RedisError) -> bool {
    e.code().is_none()
        && (e.is_timeout()
            || e.is_connection_refusal()
            || e.is_io_error()
            || e.is_connection_dropped())
}

/// An error's text without what the server said (it may quote a value).
fn describe(e: &RedisError) -> String {
    match e.code() {
        Some(code) => format!("redis error {code}"),
        None => format!("{} ({:?})", classify(e), e.kind()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_named_as_redis_rs_sends_them() {
        // `set_ex` sends `SETEX key seconds value`, not `SET … EX`.
        let set_ex = Cmd::set_ex("user:42", "ada", 60);
        assert_eq!(name(&set_ex), "SETEX");
        let op = command(&set_ex, true);
        assert_eq!(op.operation_name(), Some("SETEX"));
        assert_eq!(op.summary_text(), Some("SETEX"));
        assert_eq!(op.query_text(), Some("SETEX ? ? ?"));
        assert_eq!(name(&Cmd::get("user:42")), "GET");
        assert_eq!(name(&Cmd::set("user:42", "ada")), "SET");
        assert_eq!(name(&redis::cmd("client|list")), "CLIENT|LIST");
        assert_eq!(
            name(&redis::cmd("no spaces, please")),
            names::DB_VALUE_OTHER
        );
    }

    #[test]
    fn a_pipeline_of_one_command_is_named_by_it() {
        let mut alike = redis::pipe();
        alike.set_ex("a", 1, 60).set_ex("b", 2, 60);
        assert_eq!(batch(&alike, false).operation_name(), Some("BATCH SETEX"));
        let mut mixed = redis::pipe();
        mixed.set_ex("a", 1, 60).get("a");
        assert_eq!(batch(&mixed, false).operation_name(), Some("BATCH"));
    }
}
