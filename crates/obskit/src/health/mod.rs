//! Kubernetes health probes and the registry of dependency checks.
//!
//! - **liveness** (`/health/live`): the process answers. Never depends on
//!   dependencies, so a database outage does not restart every pod.
//! - **startup** (`/health/startup`): 503 until the service calls
//!   [`Health::mark_started`] ([`serve`](crate::serve()) does it once listening).
//! - **readiness** (`/health/ready`): 503 while starting, while draining,
//!   and while a critical check fails.
//!
//! ```
//! # async fn demo(telemetry: &obskit::Telemetry) -> Result<(), obskit::health::HealthError> {
//! use obskit::health::{Check, Status};
//!
//! let health = telemetry.health();
//! health.register(Check::new("cache", || async { Ok::<(), String>(()) }).critical(false))?;
//! health.mark_started();
//! assert_eq!(health.readiness().await.status, Status::Up);
//! # Ok(()) }
//! ```

mod check;
mod report;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub use check::Check;
pub use report::{CheckResult, Report, Status};

use crate::metrics::{MetricsHandle, names};

/// How often readiness is re-evaluated in the background once started.
pub const REFRESH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// A check could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HealthError {
    /// Two checks with one name.
    #[error("a health check named {0:?} is already registered; give each check a unique name")]
    DuplicateCheck(String),
    /// A name that would not make a clean label or JSON key.
    #[error(
        "health check name {0:?} is invalid; use 1 to 64 characters from a-z, A-Z, 0-9, '-', '_' and '.'"
    )]
    InvalidName(String),
}

/// The shared probe state. Cheap to clone.
#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

struct Inner {
    checks: parking_lot::RwLock<Vec<Arc<check::Registered>>>,
    started: AtomicBool,
    draining: AtomicBool,
    metrics: MetricsHandle,
    ready_gauge: metrics::Gauge,
    /// Ticks whenever readiness may have changed (start, drain, a check
    /// result), for watchers such as the gRPC health service's Watch.
    changes: tokio::sync::watch::Sender<()>,
    last_ready: AtomicBool,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field("started", &self.is_started())
            .field("draining", &self.is_draining())
            .field("checks", &self.inner.checks.read().len())
            .finish()
    }
}

impl Health {
    pub(crate) fn new(metrics: MetricsHandle) -> Self {
        let ready_gauge = metrics.gauge(names::HEALTH_READY, Vec::new());
        ready_gauge.set(0.0);
        Self {
            inner: Arc::new(Inner {
                checks: parking_lot::RwLock::new(Vec::new()),
                started: AtomicBool::new(false),
                draining: AtomicBool::new(false),
                metrics,
                ready_gauge,
                changes: tokio::sync::watch::Sender::new(()),
                last_ready: AtomicBool::new(false),
            }),
        }
    }

    /// Adds a dependency check to readiness.
    pub fn register(&self, check: Check) -> Result<(), HealthError> {
        let valid = !check.name.is_empty()
            && check.name.len() <= 64
            && check
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid {
            return Err(HealthError::InvalidName(check.name));
        }
        let mut checks = self.inner.checks.write();
        if checks.iter().any(|c| c.check.name == check.name) {
            return Err(HealthError::DuplicateCheck(check.name));
        }
        let metrics = self.inner.metrics.clone();
        let labels = vec![
            metrics::Label::new(names::HEALTH_CHECK, check.name.clone()),
            metrics::Label::new(names::HEALTH_CHECK_CRITICAL, check.critical.to_string()),
        ];
        checks.push(Arc::new(check::Registered {
            check,
            last: tokio::sync::Mutex::new(None),
            up_gauge: std::sync::OnceLock::new(),
            make_gauge: Box::new(move || metrics.gauge(names::HEALTH_CHECK_UP, labels.clone())),
        }));
        Ok(())
    }

    /// Marks start-up complete: the startup probe passes and readiness
    /// depends on the checks from now on.
    ///
    /// Inside a tokio runtime this also starts a background task that
    /// re-evaluates readiness every [`REFRESH_INTERVAL`] (reusing cached
    /// check results), so `obskit_health_ready` and `obskit_health_check_up`
    /// stay current even where nothing probes `/health/ready`.
    pub fn mark_started(&self) {
        if self.inner.started.swap(true, Ordering::SeqCst) {
            return;
        }
        self.inner.changes.send_replace(());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let weak = Arc::downgrade(&self.inner);
            runtime.spawn(async move {
                loop {
                    let Some(inner) = weak.upgrade() else { return };
                    let health = Health { inner };
                    let _ = health.readiness().await;
                    drop(health);
                    tokio::time::sleep(REFRESH_INTERVAL).await;
                }
            });
        }
    }

    /// Starts draining: readiness fails from now on, so load balancers stop
    /// sending new requests while in-flight ones finish.
    pub fn start_draining(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
        self.inner.ready_gauge.set(0.0);
        self.inner.changes.send_replace(());
    }

    /// Whether [`mark_started`](Self::mark_started) was called.
    pub fn is_started(&self) -> bool {
        self.inner.started.load(Ordering::SeqCst)
    }

    /// Whether [`start_draining`](Self::start_draining) was called.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    /// A receiver that is marked changed whenever readiness may have
    /// changed: start-up, the start of a drain, a readiness result that
    /// differs from the last one. The gRPC health service's `Watch` reads it.
    #[cfg(feature = "grpc")]
    pub(crate) fn subscribe(&self) -> tokio::sync::watch::Receiver<()> {
        self.inner.changes.subscribe()
    }

    /// The liveness report: always up while the process can answer.
    pub fn liveness(&self) -> Report {
        Report {
            status: Status::Up,
            reason: None,
            checks: Vec::new(),
        }
    }

    /// The startup report: down until started.
    pub fn startup(&self) -> Report {
        if self.is_started() {
            self.liveness()
        } else {
            Report {
                status: Status::Down,
                reason: Some("starting"),
                checks: Vec::new(),
            }
        }
    }

    /// The readiness report: runs (or reuses) every check, concurrently.
    pub async fn readiness(&self) -> Report {
        let checks: Vec<_> = self.inner.checks.read().iter().cloned().collect();
        let results = futures_util::future::join_all(checks.iter().map(|c| c.result())).await;
        let failing = results
            .iter()
            .any(|r| r.critical && r.status == Status::Down);
        let reason = if !self.is_started() {
            Some("starting")
        } else if self.is_draining() {
            Some("draining")
        } else {
            None
        };
        let status = if reason.is_some() || failing {
            Status::Down
        } else {
            Status::Up
        };
        let ready = status == Status::Up;
        self.inner.ready_gauge.set(if ready { 1.0 } else { 0.0 });
        if self.inner.last_ready.swap(ready, Ordering::SeqCst) != ready {
            self.inner.changes.send_replace(());
        }
        Report {
            status,
            reason,
            checks: results,
        }
    }
}

#[cfg(test)]
mod tests;
