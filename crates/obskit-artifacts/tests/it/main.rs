//! The stock artifacts' integration tests, in one binary: each module is one
//! concern.

mod dashboards;
mod drift;
mod metric_names;
mod promtool;
mod snapshots;
