//! Label values that come from outside the code (table names, command
//! names, error codes), bounded per client: the first 1 000 distinct values
//! are kept, every later one becomes `_OTHER`, so a service that builds
//! table names at run time cannot grow `/metrics` without end.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use parking_lot::{Mutex, RwLock};

use crate::metrics::names::DB_VALUE_OTHER;

/// Distinct values one client keeps per label.
pub(crate) const LIMIT: usize = 1_000;

/// Distinct values the whole process keeps as `&'static str`, whatever the
/// number of clients (each value's text is allocated once).
const PROCESS_LIMIT: usize = 100_000;

/// One label's values for one client.
#[derive(Default)]
pub(crate) struct Bounded {
    // Keys come from database text, so the default (keyed) hasher is kept.
    seen: RwLock<HashMap<Box<str>, &'static str>>,
}

impl Bounded {
    /// `value` itself while this label has fewer than [`LIMIT`] values,
    /// `_OTHER` once it is full.
    pub(crate) fn get(&self, value: &str) -> &'static str {
        if let Some(v) = self.seen.read().get(value) {
            return v;
        }
        let mut seen = self.seen.write();
        if let Some(v) = seen.get(value) {
            return v;
        }
        if seen.len() >= LIMIT {
            return DB_VALUE_OTHER;
        }
        let v = intern(value);
        seen.insert(value.into(), v);
        v
    }
}

/// The process-wide copy of `value` (or `_OTHER` past the process bound),
/// for names from a small set such as Redis commands.
#[cfg(feature = "redis")]
pub(crate) fn intern_static(value: &str) -> &'static str {
    intern(value)
}

/// The process-wide copy of `value`, or `_OTHER` past [`PROCESS_LIMIT`].
fn intern(value: &str) -> &'static str {
    static ALL: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut all = ALL.get_or_init(Mutex::default).lock();
    if let Some(v) = all.get(value) {
        return v;
    }
    if all.len() >= PROCESS_LIMIT {
        return DB_VALUE_OTHER;
    }
    // Bounded above: at most PROCESS_LIMIT values ever leak.
    let v: &'static str = Box::leak(value.into());
    all.insert(v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_past_the_limit_become_other() {
        let b = Bounded::default();
        for i in 0..LIMIT {
            assert_eq!(b.get(&format!("t{i}")), format!("t{i}"));
        }
        assert_eq!(b.get("one_too_many"), DB_VALUE_OTHER);
        assert_eq!(b.get("t7"), "t7", "known values stay");
        assert!(std::ptr::eq(b.get("t7"), b.get("t7")));
    }
}
