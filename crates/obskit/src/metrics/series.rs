//! The three kinds of series and their lock-free storage: what a cached
//! `metrics::Counter`/`Gauge`/`Histogram` handle writes to on every request.
//!
//! - counter: one `AtomicU64`;
//! - gauge: an `f64`'s bits in an `AtomicU64`, adjusted by compare-and-swap;
//! - histogram: one `AtomicU64` per bucket (non-cumulative; the renderer
//!   accumulates) plus one for values above the last bound, and the sum as
//!   `f64` bits. The count is the sum of the buckets, read in the same pass
//!   the renderer accumulates them in, so `le="+Inf"` always equals `_count`
//!   even while other threads record, and recording costs one increment and
//!   one compare-and-swap.
//!
//! Each series also carries its label set, pre-rendered for the exposition,
//! and room for exemplars (see `exemplar`): one per histogram bucket, one
//! per counter, filled only while a sampled span is current.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use metrics::{CounterFn, GaugeFn, HistogramFn};

use super::exemplar::{Exemplar, ExemplarCell};
use super::text;

/// Bucket upper bounds of a histogram family, validated, with their `le`
/// label values pre-rendered.
#[derive(Debug)]
pub(super) struct Buckets {
    bounds: Box<[f64]>,
    /// As the Prometheus text format writes them (`1`, `0.005`).
    le: Box<[Box<str>]>,
    /// As OpenMetrics' canonical numbers (`1.0`, `0.005`, `1e+06`), each
    /// as the end of a bucket's label set: `,le="1.0"} `.
    le_openmetrics: Box<[LeLabel]>,
}

/// The end of an OpenMetrics bucket's label set, `,le="1.0"} `, in a
/// block of fixed size: a renderer copies the whole block (a few moves, no
/// call) and keeps [`LeLabel::len`] bytes of it.
#[derive(Debug)]
pub(super) struct LeLabel {
    text: [u8; Self::BLOCK],
    len: usize,
}

impl LeLabel {
    /// The block's size: the longest canonical number has 24 characters
    /// (`-1.2345678901234567e-308`), and `,le=""} ` adds 8.
    pub(super) const BLOCK: usize = 32;

    fn new(le: &str) -> Self {
        let end = format!(",le=\"{le}\"}} ");
        let mut text = [b' '; Self::BLOCK];
        let len = end.len().min(Self::BLOCK);
        text[..len].copy_from_slice(&end.as_bytes()[..len]);
        Self { text, len }
    }

    /// The block; its first [`LeLabel::len`] bytes are the text.
    pub(super) fn block(&self) -> &[u8; Self::BLOCK] {
        &self.text
    }

    /// How many bytes of the block are the text.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The text, `,le="1.0"} `.
    pub(super) fn text(&self) -> &[u8] {
        &self.text[..self.len]
    }
}

/// Why a list of histogram bucket bounds was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BucketsError {
    /// No bounds at all.
    #[error(
        "histogram buckets for {name:?} are empty; give at least one finite upper bound, e.g. [0.1, 1.0, 10.0]"
    )]
    Empty {
        /// The histogram's name.
        name: String,
    },
    /// A bound that is NaN or infinite (`+Inf` is always added by obskit).
    #[error(
        "histogram bucket bound {bound} for {name:?} is not finite; list finite bounds only, obskit adds le=\"+Inf\" itself"
    )]
    NotFinite {
        /// The histogram's name.
        name: String,
        /// The rejected bound.
        bound: f64,
    },
    /// Bounds that do not strictly increase.
    #[error(
        "histogram bucket bounds for {name:?} must strictly increase, but {bound} follows {previous}; sort them and drop duplicates"
    )]
    NotIncreasing {
        /// The histogram's name.
        name: String,
        /// The bound before `bound`.
        previous: f64,
        /// The bound that is not above `previous`.
        bound: f64,
    },
    /// The histogram already has series recorded with other buckets.
    #[error(
        "histogram {name:?} already has series with other buckets; set its buckets before the first series of that name is registered"
    )]
    AlreadyRegistered {
        /// The histogram's name.
        name: String,
    },
}

impl Buckets {
    /// Validated bounds for the histogram `name` (named in errors only).
    pub(super) fn new(name: &str, bounds: &[f64]) -> Result<Self, BucketsError> {
        if bounds.is_empty() {
            return Err(BucketsError::Empty {
                name: name.to_owned(),
            });
        }
        for (i, &bound) in bounds.iter().enumerate() {
            if !bound.is_finite() {
                return Err(BucketsError::NotFinite {
                    name: name.to_owned(),
                    bound,
                });
            }
            if i > 0 && bound <= bounds[i - 1] {
                return Err(BucketsError::NotIncreasing {
                    name: name.to_owned(),
                    previous: bounds[i - 1],
                    bound,
                });
            }
        }
        Ok(Self {
            bounds: bounds.into(),
            le: bounds
                .iter()
                .map(|&b| text::f64_string(b).into_boxed_str())
                .collect(),
            le_openmetrics: bounds
                .iter()
                .map(|&b| LeLabel::new(&text::canonical_f64(b)))
                .collect(),
        })
    }

