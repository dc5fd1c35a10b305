//! What the worker examples (`rabbitmq_worker`, `nats_worker`) share,
//! because it does not depend on the broker: their settings, the admin
//! port with the probes and `/metrics`, the consume loop that stops on
//! SIGTERM, the work done per message (a call to a downstream HTTP
//! service), the settlement chosen after a failure, and the line printed
//! on the way out.

use std::fmt::Display;
use std::future::Future;

use anyhow::Context as _;
use obskit::http::HttpClientMiddleware;
use obskit::messaging::{Drain, DrainReport, Settlement};
use obskit::reqwest_middleware::{self, ClientWithMiddleware};

/// The environment variable `name`, or `default` when unset or empty.
pub(crate) fn setting(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// `WORKER_PREFETCH` (8): how many messages the worker holds at once.
pub(crate) fn prefetch() -> anyhow::Result<u16> {
    setting("WORKER_PREFETCH", "8")
        .parse()
        .context("WORKER_PREFETCH must be a whole number from 1 to 65535")
}

/// Serves the probes and `/metrics` on `ADMIN_ADDR` (`127.0.0.1:9464`),
/// logging the address it listens on.
pub(crate) async fn serve_admin(telemetry: &obskit::Telemetry) -> anyhow::Result<()> {
    let admin = tokio::net::TcpListener::bind(setting("ADMIN_ADDR", "127.0.0.1:9464"))
        .await
        .context("bind ADMIN_ADDR")?;
    tracing::info!(addr = %admin.local_addr()?, "admin endpoints listening");
    let routes: axum::Router = obskit::http::observability_routes(telemetry);
    tokio::spawn(async move { axum::serve(admin, routes).await });
    Ok(())
}

/// The downstream service of each message: `DOWNSTREAM_URL` (none), called
/// through an instrumented client, so the call is a child of the message's
/// processing span and carries its trace on.
#[derive(Clone)]
pub(crate) struct Downstream {
    url: Option<String>,
    client: ClientWithMiddleware,
}

impl Downstream {
    /// From `DOWNSTREAM_URL`, with `telemetry`'s client instrumentation.
    pub(crate) fn from_env(telemetry: &obskit::Telemetry) -> Self {
        Self {
            url: std::env::var("DOWNSTREAM_URL")
                .ok()
                .filter(|v| !v.is_empty()),
            client: HttpClientMiddleware::new(telemetry).wrap(obskit::reqwest::Client::new()),
        }
    }

    /// Processes one message body: POSTs it downstream (when there is a
    /// downstream service), an error for a failed call or a status >= 400.
    /// Run it inside the message's processing context.
    pub(crate) async fn work(&self, body: &str) -> Result<(), reqwest_middleware::Error> {
        tracing::info!(%body, "processing");
        let Some(url) = &self.url else {
            return Ok(());
        };
        self.client
            .post(url)
            .body(body.to_owned())
            .send()
            .await
            .and_then(|r| r.error_for_status().map_err(Into::into))
            .map(drop)
    }
}

/// Takes messages with `next` and processes each with `handle`, in a task
/// of `drain`'s, until SIGTERM (or Ctrl-C) or the end of the messages. A
/// delivery error is logged and the loop goes on: the client recovers.
pub(crate) async fn consume<M, E, F>(
    drain: &mut Drain,
    mut next: impl AsyncFnMut() -> Option<Result<M, E>>,
    handle: impl Fn(M) -> F,
) where
    E: Display,
    F: Future<Output = ()> + Send + 'static,
{
    let signal = obskit::serve::shutdown_signal();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            () = &mut signal => break,
            message = next() => match message {
                Some(Ok(message)) => drain.spawn(handle(message)),
                Some(Err(e)) => tracing::warn!(error = %e, "delivery failed"),
                None => break,
            },
        }
    }
}

/// How to settle a message after processing it: acknowledged when it
/// succeeded; after a failure, requeued for one more attempt, and
/// dead-lettered when it fails again (`redelivered`).
pub(crate) fn settlement<E: Display>(
    result: &Result<(), E>,
    redelivered: bool,
    body: &str,
) -> (Settlement, Option<&'static str>) {
    match result {
        Ok(()) => (Settlement::Ack, None),
        Err(e) if redelivered => {
            tracing::warn!(%body, error = %e, "failed again; dead-lettering");
            (Settlement::DeadLetter, Some("downstream"))
        }
        Err(e) => {
            tracing::warn!(%body, error = %e, "failed; requeueing");
            (Settlement::Requeue, Some("downstream"))
        }
    }
}

/// Logs whether the broker took the settlement.
pub(crate) fn settled<E: Display>(body: &str, settlement: Settlement, result: Result<(), E>) {
    match result {
        Ok(()) => tracing::info!(%body, settlement = settlement.as_str(), "settled"),
        Err(e) => tracing::warn!(%body, error = %e, "not settled; the broker delivers it again"),
    }
}

/// Prints what the drain did, on stderr: the log writer is flushed by then.
#[allow(clippy::print_stderr)]
pub(crate) fn report(report: &DrainReport) {
    eprintln!(
        "stopped: {} messages finished, {} abandoned, spans dropped {}",
        report.finished,
        report.abandoned,
        report.telemetry.as_ref().map_or(0, |t| t.spans_dropped)
    );
}
