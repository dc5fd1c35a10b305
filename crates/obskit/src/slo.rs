//! Service level objectives, declared in code and measured in-process.
//!
//! The HTTP layer classifies every request good or bad for every SLO at the
//! moment it records it, with the exact latency (no histogram bucket
//! alignment), into `obskit_slo_requests_total{slo, result}`. Each
//! objective is exported as `obskit_slo_objective_ratio{slo}` (and a latency
//! SLO's threshold as `obskit_slo_latency_threshold_seconds{slo}`), so one
//! set of stock alert rules serves every service: changing an SLO is a code
//! change and a deploy, with no rules to regenerate.
//!
//! ```
//! use std::time::Duration;
//! use obskit::slo::Slo;
//!
//! let slos = [
//!     Slo::availability("availability", 0.999)?,
//!     Slo::latency("checkout-latency", Duration::from_millis(300), 0.99)?
//!         .routes(["/checkout", "/checkout/{id}"])
//!         .methods(["POST"]),
//! ];
//! # Ok::<(), obskit::slo::SloError>(())
//! ```
//!
//! Classification: an availability SLO counts a request bad when the
//! response is a 5xx or the handler failed; a latency SLO counts it bad when
//! it took longer than the threshold, whatever its status.
//!
//! Processed messages ([`crate::messaging`]) are classified into the same
//! counter: availability (processed and acknowledged without error),
//! latency (processing time), and freshness, which only messages have: the
//! message's age when its processing started, against a threshold
//! ([`Slo::freshness`]). For messages, a route filter matches the
//! destination and a method filter the operation, `PROCESS`.
//!
//! Exemplars: a bad request recorded inside a sampled span leaves its trace
//! and span ids as the exemplar of `obskit_slo_requests_total{result="bad"}`
//! in OpenMetrics scrapes (the newest bad request wins); good requests leave
//! none.

use std::sync::Arc;
use std::time::Duration;

use metrics::{Counter, Label};

use crate::metrics::{MetricsHandle, names};

/// An SLO declaration was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SloError {
    /// The objective is not strictly between 0 and 1.
    #[error(
        "SLO {name:?} has objective {objective}; it must lie strictly between 0 and 1, e.g. 0.999 for 99.9 %"
    )]
    ObjectiveOutOfRange {
        /// The SLO.
        name: String,
        /// The rejected objective.
        objective: f64,
    },
    /// A latency or freshness SLO with a zero threshold.
    #[error("SLO {name:?} has a zero threshold; give a positive duration such as 300 ms")]
    ZeroThreshold {
        /// The SLO.
        name: String,
    },
    /// A name that is empty, too long or not label-safe.
    #[error("SLO name {0:?} is invalid; use 1 to 64 characters from a-z, A-Z, 0-9, '-' and '_'")]
    InvalidName(String),
    /// Two SLOs with one name.
    #[error("two SLOs are named {0:?}; SLO names must be unique within a service")]
    Duplicate(String),
}

/// What an SLO measures.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum SloKind {
    /// The share of requests that did not fail with a 5xx.
    Availability,
    /// The share of requests faster than the threshold.
    Latency {
        /// The slowest a good request may be.
        threshold: Duration,
    },
    /// The share of messages whose processing started within the
    /// threshold of their creation. Requests other than messages, and
    /// messages whose age is unknown, are not counted.
    Freshness {
        /// The oldest a good message may be when its processing starts.
        threshold: Duration,
    },
}

/// One service level objective.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    name: Arc<str>,
    kind: SloKind,
    objective: f64,
    routes: Option<Vec<String>>,
    methods: Option<Vec<String>>,
}

impl Slo {
    /// An availability SLO: `objective` of requests must not fail.
    pub fn availability(name: impl Into<String>, objective: f64) -> Result<Self, SloError> {
        Self::new(name.into(), SloKind::Availability, objective)
    }

