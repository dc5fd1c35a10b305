//! Helpers for the live-Prometheus test: the obskit service under test and the servers it
//! depends on, and a traffic driver that counts what it sent; child processes that die with
//! the test and a Prometheus started on 127.0.0.1 with its HTTP API come from
//! `obskit-test-support`, shared with obskit-cli's tests.

pub(crate) mod dependencies;
pub(crate) mod service;
pub(crate) mod traffic;

pub(crate) use obskit_test_support::{process, prometheus};
