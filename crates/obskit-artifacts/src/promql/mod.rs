//! PromQL in both directions: a small builder the generators use to write expressions, and a
//! small scanner that reads expressions back to list the metrics, labels and selectors they use.
//!
//! The scanner is what the metric-name test and the live-Prometheus test rely on: it answers
//! "which series does this dashboard panel or rule need?" without a full PromQL parser.

mod build;
mod scan;

pub(crate) use build::{Selector, increase, number, rate, sum_by};
pub use scan::{label_names, metric_names, vector_selectors};
