//! PostgreSQL through sqlx: a [`Pool`] that wraps a `PgPool` and is itself
//! a `sqlx::Executor`, so queries keep their sqlx form and gain a client
//! span, the RED series and SLO classification; the pool's figures, an
//! exact count of requests waiting for a connection and of their wait, and
//! a readiness check.
//!
//! ```no_run
//! use obskit::db::postgres::Pool;
//!
//! # async fn demo(telemetry: &obskit::Telemetry) -> Result<(), Box<dyn std::error::Error>> {
//! let pg = sqlx::postgres::PgPoolOptions::new()
//!     .max_connections(10)
//!     .connect("postgres://127.0.0.1/test")
//!     .await?;
//! let pool = Pool::new(telemetry, pg)?; // also registers the readiness check "postgresql"
//!
//! let (name,): (String,) = sqlx::query_as("SELECT name FROM users WHERE id = $1")
//!     .bind(42_i64)
//!     .fetch_one(&pool)
//!     .await?;
//!
//! let mut tx = pool.begin().await?; // span `BEGIN`
//! sqlx::query("UPDATE users SET seen = now() WHERE id = $1").bind(42_i64).execute(&mut tx).await?;
//! tx.commit().await?; // span `COMMIT`
//! # Ok(()) }
//! ```
//!
//! What goes through obskit: queries on `&Pool`, on `&mut` [`Connection`]
//! (from [`Pool::acquire`]) and on `&mut` [`Transaction`] (from
//! [`Pool::begin`]). Acquires made on the inner `PgPool` directly are
//! missing from the pending and wait-time figures (the pool's own counts
//! by state still include their connections).
//!
//! Streams (`fetch`, `fetch_many`) on `&Pool` are read whole before the
//! first row is handed out, because the pooled connection must outlive the
//! stream; to stream a large result, acquire a [`Connection`] and fetch
//! from it.
//!
//! Error types: the SQLSTATE for errors the server answered (`23505`, a
//! unique violation; `42601`, a syntax error; `57014`, a statement
//! timeout), which is also `db.response.status_code`; else `pool_timeout`,
//! `io`, `tls`, `protocol`, `pool_closed`, `decode`, `encode`, `_OTHER`.
//! Server messages are never exported: they can hold the values of a row.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt as _, TryStreamExt as _};
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArguments, PgConnection, PgQueryResult, PgRow, PgStatement, PgTypeInfo};
use sqlx::{Connection as _, Either, Error, Execute, Executor, PgPool, Postgres, SqlStr};

use super::readiness::register_ping;
use super::warn::not_answering;
use super::{Call, Client, ClientBuilder, DbError, Operation, PoolMetrics, PoolState};
use crate::Telemetry;
use crate::metrics::names;
use crate::slo::Slo;

/// How long the readiness check waits for a connection and its ping.
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Builds a [`Pool`].
#[derive(Debug)]
#[must_use]
pub struct PoolBuilder {
    client: ClientBuilder,
    pool: PgPool,
    name: String,
}

impl PoolBuilder {
    builder_options! {
        /// `db.client.connection.pool.name` and the readiness check's name
        /// (default `postgresql`): give each pool of a service its own.
        name;
        /// Whether spans carry `db.query.text`, with literals replaced by `?`
        /// (off by default).
        query_text;
        /// SLOs of this database's operations (see [`ClientBuilder::slos`]).
        slos;
    }

