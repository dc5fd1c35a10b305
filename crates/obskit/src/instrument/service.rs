//! The service every instrumented layer wraps around its inner service:
//! starts the exchange, calls the inner service inside the exchange's
//! context, and hands the exchange to the [`ResponseFuture`].
//!
//! Which requests are instrumented and how their exchange starts (span
//! name and attributes, in-flight gauge, what the end will need) are the
//! protocol's to say ([`Adapter`]).

use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response};

use super::body::ResponseBody;
use super::future::{Awaited, ResponseFuture};

/// One protocol's side (a server, a client), as its layer holds it: the
/// configuration every exchange shares, and how an exchange starts.
pub trait Adapter: Sized {
    /// What the response future carries to the response.
    type Exchange: Awaited;

    /// The layer's name in `Debug` output.
    const LAYER: &'static str;

    /// The service's name in `Debug` output.
    const SERVICE: &'static str;

    /// Starts the exchange of `req` (its span, clock and in-flight count),
    /// or `None` for a request left out of every figure.
    fn start<B>(shared: &Arc<Self>, req: &mut Request<B>) -> Option<Self::Exchange>;

    /// Adds the configuration worth showing to the layer's `Debug` output.
    fn debug_fields(&self, f: &mut std::fmt::DebugStruct<'_, '_>);
}

/// The service an instrumented layer wraps around its inner service.
pub struct Instrument<A, S> {
    inner: S,
    shared: Arc<A>,
}

impl<A, S> Instrument<A, S> {
    /// `inner`, instrumented as `shared` says.
    pub(crate) fn new(inner: S, shared: Arc<A>) -> Self {
        Self { inner, shared }
    }
}

impl<A, S: Clone> Clone for Instrument<A, S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<A: Adapter, S> std::fmt::Debug for Instrument<A, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct(A::SERVICE).finish_non_exhaustive()
    }
}

impl<A, S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for Instrument<A, S>
where
    A: Adapter,
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: http_body::Body,
{
    type Response = Response<ResponseBody<ResBody, <A::Exchange as Awaited>::Body>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, A::Exchange>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let Some(exchange) = A::start(&self.shared, &mut req) else {
            return ResponseFuture::untracked(self.inner.call(req));
        };
        // What the handler does synchronously belongs to the exchange's trace.
        let inner = {
            let _attached = exchange.context().map(|c| c.clone().attach());
            self.inner.call(req)
        };
        ResponseFuture::new(inner, exchange)
    }
}
