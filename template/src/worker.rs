//! The worker: takes tasks from the broker in the same process as the HTTP server, runs
//! [`process`] on each (your code goes there), retries a failure with backoff, and gives a
//! task that keeps failing to the dead-letter destination. On shutdown it stops taking
//! tasks and lets those in flight settle (obskit's [`Drain`]) before telemetry is flushed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use obskit::config::ShutdownBounds;
use obskit::messaging::{Drain, DrainReport};
use obskit::opentelemetry::trace::FutureExt as _;
use tokio::sync::watch;

use crate::broker::{Consumer, Delivery};

/// Why processing a task failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth another attempt (a dependency timed out, a lock was busy): retried with
    /// backoff, then dead-lettered.
    Transient(String),
    /// Never going to work (the task is malformed): dead-lettered at once.
    Permanent(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transient(reason) => write!(f, "transient failure: {reason}"),
            Self::Permanent(reason) => write!(f, "permanent failure: {reason}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// REPLACE THIS with your own processing. It runs inside the task's `process` span, so
// `tracing` lines and outgoing calls made here belong to the trace of the request that
// published the task. Return `Failure::Transient` to have it retried, `Failure::Permanent`
// to send it to the dead-letter destination at once.
// ---------------------------------------------------------------------------------------
/// Processes one task. The example accepts any UTF-8 text and logs it.
pub async fn process(body: Vec<u8>) -> Result<(), Failure> {
    let text = String::from_utf8(body)
        .map_err(|_| Failure::Permanent("the task is not UTF-8 text".to_owned()))?;
    tracing::info!(task = %text, "task processed");
    Ok(())
}

/// A processing function: [`process`], or a test's own.
pub type Processor =
    Arc<dyn Fn(Vec<u8>) -> Pin<Box<dyn Future<Output = Result<(), Failure>> + Send>> + Send + Sync>;

/// [`process`] as a [`Processor`].
pub fn processor() -> Processor {
    Arc::new(|body| Box::pin(process(body)))
}

/// How failures are retried: attempts in all, and the backoff between them (doubling
/// from `first_backoff`).
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait before the second attempt; each later wait doubles.
    pub first_backoff: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 4,
            first_backoff: Duration::from_millis(200),
        }
    }
}

/// How long tasks in flight may take to settle once shutdown starts (before the HTTP
/// drain; deploy/deployment.yaml's grace period covers both).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The running worker. [`stop`](Self::stop) it on shutdown.
#[derive(Debug)]
pub struct Worker {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<DrainReport>,
}

impl Worker {
    /// Starts taking tasks from `consumer`, each processed by `processor`.
    pub fn start(consumer: Consumer, processor: Processor, retry: Retry) -> Self {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(consumer, processor, retry, stopped));
        Self { stop, task }
    }

    /// Stops taking tasks, waits up to [`DRAIN_TIMEOUT`] for those in flight to settle,
    /// and returns the rest to the broker. Telemetry is left running: the server flushes
    /// it after the HTTP drain, with the spans of these last tasks.
    pub async fn stop(self) -> DrainReport {
        let _ = self.stop.send(true);
        match self.task.await {
            Ok(report) => report,
            // The loop itself never panics (a task's processing panicking is counted in
            // the report); if it did, the panic goes on here.
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        }
    }
}

/// The worker loop: one task per delivery, until stopped or the consumer ends; then
/// obskit's drain: the broker delivers no more, the tasks in flight settle within
/// [`DRAIN_TIMEOUT`] (the rest are delivered again), and the channel closes.
async fn run(
    mut consumer: Consumer,
    processor: Processor,
    retry: Retry,
    mut stopped: watch::Receiver<bool>,
) -> DrainReport {
    let mut drain = Drain::new(ShutdownBounds {
        inflight_timeout: DRAIN_TIMEOUT,
        ..ShutdownBounds::DEFAULT
    });
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            delivery = consumer.next() => match delivery {
                Some(Ok(delivery)) => drain.spawn(handle(delivery, processor.clone(), retry)),
                Some(Err(err)) => tracing::warn!(error = %err, "could not take a task"),
                None => {
                    tracing::warn!("the broker stopped the consumer; no more tasks are taken");
                    break;
                }
            },
        }
    }
    drain.settle(consumer.stop(), consumer.close()).await
}

/// Processes one delivery with retries, then settles it.
async fn handle(delivery: Delivery, processor: Processor, retry: Retry) {
    let context = delivery.context().clone();
    let outcome = async {
        let mut backoff = retry.first_backoff;
        let mut attempt = 1;
        loop {
            match processor(delivery.body().to_vec()).await {
                Ok(()) => return Ok(()),
                Err(Failure::Transient(reason)) if attempt < retry.attempts => {
                    tracing::warn!(attempt, %reason, "task failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
                Err(failure) => return Err(failure),
            }
        }
    }
    .with_context(context)
    .await;
    let settled = match outcome {
        Ok(()) => delivery.ack().await,
        Err(failure) => {
            tracing::warn!(error = %failure, "giving up on the task; dead-lettering it");
            let error_type = match failure {
                Failure::Transient(_) => "retries_exhausted",
                Failure::Permanent(_) => "permanent",
            };
            delivery.dead_letter(error_type).await
        }
    };
    if let Err(err) = settled {
        tracing::warn!(error = %err, "could not settle the task; the broker delivers it again");
    }
}