    /// The upper bounds, ascending.
    pub(super) fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// The `le` label values, one per bound.
    pub(super) fn le(&self) -> &[Box<str>] {
        &self.le
    }

    /// The `le` label values in OpenMetrics' canonical form, one per bound,
    /// each as the end of a bucket's label set: `,le="1.0"} ` (the comma
    /// for a series with other labels).
    pub(super) fn le_openmetrics(&self) -> &[LeLabel] {
        &self.le_openmetrics
    }

    /// The slot a value falls in: the first bound `>= v` (a value equal to a
    /// bound counts in that bound's bucket), or `bounds.len()` for values
    /// above the last bound and for NaN (they count in `+Inf` only).
    #[inline]
    #[allow(clippy::neg_cmp_op_on_partial_ord)] // `!(v <= b)` so that NaN lands past the end
    fn slot(&self, v: f64) -> usize {
        self.bounds.partition_point(|&b| !(v <= b))
    }
}

/// A counter series.
#[derive(Debug)]
pub(super) struct CounterSeries {
    pub(super) labels: Arc<str>,
    value: AtomicU64,
    exemplar: ExemplarCell,
}

impl CounterSeries {
    pub(super) fn new(labels: Arc<str>) -> Self {
        Self {
            labels,
            value: AtomicU64::new(0),
            exemplar: ExemplarCell::default(),
        }
    }

    /// The current total.
    pub(super) fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }

    /// The latest increment made inside a sampled span, if any.
    pub(super) fn exemplar(&self) -> Option<Exemplar> {
        self.exemplar.get()
    }
}

impl CounterFn for CounterSeries {
    /// Adds `value`; inside a sampled span, an increment also becomes the
    /// series' exemplar.
    #[inline]
    fn increment(&self, value: u64) {
        self.value.fetch_add(value, Ordering::Relaxed);
        if value > 0 {
            self.exemplar.offer(value as f64);
        }
    }

    /// Raises the total to `value`; a counter never goes down, so a smaller
    /// `value` (a stale read) leaves it as it is.
    #[inline]
    fn absolute(&self, value: u64) {
        self.value.fetch_max(value, Ordering::Relaxed);
    }
}

/// A counter handle that never keeps exemplars, for series whose
/// exemplars would only crowd out useful ones (an SLO's good requests).
#[derive(Debug)]
pub(super) struct WithoutExemplars(pub(super) Arc<CounterSeries>);

impl CounterFn for WithoutExemplars {
    #[inline]
    fn increment(&self, value: u64) {
        self.0.value.fetch_add(value, Ordering::Relaxed);
    }

    #[inline]
    fn absolute(&self, value: u64) {
        self.0.absolute(value);
    }
}

/// A gauge series.
#[derive(Debug)]
pub(super) struct GaugeSeries {
    pub(super) labels: Arc<str>,
    bits: AtomicU64,
}

impl GaugeSeries {
    pub(super) fn new(labels: Arc<str>) -> Self {
        Self {
            labels,
            bits: AtomicU64::new(0.0f64.to_bits()),
        }
    }

    /// The current value.
    pub(super) fn get(&self) -> f64 {
        f64::from_bits(self.bits.load(Ordering::Relaxed))
    }
}

/// Adds `delta` to the `f64` whose bits `cell` holds.
#[inline]
fn add_f64(cell: &AtomicU64, delta: f64) {
    let mut current = cell.load(Ordering::Relaxed);
    loop {
        let next = (f64::from_bits(current) + delta).to_bits();
        match cell.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(seen) => current = seen,
        }
    }
}

impl GaugeFn for GaugeSeries {
    #[inline]
    fn increment(&self, value: f64) {
        add_f64(&self.bits, value);
    }

    #[inline]
    fn decrement(&self, value: f64) {
        add_f64(&self.bits, -value);
    }

    #[inline]
    fn set(&self, value: f64) {
        self.bits.store(value.to_bits(), Ordering::Relaxed);
    }
}

/// A histogram series with fixed buckets.
#[derive(Debug)]
pub(super) struct HistogramSeries {
    pub(super) labels: Arc<str>,
    pub(super) buckets: Arc<Buckets>,
    /// One per bound, then one for values above the last bound (and NaN).
    counts: Box<[AtomicU64]>,
    /// One per slot of `counts`.
    exemplars: Box<[ExemplarCell]>,
    sum: AtomicU64,
}

impl HistogramSeries {
    pub(super) fn new(labels: Arc<str>, buckets: Arc<Buckets>) -> Self {
        let slots = buckets.bounds.len() + 1;
        Self {
            labels,
            buckets,
            counts: (0..slots).map(|_| AtomicU64::new(0)).collect(),
            exemplars: (0..slots).map(|_| ExemplarCell::default()).collect(),
            sum: AtomicU64::new(0.0f64.to_bits()),
        }
    }

