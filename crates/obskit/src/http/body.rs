//! The response body wrapper: the request ends when its body does.
//!
//! A streamed response (server-sent events, a download, chunked JSON) is
//! still being sent when the handler returns its headers. The span, the
//! duration, RED, the SLO classification and the access line are recorded
//! when the body ends, fails, or is dropped before its end (the client went
//! away: `cancelled`).
//!
//! A body ends with its last frame, when it says so (`is_end_stream`), or
//! once it has sent the bytes its length promised: hyper stops polling and
//! drops a body as soon as the `Content-Length` is satisfied.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, ready};

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};

use super::exchange::Exchange;
use crate::instrument::{Finish, Outcome};

pin_project_lite::pin_project! {
    /// The body of a response from [`HttpService`](super::HttpService).
    ///
    /// It forwards every frame, the size hint and the end of the stream
    /// unchanged; polling it runs inside the request's OpenTelemetry
    /// context, so a stream's own log lines carry the request's trace id.
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        state: Option<Pending>,
    }

    impl<B> PinnedDrop for ResponseBody<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(p) = this.state.take() {
                let outcome = if std::thread::panicking() {
                    Outcome::Failed(Some(p.status))
                } else {
                    Outcome::Cancelled(Some(p.status))
                };
                p.finish.finish(outcome);
            }
        }
    }
}

/// A request waiting for the end of its body.
struct Pending {
    finish: Finish<Exchange>,
    status: u16,
    /// Bytes still to send when the length is known.
    remaining: Option<u64>,
}

impl<B> ResponseBody<B> {
    /// A body recorded through `finish` when it ends. `status` is the
    /// response's; `length` its `Content-Length`, if any; `sent` whether the
    /// body is sent at all (not for `HEAD`, 1xx, 204 or 304: the server
    /// drops it unread). A body with nothing to send ends the request at
    /// once: the caller has the request's context attached.
    pub(crate) fn new(
        inner: B,
        finish: Finish<Exchange>,
        status: u16,
        length: Option<u64>,
        sent: bool,
    ) -> Self
    where
        B: Body,
    {
        let remaining = length.or_else(|| inner.size_hint().exact());
        let state = if !sent || inner.is_end_stream() || remaining == Some(0) {
            finish.finish_attached(Outcome::Completed(status));
            None
        } else {
            Some(Pending {
                finish,
                status,
                remaining,
            })
        };
        Self { inner, state }
    }

    /// A body of a request the layer leaves out of every figure.
    pub(crate) fn untracked(inner: B) -> Self {
        Self { inner, state: None }
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let Some(pending) = this.state.as_mut() else {
            return this.inner.poll_frame(cx);
        };
        // Attached while the body runs, and still when the request ends.
        let attached = pending.finish.context().clone().attach();
        let result = ready!(this.inner.as_mut().poll_frame(cx));
        let status = pending.status;
        let outcome = match &result {
            None => Some(Outcome::Completed(status)),
            Some(Err(_)) => Some(Outcome::Failed(Some(status))),
            Some(Ok(frame)) => {
                if let (Some(left), Some(data)) = (pending.remaining.as_mut(), frame.data_ref()) {
                    let len = u64::try_from(data.remaining()).unwrap_or(u64::MAX);
                    *left = left.saturating_sub(len);
                }
                let done = this.inner.is_end_stream() || pending.remaining == Some(0);
                done.then_some(Outcome::Completed(status))
            }
        };
        if let Some(outcome) = outcome
            && let Some(p) = this.state.take()
        {
            p.finish.finish_attached(outcome);
        }
        drop(attached);
        Poll::Ready(result)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("recording", &self.state.is_some())
            .finish_non_exhaustive()
    }
}
