//! The export pipeline of spans and log records alike: a bounded queue in
//! front of an exporter that runs on a thread of its own.
//!
//! The queue is a mutex-guarded `Vec` that request threads push to without
//! waking anyone; the export thread is woken once per full batch (or by its
//! timer), swaps the whole queue out in O(1), and exports it. Waking it per
//! item cost more than exporting the item (a futex wake-up and a context
//! switch on the request's core).
//!
//! Why not the SDK's batch processors: obskit must report how many items
//! were exported and dropped, warn at most once a minute when the collector
//! misbehaves, and shut down within a bound on any tokio runtime. The
//! exporter lives on a dedicated thread with its own single-threaded tokio
//! runtime, so a gRPC channel never depends on the application's runtime
//! (a current-thread runtime blocked in `drop` cannot stall it), and no
//! `tracing` data produced by the export itself (hyper, h2, tonic) can loop
//! back into the pipeline.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::OTelSdkResult;
use tokio::sync::{mpsc, oneshot};

use super::Signal;
use crate::config::BatchConfig;

/// How often, at most, a failing export is reported in the logs.
const WARN_INTERVAL: Duration = Duration::from_secs(60);

/// Item counts of one signal's pipelines, shared with the metrics and the
/// shutdown report.
#[derive(Debug, Default)]
pub(crate) struct ExportStats {
    /// Items accepted into the queue.
    pub(crate) accepted: AtomicU64,
    /// Items the exporter acknowledged.
    pub(crate) exported: AtomicU64,
    /// Items dropped because the queue was full.
    pub(crate) dropped_queue_full: AtomicU64,
    /// Items lost because their export failed or timed out.
    pub(crate) failed: AtomicU64,
}

impl ExportStats {
    pub(crate) fn exported(&self) -> u64 {
        self.exported.load(Ordering::Relaxed)
    }
    /// Items known to be lost: refused by a full queue, or whose export failed.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped_queue_full.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
    }
    /// Items not confirmed exported: refused, failed, or still queued or in
    /// flight. After a shutdown this is what was lost.
    pub(crate) fn unconfirmed(&self) -> u64 {
        let accepted = self.accepted.load(Ordering::Relaxed);
        self.dropped_queue_full.load(Ordering::Relaxed) + accepted.saturating_sub(self.exported())
    }
}

enum Control {
    Flush(oneshot::Sender<()>),
    Shutdown(oneshot::Sender<()>),
}

/// Where warnings about export trouble are written: the application's
/// subscriber once it is installed. The export thread itself runs with no
/// subscriber, so the transport's own instrumentation stays silent.
pub(crate) type WarnDispatch = Arc<OnceLock<tracing::Dispatch>>;

/// A bounded queue of `T` (spans, log records) drained by an export thread.
#[derive(Debug)]
pub(crate) struct Pipeline<T> {
    queue: Arc<Queue<T>>,
    control: mpsc::UnboundedSender<Control>,
    stats: Arc<ExportStats>,
    thread: parking_lot::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl<T: Send + 'static> Pipeline<T> {
    /// Starts the export thread. `make_exporter` runs on that thread, inside
    /// its runtime, so exporters that need a reactor (tonic) get one.
    pub(crate) fn start<E, F>(
        signal: &'static Signal,
        name: &str,
        make_exporter: F,
        resource: opentelemetry_sdk::Resource,
        batch: BatchConfig,
        stats: Arc<ExportStats>,
        warn: WarnDispatch,
    ) -> Result<Self, StartError>
    where
        E: BatchExporter<T>,
        F: FnOnce() -> Result<E, StartError> + Send + 'static,
    {
        let queue = Arc::new(Queue {
            items: parking_lot::Mutex::new(Vec::with_capacity(batch.max_queue_size.min(4096))),
            capacity: batch.max_queue_size,
            wake_at: batch.max_export_batch_size.min(batch.max_queue_size),
            wake: tokio::sync::Notify::new(),
        });
        let worker_queue = Arc::clone(&queue);
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let worker_stats = Arc::clone(&stats);
        let thread = std::thread::Builder::new()
            .name(format!("obskit-{}-{name}", signal.thread))
            .spawn(move || {
                // Silenced with the static no-op dispatcher: a new
                // `Dispatch` would join the callsite registry, and its
                // "never" next to the subscriber's "always" would make every
                // callsite of the process ask `enabled` on each span and event.
                let _silence = tracing::dispatcher::set_default(&tracing::Dispatch::none());
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(StartError::Thread(e)));
                        return;
                    }
                };
                let exporter = {
                    let _enter = runtime.enter();
                    match make_exporter() {
                        Ok(mut exporter) => {
                            exporter.set_resource(&resource);
                            exporter
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let worker = Worker {
                    exporter,
                    batch,
                    warnings: Warnings {
                        signal,
                        dispatch: warn,
                        stats: Arc::clone(&worker_stats),
                        queue_capacity: batch.max_queue_size,
                        state: parking_lot::Mutex::default(),
                    },
                    stats: worker_stats,
                };
                runtime.block_on(worker.run(&worker_queue, control_rx));
            })
            .map_err(StartError::Thread)?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Self {
                queue,
                control: control_tx,
                stats,
                thread: parking_lot::Mutex::new(Some(thread)),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => Err(StartError::Thread(std::io::Error::other(
                "the export thread exited before it started",
            ))),
        }
    }

