//! The [`Receiver`] handle: starts both OTLP servers and gives tests the endpoints and what arrived.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::behavior::Behavior;
use crate::log::ReceivedLog;
use crate::request::{ReceivedLogsRequest, ReceivedMetricsRequest, ReceivedRequest};
use crate::server::{Background, bind_loopback, serve};
use crate::span::ReceivedSpan;
use crate::store::Shared;
use crate::tls::TlsSettings;
use crate::{grpc, http};

/// A running OTLP trace, log and metrics receiver: an OTLP/gRPC server and an OTLP/HTTP server
/// on ephemeral `127.0.0.1` ports, recording everything sent to them.
///
/// Both servers run on a thread of their own, so the receiver keeps answering
/// even while the test blocks its own runtime (for example in a batch span
/// processor's `shutdown()`), and it works the same from current-thread and
/// multi-thread runtimes or from plain `#[test]` functions
/// ([`Receiver::start_blocking`]).
///
/// Dropping the receiver stops both servers, drops every open connection and
/// closes both ports before `drop` returns.
#[derive(Debug)]
pub struct Receiver {
    shared: Arc<Shared>,
    scheme: &'static str,
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    _background: Background,
}

impl Receiver {
    /// Starts a [`Behavior::Healthy`] receiver.
    ///
    /// # Errors
    /// When a port cannot be bound or the server thread cannot start.
    pub async fn start() -> io::Result<Self> {
        Self::start_blocking(Behavior::Healthy)
    }

    /// Starts a receiver that answers with `behavior`.
    ///
    /// # Errors
    /// When a port cannot be bound or the server thread cannot start.
    pub async fn start_with(behavior: Behavior) -> io::Result<Self> {
        Self::start_blocking(behavior)
    }

    /// Starts a receiver that answers with `behavior`, without an async runtime.
    ///
    /// It waits only for the server thread to come up (well under a
    /// millisecond), so it is also fine to call from async code.
    ///
    /// # Errors
    /// When a port cannot be bound or the server thread cannot start.
    pub fn start_blocking(behavior: Behavior) -> io::Result<Self> {
        Self::start_inner(behavior, None)
    }

    /// Starts a receiver serving both protocols over TLS (`https://`
    /// endpoints), requiring client certificates when
    /// [`TlsSettings::client_ca_pem`] is set. A client that fails the
    /// handshake gets its connection closed; nothing is recorded.
    ///
    /// # Errors
    /// When the TLS settings are unusable, a port cannot be bound or the
    /// server thread cannot start.
    pub fn start_tls(behavior: Behavior, tls: &TlsSettings) -> io::Result<Self> {
        let acceptor = tokio_rustls::TlsAcceptor::from(tls.server_config()?);
        Self::start_inner(behavior, Some(acceptor))
    }

    fn start_inner(behavior: Behavior, tls: Option<tokio_rustls::TlsAcceptor>) -> io::Result<Self> {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let shared = Arc::new(Shared::new(behavior));
        let grpc_listener = bind_loopback()?;
        let http_listener = bind_loopback()?;
        let grpc_addr = grpc_listener.local_addr()?;
        let http_addr = http_listener.local_addr()?;

        let grpc_service = TowerToHyperService::new(grpc::routes(&shared));
        let http_shared = Arc::clone(&shared);
        let http_service = hyper::service::service_fn(move |request| {
            http::handle(Arc::clone(&http_shared), request)
        });
        let background = Background::spawn("obskit-test-receiver", move || {
            let grpc_listener = TcpListener::from_std(grpc_listener)?;
            let http_listener = TcpListener::from_std(http_listener)?;
            Ok(async move {
                tokio::join!(
                    serve(grpc_listener, grpc_service, tls.clone()),
                    serve(http_listener, http_service, tls),
                );
            })
        })?;
        Ok(Self {
            shared,
            scheme,
            grpc_addr,
            http_addr,
            _background: background,
        })
    }

