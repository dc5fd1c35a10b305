//! The viewer's integration tests, one binary: the receiver against real exports over real
//! sockets, and scraping a real `/metrics` endpoint.

mod receiver;
mod scrape;