    /// Asks the export thread to send everything queued and waits up to `timeout`.
    pub(crate) fn flush_within(&self, timeout: Duration) -> bool {
        self.request(Control::Flush, timeout)
    }

    /// Sends what is queued, shuts the exporter down and ends the thread,
    /// waiting up to `timeout`. Returns `false` when the bound was hit; the
    /// thread is then left to finish on its own, and what it still holds
    /// counts as lost ([`ExportStats::unconfirmed`]).
    pub(crate) fn shutdown_within(&self, timeout: Duration) -> bool {
        let done = self.request(Control::Shutdown, timeout);
        if done && let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
        done
    }

    fn request(&self, make: fn(oneshot::Sender<()>) -> Control, timeout: Duration) -> bool {
        let (tx, rx) = oneshot::channel();
        if self.control.send(make(tx)).is_err() {
            return true; // Already shut down.
        }
        let deadline = Instant::now() + timeout;
        let mut rx = rx;
        loop {
            match rx.try_recv() {
                Ok(()) => return true,
                Err(oneshot::error::TryRecvError::Closed) => return true,
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(2)));
        }
    }
}

impl<T> Pipeline<T> {
    /// The counts of this pipeline.
    pub(crate) fn stats(&self) -> &Arc<ExportStats> {
        &self.stats
    }

    /// Queues `item` for export, or counts it dropped when the queue is
    /// full. Never blocks beyond the queue's lock; wakes the export thread
    /// once per full batch.
    pub(crate) fn push(&self, item: T) {
        self.push_with(|| Some(item));
    }

    /// [`push`](Self::push) for an item made by `make` (nothing when it
    /// makes `None`), called under the queue's lock and only if there is
    /// room: a large item is moved straight into the queue.
    #[inline]
    pub(crate) fn push_with(&self, make: impl FnOnce() -> Option<T>) {
        let mut items = self.queue.items.lock();
        if items.len() >= self.queue.capacity {
            drop(items);
            self.stats
                .dropped_queue_full
                .fetch_add(1, Ordering::Relaxed);
            return;
        }
        let Some(item) = make() else {
            return;
        };
        items.push(item);
        let len = items.len();
        drop(items);
        self.stats.accepted.fetch_add(1, Ordering::Relaxed);
        if len == self.queue.wake_at {
            self.queue.wake.notify_one();
        }
    }
}

/// Told the reason of each failed export attempt that will be retried, so
/// the first warning comes after one transport timeout
/// (`OTEL_EXPORTER_OTLP_TIMEOUT`), not after the whole export with its
/// retries (`OTEL_BSP_EXPORT_TIMEOUT`).
pub(crate) type Retrying<'a> = &'a (dyn Fn(&str) + Sync);

/// What the export thread drives: like the SDK's `SpanExporter`, but
/// borrowing the batch, so the queue's buffer is reused rather than a large
/// buffer being allocated and freed (an `mmap` and its page faults) per
/// export.
pub(crate) trait BatchExporter<T>: Send + 'static {
    /// Sends one batch, calling `retrying` with the reason each time an
    /// attempt failed and another will follow.
    fn export<'a>(
        &'a self,
        batch: &'a [T],
        retrying: Retrying<'a>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send + 'a;
    /// An item of the exporter's own, made at every tick of the timer and
    /// before a flush or a shutdown: a periodic reader's collection (the
    /// metrics of the interval). None by default.
    fn collect(&mut self) -> Option<T> {
        None
    }
    /// Releases the transport.
    fn shutdown(&mut self) -> OTelSdkResult {
        Ok(())
    }
    /// Receives the resource once, before the first export.
    fn set_resource(&mut self, _resource: &opentelemetry_sdk::Resource) {}
}

