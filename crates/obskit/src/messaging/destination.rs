//! Destinations and their metric label: a queue, topic or subject by name,
//! temporary ones (reply queues, inboxes) collapsed into one value, and at
//! most a bounded number of names per process so that a service publishing
//! to ever new destinations cannot grow its `/metrics` without end.

use std::sync::Arc;

use parking_lot::RwLock;
use rustc_hash::FxHashSet;

use crate::metrics::names;

/// How many destinations get a label value of their own, per process and
/// [`Messaging`](super::Messaging); the rest share `_OTHER`.
pub const DEFAULT_DESTINATION_LIMIT: usize = 1_000;

/// Name prefixes of destinations a broker makes for one client: RabbitMQ's
/// server-named queues and direct reply-to, NATS' request inboxes.
const TEMPORARY_PREFIXES: &[&str] = &["amq.gen-", "amq.rabbitmq.reply-to", "_INBOX."];

/// Where a message goes or comes from: a queue, topic, subject or exchange.
///
/// Spans carry the name as it is (`messaging.destination.name`); metrics
/// carry it as a label value unless the destination is temporary, when it
/// shares `(temporary)` with every other temporary destination.
///
/// ```
/// use obskit::messaging::Destination;
///
/// assert!(!Destination::new("orders").is_temporary());
/// // Server-named queues and inboxes are recognised by their names...
/// assert!(Destination::new("amq.gen-JzTY20BRgKO-HjmUJj0wLg").is_temporary());
/// assert!(Destination::new("_INBOX.x1Y2z3.1").is_temporary());
/// // ...and any other can be declared temporary.
/// assert!(Destination::temporary("reply-7f3a").is_temporary());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Destination {
    name: Arc<str>,
    temporary: bool,
}

impl Destination {
    /// The destination called `name`; temporary when the name is one a
    /// broker gives to a client's own queue (`amq.gen-…`,
    /// `amq.rabbitmq.reply-to…`, `_INBOX.…`).
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        let name = name.into();
        let temporary = TEMPORARY_PREFIXES.iter().any(|p| name.starts_with(p));
        Self { name, temporary }
    }

    /// A temporary destination (a reply queue, a per-request topic): its
    /// name is kept on spans and left out of metrics.
    pub fn temporary(name: impl Into<Arc<str>>) -> Self {
        Self {
            name: name.into(),
            temporary: true,
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it is temporary.
    pub fn is_temporary(&self) -> bool {
        self.temporary
    }

    /// The low-cardinality name for span names: the name, or `(temporary)`.
    pub(crate) fn span_part(&self) -> &str {
        if self.temporary {
            names::MESSAGING_DESTINATION_TEMPORARY
        } else {
            &self.name
        }
    }
}

/// The label values handed out so far, up to the limit.
#[derive(Debug)]
pub(crate) struct Labels {
    seen: RwLock<FxHashSet<Arc<str>>>,
    limit: usize,
    temporary: Arc<str>,
    other: Arc<str>,
}

impl Labels {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            seen: RwLock::new(FxHashSet::default()),
            limit,
            temporary: names::MESSAGING_DESTINATION_TEMPORARY.into(),
            other: names::MESSAGING_DESTINATION_OTHER.into(),
        }
    }

    /// The `messaging_destination_name` value of `d`.
    pub(crate) fn label(&self, d: &Destination) -> Arc<str> {
        if d.temporary {
            return Arc::clone(&self.temporary);
        }
        if let Some(known) = self.seen.read().get(&d.name) {
            return Arc::clone(known);
        }
        let mut seen = self.seen.write();
        if let Some(known) = seen.get(&d.name) {
            return Arc::clone(known);
        }
        if seen.len() >= self.limit {
            return Arc::clone(&self.other);
        }
        seen.insert(Arc::clone(&d.name));
        Arc::clone(&d.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_destinations_share_one_label_and_the_rest_are_bounded() {
        let labels = Labels::new(2);
        assert_eq!(&*labels.label(&Destination::new("a")), "a");
        assert_eq!(
            &*labels.label(&Destination::new("amq.gen-1")),
            "(temporary)"
        );
        assert_eq!(&*labels.label(&Destination::temporary("b")), "(temporary)");
        assert_eq!(&*labels.label(&Destination::new("b")), "b");
        assert_eq!(&*labels.label(&Destination::new("c")), "_OTHER");
        // Names seen before the limit keep their own value.
        assert_eq!(&*labels.label(&Destination::new("a")), "a");
        assert_eq!(
            &*labels.label(&Destination::new("_INBOX.abc")),
            "(temporary)"
        );
    }
}
