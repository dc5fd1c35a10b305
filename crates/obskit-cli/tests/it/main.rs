//! The obskit command's integration tests, in one binary: each module is one
//! concern, `common` and `dev_support` are the helpers they share.
//!
//! Tests run in parallel threads of this one process; the ones that build a
//! generated service share one target directory, and Cargo's lock on it
//! takes them in turn.

// Helpers used only by the `obskit dev` tests are dead without the feature.
#![cfg_attr(not(feature = "dev"), allow(dead_code))]

mod common;
#[cfg(feature = "dev")]
mod dev_support;

mod artifacts;
mod cargo_generate;
mod cli;
mod contract;
mod dev_child;
mod dev_e2e;
mod dev_python;
mod dev_ui;
mod e2e;
mod kubernetes;
mod messaging_figures;
mod snapshots;
mod stock_copies;