/// Items waiting for the export thread.
#[derive(Debug)]
struct Queue<T> {
    items: parking_lot::Mutex<Vec<T>>,
    /// Items held before new ones are dropped.
    capacity: usize,
    /// Queue length at which the export thread is woken.
    wake_at: usize,
    wake: tokio::sync::Notify,
}

impl<T> Queue<T> {
    /// Everything queued, leaving `spare` (emptied) in its place.
    fn take(&self, spare: &mut Vec<T>) -> Vec<T> {
        spare.clear();
        std::mem::replace(&mut *self.items.lock(), std::mem::take(spare))
    }
}

/// The export thread could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    #[error("cannot start the export thread: {0}")]
    Thread(#[source] std::io::Error),
    #[error(transparent)]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

struct Worker<E> {
    exporter: E,
    batch: BatchConfig,
    stats: Arc<ExportStats>,
    warnings: Warnings,
}

/// Export trouble, reported at most once a minute per kind: failed exports
/// (and failed attempts about to be retried), and items refused by a full
/// queue.
struct Warnings {
    signal: &'static Signal,
    dispatch: WarnDispatch,
    stats: Arc<ExportStats>,
    queue_capacity: usize,
    state: parking_lot::Mutex<WarnState>,
}

#[derive(Default)]
struct WarnState {
    last_failure_warning: Option<Instant>,
    failures_since_warning: u64,
    last_queue_warning: Option<Instant>,
    /// `dropped_queue_full` when the last queue warning was written.
    queue_full_reported: u64,
}

fn due(last: Option<Instant>) -> bool {
    last.is_none_or(|at| at.elapsed() >= WARN_INTERVAL)
}

impl<E> Worker<E> {
    async fn run<T>(mut self, queue: &Queue<T>, mut control: mpsc::UnboundedReceiver<Control>)
    where
        E: BatchExporter<T>,
    {
        let mut spare = Vec::with_capacity(queue.capacity.min(4096));
        loop {
            let shutting_down = tokio::select! {
                biased;
                request = control.recv() => match request {
                    Some(Control::Flush(reply)) => {
                        self.drain(queue, &mut spare).await;
                        let _ = reply.send(());
                        false
                    }
                    Some(Control::Shutdown(reply)) => {
                        self.drain(queue, &mut spare).await;
                        let _ = self.exporter.shutdown();
                        let _ = reply.send(());
                        true
                    }
                    None => {
                        self.drain(queue, &mut spare).await;
                        true
                    }
                },
                () = queue.wake.notified() => {
                    self.export_queued(queue, &mut spare).await;
                    false
                }
                () = tokio::time::sleep(self.batch.scheduled_delay) => {
                    self.export_collected().await;
                    self.export_queued(queue, &mut spare).await;
                    false
                }
            };
            self.warnings.queue_full();
            if shutting_down {
                return;
            }
        }
    }

    /// Exports what is queued now, in batches of at most the batch size.
    /// Returns whether there was anything.
    async fn export_queued<T>(&mut self, queue: &Queue<T>, spare: &mut Vec<T>) -> bool
    where
        E: BatchExporter<T>,
    {
        let mut items = queue.take(spare);
        let any = !items.is_empty();
        for batch in items.chunks(self.batch.max_export_batch_size.max(1)) {
            self.export(batch).await;
        }
        items.clear();
        *spare = items;
        any
    }

    /// Exports what the exporter collects itself, then until the queue is
    /// empty (flush and shutdown).
    async fn drain<T>(&mut self, queue: &Queue<T>, spare: &mut Vec<T>)
    where
        E: BatchExporter<T>,
    {
        self.export_collected().await;
        while self.export_queued(queue, spare).await {}
    }

    /// Exports the item the exporter collects on its own, if it does.
    async fn export_collected<T>(&mut self)
    where
        E: BatchExporter<T>,
    {
        if let Some(item) = self.exporter.collect() {
            self.stats.accepted.fetch_add(1, Ordering::Relaxed);
            self.export(std::slice::from_ref(&item)).await;
        }
    }

    async fn export<T>(&mut self, batch: &[T])
    where
        E: BatchExporter<T>,
    {
        let count = batch.len() as u64;
        let warnings = &self.warnings;
        let retrying = |reason: &str| {
            warnings.attempt_failed(reason);
            warnings.queue_full();
        };
        let result = tokio::time::timeout(
            self.batch.export_timeout,
            self.exporter.export(batch, &retrying),
        )
        .await;
        match result {
            Ok(Ok(())) => {
                self.stats.exported.fetch_add(count, Ordering::Relaxed);
            }
            Ok(Err(e)) => self.failed(count, &e.to_string()),
            Err(_) => self.failed(
                count,
                &format!(
                    "no answer within {:?} ({}, the bound on one export with its retries)",
                    self.batch.export_timeout, self.warnings.signal.export_timeout_setting
                ),
            ),
        }
        self.warnings.queue_full();
    }

    fn failed(&mut self, count: u64, reason: &str) {
        self.stats.failed.fetch_add(count, Ordering::Relaxed);
        self.warnings.export_failed(reason);
    }
}

impl Warnings {
    /// Whether a failure warning is due (none in the last minute); if so,
    /// marks it given. A failed export (`export_failed`) is counted first,
    /// and its warning takes the count of failed exports since the last
    /// such warning: what it returns.
    fn failure_warning_due(&self, export_failed: bool) -> Option<u64> {
        let mut state = self.state.lock();
        if export_failed {
            state.failures_since_warning += 1;
        }
        if !due(state.last_failure_warning) {
            return None;
        }
        state.last_failure_warning = Some(Instant::now());
        Some(if export_failed {
            std::mem::take(&mut state.failures_since_warning)
        } else {
            state.failures_since_warning
        })
    }

    /// What a failure warning says besides its cause: the items dropped so
    /// far, `reason` with credentials redacted, and the signal.
    fn failure_facts(&self, reason: &str) -> (u64, String, &'static Signal) {
        (
            self.stats.dropped(),
            crate::config::redact::text(reason),
            self.signal,
        )
    }

    /// A whole export failed: its items are lost.
    fn export_failed(&self, reason: &str) {
        let Some(failures) = self.failure_warning_due(true) else {
            return;
        };
        let (dropped, reason, signal) = self.failure_facts(reason);
        self.emit(move || {
            tracing::warn!(
                target: "obskit::export",
                cause = "export_failed",
                signal = signal.name,
                failed_exports = failures,
                dropped_total = dropped,
                error = %reason,
                "{} export failed; {} are being dropped and the service is unaffected (at most one warning a minute)",
                signal.item, signal.items
            );
        });
    }

    /// One attempt failed and will be retried: said at once (within the
    /// transport timeout), sharing the export warnings' once-a-minute limit.
    fn attempt_failed(&self, reason: &str) {
        if self.failure_warning_due(false).is_none() {
            return;
        }
        let (dropped, reason, signal) = self.failure_facts(reason);
        self.emit(move || {
            tracing::warn!(
                target: "obskit::export",
                cause = "export_attempt_failed",
                signal = signal.name,
                dropped_total = dropped,
                error = %reason,
                "{} export attempt failed; retrying within {}, the service is unaffected (at most one warning a minute)",
                signal.item, signal.export_timeout_setting
            );
        });
    }

    /// Items were refused by a full queue since the last warning.
    fn queue_full(&self) {
        let total = self.stats.dropped_queue_full.load(Ordering::Relaxed);
        let mut state = self.state.lock();
        if total == state.queue_full_reported || !due(state.last_queue_warning) {
            return;
        }
        let since = total - state.queue_full_reported;
        state.queue_full_reported = total;
        state.last_queue_warning = Some(Instant::now());
        drop(state);
        let dropped = self.stats.dropped();
        let capacity = self.queue_capacity;
        let signal = self.signal;
        self.emit(move || {
            tracing::warn!(
                target: "obskit::export",
                cause = "queue_full",
                signal = signal.name,
                dropped_queue_full = since,
                dropped_total = dropped,
                queue_size = capacity,
                "{} dropped: the export queue is full because the collector accepts them more slowly than the service makes them; the service is unaffected (raise {}, {}, or speed up the collector; at most one warning a minute)",
                signal.items, signal.queue_size_setting, signal.relief
            );
        });
    }

    fn emit(&self, warn: impl FnOnce() + Send + 'static) {
        if let Some(dispatch) = self.dispatch.get() {
            tracing::dispatcher::with_default(dispatch, warn);
        } else {
            // This thread runs with no subscriber on purpose; a thread of
            // its own sees the global one. Once a minute at most.
            let _ = std::thread::Builder::new()
                .name("obskit-warn".into())
                .spawn(warn);
        }
    }
}
