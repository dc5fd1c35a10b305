//! Metric handles made once per label set and found again under a read lock.
//!
//! Every instrumented protocol (HTTP, gRPC, messaging, datastores) keeps its
//! handles this way, so that a request costs one lookup, never a label
//! vector or a registry search. A handle is made outside the lock; when two
//! threads make the same one at once, the first to store it wins and both
//! get that one (the registry gives both the same series anyway).

use std::hash::{BuildHasher, Hash};

use parking_lot::RwLock;
use rustc_hash::FxBuildHasher;

/// The handle stored for `key` in a short list, if any.
pub(crate) fn find<K: PartialEq, H: Clone>(entries: &[(K, H)], key: &K) -> Option<H> {
    entries
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, h)| h.clone())
}

/// Stores `made` for `key` unless the list already holds one; returns the
/// one stored.
pub(crate) fn keep<K: PartialEq, H: Clone>(entries: &mut Vec<(K, H)>, key: K, made: H) -> H {
    if let Some(h) = find(entries, &key) {
        return h;
    }
    entries.push((key, made.clone()));
    made
}

/// Handles of a few label sets (methods, schemes, status codes), searched in
/// order: for a handful of entries a scan is cheaper than hashing.
pub(crate) struct HandleList<K, H> {
    entries: RwLock<Vec<(K, H)>>,
}

impl<K, H> Default for HandleList<K, H> {
    fn default() -> Self {
        Self {
            entries: RwLock::new(Vec::new()),
        }
    }
}

impl<K: PartialEq, H: Clone> HandleList<K, H> {
    /// The handle of `key`, made by `make` the first time.
    pub(crate) fn get_or_make(&self, key: K, make: impl FnOnce(&K) -> H) -> H {
        if let Some(h) = find(&self.entries.read(), &key) {
            return h;
        }
        let made = make(&key);
        keep(&mut self.entries.write(), key, made)
    }
}

/// Handles of label sets too many to scan, found by hash. The hasher is
/// FxHash by default: keys are label values the service itself bounds
/// (route templates, destinations, operations), never free client text.
pub(crate) struct HandleMap<K, H, S = FxBuildHasher> {
    entries: RwLock<std::collections::HashMap<K, H, S>>,
}

impl<K, H, S: Default> Default for HandleMap<K, H, S> {
    fn default() -> Self {
        Self {
            entries: RwLock::new(std::collections::HashMap::default()),
        }
    }
}

impl<K: Hash + Eq, H: Clone, S: BuildHasher> HandleMap<K, H, S> {
    /// The handle of `key`, made by `make` the first time.
    pub(crate) fn get_or_make(&self, key: K, make: impl FnOnce(&K) -> H) -> H {
        if let Some(h) = self.entries.read().get(&key) {
            return h.clone();
        }
        let made = make(&key);
        self.entries.write().entry(key).or_insert(made).clone()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn a_list_makes_each_handle_once_and_finds_it_again() {
        let list = HandleList::<(&str, u16), usize>::default();
        let made = AtomicUsize::new(0);
        let make = |_: &(&str, u16)| made.fetch_add(1, Ordering::Relaxed) + 10;
        assert_eq!(list.get_or_make(("GET", 200), make), 10);
        assert_eq!(list.get_or_make(("GET", 500), make), 11);
        assert_eq!(list.get_or_make(("GET", 200), make), 10);
        assert_eq!(made.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_map_makes_each_handle_once_and_finds_it_again() {
        let map = HandleMap::<(&str, Option<&str>), usize>::default();
        let made = AtomicUsize::new(0);
        let make = |_: &(&str, Option<&str>)| made.fetch_add(1, Ordering::Relaxed);
        assert_eq!(map.get_or_make(("select", None), make), 0);
        assert_eq!(map.get_or_make(("select", Some("users")), make), 1);
        assert_eq!(map.get_or_make(("select", None), make), 0);
        assert_eq!(made.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn the_first_handle_stored_wins() {
        let mut entries = vec![(1, "first")];
        assert_eq!(keep(&mut entries, 1, "second"), "first");
        assert_eq!(keep(&mut entries, 2, "other"), "other");
        assert_eq!(entries, [(1, "first"), (2, "other")]);
        assert_eq!(find(&entries, &3), None);
    }
}