    /// A latency SLO: `objective` of requests must finish within `threshold`.
    pub fn latency(
        name: impl Into<String>,
        threshold: Duration,
        objective: f64,
    ) -> Result<Self, SloError> {
        Self::with_threshold(name.into(), threshold, objective, |threshold| {
            SloKind::Latency { threshold }
        })
    }

    /// A freshness SLO for processed messages: `objective` of messages
    /// must start processing within `threshold` of their creation.
    ///
    /// ```
    /// use std::time::Duration;
    /// let slo = obskit::slo::Slo::freshness("orders-fresh", Duration::from_secs(30), 0.99)?
    ///     .routes(["orders"]);
    /// # let _ = slo;
    /// # Ok::<(), obskit::slo::SloError>(())
    /// ```
    pub fn freshness(
        name: impl Into<String>,
        threshold: Duration,
        objective: f64,
    ) -> Result<Self, SloError> {
        Self::with_threshold(name.into(), threshold, objective, |threshold| {
            SloKind::Freshness { threshold }
        })
    }

    /// An SLO of `kind` with a duration threshold, which may not be zero.
    fn with_threshold(
        name: String,
        threshold: Duration,
        objective: f64,
        kind: fn(Duration) -> SloKind,
    ) -> Result<Self, SloError> {
        if threshold.is_zero() {
            return Err(SloError::ZeroThreshold { name });
        }
        Self::new(name, kind(threshold), objective)
    }

    fn new(name: String, kind: SloKind, objective: f64) -> Result<Self, SloError> {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(SloError::InvalidName(name));
        }
        if !(objective > 0.0 && objective < 1.0) {
            return Err(SloError::ObjectiveOutOfRange { name, objective });
        }
        Ok(Self {
            name: name.into(),
            kind,
            objective,
            routes: None,
            methods: None,
        })
    }

    /// Limits the SLO to these route templates (as in the router, e.g. `/users/{id}`).
    #[must_use]
    pub fn routes<I, R>(mut self, routes: I) -> Self
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        self.routes = Some(routes.into_iter().map(Into::into).collect());
        self
    }

    /// Limits the SLO to these methods (e.g. `["GET", "POST"]`).
    #[must_use]
    pub fn methods<I, M>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = M>,
        M: Into<String>,
    {
        self.methods = Some(
            methods
                .into_iter()
                .map(|m| m.into().to_ascii_uppercase())
                .collect(),
        );
        self
    }

    /// The name, the `slo` label's value.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it measures.
    pub fn kind(&self) -> SloKind {
        self.kind
    }

    /// The target ratio of good requests.
    pub fn objective(&self) -> f64 {
        self.objective
    }

    fn applies(&self, method: &str, route: &str) -> bool {
        self.routes
            .as_ref()
            .is_none_or(|r| r.iter().any(|x| x == route))
            && self
                .methods
                .as_ref()
                .is_none_or(|m| m.iter().any(|x| x == method))
    }

    /// Good or bad, or `None` when the SLO does not judge this exchange
    /// (freshness of anything whose age is unknown).
    fn is_good(&self, failed: bool, elapsed: Duration, age: Option<Duration>) -> Option<bool> {
        match self.kind {
            SloKind::Availability => Some(!failed),
            SloKind::Latency { threshold } => Some(elapsed <= threshold),
            SloKind::Freshness { threshold } => age.map(|a| a <= threshold),
        }
    }
}

/// A service's SLOs bound to their counters: what the HTTP layer holds.
#[derive(Debug, Clone, Default)]
pub(crate) struct SloSet {
    entries: Arc<[Entry]>,
}

#[derive(Debug)]
struct Entry {
    slo: Slo,
    good: Counter,
    bad: Counter,
}

