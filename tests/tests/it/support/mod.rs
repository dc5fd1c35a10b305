//! Helpers for the live-Prometheus test: child processes that die with the test, the
//! obskit service under test and the servers it depends on, a Prometheus started on 127.0.0.1
//! with its HTTP API, and a traffic driver that counts what it sent.

pub(crate) mod dependencies;
pub(crate) mod process;
pub(crate) mod prometheus;
pub(crate) mod service;
pub(crate) mod traffic;
