//! A bridged span's attributes, the first few kept inline.
//!
//! Most spans have a field or two. A vector for them would be allocated on
//! the request's thread and freed on the export's, the dearest kind of
//! allocation (the memory goes back to another thread's arena); inline,
//! they travel with the span and cost nothing more.

use opentelemetry::KeyValue;

/// How many attributes are kept inline.
const INLINE: usize = 1;

/// Attributes in the order they were added: the first [`INLINE`] inline,
/// the rest in a vector.
#[derive(Debug, Clone, Default)]
pub(crate) struct Attrs {
    inline: [Option<KeyValue>; INLINE],
    more: Vec<KeyValue>,
}

impl Attrs {
    /// No attributes, with room for `n` (allocated only past the inline
    /// ones).
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self {
            inline: Default::default(),
            more: Vec::with_capacity(n.saturating_sub(INLINE)),
        }
    }

    /// How many attributes there are.
    pub(crate) fn len(&self) -> usize {
        self.inline.iter().filter(|kv| kv.is_some()).count() + self.more.len()
    }

    /// Adds `kv` after the others.
    pub(crate) fn push(&mut self, kv: KeyValue) {
        // The inline slots fill first, in order: once one is empty, so
        // are the ones after it and the vector.
        if let Some(slot) = self.inline.iter_mut().find(|slot| slot.is_none()) {
            *slot = Some(kv);
        } else {
            self.more.push(kv);
        }
    }

    /// Each attribute, in the order it was added.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &KeyValue> {
        self.inline.iter().flatten().chain(self.more.iter())
    }
}

impl Extend<KeyValue> for Attrs {
    fn extend<I: IntoIterator<Item = KeyValue>>(&mut self, iter: I) {
        for kv in iter {
            self.push(kv);
        }
    }
}

impl IntoIterator for Attrs {
    type Item = KeyValue;
    type IntoIter = std::iter::Chain<
        std::iter::Flatten<std::array::IntoIter<Option<KeyValue>, INLINE>>,
        std::vec::IntoIter<KeyValue>,
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.inline.into_iter().flatten().chain(self.more)
    }
}

impl From<Vec<KeyValue>> for Attrs {
    fn from(kvs: Vec<KeyValue>) -> Self {
        let mut attrs = Self::default();
        attrs.extend(kvs);
        attrs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_keep_their_order_inline_and_past_it() {
        for n in 0..6_i64 {
            let kvs: Vec<KeyValue> = (0..n).map(|i| KeyValue::new("k", i)).collect();
            let attrs = Attrs::from(kvs.clone());
            assert_eq!(attrs.len(), kvs.len());
            assert_eq!(attrs.iter().cloned().collect::<Vec<_>>(), kvs);
            assert_eq!(attrs.into_iter().collect::<Vec<_>>(), kvs);
        }
    }
}