    /// The pool, with its series published and its readiness check
    /// registered: a bounded ping ([`PING_TIMEOUT`]) on a pooled
    /// connection, so a database that stops answering makes the service
    /// not ready, and a new connection after it recovers makes it ready.
    pub fn build(self) -> Result<Pool, DbError> {
        let health = self.client.health.clone();
        let client = self.client.build()?;
        let weak = self.pool.clone();
        // The figures are read from the pool; once the service drops it
        // (closes it), they are read no more.
        let metrics = client.pool_metrics(&self.name, move || {
            (!weak.is_closed()).then(|| {
                let size = u64::from(weak.size());
                let idle = u64::try_from(weak.num_idle()).unwrap_or(u64::MAX).min(size);
                PoolState {
                    idle,
                    used: size - idle,
                    max: u64::from(weak.options().get_max_connections()),
                }
            })
        });
        let ping = self.pool.clone();
        register_ping(&health, &self.name, PING_TIMEOUT, move || {
            let pool = ping.clone();
            async move {
                let mut conn = pool.acquire().await.map_err(|e| describe(&e))?;
                conn.ping().await.map_err(|e| describe(&e))
            }
        })?;
        Ok(Pool {
            pool: self.pool,
            client,
            metrics,
        })
    }
}

/// A `PgPool` that records what runs on it. Cheap to clone; use `&pool`
/// wherever sqlx takes an executor.
#[derive(Clone, Debug)]
pub struct Pool {
    pool: PgPool,
    client: Client,
    metrics: PoolMetrics,
}

impl Pool {
    /// Instruments `pool` with the defaults: named `postgresql`, no query
    /// text, no SLOs. See [`builder`](Self::builder) for the rest.
    pub fn new(telemetry: &Telemetry, pool: PgPool) -> Result<Self, DbError> {
        Self::builder(telemetry, pool).build()
    }

    /// A builder for instrumenting `pool`; `db.namespace`, `server.address`
    /// and `server.port` come from its connect options.
    pub fn builder(telemetry: &Telemetry, pool: PgPool) -> PoolBuilder {
        let options = pool.connect_options();
        let mut client = Client::builder(telemetry, names::DB_SYSTEM_POSTGRESQL)
            .server(options.get_host(), Some(options.get_port()));
        if let Some(db) = options.get_database() {
            client = client.namespace(db);
        }
        PoolBuilder {
            client,
            pool,
            name: names::DB_SYSTEM_POSTGRESQL.to_owned(),
        }
    }

    /// The sqlx pool inside (what runs on it directly is not recorded).
    pub fn inner(&self) -> &PgPool {
        &self.pool
    }

    /// The datastore client the pool records through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A connection from the pool, its wait counted
    /// (`db_client_connection_pending_requests`,
    /// `db_client_connection_wait_time_seconds`,
    /// `db_client_connection_timeouts_total`).
    pub async fn acquire(&self) -> Result<Connection, Error> {
        let conn = self
            .acquire_raw()
            .await
            .inspect_err(|e| warn_unavailable(&self.client, e))?;
        Ok(Connection {
            conn,
            client: self.client.clone(),
        })
    }

    /// A pooled connection, its wait counted; the caller warns on failure.
    async fn acquire_raw(&self) -> Result<sqlx::pool::PoolConnection<Postgres>, Error> {
        // Boxed: sqlx's acquire future is large, and moving it by value
        // through the wrappers cost more than the rest of obskit's work.
        self.metrics
            .acquire(Box::pin(self.pool.acquire()), |e| {
                matches!(e, Error::PoolTimedOut)
            })
            .await
    }

    /// Begins a transaction on a connection from the pool (span `BEGIN`,
    /// wait counted as for [`acquire`](Self::acquire)).
    pub async fn begin(&self) -> Result<Transaction, Error> {
        let call = self.client.start(Operation::sql("BEGIN"));
        let result = async {
            let conn = self.acquire_raw().await?;
            sqlx::Transaction::begin(conn, None).await
        }
        .await;
        end(call, &self.client, result.as_ref().map(|_| ()));
        Ok(Transaction {
            tx: result?,
            client: self.client.clone(),
        })
    }

