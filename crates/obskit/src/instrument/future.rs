//! The response future of every instrumented exchange: polls the inner
//! service inside the exchange's OpenTelemetry context, then hands the
//! exchange to the [`ResponseBody`], which records its end.
//!
//! What the response says (a status in its headers, a length, an answer
//! that ends the exchange at once) and how an exchange without one ends
//! (the inner service failed, the future was dropped) are the protocol's
//! to tell ([`Awaited`]).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, ready};

use http::Response;
use http_body::Body;
use opentelemetry::Context;

use super::body::{ResponseBody, Streaming};

/// An exchange waiting for its response: how one protocol reads the
/// response's head and ends an exchange that got none.
pub trait Awaited {
    /// What the response body carries to the end of the exchange.
    type Body: Streaming;

    /// The context to poll the inner service in, still attached while the
    /// response is read; none for a call this process makes.
    fn context(&self) -> Option<&Context>;

    /// Reads the response's head (and answers in it, e.g. the request id),
    /// with [`context`](Self::context) attached: what the body carries to
    /// the end of the exchange, or `None` when the exchange ended here.
    fn respond<B: Body>(self, response: &mut Response<B>) -> Option<Self::Body>;

    /// Records an exchange whose inner service failed (no response), with
    /// [`context`](Self::context) attached.
    fn failed(self);

    /// Records an exchange dropped before its response: the caller went
    /// away, or the handler panicked (`std::thread::panicking`).
    fn dropped(self);
}

pin_project_lite::pin_project! {
    /// The response future of an instrumented service: polls the inner
    /// service inside the exchange's OpenTelemetry context and wraps the
    /// response body in a [`ResponseBody`], which records the exchange when
    /// the body ends.
    pub struct ResponseFuture<F, X>
    where
        X: Awaited,
    {
        #[pin]
        inner: F,
        exchange: Option<X>,
    }

    impl<F, X> PinnedDrop for ResponseFuture<F, X>
    where
        X: Awaited,
    {
        fn drop(this: Pin<&mut Self>) {
            if let Some(exchange) = this.project().exchange.take() {
                exchange.dropped();
            }
        }
    }
}

impl<F, X: Awaited> ResponseFuture<F, X> {
    /// The future of `exchange`, answered by `inner`.
    pub(crate) fn new(inner: F, exchange: X) -> Self {
        Self {
            inner,
            exchange: Some(exchange),
        }
    }

    /// The future of an exchange left out of every figure.
    pub(crate) fn untracked(inner: F) -> Self {
        Self {
            inner,
            exchange: None,
        }
    }
}

impl<F, X: Awaited> std::fmt::Debug for ResponseFuture<F, X> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E, X> Future for ResponseFuture<F, X>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body,
    X: Awaited,
{
    type Output = Result<Response<ResponseBody<B, X::Body>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(exchange) = this.exchange.as_ref() else {
            return this
                .inner
                .poll(cx)
                .map_ok(|r| r.map(ResponseBody::untracked));
        };
        // Attached while the handler runs, and still when an exchange
        // answered here ends: one attachment for both.
        let _attached = exchange.context().map(|c| c.clone().attach());
        let result = ready!(this.inner.poll(cx));
        let Some(exchange) = this.exchange.take() else {
            return Poll::Ready(result.map(|r| r.map(ResponseBody::untracked)));
        };
        match result {
            Ok(mut response) => {
                let state = exchange.respond(&mut response);
                Poll::Ready(Ok(response.map(|body| ResponseBody::new(body, state))))
            }
            Err(e) => {
                exchange.failed();
                Poll::Ready(Err(e))
            }
        }
    }
}
