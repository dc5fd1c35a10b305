//! Serving with a graceful, bounded shutdown.
//!
//! On SIGTERM or Ctrl-C (or the signal you provide):
//! 1. readiness turns 503 (`draining`) while the server keeps serving for
//!    the drain delay, so load balancers and Kubernetes endpoints stop
//!    sending new requests;
//! 2. the server stops accepting and lets in-flight requests finish, for at
//!    most the in-flight timeout;
//! 3. telemetry is flushed within its shutdown timeout.
//!
//! The whole sequence is bounded by the sum of the three.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

use crate::config::server;
use crate::{ShutdownReport, Telemetry};

/// Serving failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The listener failed.
    #[error("the HTTP server failed: {0}")]
    Io(#[from] std::io::Error),
}

type Signal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Serves `router` on `listener` until SIGTERM or Ctrl-C, then shuts down
/// gracefully (see the [module docs](self)) and flushes telemetry.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    telemetry: Telemetry,
) -> Result<ShutdownReport, ServeError> {
    Server::new(listener, router, telemetry).run().await
}

/// A server with options; [`serve`] is its shorthand.
pub struct Server {
    listener: TcpListener,
    router: Router,
    telemetry: Telemetry,
    admin: Option<TcpListener>,
    signal: Option<Signal>,
    drain_delay: Duration,
    inflight_timeout: Duration,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("drain_delay", &self.drain_delay)
            .field("inflight_timeout", &self.inflight_timeout)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server with the drain delay and in-flight timeout from
    /// `OBSKIT_DRAIN_DELAY` and `OBSKIT_INFLIGHT_TIMEOUT` (default 5 s and
    /// 10 s); [`drain_delay`](Self::drain_delay) and
    /// [`inflight_timeout`](Self::inflight_timeout) override them.
    pub fn new(listener: TcpListener, router: Router, telemetry: Telemetry) -> Self {
        Self {
            drain_delay: server::from_process_env(server::drain_delay, server::DEFAULT_DRAIN_DELAY),
            inflight_timeout: server::from_process_env(
                server::inflight_timeout,
                server::DEFAULT_INFLIGHT_TIMEOUT,
            ),
            listener,
            router,
            telemetry,
            admin: None,
            signal: None,
        }
    }

    /// Also serves the probes and `/metrics` on `listener` (an admin port),
    /// until telemetry is flushed.
    #[must_use]
    pub fn admin(mut self, listener: TcpListener) -> Self {
        self.admin = Some(listener);
        self
    }

    /// Shuts down when `signal` completes instead of on SIGTERM / Ctrl-C.
    #[must_use]
    pub fn shutdown_signal(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.signal = Some(Box::pin(signal));
        self
    }

    /// Overrides the drain delay (`OBSKIT_DRAIN_DELAY`).
    #[must_use]
    pub fn drain_delay(mut self, delay: Duration) -> Self {
        self.drain_delay = delay;
        self
    }

    /// Overrides the in-flight timeout (`OBSKIT_INFLIGHT_TIMEOUT`).
    #[must_use]
    pub fn inflight_timeout(mut self, timeout: Duration) -> Self {
        self.inflight_timeout = timeout;
        self
    }

    /// Runs until the signal, then shuts down within the bound.
    pub async fn run(self) -> Result<ShutdownReport, ServeError> {
        let Self {
            listener,
            router,
            telemetry,
            admin,
            signal,
            drain_delay,
            inflight_timeout,
        } = self;
        let health = telemetry.health();
        let address = listener.local_addr()?;

        let admin_task = match admin {
            Some(admin) => {
                let routes: Router = crate::http::observability_routes(&telemetry);
                let addr = admin.local_addr()?;
                tracing::info!(target: "obskit", %addr, "admin endpoints listening");
                Some(tokio::spawn(
                    axum::serve(admin, routes.into_make_service()).into_future(),
                ))
            }
            None => None,
        };

        let signal = signal.unwrap_or_else(|| Box::pin(termination()));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let drain_health = health.clone();
        let graceful = async move {
            signal.await;
            drain_health.start_draining();
            tracing::info!(
                target: "obskit",
                drain_delay_ms = millis(drain_delay),
                "shutdown signal received; readiness is failing while traffic drains"
            );
            tokio::time::sleep(drain_delay).await;
            tracing::info!(
                target: "obskit",
                inflight_timeout_ms = millis(inflight_timeout),
                "no longer accepting connections; waiting for in-flight requests"
            );
            let _ = stop_tx.send(());
        };
        let server = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(graceful)
        .into_future();

        health.mark_started();
        tracing::info!(target: "obskit", %address, "listening");

        tokio::pin!(server);
        let forced = async {
            if stop_rx.await.is_ok() {
                tokio::time::sleep(inflight_timeout).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            result = &mut server => result?,
            () = forced => {
                tracing::warn!(
                    target: "obskit",
                    inflight_timeout_ms = millis(inflight_timeout),
                    "in-flight requests did not finish in time; closing them"
                );
            }
        }
        if let Some(task) = admin_task {
            task.abort();
        }
        Ok(telemetry.shutdown().await)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Completes on SIGTERM (Kubernetes' stop signal) or Ctrl-C: what
/// [`serve`] waits for, for a service that stops something else on it (a
/// message consumer, see [`crate::messaging`]).
pub async fn shutdown_signal() {
    termination().await;
}

/// Completes on SIGTERM (Kubernetes' stop signal) or Ctrl-C.
async fn termination() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
