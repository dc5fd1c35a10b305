//! The bounds of a graceful shutdown, and their defaults: how long the
//! server keeps serving while endpoints drain, how long in-flight requests
//! may finish, and how long telemetry may take to flush. Their sum is the
//! longest a clean shutdown takes, so a Kubernetes
//! `terminationGracePeriodSeconds` must exceed it (the generated service's
//! manifest does, and its tests check it).
//!
//! ```
//! use std::time::Duration;
//! use obskit::config::{ShutdownBounds, shutdown_bound};
//!
//! assert_eq!(shutdown_bound(), Duration::from_secs(20));
//! let bounds = ShutdownBounds::from_env_with(|name| {
//!     (name == "OBSKIT_DRAIN_DELAY").then(|| "15s".to_owned())
//! })?;
//! assert_eq!(bounds.total(), Duration::from_secs(30));
//! # Ok::<(), obskit::ConfigError>(())
//! ```

use std::time::Duration;

use super::env::{OBSKIT_DRAIN_DELAY, OBSKIT_INFLIGHT_TIMEOUT, OBSKIT_SHUTDOWN_TIMEOUT};
use super::parse;
use crate::error::ConfigError;

/// How long the server keeps serving, reporting not ready, after a shutdown
/// signal, so load balancers and endpoints stop sending it traffic
/// (`OBSKIT_DRAIN_DELAY`).
pub const DEFAULT_DRAIN_DELAY: Duration = Duration::from_secs(5);
/// How long in-flight requests may finish once the server stops accepting
/// (`OBSKIT_INFLIGHT_TIMEOUT`).
pub const DEFAULT_INFLIGHT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long flushing telemetry may take at the end (`OBSKIT_SHUTDOWN_TIMEOUT`).
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// The three bounds of a graceful shutdown, taken one after the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownBounds {
    /// Serving while not ready ([`DEFAULT_DRAIN_DELAY`]).
    pub drain_delay: Duration,
    /// In-flight requests finishing ([`DEFAULT_INFLIGHT_TIMEOUT`]).
    pub inflight_timeout: Duration,
    /// Telemetry flushing ([`DEFAULT_SHUTDOWN_TIMEOUT`]).
    pub shutdown_timeout: Duration,
}

impl ShutdownBounds {
    /// The defaults, used for every variable left unset.
    pub const DEFAULT: Self = Self {
        drain_delay: DEFAULT_DRAIN_DELAY,
        inflight_timeout: DEFAULT_INFLIGHT_TIMEOUT,
        shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
    };

    /// The bounds from `OBSKIT_DRAIN_DELAY`, `OBSKIT_INFLIGHT_TIMEOUT` and
    /// `OBSKIT_SHUTDOWN_TIMEOUT`, each defaulting when unset or empty.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through
    /// `lookup`: for example the `env` of a Kubernetes manifest.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let read = |name: &'static str, default: Duration| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .map_or(Ok(default), |v| parse::duration(name, &v))
        };
        Ok(Self {
            drain_delay: read(OBSKIT_DRAIN_DELAY, DEFAULT_DRAIN_DELAY)?,
            inflight_timeout: read(OBSKIT_INFLIGHT_TIMEOUT, DEFAULT_INFLIGHT_TIMEOUT)?,
            shutdown_timeout: read(OBSKIT_SHUTDOWN_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT)?,
        })
    }

    /// The longest a graceful shutdown takes: the three bounds added up.
    pub const fn total(&self) -> Duration {
        self.drain_delay
            .saturating_add(self.inflight_timeout)
            .saturating_add(self.shutdown_timeout)
    }
}

impl Default for ShutdownBounds {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The longest a graceful shutdown takes with the default bounds (20 s):
/// a pod's termination grace period must be longer.
pub const fn shutdown_bound() -> Duration {
    ShutdownBounds::DEFAULT.total()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_add_up_and_variables_override_them() {
        assert_eq!(ShutdownBounds::default(), ShutdownBounds::DEFAULT);
        assert_eq!(shutdown_bound(), Duration::from_secs(20));
        let bounds = ShutdownBounds::from_env_with(|name| match name {
            OBSKIT_INFLIGHT_TIMEOUT => Some("30s".to_owned()),
            OBSKIT_SHUTDOWN_TIMEOUT => Some(" ".to_owned()),
            _ => None,
        })
        .unwrap();
        assert_eq!(bounds.inflight_timeout, Duration::from_secs(30));
        assert_eq!(bounds.shutdown_timeout, DEFAULT_SHUTDOWN_TIMEOUT);
        assert_eq!(bounds.total(), Duration::from_secs(40));
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let err = ShutdownBounds::from_env_with(|name| {
            (name == OBSKIT_DRAIN_DELAY).then(|| "soon".to_owned())
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains(OBSKIT_DRAIN_DELAY), "{err}");
    }
}