    /// Runs `f` on a pooled connection inside the call's span (a query that
    /// could not be taken apart fails before any span).
    fn run<'e, T, F>(&self, query: Result<Parts, Error>, f: F) -> BoxFuture<'e, Result<T, Error>>
    where
        T: Send + 'e,
        F: for<'c> FnOnce(&'c mut PgConnection, Parts) -> BoxFuture<'c, Result<T, Error>>
            + Send
            + 'e,
    {
        let pool = self.clone();
        Box::pin(async move {
            let query = query?;
            let call = pool.client.start(query.operation());
            let result = async {
                let mut conn = pool.acquire_raw().await?;
                f(&mut conn, query).await
            }
            .await;
            end(call, &pool.client, result.as_ref().map(|_| ()));
            result
        })
    }
}

/// A pooled connection whose queries are recorded; `&mut conn` is an
/// executor. Returns to the pool when dropped.
#[derive(Debug)]
pub struct Connection {
    conn: sqlx::pool::PoolConnection<Postgres>,
    client: Client,
}

impl Connection {
    /// The sqlx connection inside (what runs on it directly is not recorded).
    pub fn inner(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

/// A transaction whose statements are recorded; `&mut tx` is an
/// executor. Dropped without [`commit`](Self::commit), it rolls back (as
/// sqlx's does).
#[derive(Debug)]
pub struct Transaction {
    tx: sqlx::Transaction<'static, Postgres>,
    client: Client,
}

impl Transaction {
    /// Commits (span `COMMIT`).
    pub async fn commit(self) -> Result<(), Error> {
        let call = self.client.start(Operation::sql("COMMIT"));
        let result = self.tx.commit().await;
        end(call, &self.client, result.as_ref().map(|_| ()));
        result
    }

    /// Rolls back (span `ROLLBACK`).
    pub async fn rollback(self) -> Result<(), Error> {
        let call = self.client.start(Operation::sql("ROLLBACK"));
        let result = self.tx.rollback().await;
        end(call, &self.client, result.as_ref().map(|_| ()));
        result
    }
}

impl Deref for Transaction {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.tx
    }
}

impl DerefMut for Transaction {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}

/// A query taken apart, so its text can be read and it still be run.
struct Parts {
    sql: SqlStr,
    statement: Option<PgStatement>,
    arguments: Option<PgArguments>,
    persistent: bool,
}

impl Parts {
    fn of<'q, E: Execute<'q, Postgres>>(mut query: E) -> Result<Self, Error> {
        let arguments = query.take_arguments().map_err(Error::Encode)?;
        let persistent = query.persistent();
        let statement = query.statement().cloned();
        Ok(Self {
            sql: query.sql(),
            statement,
            arguments,
            persistent,
        })
    }

    fn operation(&self) -> Operation {
        Operation::sql(self.sql.as_str())
    }
}

impl<'q> Execute<'q, Postgres> for Parts {
    fn sql(self) -> SqlStr {
        self.sql
    }

    fn statement(&self) -> Option<&PgStatement> {
        self.statement.as_ref()
    }

    fn take_arguments(&mut self) -> Result<Option<PgArguments>, BoxDynError> {
        Ok(self.arguments.take())
    }

