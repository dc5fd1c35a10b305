//! The future of [`HttpService`](super::HttpService): polls the handler
//! inside the request's OpenTelemetry context, then hands the request's
//! [`Finish`] to the response body, which records the end.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, ready};

use http::header::CONTENT_LENGTH;
use http::{Response, StatusCode};

use super::body::ResponseBody;
use super::exchange::Exchange;
use crate::instrument::answer_request_id;
use crate::instrument::{Finish, Outcome};
use crate::request_id::RequestId;

pin_project_lite::pin_project! {
    /// The future of [`HttpService`](super::HttpService): polls the
    /// handler inside the request's OpenTelemetry context and wraps the
    /// response body in an [`ResponseBody`], which records the request when
    /// the body ends.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        state: Option<(Finish<Exchange>, RequestId)>,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some((finish, _)) = this.project().state.take() {
                finish.finish(if std::thread::panicking() {
                    // The handler panicked: the most obvious failure there is.
                    Outcome::Failed(None)
                } else {
                    Outcome::Cancelled(None)
                });
            }
        }
    }
}

impl<F> ResponseFuture<F> {
    /// `state` is `None` for a request left out of every figure.
    pub(crate) fn new(inner: F, state: Option<(Finish<Exchange>, RequestId)>) -> Self {
        Self { inner, state }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some((finish, _)) = this.state.as_ref() else {
            return this
                .inner
                .poll(cx)
                .map_ok(|r| r.map(ResponseBody::untracked));
        };
        // Attached while the handler runs, and still when a request whose
        // body has nothing to send ends here: one attachment for both.
        let _attached = finish.context().clone().attach();
        let result = ready!(this.inner.poll(cx));
        let Some((finish, request_id)) = this.state.take() else {
            return Poll::Ready(result.map(|r| r.map(ResponseBody::untracked)));
        };
        match result {
            Ok(mut response) => {
                answer_request_id(response.headers_mut(), &request_id);
                let status = response.status();
                let length = response
                    .headers()
                    .get(CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                let sent = finish.protocol().method != "HEAD"
                    && !status.is_informational()
                    && status != StatusCode::NO_CONTENT
                    && status != StatusCode::NOT_MODIFIED;
                Poll::Ready(Ok(response.map(|body| {
                    ResponseBody::new(body, finish, status.as_u16(), length, sent)
                })))
            }
            Err(e) => {
                finish.finish_attached(Outcome::Failed(None));
                Poll::Ready(Err(e))
            }
        }
    }
}
