//! The cross-artifact tests, in one binary: a real obskit service (the
//! `e2e-service` binary of this crate) scraped by a real Prometheus.
//! `support` runs the processes they share.

mod support;

mod exemplars_live;
mod prometheus_live;
