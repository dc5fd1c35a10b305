//! Databases and caches: client spans and RED figures by the OpenTelemetry
//! database semantic conventions, pool figures read from the pool, and a
//! readiness check per pool.
//!
//! - **Spans**: one client span per operation, a child of the current
//!   OpenTelemetry context (the request's span inside an obskit layer),
//!   named by `db.query.summary` (`SELECT users`, `GET`), with
//!   `db.system.name`, `db.operation.name`, `db.collection.name`,
//!   `db.namespace`, `server.address`/`server.port`, and on failure
//!   `error.type` and `db.response.status_code`. `db.query.text` only when
//!   you opt in ([`ClientBuilder::query_text`]), and always with its
//!   literals replaced by `?` ([`sanitize_sql`]).
//! - **Metrics**: `db_client_operation_duration_seconds{db_system_name,
//!   db_operation_name, db_collection_name, error_type}` with trace-id
//!   exemplars; operation, collection and error type are bounded per client
//!   (past 1 000 values, `_OTHER`). Keys, parameters and literals never
//!   become labels or span names.
//! - **SLOs**: a client can carry its own [`Slo`]s; each operation is
//!   classified good or bad at once, with its exact duration, into
//!   `obskit_slo_requests_total`. An SLO's `methods` filter matches the
//!   operation (`SELECT`, `GET`), its `routes` filter the collection.
//!
//! Adapters: `postgres` (sqlx, feature `postgres`) and `redis`
//! (redis-rs, feature `redis`). For any other client, [`Client`] is the
//! carrier: start a [`Call`] before the operation, end it after.
//!
//! ```
//! use obskit::db::{Client, Operation};
//! use obskit::metrics::names;
//!
//! let telemetry = obskit::testing::TestTelemetry::new();
//! let db = Client::builder(&telemetry, "mongodb")
//!     .namespace("shop")
//!     .server("127.0.0.1", Some(27017))
//!     .build()?;
//!
//! let call = db.start(Operation::new("find").collection("orders"));
//! // ... run the operation with your client ...
//! call.end_ok();
//!
//! let call = db.start(Operation::new("insert").collection("orders"));
//! call.end_error("DuplicateKey", Some("11000"));
//!
//! let span = telemetry.span("insert orders").expect("a client span");
//! assert_eq!(span.attribute("db.response.status_code").as_deref(), Some("11000"));
//! assert!(telemetry.metrics().render().contains(
//!     r#"db_client_operation_duration_seconds_count{service_name="test",db_system_name="mongodb",db_operation_name="insert",db_collection_name="orders",error_type="DuplicateKey"} 1"#
//! ));
//! # Ok::<(), obskit::db::DbError>(())
//! ```