    fn persistent(&self) -> bool {
        self.persistent
    }
}

/// Ends `call` by `result`, warning (once a minute) when the database
/// could not be reached.
fn end(call: Call, client: &Client, result: Result<(), &Error>) {
    match result {
        Ok(()) => call.end_ok(),
        Err(e) => {
            let (error_type, code) = classify(e);
            call.end_error(&error_type, code.as_deref());
            warn_unavailable(client, e);
        }
    }
}

/// The error type and the server's SQLSTATE, if it answered one.
fn classify(e: &Error) -> (String, Option<String>) {
    let kind = match e {
        Error::Database(db) => {
            return match db.code() {
                Some(code) => (code.to_string(), Some(code.into_owned())),
                None => ("_OTHER".to_owned(), None),
            };
        }
        Error::PoolTimedOut => "pool_timeout",
        Error::PoolClosed => "pool_closed",
        Error::Io(_) => "io",
        Error::Tls(_) => "tls",
        Error::Protocol(_) => "protocol",
        Error::WorkerCrashed => "worker_crashed",
        Error::RowNotFound => "row_not_found",
        Error::Encode(_) => "encode",
        Error::Decode(_)
        | Error::ColumnDecode { .. }
        | Error::ColumnNotFound(_)
        | Error::ColumnIndexOutOfBounds { .. }
        | Error::TypeNotFound { .. } => "decode",
        _ => "_OTHER",
    };
    (kind.to_owned(), None)
}

/// Whether `e` means the database could not be reached or answered nothing.
fn unavailable(e: &Error) -> bool {
    matches!(
        e,
        Error::PoolTimedOut
            | Error::Io(_)
            | Error::Tls(_)
            | Error::Protocol(_)
            | Error::WorkerCrashed
    )
}

fn warn_unavailable(client: &Client, e: &Error) {
    if unavailable(e) {
        not_answering(
            client,
            || describe(e),
            "the database is not answering; operations are failing (at most one warning a minute)",
        );
    }
}

/// An error's text, without what the server said about rows: only the
/// SQLSTATE of a database error.
fn describe(e: &Error) -> String {
    match e {
        Error::Database(db) => format!(
            "database error {}",
            db.code().as_deref().unwrap_or("without a code")
        ),
        other => other.to_string(),
    }
}

/// The instrumented form of one query on a borrowed connection: a stream
/// that ends its call when the results end, fail, or are dropped.
fn observed_stream<'e, T: Send + 'e>(
    client: &Client,
    parts: Result<Parts, Error>,
    run: impl FnOnce(Parts) -> BoxStream<'e, Result<T, Error>>,
) -> BoxStream<'e, Result<T, Error>> {
    let parts = match parts {
        Ok(p) => p,
        Err(e) => return stream::once(async move { Err(e) }).boxed(),
    };
    let call = client.start(parts.operation());
    let client = client.clone();
    let inner = run(parts);
    let state = Some(Observing {
        call: Some(call),
        client,
        yielded: false,
    });
    stream::unfold((inner, state), |(mut inner, mut state)| async move {
        let obs = state.as_mut()?;
        match inner.next().await {
            Some(Ok(v)) => {
                obs.yielded = true;
                Some((Ok(v), (inner, state)))
            }
            Some(Err(e)) => {
                let mut obs = state.take()?;
                if let Some(call) = obs.call.take() {
                    end(call, &obs.client, Err(&e));
                }
                Some((Err(e), (inner, None)))
            }
            None => {
                let mut obs = state.take()?;
                if let Some(call) = obs.call.take() {
                    call.end_ok();
                }
                None
            }
        }
    })
    .boxed()
}

/// A stream's call until its end: dropped after a row, the caller had what
/// it wanted (success); before any, the operation was cancelled.
struct Observing {
    call: Option<Call>,
    client: Client,
    yielded: bool,
}

impl Drop for Observing {
    fn drop(&mut self) {
        if self.yielded
            && let Some(call) = self.call.take()
        {
            call.end_ok();
        }
    }
}

/// The instrumented form of one query answered by a future.
fn observed_future<'e, T: Send + 'e>(
    client: &Client,
    parts: Result<Parts, Error>,
    run: impl FnOnce(Parts) -> BoxFuture<'e, Result<T, Error>> + Send + 'e,
) -> BoxFuture<'e, Result<T, Error>> {
    let client = client.clone();
    Box::pin(async move {
        let parts = parts?;
        let call = client.start(parts.operation());
        let result = run(parts).await;
        end(call, &client, result.as_ref().map(|_| ()));
        result
    })
}

