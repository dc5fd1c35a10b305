//! The graceful stop of a message consumer, the messaging twin of
//! [`serve`](crate::serve): readiness fails, the consumer stops taking
//! messages, the messages in flight finish and settle within the in-flight
//! bound, the connection closes (the broker takes back whatever it
//! delivered and nobody settled), and telemetry is flushed. A service that
//! also serves HTTP stops its consumer with [`Drain::settle`] instead, and
//! flushes telemetry once, after its HTTP drain.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::config::ShutdownBounds;
use crate::{ShutdownReport, Telemetry};

/// The messages a consumer is processing, each in a task of its own, and
/// the sequence that stops the consumer without losing or repeating any
/// of them.
///
/// Spawn each message's processing with [`spawn`](Self::spawn) (the task
/// settles the message: ack, requeue or dead-letter); when
/// [`serve::shutdown_signal`](crate::serve::shutdown_signal) completes,
/// call [`finish`](Self::finish):
/// 1. readiness fails (`draining`), as for an HTTP server;
/// 2. `stop` runs: cancel the consumer, so the broker delivers no more;
/// 3. the messages in flight finish, for at most
///    [`ShutdownBounds::inflight_timeout`]; those still running then are
///    abandoned unsettled (counted as cancelled), so the broker delivers
///    them again;
/// 4. `close` runs: close the channel or connection, which returns the
///    deliveries no task took (prefetched) or finished to the queue;
/// 5. telemetry is flushed within its own bound.
///
/// The drain delay of [`ShutdownBounds`] does not apply: no load balancer
/// sends messages, so the consumer stops taking them at once.
///
/// A process that consumes and also serves HTTP must flush telemetry only
/// after both have stopped: it calls [`settle`](Self::settle) (steps 2 to
/// 4, see there) and leaves readiness and the flush to
/// [`Server`](crate::Server).
///
/// ```
/// use std::time::Duration;
/// use obskit::config::ShutdownBounds;
/// use obskit::messaging::Drain;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), obskit::InitError> {
/// let telemetry = obskit::Config::default().sdk_disabled(true).install()?;
/// let (deliveries, mut queue) = tokio::sync::mpsc::channel::<u32>(8);
/// for n in 0..3 {
///     deliveries.send(n).await.unwrap();
/// }
/// let mut drain = Drain::new(ShutdownBounds {
///     inflight_timeout: Duration::from_secs(5),
///     ..ShutdownBounds::DEFAULT
/// });
/// // In a service: `obskit::serve::shutdown_signal()`.
/// let signal = tokio::time::sleep(Duration::from_millis(50));
/// tokio::pin!(signal);
/// loop {
///     tokio::select! {
///         () = &mut signal => break,
///         Some(message) = queue.recv() => {
///             drain.spawn(async move {
///                 // ... process the message, then ack it ...
///                 let _ = message;
///             });
///         }
///     }
/// }
/// let report = drain
///     .finish(
///         telemetry,
///         async { queue.close() },  // basic_cancel, unsubscribe, ...
///         async {},                 // close the channel
///     )
///     .await;
/// assert!(report.finished_in_time());
/// assert_eq!(report.abandoned, 0);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Drain {
    tasks: JoinSet<()>,
    bounds: ShutdownBounds,
    panicked: usize,
}

/// What [`Drain::finish`] or [`Drain::settle`] did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DrainReport {
    /// Messages in flight when the consumer stopped that finished in time.
    pub finished: usize,
    /// Messages still being processed at the in-flight bound: abandoned
    /// unsettled, for the broker to deliver again.
    pub abandoned: usize,
    /// Processing tasks that panicked, over the consumer's life.
    pub panicked: usize,
    /// How long the messages in flight took to finish.
    pub inflight_elapsed: Duration,
    /// The telemetry flush: `None` after [`Drain::settle`], which leaves
    /// it to the caller.
    pub telemetry: Option<ShutdownReport>,
}

impl DrainReport {
    /// Whether every message in flight finished within the bound.
    pub fn finished_in_time(&self) -> bool {
        self.abandoned == 0
    }
}

impl Drain {
    /// A drain within `bounds` (see [`ShutdownBounds::from_env`]).
    pub fn new(bounds: ShutdownBounds) -> Self {
        Self {
            tasks: JoinSet::new(),
            bounds,
            panicked: 0,
        }
    }

