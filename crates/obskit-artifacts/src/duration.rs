//! Whole-second durations printed the way Prometheus parses them (`5m`, `1h`, `2m30s`, `3d`).
//!
//! Rule windows, `for` clauses, promtool evaluation times and runbook prose all print durations;
//! one type keeps the spelling identical everywhere.

use std::fmt;

/// A duration in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Dur(u64);

impl Dur {
    /// `n` seconds.
    pub(crate) const fn secs(n: u64) -> Self {
        Self(n)
    }
    /// `n` minutes.
    pub(crate) const fn mins(n: u64) -> Self {
        Self(n * 60)
    }
    /// `n` hours.
    pub(crate) const fn hours(n: u64) -> Self {
        Self(n * 3600)
    }
    /// `n` days.
    pub(crate) const fn days(n: u64) -> Self {
        Self(n * 86_400)
    }
    /// The duration in seconds.
    pub(crate) const fn as_secs(self) -> u64 {
        self.0
    }
    /// How many whole `step`s fit in this duration; `None` unless it is an exact multiple.
    pub(crate) fn steps_of(self, step: Dur) -> Option<usize> {
        if step.0 == 0 || !self.0.is_multiple_of(step.0) {
            return None;
        }
        usize::try_from(self.0 / step.0).ok()
    }
    /// How many `step`s it takes to cover this duration (rounded up).
    pub(crate) fn steps_to_cover(self, step: Dur) -> Option<usize> {
        if step.0 == 0 {
            return None;
        }
        usize::try_from(self.0.div_ceil(step.0)).ok()
    }
    /// `self * n`.
    pub(crate) const fn times(self, n: u64) -> Self {
        Self(self.0 * n)
    }
}

impl fmt::Display for Dur {
    /// Prometheus duration syntax, largest units first: `3d`, `1h`, `2m30s`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.0;
        for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
            if rest >= size {
                write!(f, "{}{unit}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Dur;

    #[test]
    fn prints_prometheus_syntax() {
        assert_eq!(Dur::mins(5).to_string(), "5m");
        assert_eq!(Dur::hours(1).to_string(), "1h");
        assert_eq!(Dur::days(3).to_string(), "3d");
        assert_eq!(Dur::secs(150).to_string(), "2m30s");
        assert_eq!(Dur::mins(3 * 1440 + 61).to_string(), "3d1h1m");
        assert_eq!(Dur::secs(0).to_string(), "0s");
    }

    #[test]
    fn counts_steps_only_for_exact_multiples() {
        assert_eq!(Dur::hours(1).steps_of(Dur::mins(5)), Some(12));
        assert_eq!(Dur::mins(7).steps_of(Dur::mins(5)), None);
        assert_eq!(Dur::mins(7).steps_of(Dur::secs(0)), None);
        assert_eq!(Dur::mins(2).steps_to_cover(Dur::mins(5)), Some(1));
        assert_eq!(Dur::mins(10).steps_to_cover(Dur::mins(5)), Some(2));
    }
}
