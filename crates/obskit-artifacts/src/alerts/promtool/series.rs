//! Input series for promtool tests, built from per-step increments and printed in promtool's
//! expanding notation (`0+100x60 6000+98x30`), plus the few PromQL evaluation rules the
//! expectations need (closed range windows, instant lookups, alert `for` state).
//!
//! Every counter starts at 0 at t=0 and every evaluation falls on a sample, so Prometheus' rate
//! extrapolation never applies (a range either starts on a sample or before the series' zero
//! start): `rate` is exactly `delta / window`, which the expectations reproduce bit for bit.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Labels of a series, printed in insertion order.
#[derive(Debug, Clone)]
pub(crate) struct Labels(pub(crate) Vec<(String, String)>);

impl Labels {
    /// Labels from `(name, value)` pairs.
    pub(crate) fn of(pairs: &[(&str, &str)]) -> Self {
        Self(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }
    /// These labels plus one more.
    pub(crate) fn with(&self, name: &str, value: &str) -> Self {
        let mut next = self.clone();
        next.0.push((name.to_owned(), value.to_owned()));
        next
    }
    /// `metric{a="b", ...}`.
    pub(crate) fn series(&self, metric: &str) -> String {
        let inner: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        format!("{metric}{{{}}}", inner.join(", "))
    }
    /// The labels as a map, as an alert's `$labels` sees them.
    pub(crate) fn map(&self) -> BTreeMap<String, String> {
        self.0.iter().cloned().collect()
    }
}

/// A counter sampled once per step from t=0, starting at 0.
#[derive(Debug, Clone)]
pub(crate) struct Counter(Vec<u64>);

impl Counter {
    /// A counter with its one sample at t=0.
    pub(crate) fn new() -> Self {
        Self(vec![0])
    }
    /// Adds `steps` samples, each `inc` above the previous one.
    pub(crate) fn run(mut self, inc: u64, steps: usize) -> Self {
        for _ in 0..steps {
            let last = self.last();
            self.0.push(last + inc);
        }
        self
    }
    /// A counter (or a gauge that never falls) with its one sample at t=0 at `value`.
    pub(crate) fn starting(value: u64) -> Self {
        Self(vec![value])
    }
    /// The sample at step `t` (the last one past the end).
    pub(crate) fn at(&self, t: usize) -> u64 {
        self.0.get(t).copied().unwrap_or_else(|| self.last())
    }
    fn last(&self) -> u64 {
        self.0.last().copied().unwrap_or(0)
    }
    /// Number of samples.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
    /// Increase over the closed range `[t - window, t]` (clipped at the series start).
    pub(crate) fn delta(&self, t: usize, window_steps: usize) -> u64 {
        self.0[t] - self.0[t.saturating_sub(window_steps)]
    }
    /// `rate(counter[window])` at step `t`, as Prometheus computes it here: `delta / seconds`.
    pub(crate) fn rate(&self, t: usize, window_steps: usize, window_secs: u64) -> f64 {
        self.delta(t, window_steps) as f64 / window_secs as f64
    }
    /// `increase(counter[window])` at step `t`: the delta, scaled by an extrapolation factor
    /// of exactly 1.
    pub(crate) fn increase(&self, t: usize, window_steps: usize) -> f64 {
        self.delta(t, window_steps) as f64
    }
    /// promtool notation: runs of equal increments as `start+incxN`.
    pub(crate) fn notation(&self) -> String {
        let mut out = String::new();
        let mut i = 0;
        while i < self.0.len() {
            let start = self.0[i];
            let inc = self.0.get(i + 1).map_or(0, |next| next - start);
            let mut j = i + 1;
            while j < self.0.len() && self.0[j] - self.0[j - 1] == inc {
                j += 1;
            }
            // Samples i..j form one run: `start+inc x (j - i - 1)`.
            if !out.is_empty() {
                out.push(' ');
            }
            let _ = write!(out, "{start}+{inc}x{}", j - i - 1);
            i = j;
        }
        out
    }
}

/// A gauge sampled once per step from t=0, optionally followed by a staleness marker (the
/// series disappears, as when a target stops being scraped).
#[derive(Debug, Clone)]
pub(crate) struct Gauge {
    values: Vec<f64>,
    stale_after: bool,
}

impl Gauge {
    /// `value` for `steps + 1` samples (t = 0..=steps).
    pub(crate) fn constant(value: f64, steps: usize) -> Self {
        Self {
            values: vec![value; steps + 1],
            stale_after: false,
        }
    }
    /// Appends `steps` samples of `value`.
    pub(crate) fn then(mut self, value: f64, steps: usize) -> Self {
        self.values.extend(std::iter::repeat_n(value, steps));
        self
    }
    /// Ends the series with a staleness marker right after its last sample.
    pub(crate) fn stale(mut self) -> Self {
        self.stale_after = true;
        self
    }
    /// The value an instant selector returns at step `t`; `None` once the series went stale.
    pub(crate) fn at(&self, t: usize) -> Option<f64> {
        match self.values.get(t) {
            Some(v) => Some(*v),
            None if self.stale_after => None,
            None => self.values.last().copied(),
        }
    }
    /// Whether a sample exists in `[t - window, t]`, as `max_over_time(g[window])` needs.
    pub(crate) fn seen_within(&self, t: usize, window_steps: usize) -> bool {
        t.saturating_sub(window_steps) < self.values.len()
    }
    /// promtool notation: runs of equal values as `v+0xN`, then `stale` if the series ends.
    pub(crate) fn notation(&self) -> String {
        let mut parts = Vec::new();
        let mut i = 0;
        while i < self.values.len() {
            let mut j = i + 1;
            while j < self.values.len() && self.values[j] == self.values[i] {
                j += 1;
            }
            parts.push(format!("{}+0x{}", self.values[i], j - i - 1));
            i = j;
        }
        if self.stale_after {
            parts.push("stale".to_owned());
        }
        parts.join(" ")
    }
}

/// Which steps an alert fires at, given at which steps its expression returns a sample and its
/// `for` in steps: pending from the first true step, firing once `for` has elapsed, reset by the
/// first false step.
pub(crate) fn firing(active: &[bool], for_steps: usize) -> Vec<bool> {
    let mut since = None;
    active
        .iter()
        .enumerate()
        .map(|(t, &on)| {
            if on {
                t - *since.get_or_insert(t) >= for_steps
            } else {
                since = None;
                false
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_notation_expands_back_to_its_samples() {
        let c = Counter::new().run(10, 3).run(4, 2).run(4, 1).run(0, 2);
        assert_eq!(c.0, [0, 10, 20, 30, 34, 38, 42, 42, 42]);
        assert_eq!(c.notation(), "0+10x3 34+4x2 42+0x1");
        assert_eq!(Counter::new().notation(), "0+0x0");
        assert_eq!(c.delta(8, 3), 4);
        assert_eq!(c.delta(2, 5), 20);
    }

    #[test]
    fn gauge_notation_and_lookups() {
        let g = Gauge::constant(1.0, 2).then(0.0, 2).stale();
        assert_eq!(g.notation(), "1+0x2 0+0x1 stale");
        assert_eq!(g.at(4), Some(0.0));
        assert_eq!(g.at(5), None);
        assert!(g.seen_within(10, 6));
        assert!(!g.seen_within(10, 5));
        assert_eq!(Gauge::constant(0.999, 3).notation(), "0.999+0x3");
    }

    #[test]
    fn alerts_fire_after_for_and_reset() {
        let on = [false, true, true, true, false, true, true];
        assert_eq!(
            firing(&on, 2),
            [false, false, false, true, false, false, false]
        );
        assert_eq!(firing(&on, 0), on);
    }

    #[test]
    fn labels_print_in_order() {
        let l = Labels::of(&[("b", "1"), ("a", "2")]).with("c", "3");
        assert_eq!(l.series("m"), r#"m{b="1", a="2", c="3"}"#);
        assert_eq!(l.map().len(), 3);
    }
}