/// The options every adapter's builder has (a `name` field, a `client`
/// field holding its [`ClientBuilder`]), each with its adapter's own doc.
#[cfg(any(feature = "postgres", feature = "redis"))]
macro_rules! builder_options {
    (
        $(#[$name_doc:meta])* name;
        $(#[$text_doc:meta])* query_text;
        $(#[$slos_doc:meta])* slos;
    ) => {
        $(#[$name_doc])*
        pub fn name(mut self, name: impl Into<String>) -> Self {
            self.name = name.into();
            self
        }

        $(#[$text_doc])*
        pub fn query_text(mut self, on: bool) -> Self {
            self.client = self.client.query_text(on);
            self
        }

        $(#[$slos_doc])*
        pub fn slos(mut self, slos: impl IntoIterator<Item = Slo>) -> Self {
            self.client = self.client.slos(slos);
            self
        }
    };
}

mod call;
mod labels;
mod pool;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(any(feature = "postgres", feature = "redis"))]
mod readiness;
#[cfg(feature = "redis")]
pub mod redis;
mod sql;
#[cfg_attr(not(any(feature = "postgres", feature = "redis")), allow(dead_code))]
mod warn;

use std::sync::Arc;

use metrics::{Histogram, Label};
use opentelemetry_sdk::trace::Tracer;

pub use call::{Call, Operation};
pub use pool::{PoolMetrics, PoolState};
pub use sql::sanitize_sql;

use crate::Telemetry;
use crate::metrics::cache::HandleMap;
use crate::metrics::{MetricsHandle, names};
use crate::slo::{Slo, SloError, SloSet};

/// A datastore client could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// The client's SLOs were rejected.
    #[error(transparent)]
    Slo(#[from] SloError),
    /// The readiness check could not be registered (its name is taken or invalid).
    #[error(
        "the readiness check of datastore client {name:?} could not be registered: {source}; give each pool a unique name with `.name(...)`"
    )]
    Health {
        /// The check's name.
        name: String,
        /// Why.
        #[source]
        source: crate::health::HealthError,
    },
}

/// Builds a [`Client`]: what every span and series of one datastore says.
#[must_use]
pub struct ClientBuilder {
    tracer: Tracer,
    metrics: MetricsHandle,
    #[cfg_attr(not(any(feature = "postgres", feature = "redis")), allow(dead_code))]
    pub(crate) health: crate::health::Health,
    system: &'static str,
    namespace: Option<String>,
    server: Option<(String, Option<u16>)>,
    query_text: bool,
    slos: Vec<Slo>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("system", &self.system)
            .field("namespace", &self.namespace)
            .field("server", &self.server)
            .field("query_text", &self.query_text)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// `db.namespace`: the database name (PostgreSQL), the database index
    /// (Redis). Spans only; never a label.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// `server.address` and `server.port` of the spans.
    pub fn server(mut self, address: impl Into<String>, port: Option<u16>) -> Self {
        self.server = Some((address.into(), port));
        self
    }

    /// Whether spans carry `db.query.text` (off by default). The text is
    /// always sanitized: every literal becomes `?`, comments are dropped.
    pub fn query_text(mut self, on: bool) -> Self {
        self.query_text = on;
        self
    }

    /// SLOs for this datastore's operations, measured like the service's
    /// own (`obskit_slo_requests_total{slo}`): give them names of their own.
    /// `methods` filters on the operation, `routes` on the collection.
    pub fn slos(mut self, slos: impl IntoIterator<Item = Slo>) -> Self {
        self.slos.extend(slos);
        self
    }

    /// The client.
    pub fn build(self) -> Result<Client, DbError> {
        let metrics = self.metrics;
        for h in [
            names::DB_CLIENT_OPERATION_DURATION,
            names::DB_CLIENT_CONNECTION_WAIT_TIME,
        ] {
            // Refused only when series exist with other bounds: a user's
            // own choice made first, which stays.
            let _ = metrics.set_histogram_buckets(h, names::DB_DURATION_BUCKETS);
        }
        let slos = SloSet::new(self.slos, &metrics)?;
        Ok(Client {
            shared: Arc::new(Shared {
                system: self.system,
                namespace: self.namespace.map(Into::into),
                server: self.server.map(|(a, p)| (Arc::from(a), p)),
                query_text: self.query_text,
                tracer: self.tracer,
                metrics,
                slos,
                operations: labels::Bounded::default(),
                collections: labels::Bounded::default(),
                errors: labels::Bounded::default(),
                durations: HandleMap::default(),
                warn: warn::Warn::default(),
            }),
        })
    }
}

/// One datastore as obskit instruments it: spans, RED series and SLOs for
/// every operation started with [`start`](Self::start). Cheap to clone.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("system", &self.shared.system)
            .field("namespace", &self.shared.namespace)
            .finish_non_exhaustive()
    }
}

/// Key of one duration series: operation, collection, error type.
type SeriesKey = (&'static str, Option<&'static str>, Option<&'static str>);

pub(crate) struct Shared {
    pub(crate) system: &'static str,
    pub(crate) namespace: Option<Arc<str>>,
    pub(crate) server: Option<(Arc<str>, Option<u16>)>,
    pub(crate) query_text: bool,
    pub(crate) tracer: Tracer,
    pub(crate) metrics: MetricsHandle,
    pub(crate) slos: SloSet,
    pub(crate) operations: labels::Bounded,
    pub(crate) collections: labels::Bounded,
    pub(crate) errors: labels::Bounded,
    durations: HandleMap<SeriesKey, Histogram>,
    #[cfg_attr(not(any(feature = "postgres", feature = "redis")), allow(dead_code))]
    pub(crate) warn: warn::Warn,
}

impl Shared {
    /// The duration histogram of one label set, made once.
    pub(crate) fn duration(&self, key: SeriesKey) -> Histogram {
        self.durations
            .get_or_make(key, |&(operation, collection, error)| {
                let mut labels = vec![
                    Label::new(names::DB_SYSTEM_NAME, self.system),
                    Label::new(names::DB_OPERATION_NAME, operation),
                ];
                if let Some(c) = collection {
                    labels.push(Label::new(names::DB_COLLECTION_NAME, c));
                }
                if let Some(e) = error {
                    labels.push(Label::new(names::ERROR_TYPE, e));
                }
                self.metrics
                    .histogram(names::DB_CLIENT_OPERATION_DURATION, labels)
            })
    }
}

impl Client {
    /// A builder for a client of `system` (`db.system.name`, e.g.
    /// [`names::DB_SYSTEM_POSTGRESQL`]) recording into `telemetry`.
    pub fn builder(telemetry: &Telemetry, system: &'static str) -> ClientBuilder {
        ClientBuilder {
            tracer: telemetry.tracer(),
            metrics: telemetry.metrics(),
            health: telemetry.health(),
            system,
            namespace: None,
            server: None,
            query_text: false,
            slos: Vec::new(),
        }
    }

    /// Starts an operation: its span opens now, as a child of the current
    /// OpenTelemetry context. End it with [`Call::end_ok`] or
    /// [`Call::end_error`]; a call dropped unended is recorded as
    /// cancelled (span only, no RED sample).
    pub fn start(&self, operation: Operation) -> Call {
        Call::start(Arc::clone(&self.shared), operation)
    }

    /// `db.system.name`.
    pub fn system(&self) -> &'static str {
        self.shared.system
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::metrics::Format;
    use crate::testing::TestTelemetry;

    #[test]
    fn a_datastore_carries_its_own_slos() {
        let telemetry = TestTelemetry::new();
        let db = Client::builder(&telemetry, "postgresql")
            .slos([
                Slo::availability("orders-db", 0.999)
                    .unwrap()
                    .routes(["orders"]),
                Slo::latency("db-fast", Duration::from_secs(60), 0.99)
                    .unwrap()
                    .methods(["SELECT"]),
            ])
            .build()
            .unwrap();
        db.start(Operation::sql("SELECT * FROM orders")).end_ok();
        db.start(Operation::sql("INSERT INTO orders VALUES (1)"))
            .end_error("23505", Some("23505"));
        db.start(Operation::sql("SELECT * FROM users")).end_ok();
        // Abandoned within the threshold: unknown, not counted.
        drop(db.start(Operation::sql("SELECT * FROM orders")));
        let text = telemetry.metrics().render();
        let has = |s: &str| assert!(text.contains(s), "missing {s}\n{text}");
        has(r#"obskit_slo_requests_total{service_name="test",slo="orders-db",result="good"} 1"#);
        has(r#"obskit_slo_requests_total{service_name="test",slo="orders-db",result="bad"} 1"#);
        has(r#"obskit_slo_requests_total{service_name="test",slo="db-fast",result="good"} 2"#);
        has(r#"obskit_slo_requests_total{service_name="test",slo="db-fast",result="bad"} 0"#);
        has(r#"obskit_slo_objective_ratio{service_name="test",slo="orders-db"} 0.999"#);
        // The abandoned call left a span, no RED sample.
        has(
            r#"db_client_operation_duration_seconds_count{service_name="test",db_system_name="postgresql",db_operation_name="SELECT",db_collection_name="orders"} 1"#,
        );
        let cancelled = telemetry
            .spans()
            .into_iter()
            .filter(|s| s.attribute("error.type").as_deref() == Some("cancelled"))
            .count();
        assert_eq!(cancelled, 1);
    }

    #[test]
    fn a_sampled_operation_leaves_its_trace_as_exemplar() {
        let telemetry = TestTelemetry::new();
        let db = Client::builder(&telemetry, "redis").build().unwrap();
        db.start(Operation::new("GET")).end_ok();
        let span = telemetry.span("GET").expect("the span");
        let text = telemetry.metrics().render_as(Format::OpenMetrics);
        let line = text
            .lines()
            .find(|l| {
                l.starts_with("db_client_operation_duration_seconds_bucket") && l.contains(" # {")
            })
            .unwrap_or_else(|| panic!("an exemplar\n{text}"));
        assert!(line.contains(&span.trace_id()), "{line}");
        assert!(line.contains(&span.span_id()), "{line}");
    }

    #[test]
    fn collections_past_the_bound_share_other() {
        let telemetry = TestTelemetry::new();
        let db = Client::builder(&telemetry, "mongodb").build().unwrap();
        for i in 0..=labels::LIMIT {
            db.start(Operation::new("find").collection(format!("c{i}")))
                .end_ok();
        }
        let text = telemetry.metrics().render();
        let series = text
            .lines()
            .filter(|l| l.starts_with("db_client_operation_duration_seconds_count{"))
            .count();
        assert_eq!(series, labels::LIMIT + 1, "1 000 collections and `_OTHER`");
        assert!(text.contains(r#"db_collection_name="_OTHER"} 1"#));
        // The span keeps its own name; only the label is bounded.
        assert!(
            telemetry
                .span(&format!("find c{}", labels::LIMIT))
                .is_some()
        );
    }
}
