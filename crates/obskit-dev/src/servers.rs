//! Binding and serving the three listeners (OTLP/gRPC, OTLP/HTTP, the UI) on one runtime,
//! until the returned handle is stopped or dropped.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::receiver;
use crate::store::Store;
use crate::ui::{self, UiState};

/// Where to listen: one address and three ports (0 picks a free one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    /// The address for all three listeners (127.0.0.1 unless told otherwise).
    pub address: IpAddr,
    /// OTLP/gRPC (standard 4317).
    pub grpc: u16,
    /// OTLP/HTTP (standard 4318).
    pub http: u16,
    /// The web UI.
    pub ui: u16,
}

/// A listener that could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[error("could not listen on {address} for {what}: {source}; {hint}")]
pub struct BindError {
    /// The address tried.
    pub address: SocketAddr,
    /// Which listener (`OTLP/gRPC`, ...).
    pub what: &'static str,
    /// How to pick another port.
    pub hint: &'static str,
    /// The system's reason.
    #[source]
    pub source: io::Error,
}

/// The running listeners.
#[derive(Debug)]
pub struct Servers {
    /// Where OTLP/gRPC listens.
    pub grpc: SocketAddr,
    /// Where OTLP/HTTP listens.
    pub http: SocketAddr,
    /// Where the UI listens.
    pub ui: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

async fn bind(
    address: SocketAddr,
    what: &'static str,
    hint: &'static str,
) -> Result<TcpListener, BindError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| BindError {
            address,
            what,
            hint,
            source,
        })
}

impl Servers {
    /// Binds all three listeners (all or none) and serves them on the current runtime.
    pub async fn start(
        ports: Ports,
        store: Arc<Store>,
        ui_state: UiState,
    ) -> Result<Self, BindError> {
        let grpc = bind(
            SocketAddr::new(ports.address, ports.grpc),
            "OTLP/gRPC",
            "is a collector already running? stop it, or pass --grpc-port with a free port (0 picks one)",
        )
        .await?;
        let http = bind(
            SocketAddr::new(ports.address, ports.http),
            "OTLP/HTTP",
            "is a collector already running? stop it, or pass --http-port with a free port (0 picks one)",
        )
        .await?;
        let ui_listener = bind(
            SocketAddr::new(ports.address, ports.ui),
            "the UI",
            "pass --ui-port with a free port (0 picks one)",
        )
        .await?;
        let addr = |l: &TcpListener, what, hint| {
            l.local_addr().map_err(|source| BindError {
                address: SocketAddr::new(ports.address, 0),
                what,
                hint,
                source,
            })
        };
        let (grpc_addr, http_addr, ui_addr) = (
            addr(&grpc, "OTLP/gRPC", "")?,
            addr(&http, "OTLP/HTTP", "")?,
            addr(&ui_listener, "the UI", "")?,
        );
        let (stop, stopped) = watch::channel(false);
        let until_stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let mut tasks = Vec::new();
        let grpc_routes = receiver::grpc::routes(Arc::clone(&store));
        let signal = until_stopped(stopped.clone());
        tasks.push(tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_routes(grpc_routes)
                .serve_with_incoming_shutdown(
                    tonic::transport::server::TcpIncoming::from(grpc),
                    signal,
                )
                .await;
        }));
        let http_app = receiver::http::router(store);
        let signal = until_stopped(stopped.clone());
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(http, http_app)
                .with_graceful_shutdown(signal)
                .await;
        }));
        let ui_app = ui::router(ui_state);
        let signal = until_stopped(stopped);
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(ui_listener, ui_app)
                .with_graceful_shutdown(signal)
                .await;
        }));
        Ok(Self {
            grpc: grpc_addr,
            http: http_addr,
            ui: ui_addr,
            stop,
            tasks,
        })
    }

    /// Stops accepting, lets requests in flight finish, and waits for the servers to end.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