    /// Processes one message in a task of its own, on the current tokio
    /// runtime. The task should settle the message; one that does not is
    /// counted as cancelled and its message delivered again.
    pub fn spawn<F>(&mut self, processing: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.reap();
        self.tasks.spawn(processing);
    }

    /// Messages being processed now.
    pub fn in_flight(&self) -> usize {
        self.tasks.len()
    }

    /// Forgets the tasks that are done, counting those that panicked.
    fn reap(&mut self) {
        while let Some(result) = self.tasks.try_join_next() {
            self.note(result);
        }
    }

    fn note(&mut self, result: Result<(), tokio::task::JoinError>) {
        if result.is_err_and(|e| e.is_panic()) {
            self.panicked += 1;
        }
    }

    /// Stops the consumer: readiness fails, `stop` runs (cancel the
    /// consumer), the messages in flight finish within the in-flight bound,
    /// `close` runs (close the channel), and `telemetry` is flushed. See
    /// the [type docs](Self) for the whole sequence.
    pub async fn finish<S, C>(self, telemetry: Telemetry, stop: S, close: C) -> DrainReport
    where
        S: Future<Output = ()>,
        C: Future<Output = ()>,
    {
        telemetry.health().start_draining();
        let mut report = self.settle(stop, close).await;
        report.telemetry = Some(telemetry.shutdown().await);
        report
    }

