//! What the workspace's tests share, written once: a free port, skipping a
//! test when a tool or server is absent (failing instead under `CI`),
//! finding and running `promtool` and Python, a parser for the Prometheus
//! text exposition, and waiting for a condition with a deadline. For the
//! tests that check figures in a real Prometheus (the stock artifacts' live
//! test, the generated services' end-to-end test): Debian's Prometheus
//! started for one test with a client for its HTTP API ([`prometheus`]),
//! child processes that die with the test ([`process`]), and the messaging
//! selectors of dashboards and rules ([`selectors`]).
//!
//! A test-only crate (`publish = false`), used as a dev-dependency. The
//! generated service's tests do not use it: a generated project must not
//! depend on a crate of this workspace.
//!
//! ```
//! use std::time::Duration;
//!
//! let port = obskit_test_support::free_port();
//! let ready = obskit_test_support::wait::until(Duration::from_secs(1), || port > 0);
//! assert!(ready);
//! ```
#![allow(clippy::print_stderr)] // a skipped test says why on stderr

mod ci;
mod net;
pub mod process;
pub mod prom;
pub mod prometheus;
pub mod selectors;
mod tools;
pub mod wait;

pub use ci::{in_ci, skip};
pub use net::{free_port, listens, server_up};
pub use tools::{assert_promtool_accepts, find_program, promtool, python3_with, run_with_stdin};
