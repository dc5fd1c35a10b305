//! Runs listeners on a dedicated thread with its own runtime, so serving never depends on (or stalls) the test's runtime.
//!
//! A test that blocks its only runtime thread, for example in a batch span
//! processor's `shutdown()`, would starve a receiver spawned on that runtime;
//! a thread of our own keeps answering. Dropping the [`Background`] stops the
//! runtime, which cancels every connection task and closes every socket.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::Service;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Boxed error type hyper accepts from services and bodies.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Binds a listener on an ephemeral loopback port, ready to be handed to a runtime.
pub(crate) fn bind_loopback() -> io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// A thread running a current-thread tokio runtime until dropped.
#[derive(Debug)]
pub(crate) struct Background {
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    /// Starts a thread named `name`, calls `setup` inside its runtime (where
    /// std listeners can be registered) and then drives the future it returns
    /// until the `Background` is dropped. Returns once `setup` has run, with its error if it failed.
    pub(crate) fn spawn<S, F>(name: &str, setup: S) -> io::Result<Self>
    where
        S: FnOnce() -> io::Result<F> + Send + 'static,
        F: Future<Output = ()> + 'static,
    {
        let (ready_tx, ready_rx) = mpsc::channel::<io::Result<()>>();
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = ready_tx.send(Err(error));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let serving = match setup() {
                        Ok(serving) => serving,
                        Err(error) => {
                            let _ = ready_tx.send(Err(error));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    tokio::select! {
                        _ = shutdown_rx => {}
                        () = serving => {}
                    }
                });
                // Dropping the runtime here cancels every task spawned on it.
            })?;
        let background = Self {
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        };
        // Thread start and runtime build take well under a millisecond.
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(background),
            Ok(Err(error)) => Err(error),
            Err(mpsc::RecvError) => Err(io::Error::other(format!(
                "the {name} thread stopped before it was ready to serve"
            ))),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        drop(self.shutdown.take());
        if let Some(thread) = self.thread.take() {
            // Joining makes "dropped" mean "ports closed"; the thread only has to drop its runtime.
            let _ = thread.join();
        }
    }
}

/// Accepts connections forever and serves each with `service` over HTTP/1.1 or HTTP/2 (h2c, as gRPC uses),
/// inside TLS when `tls` is set (a failed handshake just closes that connection).
pub(crate) async fn serve<S, B>(
    listener: TcpListener,
    service: S,
    tls: Option<tokio_rustls::TlsAcceptor>,
) where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(_) => {
                // Out of file descriptors or similar: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            // A client hanging up mid-request is normal in exporter tests.
            match tls {
                None => {
                    let _ = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_errors_are_returned_and_the_thread_ends() {
        let error = Background::spawn("failing-setup", || {
            Err::<std::future::Ready<()>, _>(io::Error::other("setup failed"))
        })
        .unwrap_err();
        assert_eq!(error.to_string(), "setup failed");
    }

    #[test]
    fn drop_closes_the_listener() {
        let listener = bind_loopback().unwrap();
        let addr = listener.local_addr().unwrap();
        let background = Background::spawn("drop-test", move || {
            let listener = TcpListener::from_std(listener)?;
            Ok(async move {
                let mut held = Vec::new();
                while let Ok((stream, _)) = listener.accept().await {
                    held.push(stream);
                }
            })
        })
        .unwrap();
        assert!(std::net::TcpStream::connect(addr).is_ok());
        drop(background);
        assert!(std::net::TcpStream::connect(addr).is_err());
    }
}