    /// Stops the consumer and lets what it took settle, without touching
    /// readiness or telemetry: `stop` runs (cancel the consumer), the
    /// messages in flight finish within the in-flight bound (those still
    /// running then are abandoned unsettled), and `close` runs (close the
    /// channel, so the broker takes back what nobody settled). The report's
    /// `telemetry` is `None`.
    ///
    /// For a process that also serves HTTP: stop the consumer first, then
    /// let [`Server`](crate::Server) fail readiness, drain HTTP and flush
    /// telemetry once, so the spans of the last messages are exported with
    /// the rest.
    ///
    /// ```
    /// use std::time::Duration;
    /// use obskit::config::ShutdownBounds;
    /// use obskit::messaging::Drain;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut drain = Drain::new(ShutdownBounds {
    ///     inflight_timeout: Duration::from_secs(5),
    ///     ..ShutdownBounds::DEFAULT
    /// });
    /// let (settled, mut acks) = tokio::sync::mpsc::unbounded_channel();
    /// for n in 0..2 {
    ///     let settled = settled.clone();
    ///     drain.spawn(async move {
    ///         // ... process message `n`, then ack it ...
    ///         settled.send(n).unwrap();
    ///     });
    /// }
    /// let report = drain
    ///     .settle(
    ///         async {}, // basic_cancel, unsubscribe, ...
    ///         async {}, // close the channel
    ///     )
    ///     .await;
    /// assert_eq!((report.finished, report.abandoned), (2, 0));
    /// assert!(report.telemetry.is_none(), "the caller flushes telemetry");
    /// drop(settled);
    /// let mut acked = Vec::new();
    /// while let Some(n) = acks.recv().await {
    ///     acked.push(n);
    /// }
    /// acked.sort();
    /// assert_eq!(acked, [0, 1]);
    /// # }
    /// ```
    pub async fn settle<S, C>(mut self, stop: S, close: C) -> DrainReport
    where
        S: Future<Output = ()>,
        C: Future<Output = ()>,
    {
        self.reap();
        let in_flight = self.tasks.len();
        let bound = self.bounds.inflight_timeout;
        tracing::info!(
            target: "obskit",
            in_flight,
            inflight_timeout_ms = millis(bound),
            "shutdown signal received; the consumer stops taking messages"
        );
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + bound;
        // Stopping the consumer counts against the in-flight bound too: a
        // broker that does not answer must not hold the shutdown.
        let _ = tokio::time::timeout_at(deadline, stop).await;
        let mut finished = 0;
        while let Ok(Some(result)) = tokio::time::timeout_at(deadline, self.tasks.join_next()).await
        {
            finished += usize::from(result.is_ok());
            self.note(result);
        }
        let abandoned = self.tasks.len();
        if abandoned > 0 {
            tracing::warn!(
                target: "obskit",
                abandoned,
                inflight_timeout_ms = millis(bound),
                "messages in flight did not finish in time; the broker delivers them again"
            );
            self.tasks.shutdown().await;
        }
        let inflight_elapsed = started.elapsed();
        let _ = tokio::time::timeout(self.bounds.shutdown_timeout, close).await;
        DrainReport {
            finished,
            abandoned,
            panicked: self.panicked,
            inflight_elapsed,
            telemetry: None,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn telemetry() -> Telemetry {
        let config = crate::Config::default().sdk_disabled(true);
        config
            .build_layer::<tracing_subscriber::Registry>()
            .expect("telemetry builds")
            .0
    }

    fn bounds(inflight: Duration) -> ShutdownBounds {
        ShutdownBounds {
            inflight_timeout: inflight,
            ..ShutdownBounds::DEFAULT
        }
    }

    #[tokio::test]
    async fn waits_for_every_message_in_flight_then_closes() {
        let telemetry = telemetry();
        let health = telemetry.health();
        let done = Arc::new(AtomicUsize::new(0));
        let mut drain = Drain::new(bounds(Duration::from_secs(60)));
        let (release, released) = tokio::sync::watch::channel(false);
        for _ in 0..3 {
            let (done, mut released) = (done.clone(), released.clone());
            drain.spawn(async move {
                let _ = released.wait_for(|r| *r).await;
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        assert_eq!(drain.in_flight(), 3);
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (o1, o2, d2) = (order.clone(), order.clone(), done.clone());
        let report = drain
            .finish(
                telemetry,
                async move {
                    o1.lock().unwrap().push("stop");
                    let _ = release.send(true);
                },
                async move {
                    o2.lock().unwrap().push(if d2.load(Ordering::SeqCst) == 3 {
                        "close after all"
                    } else {
                        "close early"
                    });
                },
            )
            .await;
        assert!(health.is_draining());
        assert_eq!(*order.lock().unwrap(), ["stop", "close after all"]);
        assert_eq!(
            (report.finished, report.abandoned, report.panicked),
            (3, 0, 0)
        );
        assert!(report.finished_in_time());
    }

    #[tokio::test]
    async fn settle_leaves_readiness_and_the_flush_to_the_caller() {
        let telemetry = telemetry();
        let health = telemetry.health();
        let mut drain = Drain::new(bounds(Duration::from_secs(60)));
        let (release, released) = tokio::sync::watch::channel(false);
        let settled = Arc::new(AtomicUsize::new(0));
        for _ in 0..2 {
            let (mut released, settled) = (released.clone(), settled.clone());
            drain.spawn(async move {
                let _ = released.wait_for(|r| *r).await;
                settled.fetch_add(1, Ordering::SeqCst);
            });
        }
        let settled_at_close = Arc::new(AtomicUsize::new(usize::MAX));
        let (seen, at_close) = (settled.clone(), settled_at_close.clone());
        let report = drain
            .settle(
                async move {
                    let _ = release.send(true);
                },
                async move {
                    at_close.store(seen.load(Ordering::SeqCst), Ordering::SeqCst);
                },
            )
            .await;
        assert_eq!(
            (report.finished, report.abandoned, report.panicked),
            (2, 0, 0)
        );
        assert_eq!(
            settled_at_close.load(Ordering::SeqCst),
            2,
            "the channel closes after both settled"
        );
        assert!(report.telemetry.is_none(), "no flush: {report:?}");
        assert!(!health.is_draining(), "readiness is the caller's");
        // The caller flushes once, after its HTTP drain.
        let flushed = telemetry.shutdown().await;
        assert_eq!(flushed.spans_dropped, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn abandons_what_outlives_the_bound() {
        let mut drain = Drain::new(bounds(Duration::from_secs(10)));
        drain.spawn(tokio::time::sleep(Duration::from_secs(1)));
        drain.spawn(std::future::pending());
        drain.spawn(async { panic!("a processing bug") });
        tokio::task::yield_now().await;
        let report = drain.finish(telemetry(), async {}, async {}).await;
        assert_eq!(
            (report.finished, report.abandoned, report.panicked),
            (1, 1, 1)
        );
        assert!(!report.finished_in_time());
        assert!(report.inflight_elapsed >= Duration::ZERO);
    }
}
