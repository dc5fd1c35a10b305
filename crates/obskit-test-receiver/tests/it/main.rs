//! The test receiver's integration tests, in one binary: each module is one
//! concern, `common` builds the export request they all send.

mod common;

mod exporter;
mod grpc;
mod http;
mod lifecycle;
mod unreachable;
