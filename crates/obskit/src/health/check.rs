//! A dependency check: a named async function with a timeout, a cache
//! interval and a flag saying whether it gates readiness.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::report::{CheckResult, Status};

type CheckFn = dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync;

/// A dependency check to [`register`](super::Health::register).
///
/// Checks run untraced: calls they make through obskit's HTTP client create
/// no span and send no `traceparent`, so probes and the background refresh
/// export nothing while the service is idle.
///
/// ```
/// use std::time::Duration;
/// use obskit::health::Check;
///
/// let check = Check::new("database", || async {
///     // e.g. `sqlx::query("SELECT 1").execute(&pool).await.map(|_| ())`
///     Ok::<(), std::io::Error>(())
/// })
/// .timeout(Duration::from_secs(1))
/// .cache_for(Duration::from_secs(5))
/// .critical(true);
/// ```
#[derive(Clone)]
pub struct Check {
    pub(crate) name: String,
    pub(crate) timeout: Duration,
    pub(crate) cache_for: Duration,
    pub(crate) critical: bool,
    pub(crate) run: Arc<CheckFn>,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .field("cache_for", &self.cache_for)
            .field("critical", &self.critical)
            .finish_non_exhaustive()
    }
}

impl Check {
    /// A critical check with a 2 s timeout whose result is reused for 5 s.
    pub fn new<F, Fut, E>(name: impl Into<String>, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Display + 'static,
    {
        let run = move || -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> {
            let fut = check();
            Box::pin(async move { fut.await.map_err(|e| e.to_string()) })
        };
        Self {
            name: name.into(),
            timeout: Duration::from_secs(2),
            cache_for: Duration::from_secs(5),
            critical: true,
            run: Arc::new(run),
        }
    }

    /// Fails the check when it has not answered within `timeout`.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Reuses a result for `interval`, so probes never hammer the dependency.
    /// Zero runs the check on every probe.
    #[must_use]
    pub fn cache_for(mut self, interval: Duration) -> Self {
        self.cache_for = interval;
        self
    }

    /// Whether a failure makes the service not ready (default `true`).
    /// Non-critical failures are reported but do not fail readiness.
    #[must_use]
    pub fn critical(mut self, critical: bool) -> Self {
        self.critical = critical;
        self
    }
}

/// Runs a check with telemetry suppressed in its OpenTelemetry context:
/// calls it makes through obskit's HTTP client (or anything else built on
/// the SDK's tracer) create no span and propagate no trace context, so an
/// idle service with dependency checks exports nothing. The check starts
/// from an empty context, whatever request or span happens to evaluate
/// readiness. Metrics and log lines are unaffected.
pub(crate) fn untraced<F: Future>(check: F) -> opentelemetry::context::WithContext<F> {
    use opentelemetry::context::FutureExt as _;
    check.with_context(opentelemetry::Context::new().with_telemetry_suppressed())
}

/// A registered check with its cached result. The async mutex makes
/// concurrent probes share one run instead of starting several.
pub(crate) struct Registered {
    pub(crate) check: Check,
    pub(crate) last: tokio::sync::Mutex<Option<(Instant, CheckResult)>>,
    /// Published on the first run, so a check that never ran is absent
    /// from `/metrics` rather than reported down.
    pub(crate) up_gauge: std::sync::OnceLock<metrics::Gauge>,
    pub(crate) make_gauge: Box<dyn Fn() -> metrics::Gauge + Send + Sync>,
}

impl Registered {
    pub(crate) async fn result(&self) -> CheckResult {
        let mut last = self.last.lock().await;
        if let Some((at, result)) = last.as_ref()
            && at.elapsed() < self.check.cache_for
        {
            return CheckResult {
                cached: true,
                ..result.clone()
            };
        }
        let start = Instant::now();
        let outcome = tokio::time::timeout(self.check.timeout, untraced((self.check.run)())).await;
        let duration = start.elapsed();
        let error = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(_) => Some(format!("timed out after {:?}", self.check.timeout)),
        };
        let result = CheckResult {
            name: self.check.name.clone(),
            status: if error.is_none() {
                Status::Up
            } else {
                Status::Down
            },
            critical: self.check.critical,
            duration_ms: duration.as_secs_f64() * 1000.0,
            error,
            cached: false,
        };
        self.up_gauge
            .get_or_init(|| (self.make_gauge)())
            .set(if result.status == Status::Up {
                1.0
            } else {
                0.0
            });
        *last = Some((Instant::now(), result.clone()));
        result
    }
}
