//! The response body wrapper: a gRPC call's status usually arrives in the
//! trailers after the last message, so the call ends where the body does.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, ready};

use http_body::{Body, Frame, SizeHint};
use tonic::Code;

use super::call::{Call, Ending};
use super::status;

pin_project_lite::pin_project! {
    /// The body of an instrumented gRPC response (server or client side):
    /// passes frames through, reads `grpc-status` from the trailers, and
    /// ends the call there. A body dropped before its end ends the call as
    /// CANCELLED (or DEADLINE_EXCEEDED once its deadline has passed).
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        call: Option<Call>,
    }

    impl<B> PinnedDrop for ResponseBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(call) = this.project().call.take() {
                call.end(Ending::Dropped);
            }
        }
    }
}

impl<B> ResponseBody<B> {
    /// A body whose call is still open.
    pub(crate) fn open(inner: B, call: Call) -> Self {
        Self {
            inner,
            call: Some(call),
        }
    }

    /// A body with nothing to record (the call ended already, or is excluded).
    pub(crate) fn plain(inner: B) -> Self {
        Self { inner, call: None }
    }
}

/// An empty body with nothing to record. tonic's `InterceptedService` needs it
/// to answer a call its interceptor refused, so an instrumented channel can
/// carry an interceptor (a deadline or credentials on every call):
/// `GreeterClient::with_interceptor(GrpcClientLayer::new(&t).wrap(channel), f)`.
impl<B: Default> Default for ResponseBody<B> {
    fn default() -> Self {
        Self::plain(B::default())
    }
}

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("open", &self.call.is_some())
            .finish_non_exhaustive()
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        // Attached while the body runs, and still when the call ends.
        let attached = this
            .call
            .as_ref()
            .and_then(Call::poll_context)
            .map(|c| c.clone().attach());
        let frame = ready!(this.inner.poll_frame(cx));
        if this.call.is_some() {
            let ending = match &frame {
                Some(Ok(f)) => f
                    .trailers_ref()
                    .map(|t| status::from_headers(t).unwrap_or(Code::Unknown)),
                // A body that fails or ends without trailers has no status:
                // gRPC clients report that as UNKNOWN / INTERNAL.
                Some(Err(_)) => Some(Code::Internal),
                None => Some(Code::Unknown),
            };
            if let Some(code) = ending
                && let Some(call) = this.call.take()
            {
                call.end_polled(Ending::Status(code));
            }
        }
        drop(attached);
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        // While the call is open, the end must be polled for to be seen.
        self.call.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
