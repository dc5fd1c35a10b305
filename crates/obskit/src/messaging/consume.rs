//! What every broker adapter's consumer shares: the stream it takes
//! messages from, each message's processing started as it arrives, and its
//! place in `obskit_messaging_consumers` until the stream ends.

use futures_util::{Stream, StreamExt as _};

use super::{ConsumerRunning, Destination, Messaging, Processing};

/// A broker's message stream from one destination, counted as a running
/// consumer until it ends or is dropped.
pub(crate) struct Consuming<S> {
    messaging: Messaging,
    destination: Destination,
    inner: S,
    running: Option<ConsumerRunning>,
}

impl<S> Consuming<S> {
    /// Takes messages from `inner`, their figures under `destination`.
    pub(crate) fn new(messaging: &Messaging, destination: &str, inner: S) -> Self {
        let destination = Destination::new(destination.to_owned());
        Self {
            running: Some(messaging.consumer_running(&destination)),
            messaging: messaging.clone(),
            destination,
            inner,
        }
    }

    /// The destination the figures go under.
    pub(crate) fn destination(&self) -> &Destination {
        &self.destination
    }

    /// The broker's stream.
    pub(crate) fn inner(&self) -> &S {
        &self.inner
    }

    /// The next message with its processing, started by `start` (the
    /// adapter's `process`); `None` once the stream ends (the consumer then
    /// no longer counts as running).
    pub(crate) async fn next<T, E>(
        &mut self,
        start: impl FnOnce(&Messaging, &Destination, &T) -> Processing,
    ) -> Option<Result<(T, Processing), E>>
    where
        S: Stream<Item = Result<T, E>> + Unpin,
    {
        let Some(item) = self.inner.next().await else {
            self.running = None;
            return None;
        };
        Some(item.map(|message| {
            let processing = start(&self.messaging, &self.destination, &message);
            (message, processing)
        }))
    }
}