impl SloSet {
    /// Validates uniqueness, registers the counters and publishes the objectives.
    pub(crate) fn new(slos: Vec<Slo>, metrics: &MetricsHandle) -> Result<Self, SloError> {
        for (i, slo) in slos.iter().enumerate() {
            if slos[..i].iter().any(|s| s.name == slo.name) {
                return Err(SloError::Duplicate(slo.name.to_string()));
            }
        }
        let entries = slos
            .into_iter()
            .map(|slo| {
                let label = || Label::new(names::SLO, slo.name.to_string());
                let labels =
                    |result: &'static str| vec![label(), Label::new(names::SLO_RESULT, result)];
                metrics
                    .gauge(names::SLO_OBJECTIVE_RATIO, vec![label()])
                    .set(slo.objective);
                match slo.kind {
                    SloKind::Latency { threshold } => metrics
                        .gauge(names::SLO_LATENCY_THRESHOLD, vec![label()])
                        .set(threshold.as_secs_f64()),
                    SloKind::Freshness { threshold } => metrics
                        .gauge(names::SLO_FRESHNESS_THRESHOLD, vec![label()])
                        .set(threshold.as_secs_f64()),
                    SloKind::Availability => {}
                }
                // A bad request inside a sampled span leaves its trace as the
                // exemplar of the bad series: from a burning budget to the
                // trace behind it. Good requests keep none.
                let good = metrics.counter_without_exemplars(
                    names::SLO_REQUESTS_TOTAL,
                    labels(names::SLO_RESULT_GOOD),
                );
                let bad = metrics.counter(names::SLO_REQUESTS_TOTAL, labels(names::SLO_RESULT_BAD));
                // Both series exist from the start, so ratios are defined at once.
                good.increment(0);
                bad.increment(0);
                Entry { slo, good, bad }
            })
            .collect();
        Ok(Self { entries })
    }

    /// Counts one request for every SLO it falls under. `age` is a
    /// message's age when its processing started (`None` for requests).
    pub(crate) fn record(
        &self,
        method: &str,
        route: &str,
        failed: bool,
        elapsed: Duration,
        age: Option<Duration>,
    ) {
        for e in self.entries.iter() {
            if e.slo.applies(method, route) {
                match e.slo.is_good(failed, elapsed, age) {
                    Some(true) => e.good.increment(1),
                    Some(false) => e.bad.increment(1),
                    None => {}
                }
            }
        }
    }

