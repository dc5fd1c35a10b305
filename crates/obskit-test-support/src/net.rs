//! Ports and servers on 127.0.0.1.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use crate::skip;

/// A port on 127.0.0.1 that was free a moment ago (another process may
/// take it before the caller binds it).
///
/// # Panics
///
/// When no port can be bound at all.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// Whether something accepts connections at `addr` (`host:port`), trying
/// for at most two seconds.
///
/// # Panics
///
/// When `addr` is not a socket address.
pub fn listens(addr: &str) -> bool {
    let addr: SocketAddr = addr
        .parse()
        .unwrap_or_else(|e| panic!("{addr:?} is not a socket address: {e}"));
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
}

/// Whether the server `what` answers at `addr`; when it does not, the test
/// skips with a note, or fails under CI (see [`skip`]).
pub fn server_up(addr: &str, what: &str) -> bool {
    let up = listens(addr);
    if !up {
        skip(format_args!("{what} is not running on {addr}"));
    }
    up
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_bound_port_listens_and_a_free_one_does_not() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let bound = listener.local_addr().unwrap().to_string();
        assert!(super::listens(&bound));
        let free = super::free_port();
        assert!(!super::listens(&format!("127.0.0.1:{free}")));
    }
}
