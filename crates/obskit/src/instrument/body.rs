//! The response body wrapper of every instrumented exchange: the exchange
//! ends when its body does.
//!
//! A streamed response (server-sent events, a download, a gRPC stream) is
//! still being sent when the handler returns its headers. The wrapper
//! forwards every frame, the size hint and the end of the stream unchanged,
//! polls the body inside the exchange's OpenTelemetry context (so a
//! stream's own log lines carry its trace), and ends the exchange once:
//! when a frame says so, or when the body is dropped before its end. What
//! ends an exchange (its last frame, the bytes its length promised, a
//! status in the trailers) is the protocol's to read ([`Streaming`]).

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, ready};

use http_body::{Body, Frame, SizeHint};
use opentelemetry::Context;

/// An exchange waiting for the end of its response body: how one
/// protocol reads the end from the frames.
pub trait Streaming {
    /// How the exchange ended, as the protocol tells it.
    type End;

    /// The context to poll the body in, still attached while the end is
    /// recorded; none for a call this process makes.
    fn context(&self) -> Option<&Context>;

    /// Reads `frame`, just polled from `body`: how the exchange ended, if
    /// this frame (or the lack of one) ends it.
    fn polled<B: Body>(
        &mut self,
        frame: &Option<Result<Frame<B::Data>, B::Error>>,
        body: &B,
    ) -> Option<Self::End>;

    /// Records the end, with [`context`](Self::context) attached.
    fn end(self, end: Self::End);

    /// Records an exchange whose body was dropped before its end.
    fn dropped(self);
}

pin_project_lite::pin_project! {
    /// The body of an instrumented response.
    ///
    /// It forwards every frame, the size hint and the end of the stream
    /// unchanged; polling it runs inside the exchange's OpenTelemetry
    /// context, and the exchange is recorded when the body ends, fails, or
    /// is dropped before its end.
    pub struct ResponseBody<B, S>
    where
        S: Streaming,
    {
        #[pin]
        inner: B,
        state: Option<S>,
    }

    impl<B, S> PinnedDrop for ResponseBody<B, S>
    where
        S: Streaming,
    {
        fn drop(this: Pin<&mut Self>) {
            if let Some(state) = this.project().state.take() {
                state.dropped();
            }
        }
    }
}

impl<B, S: Streaming> ResponseBody<B, S> {
    /// A body recorded through `state` when it ends; `None` for an
    /// exchange that ended already (its status was in the headers, or it
    /// had nothing to send).
    pub(crate) fn new(inner: B, state: Option<S>) -> Self {
        Self { inner, state }
    }

    /// A body with nothing to record: an exchange left out of every figure.
    pub(crate) fn untracked(inner: B) -> Self {
        Self { inner, state: None }
    }
}

/// An empty body with nothing to record. tonic's `InterceptedService` needs
/// it to answer a call its interceptor refused, so an instrumented channel
/// can carry an interceptor (a deadline or credentials on every call):
/// `GreeterClient::with_interceptor(GrpcClientLayer::new(&t).wrap(channel), f)`.
impl<B: Default, S: Streaming> Default for ResponseBody<B, S> {
    fn default() -> Self {
        Self::untracked(B::default())
    }
}

impl<B: Body, S: Streaming> Body for ResponseBody<B, S> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let Some(state) = this.state.as_mut() else {
            return this.inner.poll_frame(cx);
        };
        // Attached while the body runs, and still when the exchange ends.
        let attached = state.context().map(|c| c.clone().attach());
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        if let Some(end) = state.polled(&frame, this.inner.as_ref().get_ref())
            && let Some(state) = this.state.take()
        {
            state.end(end);
        }
        drop(attached);
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        // While the exchange is open, its end must be polled for to be seen.
        self.state.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B, S: Streaming> std::fmt::Debug for ResponseBody<B, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("recording", &self.state.is_some())
            .finish_non_exhaustive()
    }
}