/// The `Executor` methods answered by a future, for a type whose `run`
/// takes a query's parts and what to do with them on a connection.
macro_rules! future_executor_methods {
    ($c:lifetime) => {
        fn fetch_optional<'e, 'q: 'e, E>(
            self,
            query: E,
        ) -> BoxFuture<'e, Result<Option<PgRow>, Error>>
        where
            $c: 'e,
            E: 'q + Execute<'q, Postgres>,
        {
            self.run(Parts::of(query), |conn, p| conn.fetch_optional(p))
        }

        fn execute<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<PgQueryResult, Error>>
        where
            $c: 'e,
            E: 'q + Execute<'q, Postgres>,
        {
            self.run(Parts::of(query), |conn, p| conn.execute(p))
        }

        fn fetch_all<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Vec<PgRow>, Error>>
        where
            $c: 'e,
            E: 'q + Execute<'q, Postgres>,
        {
            self.run(Parts::of(query), |conn, p| conn.fetch_all(p))
        }
    };
}

/// `Executor` for a type that splits into its client and a `PgConnection`.
macro_rules! connection_executor {
    ($ty:ty) => {
        impl $ty {
            /// Runs `f` on the connection inside the call's span.
            fn run<'e, T: Send + 'e>(
                &'e mut self,
                query: Result<Parts, Error>,
                f: impl FnOnce(&'e mut PgConnection, Parts) -> BoxFuture<'e, Result<T, Error>>
                    + Send
                    + 'e,
            ) -> BoxFuture<'e, Result<T, Error>> {
                let (client, conn) = self.split();
                observed_future(client, query, move |p| f(conn, p))
            }
        }

        impl<'c> Executor<'c> for &'c mut $ty {
            type Database = Postgres;

            fn fetch_many<'e, 'q: 'e, E>(
                self,
                query: E,
            ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, Error>>
            where
                'c: 'e,
                E: 'q + Execute<'q, Postgres>,
            {
                let (client, conn) = self.split();
                observed_stream(client, Parts::of(query), move |p| conn.fetch_many(p))
            }

            future_executor_methods!('c);

            fn prepare_with<'e>(
                self,
                sql: SqlStr,
                parameters: &'e [PgTypeInfo],
            ) -> BoxFuture<'e, Result<PgStatement, Error>>
            where
                'c: 'e,
            {
                self.split().1.prepare_with(sql, parameters)
            }

            fn describe<'e>(
                self,
                sql: SqlStr,
            ) -> BoxFuture<'e, Result<sqlx::Describe<Postgres>, Error>>
            where
                'c: 'e,
            {
                self.split().1.describe(sql)
            }
        }
    };
}

impl Connection {
    /// The client it records through, and the connection to run on.
    fn split(&mut self) -> (&Client, &mut PgConnection) {
        (&self.client, &mut *self.conn)
    }
}

impl Transaction {
    /// The client it records through, and the connection to run on.
    fn split(&mut self) -> (&Client, &mut PgConnection) {
        (&self.client, &mut *self.tx)
    }
}

connection_executor!(Connection);
connection_executor!(Transaction);

impl<'p> Executor<'p> for &'_ Pool {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, Error>>
    where
        E: 'q + Execute<'q, Postgres>,
    {
        // Read whole: the pooled connection cannot outlive this call.
        let rows = self.run(Parts::of(query), |conn, p| {
            conn.fetch_many(p).try_collect::<Vec<_>>().boxed()
        });
        stream::once(rows)
            .map(|r| match r {
                Ok(v) => Either::Left(stream::iter(v.into_iter().map(Ok))),
                Err(e) => Either::Right(stream::once(async move { Err(e) })),
            })
            .flat_map(|s| match s {
                Either::Left(s) => s.boxed(),
                Either::Right(s) => s.boxed(),
            })
            .boxed()
    }

    future_executor_methods!('p);

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement, Error>>
    where
        'p: 'e,
    {
        let pool = self.clone();
        Box::pin(async move {
            pool.acquire_raw()
                .await?
                .prepare_with(sql, parameters)
                .await
        })
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<sqlx::Describe<Postgres>, Error>> {
        let pool = self.clone();
        Box::pin(async move { pool.acquire_raw().await?.describe(sql).await })
    }
}