    /// Counts a request abandoned before its response: bad for every latency
    /// SLO whose threshold it outlived; unknown (not counted) otherwise. A
    /// message's freshness was decided when its processing started, so it
    /// counts whatever the ending.
    pub(crate) fn record_abandoned(
        &self,
        method: &str,
        route: &str,
        elapsed: Duration,
        age: Option<Duration>,
    ) {
        for e in self.entries.iter() {
            if !e.slo.applies(method, route) {
                continue;
            }
            match e.slo.kind {
                SloKind::Latency { threshold } if elapsed > threshold => e.bad.increment(1),
                SloKind::Freshness { .. } => match e.slo.is_good(false, elapsed, age) {
                    Some(true) => e.good.increment(1),
                    Some(false) => e.bad.increment(1),
                    None => {}
                },
                _ => {}
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_are_validated() {
        assert!(Slo::availability("a", 0.999).is_ok());
        for bad in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
            assert!(matches!(
                Slo::availability("a", bad),
                Err(SloError::ObjectiveOutOfRange { .. })
            ));
        }
        assert_eq!(
            Slo::latency("l", Duration::ZERO, 0.9),
            Err(SloError::ZeroThreshold { name: "l".into() })
        );
        assert!(matches!(
            Slo::availability("", 0.9),
            Err(SloError::InvalidName(_))
        ));
        assert!(matches!(
            Slo::availability("a b", 0.9),
            Err(SloError::InvalidName(_))
        ));
        let m = MetricsHandle::new("t");
        let dup = vec![
            Slo::availability("x", 0.9).unwrap(),
            Slo::latency("x", Duration::from_millis(1), 0.9).unwrap(),
        ];
        assert_eq!(
            SloSet::new(dup, &m).unwrap_err(),
            SloError::Duplicate("x".into())
        );
    }

    #[test]
    fn classification_is_exact_and_filtered() {
        let m = MetricsHandle::new("t");
        let set = SloSet::new(
            vec![
                Slo::availability("avail", 0.999).unwrap(),
                Slo::latency("fast", Duration::from_millis(300), 0.99).unwrap(),
                Slo::availability("orders", 0.99)
                    .unwrap()
                    .routes(["/orders"])
                    .methods(["post"]),
            ],
            &m,
        )
        .unwrap();
        set.record("GET", "/a", false, Duration::from_millis(300), None);
        set.record("GET", "/a", false, Duration::from_micros(300_001), None);
        set.record("GET", "/a", true, Duration::from_millis(1), None);
        set.record("POST", "/orders", true, Duration::from_millis(1), None);
        set.record("GET", "/orders", true, Duration::from_millis(1), None);
        let text = m.render();
        let has = |s: &str| assert!(text.contains(s), "missing {s}\n{text}");
        has(r#"obskit_slo_requests_total{service_name="t",slo="avail",result="good"} 2"#);
        has(r#"obskit_slo_requests_total{service_name="t",slo="avail",result="bad"} 3"#);
        has(r#"obskit_slo_requests_total{service_name="t",slo="fast",result="good"} 4"#);
        has(r#"obskit_slo_requests_total{service_name="t",slo="fast",result="bad"} 1"#);
        has(r#"obskit_slo_requests_total{service_name="t",slo="orders",result="good"} 0"#);
        has(r#"obskit_slo_requests_total{service_name="t",slo="orders",result="bad"} 1"#);
        has(r#"obskit_slo_objective_ratio{service_name="t",slo="avail"} 0.999"#);
        has(r#"obskit_slo_latency_threshold_seconds{service_name="t",slo="fast"} 0.3"#);

        set.record_abandoned("GET", "/a", Duration::from_millis(100), None);
        set.record_abandoned("GET", "/a", Duration::from_millis(400), None);
        let text = m.render();
        let has = |s: &str| assert!(text.contains(s), "missing {s}\n{text}");
        has(r#"obskit_slo_requests_total{service_name="t",slo="fast",result="bad"} 2"#);
        has(r#"obskit_slo_requests_total{service_name="t",slo="fast",result="good"} 4"#);
        has(r#"obskit_slo_requests_total{service_name="t",slo="avail",result="bad"} 3"#);
    }

    #[test]
    fn freshness_judges_only_messages_of_known_age() {
        let m = MetricsHandle::new("t");
        let set = SloSet::new(
            vec![
                Slo::freshness("fresh", Duration::from_secs(2), 0.99)
                    .unwrap()
                    .routes(["orders"]),
            ],
            &m,
        )
        .unwrap();
        let second = Duration::from_secs(1);
        set.record("GET", "/a", false, second, None);
        set.record("PROCESS", "orders", false, second, None);
        set.record(
            "PROCESS",
            "orders",
            true,
            second,
            Some(Duration::from_secs(2)),
        );
        set.record(
            "PROCESS",
            "orders",
            false,
            second,
            Some(Duration::from_millis(2001)),
        );
        set.record(
            "PROCESS",
            "other",
            false,
            second,
            Some(Duration::from_secs(9)),
        );
        set.record_abandoned("PROCESS", "orders", second, Some(Duration::from_secs(1)));
        set.record_abandoned("PROCESS", "orders", second, None);
        let text = m.render();
        let has = |s: &str| assert!(text.contains(s), "missing {s}\n{text}");
        has(r#"obskit_slo_requests_total{service_name="t",slo="fresh",result="good"} 2"#);
        has(r#"obskit_slo_requests_total{service_name="t",slo="fresh",result="bad"} 1"#);
        has(r#"obskit_slo_freshness_threshold_seconds{service_name="t",slo="fresh"} 2"#);
        assert_eq!(
            Slo::freshness("f", Duration::ZERO, 0.9),
            Err(SloError::ZeroThreshold { name: "f".into() })
        );
    }
}
