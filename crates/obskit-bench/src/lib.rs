//! What obskit costs per request, measured: the routes every benchmark
//! server serves, and a counting OTLP sink that receives their spans.
//!
//! The `bench-server` binary serves [`app::routes`] on one of four
//! [`stacks`] (plain axum, obskit sampled, obskit unsampled, the popular
//! crates); the `per-request` binary drives the same stacks in-process and
//! counts what does not depend on the machine (allocations; instructions and
//! syscalls under `bench/count.sh`);
//! the `otlp-sink` binary runs [`sink`] as a stand-alone OTLP/HTTP endpoint;
//! `bench/run.sh` at the repository root drives them with `wrk`. The
//! criterion benches in `benches/` reuse both modules in-process.

pub mod app;
pub mod series;
pub mod sink;
pub mod stacks;
