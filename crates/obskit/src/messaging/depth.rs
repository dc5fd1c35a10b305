//! Queue depth read from the broker in the background: messages waiting
//! (ready and unacknowledged, where the broker tells them apart) and
//! consumers, per destination. Never on a message's path: a task polls at
//! an interval, each poll bounded in time; a poll that fails or times out
//! leaves the last reading in place and marks it stale, and warns at most
//! once a minute.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics::{Gauge, Label};

use super::destination::Destination;
use super::{Messaging, Shared};
use crate::metrics::names;

/// The default time between two polls.
pub const DEFAULT_DEPTH_INTERVAL: Duration = Duration::from_secs(15);
/// The default bound on one poll.
pub const DEFAULT_DEPTH_TIMEOUT: Duration = Duration::from_secs(5);
/// The least time between two warnings about failed polls.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// What the broker says about one destination; `None` where it does not say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Depth {
    /// Messages ready for delivery.
    pub ready: Option<u64>,
    /// Messages delivered and not yet acknowledged.
    pub unacked: Option<u64>,
    /// Consumers attached.
    pub consumers: Option<u64>,
    /// Messages delivered more than once and not yet acknowledged.
    pub redelivered: Option<u64>,
}

/// The background poll of one destination's depth; dropping it stops the poll.
#[must_use = "dropping it stops the poll"]
#[derive(Debug)]
pub struct DepthPoller {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DepthPoller {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Options of a depth poll ([`Messaging::poll_depth`](super::Messaging::poll_depth)).
#[derive(Debug, Clone, Copy)]
pub struct DepthOptions {
    interval: Duration,
    timeout: Duration,
}

impl Default for DepthOptions {
    fn default() -> Self {
        Self {
            interval: DEFAULT_DEPTH_INTERVAL,
            timeout: DEFAULT_DEPTH_TIMEOUT,
        }
    }
}

impl DepthOptions {
    /// The time between two polls ([`DEFAULT_DEPTH_INTERVAL`] unless set).
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_millis(10));
        self
    }

    /// The bound on one poll ([`DEFAULT_DEPTH_TIMEOUT`] unless set).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

struct Gauges {
    ready: Gauge,
    unacked: Gauge,
    consumers: Gauge,
    redelivered: Gauge,
    stale: Gauge,
}

impl Gauges {
    fn new(shared: &Shared, destination: &Destination) -> Self {
        let label = shared.labels.label(destination);
        let base = || {
            vec![
                Label::new(names::MESSAGING_SYSTEM, Arc::clone(shared.red.system())),
                Label::new(names::MESSAGING_DESTINATION_NAME, Arc::clone(&label)),
            ]
        };
        let state = |s: &'static str| {
            let mut l = base();
            l.push(Label::new(names::MESSAGING_QUEUE_STATE, s));
            l
        };
        let m = shared.red.handle();
        Self {
            ready: m.gauge(
                names::MESSAGING_QUEUE_MESSAGES,
                state(names::QUEUE_STATE_READY),
            ),
            unacked: m.gauge(
                names::MESSAGING_QUEUE_MESSAGES,
                state(names::QUEUE_STATE_UNACKED),
            ),
            consumers: m.gauge(names::MESSAGING_QUEUE_CONSUMERS, base()),
            redelivered: m.gauge(names::MESSAGING_QUEUE_REDELIVERED, base()),
            stale: m.gauge(names::MESSAGING_QUEUE_STALE, base()),
        }
    }

    #[allow(clippy::cast_precision_loss)]
    fn set(&self, depth: Depth) {
        for (gauge, value) in [
            (&self.ready, depth.ready),
            (&self.unacked, depth.unacked),
            (&self.consumers, depth.consumers),
            (&self.redelivered, depth.redelivered),
        ] {
            if let Some(v) = value {
                gauge.set(v as f64);
            }
        }
        self.stale.set(0.0);
    }
}

impl Messaging {
    /// Polls the depth of `destination` in the background with `poll` (a
    /// question to the broker), at the interval and within the timeout of
    /// `options`, into `obskit_messaging_queue_messages{state}`,
    /// `obskit_messaging_queue_consumers` and
    /// `obskit_messaging_queue_depth_stale`. Call it inside a tokio runtime;
    /// dropping the returned poller stops the polls.
    pub fn poll_depth<F, Fut, E>(
        &self,
        destination: &Destination,
        options: DepthOptions,
        poll: F,
    ) -> DepthPoller
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Depth, E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let gauges = Gauges::new(&self.shared, destination);
        // Stale until the first poll answers: nothing known yet.
        gauges.stale.set(1.0);
        let name = destination.name().to_owned();
        // Warnings go to the subscriber of the code that started the poll.
        let task = tokio::spawn(
            tracing::instrument::WithSubscriber::with_current_subscriber(async move {
                let mut last_warning: Option<Instant> = None;
                let mut ticks = tokio::time::interval(options.interval);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    let problem = match tokio::time::timeout(options.timeout, poll()).await {
                        Ok(Ok(depth)) => {
                            gauges.set(depth);
                            continue;
                        }
                        Ok(Err(e)) => e.to_string(),
                        Err(_) => format!("no answer within {} ms", options.timeout.as_millis()),
                    };
                    gauges.stale.set(1.0);
                    if last_warning.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
                        last_warning = Some(Instant::now());
                        tracing::warn!(
                            target: "obskit",
                            destination = %name,
                            error = %problem,
                            "queue depth poll failed; the depth gauges keep their last reading, marked stale"
                        );
                    }
                }
            }),
        );
        DepthPoller { task }
    }
}

/// Marks a consumer running while it lives: `obskit_messaging_consumers`
/// counts the consumers of a destination that are taking messages, so one
/// that stopped shows as a drop (alert on it reaching 0).
#[derive(Debug)]
pub(crate) struct Running(Gauge);

impl Running {
    pub(crate) fn new(shared: &Shared, destination: &Destination) -> Self {
        let label = shared.labels.label(destination);
        let g = shared.red.gauge(names::MESSAGING_CONSUMERS, &label);
        g.increment(1.0);
        Self(g)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}
