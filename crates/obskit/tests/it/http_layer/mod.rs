//! The server layer over real sockets, one module a concern: exact RED and
//! SLO figures after known traffic, bounded cardinality, request ids,
//! hostile propagation headers, span attributes and redaction, the access
//! line, failed requests, and an exposition `promtool` accepts. `common`
//! holds the test service and the calls every module makes.

mod access_log;
mod common;
mod failures;
mod red;
mod request_id;
mod slo;
mod spans;
mod trace_context;
