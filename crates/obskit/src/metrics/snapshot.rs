//! What the registry hands to the renderers: an immutable, sorted picture
//! of every family (name, type, metadata, its series), rebuilt only when a
//! series or a description is added. Values are read from the series at
//! render time, so one snapshot serves many scrapes.
//!
//! The registry builds snapshots and the renderers (`render` for the
//! Prometheus text format, `openmetrics`) read them; neither knows the
//! other.

use std::sync::Arc;

use super::series::{CounterSeries, GaugeSeries, HistogramSeries};

/// The type a family was registered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    /// The word on the `# TYPE` line of the Prometheus text format.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One registered series.
#[derive(Debug, Clone)]
pub(super) enum Series {
    Counter(Arc<CounterSeries>),
    Gauge(Arc<GaugeSeries>),
    Histogram(Arc<HistogramSeries>),
}

impl Series {
    pub(super) fn kind(&self) -> Kind {
        match self {
            Series::Counter(_) => Kind::Counter,
            Series::Gauge(_) => Kind::Gauge,
            Series::Histogram(_) => Kind::Histogram,
        }
    }
}

/// A family's HELP text, escaped once for each format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Help {
    /// For the Prometheus text format (`\` and newline escaped).
    pub(super) prometheus: Arc<str>,
    /// For OpenMetrics (double quotes escaped too).
    pub(super) openmetrics: Arc<str>,
}

/// An immutable picture of every family, for one or more renders.
pub(super) struct Snapshot {
    pub(super) generation: u64,
    /// Families in name order.
    pub(super) families: Vec<FamilyView>,
    /// About how many bytes a Prometheus text render of this snapshot takes.
    pub(super) size_hint: usize,
}

/// One family in a [`Snapshot`].
pub(super) struct FamilyView {
    pub(super) name: Arc<str>,
    pub(super) kind: Kind,
    /// When the metric was described.
    pub(super) help: Option<Help>,
    /// The unit it was described with, in OpenMetrics' words (`seconds`).
    pub(super) unit: Option<&'static str>,
    /// An info metric (a gauge whose labels describe something, always 1).
    pub(super) info: bool,
    /// Series in label-set order.
    pub(super) series: Arc<[Series]>,
}

/// Bytes a family's lines take in the Prometheus text format, about: exact
/// for names and labels, a generous guess for the numbers.
pub(super) fn size_hint(name: &str, series: &[Series]) -> usize {
    const VALUE: usize = 24;
    let header = 2 * name.len() + 24;
    header
        + series
            .iter()
            .map(|s| match s {
                Series::Counter(c) => name.len() + c.labels.len() + 4 + VALUE,
                Series::Gauge(g) => name.len() + g.labels.len() + 4 + VALUE,
                Series::Histogram(h) => {
                    let line = name.len() + h.labels.len() + 16 + VALUE;
                    let le: usize = h.buckets.le().iter().map(|l| l.len()).sum();
                    (h.buckets.le().len() + 3) * line + le + 4
                }
            })
            .sum::<usize>()
}

impl Kind {
    /// Sample lines per series of this kind with `bounds` buckets.
    #[cfg(test)]
    pub(super) fn lines(self, bounds: usize) -> usize {
        match self {
            Kind::Histogram => bounds + 3,
            _ => 1,
        }
    }
}