    /// The exemplar of bucket `i` alone (same numbering as [`Self::bucket`]).
    pub(super) fn exemplar(&self, i: usize) -> Option<Exemplar> {
        self.exemplars[i].get()
    }

    /// Observations in bucket `i` alone (not cumulative); `i ==
    /// bounds().len()` is the slot above the last bound.
    #[inline]
    pub(super) fn bucket(&self, i: usize) -> u64 {
        self.counts[i].load(Ordering::Relaxed)
    }

    /// The sum of every observed value.
    pub(super) fn sum(&self) -> f64 {
        f64::from_bits(self.sum.load(Ordering::Relaxed))
    }
}

impl HistogramFn for HistogramSeries {
    #[inline]
    fn record(&self, value: f64) {
        self.record_many(value, 1);
    }

    #[inline]
    fn record_many(&self, value: f64, count: usize) {
        let slot = self.buckets.slot(value);
        self.counts[slot].fetch_add(count as u64, Ordering::Relaxed);
        // The slot's bucket is the smallest that holds `value`: the
        // exemplar's value always lies within its bucket.
        self.exemplars[slot].offer(value);
        // `count` copies of `value`; for one, exactly `value`.
        let total = if count == 1 {
            value
        } else {
            value * count as f64
        };
        add_f64(&self.sum, total);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(bounds: &[f64]) -> HistogramSeries {
        HistogramSeries::new("".into(), Arc::new(Buckets::new("h", bounds).unwrap()))
    }

    #[test]
    fn openmetrics_le_labels_hold_the_longest_canonical_numbers_whole() {
        let bounds = [
            -0.000_123_456_789_012_345_67,
            -1.234_567_890_123_456_7e-308,
            0.005,
            1.0,
        ];
        let b = Buckets::new("h", &bounds).unwrap();
        for (le, bound) in b.le_openmetrics().iter().zip(bounds) {
            let expected = format!(",le=\"{}\"}} ", text::canonical_f64(bound));
            assert_eq!(le.text(), expected.as_bytes());
            assert_eq!(&le.block()[..le.len()], expected.as_bytes());
        }
        assert_eq!(
            b.le_openmetrics()[1].len(),
            LeLabel::BLOCK,
            "the longest fills the block"
        );
        assert_eq!(b.le_openmetrics()[3].text(), b",le=\"1.0\"} ");
    }

    #[test]
    fn a_value_on_a_bound_counts_in_that_bucket() {
        let h = histogram(&[0.1, 0.5, 1.0]);
        for v in [0.1, 0.5, 1.0, 0.0, -4.0, 0.099, 1.000_001] {
            h.record(v);
        }
        h.record(f64::NAN);
        h.record(f64::INFINITY);
        // 0.1, 0.0, -4.0, 0.099 | 0.5 | 1.0 | 1.000001, NaN, +Inf
        assert_eq!(
            (0..4).map(|i| h.bucket(i)).collect::<Vec<_>>(),
            [4, 1, 1, 3]
        );
        assert!(h.sum().is_nan());
    }

    #[test]
    fn record_many_counts_and_sums_every_copy() {
        let h = histogram(&[1.0]);
        h.record_many(0.25, 4);
        h.record_many(2.0, 3);
        assert_eq!((h.bucket(0), h.bucket(1)), (4, 3));
        assert_eq!(h.sum(), 7.0);
    }

    #[test]
    fn gauges_add_subtract_and_set() {
        let g = GaugeSeries::new("".into());
        g.increment(2.5);
        g.decrement(1.0);
        assert_eq!(g.get(), 1.5);
        g.set(-7.0);
        assert_eq!(g.get(), -7.0);
    }

    #[test]
    fn counters_never_go_down() {
        let c = CounterSeries::new("".into());
        c.increment(5);
        c.absolute(3);
        assert_eq!(c.get(), 5);
        c.absolute(9);
        c.increment(1);
        assert_eq!(c.get(), 10);
    }

    #[test]
    fn bad_bucket_bounds_are_refused_with_the_reason() {
        assert_eq!(
            Buckets::new("h", &[]).unwrap_err(),
            BucketsError::Empty { name: "h".into() }
        );
        let e = Buckets::new("h", &[1.0, f64::INFINITY]).unwrap_err();
        assert!(matches!(e, BucketsError::NotFinite { .. }), "{e}");
        let e = Buckets::new("h", &[1.0, 1.0]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "histogram bucket bounds for \"h\" must strictly increase, but 1 follows 1; sort them and drop duplicates"
        );
        assert!(Buckets::new("h", &[f64::NAN]).is_err());
        let b = Buckets::new("h", &[0.005, 1.0, 10.0]).unwrap();
        assert_eq!(&*b.le()[0], "0.005");
        assert_eq!(&*b.le()[1], "1");
        assert_eq!(&*b.le()[2], "10");
    }
}
