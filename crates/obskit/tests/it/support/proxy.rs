//! A TCP proxy of a test's own, to cut a client off a shared broker without
//! touching the broker.

use std::time::{Duration, Instant};

/// A TCP proxy of the test's own between a client and a shared broker on 127.0.0.1:
/// it can cut every connection and close its port (new connections are
/// refused, as by a broker that is down), then open it again. The broker
/// itself is never touched.
pub(crate) struct Proxy {
    /// The port clients connect to.
    pub(crate) port: u16,
    upstream: u16,
    accept: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    links: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
    }
}

impl Proxy {
    /// A proxy to `127.0.0.1:upstream` on a free port.
    pub(crate) async fn start(upstream: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let links = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let accept = Self::serve(listener, upstream, links.clone());
        Self {
            port,
            upstream,
            accept: std::sync::Mutex::new(Some(accept)),
            links,
        }
    }

    fn serve(
        listener: tokio::net::TcpListener,
        upstream: u16,
        links: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) =
                        tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                links.lock().unwrap().push(link.abort_handle());
            }
        })
    }

    /// Closes the port and every connection through it.
    pub(crate) fn cut(&self) {
        if let Some(accept) = self.accept.lock().unwrap().take() {
            accept.abort();
        }
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    /// Opens the port again.
    pub(crate) async fn restore(&self) {
        let start = Instant::now();
        let listener = loop {
            match tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(e) => {
                    assert!(
                        start.elapsed() < Duration::from_secs(60),
                        "port {} free again: {e}",
                        self.port
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        *self.accept.lock().unwrap() =
            Some(Self::serve(listener, self.upstream, self.links.clone()));
    }
}
