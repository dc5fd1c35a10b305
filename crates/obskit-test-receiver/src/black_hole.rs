//! Endpoints that fail in the two ways a dead collector does: accepting and never answering, or refusing outright.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;

use crate::server::{Background, bind_loopback};

/// A TCP listener on `127.0.0.1` that accepts every connection and then never
/// reads or writes a byte, keeping the socket open until it is dropped.
///
/// An exporter pointed at it connects, sends, and waits forever for an
/// answer, so only its own timeout ends the export: the case of a collector
/// that hangs. Dropping it closes the listener and every accepted socket.
#[derive(Debug)]
pub struct BlackHole {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    _background: Background,
}

impl BlackHole {
    /// Starts accepting on an ephemeral port. Needs no async runtime.
    ///
    /// # Errors
    /// When the port cannot be bound or the accepting thread cannot start.
    pub fn start() -> io::Result<Self> {
        let listener = bind_loopback()?;
        let addr = listener.local_addr()?;
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        let background = Background::spawn("obskit-black-hole", move || {
            let listener = TcpListener::from_std(listener)?;
            Ok(async move {
                let mut held = Vec::new();
                loop {
                    match listener.accept().await {
                        Ok((stream, _peer)) => {
                            held.push(stream);
                            counter.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                    }
                }
            })
        })?;
        Ok(Self {
            addr,
            accepted,
            _background: background,
        })
    }

    /// The URL to point an exporter at, `http://127.0.0.1:PORT` (works as a
    /// gRPC endpoint, an HTTP base URL, or with `/v1/traces` appended).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connections it has accepted (and is holding open) so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// A `http://127.0.0.1:PORT` URL where nothing listens, so connecting is refused at once.
///
/// It binds an ephemeral port and closes it again; another process could
/// take the port in between, which is unlikely within a test's lifetime.
///
/// # Errors
/// When no ephemeral port can be bound to find a free one.
pub fn refused_endpoint() -> io::Result<String> {
    let listener = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let addr = listener.local_addr()?;
    drop(listener);
    Ok(format!("http://{addr}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{ErrorKind, Read, Write};
    use std::net::TcpStream;

    #[test]
    fn black_hole_accepts_and_stays_silent() {
        let hole = BlackHole::start().unwrap();
        let mut stream = TcpStream::connect(hole.addr()).unwrap();
        stream
            .write_all(b"POST /v1/traces HTTP/1.1\r\n\r\n")
            .unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut buffer = [0_u8; 16];
        let error = stream.read(&mut buffer).unwrap_err();
        assert!(
            matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "expected a read timeout, got {error:?}"
        );
        assert_eq!(hole.connections(), 1);
        assert_eq!(hole.endpoint(), format!("http://{}", hole.addr()));
    }

    #[test]
    fn dropping_the_black_hole_closes_held_connections() {
        let hole = BlackHole::start().unwrap();
        let mut stream = TcpStream::connect(hole.addr()).unwrap();
        // Make sure the connection was accepted (and is held) before dropping.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while hole.connections() == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(hole);
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buffer = [0_u8; 16];
        // A closed peer reads as end of stream (or a reset), never as a timeout.
        match stream.read(&mut buffer) {
            Ok(read) => assert_eq!(read, 0),
            Err(error) => assert_eq!(error.kind(), ErrorKind::ConnectionReset),
        }
    }

    #[test]
    fn refused_endpoint_refuses() {
        let endpoint = refused_endpoint().unwrap();
        let addr = endpoint.strip_prefix("http://").unwrap();
        let error = TcpStream::connect(addr).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
    }
}
