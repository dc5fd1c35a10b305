//! A connection pool's figures by the semantic conventions: connections by
//! state and the maximum, read from the pool itself at every scrape; and
//! what no pool API tells (requests waiting, time waited, acquire
//! timeouts), counted exactly around each acquire that goes through
//! [`PoolMetrics::acquire`].

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use metrics::{Counter, Gauge, Histogram, Label};

use super::Client;
use crate::metrics::names;

/// A pool's connections as the pool itself reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    /// Open connections waiting in the pool.
    pub idle: u64,
    /// Open connections lent out.
    pub used: u64,
    /// The most connections the pool may open.
    pub max: u64,
}

/// One pool's series, labelled `db_system_name` and
/// `db_client_connection_pool_name`. Cheap to clone.
///
/// ```
/// use obskit::db::{Client, PoolState};
///
/// let telemetry = obskit::testing::TestTelemetry::new();
/// let db = Client::builder(&telemetry, "mysql").build()?;
/// let pool = db.pool_metrics("primary", || Some(PoolState { idle: 3, used: 1, max: 10 }));
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// // Acquire through it, so waiting requests and wait time are counted.
/// let conn: Result<&str, std::io::Error> = pool.acquire(async { Ok("a connection") }, |_| false).await;
/// # });
/// let text = telemetry.metrics().render();
/// assert!(text.contains(r#"db_client_connections{service_name="test",db_system_name="mysql",db_client_connection_pool_name="primary",db_client_connection_state="used"} 1"#));
/// assert!(text.contains(r#"db_client_connection_wait_time_seconds_count{service_name="test",db_system_name="mysql",db_client_connection_pool_name="primary"} 1"#));
/// # Ok::<(), obskit::db::DbError>(())
/// ```
#[derive(Clone)]
pub struct PoolMetrics {
    inner: Arc<Figures>,
}

impl std::fmt::Debug for PoolMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolMetrics").finish_non_exhaustive()
    }
}

struct Figures {
    pending: Gauge,
    wait: Histogram,
    timeouts: Counter,
}

impl Client {
    /// The series of a pool named `name` (unique within the service).
    /// `read` is asked at every scrape; once it answers `None` (the pool is
    /// gone) the counts drop to zero and it is asked no more.
    pub fn pool_metrics(
        &self,
        name: &str,
        read: impl Fn() -> Option<PoolState> + Send + Sync + 'static,
    ) -> PoolMetrics {
        let shared = self.shared();
        let metrics = &shared.metrics;
        let labels = || {
            vec![
                Label::new(names::DB_SYSTEM_NAME, shared.system),
                Label::new(names::DB_CLIENT_CONNECTION_POOL_NAME, name.to_owned()),
            ]
        };
        let state = |s: &'static str| {
            let mut l = labels();
            l.push(Label::new(names::DB_CLIENT_CONNECTION_STATE, s));
            metrics.gauge(names::DB_CLIENT_CONNECTIONS, l)
        };
        let idle = state(names::DB_CONNECTION_STATE_IDLE);
        let used = state(names::DB_CONNECTION_STATE_USED);
        let max = metrics.gauge(names::DB_CLIENT_CONNECTION_MAX, labels());
        let refresh = move || match read() {
            Some(s) => {
                #[allow(clippy::cast_precision_loss)] // connection counts are small
                {
                    idle.set(s.idle as f64);
                    used.set(s.used as f64);
                    max.set(s.max as f64);
                }
                true
            }
            None => {
                idle.set(0.0);
                used.set(0.0);
                false
            }
        };
        refresh();
        metrics.on_render(refresh);
        let pending = metrics.gauge(names::DB_CLIENT_CONNECTION_PENDING_REQUESTS, labels());
        pending.increment(0.0);
        let timeouts = metrics.counter(names::DB_CLIENT_CONNECTION_TIMEOUTS_TOTAL, labels());
        timeouts.increment(0);
        PoolMetrics {
            inner: Arc::new(Figures {
                pending,
                wait: metrics.histogram(names::DB_CLIENT_CONNECTION_WAIT_TIME, labels()),
                timeouts,
            }),
        }
    }
}

impl PoolMetrics {
    /// Runs `acquire` (the pool's own acquire) as one request for a
    /// connection: counted in `db_client_connection_pending_requests` while
    /// it waits, its wait recorded in `db_client_connection_wait_time_seconds`
    /// when it gets one, and in `db_client_connection_timeouts_total` when
    /// `timed_out` says its error is the pool's acquire timeout. A request
    /// dropped while waiting leaves the pending count too.
    pub async fn acquire<T, E>(
        &self,
        acquire: impl Future<Output = Result<T, E>>,
        timed_out: impl FnOnce(&E) -> bool,
    ) -> Result<T, E> {
        let start = Instant::now();
        let waiting = Waiting::new(&self.inner.pending);
        let result = acquire.await;
        drop(waiting);
        match &result {
            Ok(_) => self.inner.wait.record(start.elapsed().as_secs_f64()),
            Err(e) if timed_out(e) => self.inner.timeouts.increment(1),
            Err(_) => {}
        }
        result
    }
}

/// One request in the pending gauge, until dropped.
struct Waiting<'a>(&'a Gauge);

impl<'a> Waiting<'a> {
    fn new(g: &'a Gauge) -> Self {
        g.increment(1.0);
        Self(g)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}
