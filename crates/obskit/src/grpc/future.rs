//! The server future: polls the handler inside the call's context; ends
//! the call at once on a trailers-only answer, else hands it to the body.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, ready};

use http::Response;
use tonic::Code;

use super::body::ResponseBody;
use super::call::{Call, Ending, ServerCall};
use super::status;
use crate::instrument::answer_request_id;
use crate::request_id::RequestId;

pin_project_lite::pin_project! {
    /// The future of [`GrpcService`](super::GrpcService).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        call: Option<(ServerCall, RequestId)>,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some((call, _)) = this.project().call.take() {
                call.end(if std::thread::panicking() {
                    Ending::Panicked
                } else {
                    Ending::Dropped
                });
            }
        }
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn open(inner: F, call: ServerCall, request_id: RequestId) -> Self {
        Self {
            inner,
            call: Some((call, request_id)),
        }
    }

    pub(crate) fn plain(inner: F) -> Self {
        Self { inner, call: None }
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some((call, _)) = this.call.as_ref() else {
            return this.inner.poll(cx).map_ok(|r| r.map(ResponseBody::plain));
        };
        // Attached while the handler runs, and still when a call answered
        // here ends: one attachment for both.
        let _attached = call.context().clone().attach();
        let result = ready!(this.inner.poll(cx));
        let Some((call, request_id)) = this.call.take() else {
            return Poll::Ready(result.map(|r| r.map(ResponseBody::plain)));
        };
        match result {
            Ok(mut response) => {
                answer_request_id(response.headers_mut(), &request_id);
                // Trailers-only (an error before any message) carries the
                // status in the headers; a non-gRPC answer implies one.
                let answered = status::from_headers(response.headers())
                    .or_else(|| status::from_http(response.status()));
                Poll::Ready(Ok(match answered {
                    Some(code) => {
                        call.end_attached(Ending::Status(code));
                        response.map(ResponseBody::plain)
                    }
                    None => response.map(|b| ResponseBody::open(b, Call::Server(call))),
                }))
            }
            Err(e) => {
                call.end_attached(Ending::Status(Code::Unknown));
                Poll::Ready(Err(e))
            }
        }
    }
}