    /// The OTLP/gRPC endpoint, `http://127.0.0.1:PORT` (`https://` when
    /// started with TLS), as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it with
    /// `OTEL_EXPORTER_OTLP_PROTOCOL=grpc`.
    pub fn grpc_endpoint(&self) -> String {
        format!("{}://{}", self.scheme, self.grpc_addr)
    }

    /// The OTLP/HTTP base URL, `http://127.0.0.1:PORT` (`https://` when
    /// started with TLS), as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it (the
    /// exporter appends `/v1/traces`).
    pub fn http_endpoint(&self) -> String {
        format!("{}://{}", self.scheme, self.http_addr)
    }

    /// The full OTLP/HTTP traces URL, `http://127.0.0.1:PORT/v1/traces`, as
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` takes it (used as is, nothing appended).
    pub fn http_traces_url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.http_addr, http::TRACES_PATH)
    }

    /// The address the gRPC server listens on.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The address the HTTP server listens on.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// How requests are answered now.
    pub fn behavior(&self) -> Behavior {
        self.shared.behavior()
    }

    /// Changes how the following requests are answered (requests already
    /// waiting in [`Behavior::Slow`] keep their delay).
    pub fn set_behavior(&self, behavior: Behavior) {
        self.shared.set_behavior(behavior);
    }

    /// Every span of every accepted request so far, in arrival order.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.shared.spans()
    }

    /// Every decodable request so far, accepted or not, in arrival order.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.shared.requests()
    }

    /// Waits until at least `count` spans were accepted and returns all of
    /// them, or returns what has arrived when `timeout` runs out.
    ///
    /// Needs a tokio runtime with the time driver (any `#[tokio::test]`).
    pub async fn wait_for_spans(&self, count: usize, timeout: Duration) -> Vec<ReceivedSpan> {
        self.shared.wait_for_spans(count, timeout).await
    }

    /// [`Receiver::wait_for_spans`] for code without an async runtime; it
    /// blocks the calling thread, so do not call it from async code.
    pub fn wait_for_spans_blocking(&self, count: usize, timeout: Duration) -> Vec<ReceivedSpan> {
        self.shared.wait_for_spans_blocking(count, timeout)
    }

    /// The full OTLP/HTTP logs URL, `http://127.0.0.1:PORT/v1/logs`, as
    /// `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` takes it.
    pub fn http_logs_url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.http_addr, http::LOGS_PATH)
    }

    /// The full OTLP/HTTP metrics URL, `http://127.0.0.1:PORT/v1/metrics`, as
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` takes it.
    pub fn http_metrics_url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.http_addr, http::METRICS_PATH)
    }

    /// Every decodable metrics request so far, accepted or not, in arrival order.
    pub fn metrics_requests(&self) -> Vec<ReceivedMetricsRequest> {
        self.shared.metrics_requests()
    }

    /// Waits until at least `count` metrics requests were accepted and
    /// returns every request, or returns what has arrived when `timeout` runs out.
    pub async fn wait_for_metrics(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Vec<ReceivedMetricsRequest> {
        self.shared.wait_for_metrics(count, timeout).await
    }

    /// Every log record of every accepted logs request so far, in arrival order.
    pub fn logs(&self) -> Vec<ReceivedLog> {
        self.shared.logs()
    }

    /// Every decodable logs request so far, accepted or not, in arrival order.
    pub fn log_requests(&self) -> Vec<ReceivedLogsRequest> {
        self.shared.log_requests()
    }

    /// Waits until at least `count` log records were accepted and returns
    /// all of them, or returns what has arrived when `timeout` runs out.
    pub async fn wait_for_logs(&self, count: usize, timeout: Duration) -> Vec<ReceivedLog> {
        self.shared.wait_for_logs(count, timeout).await
    }

    /// [`Receiver::wait_for_logs`] for code without an async runtime.
    pub fn wait_for_logs_blocking(&self, count: usize, timeout: Duration) -> Vec<ReceivedLog> {
        self.shared.wait_for_logs_blocking(count, timeout)
    }

    /// Forgets every received request, span and log record; the behavior stays.
    pub fn clear(&self) {
        self.shared.clear();
    }
}
