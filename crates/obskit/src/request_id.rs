//! Request ids: taken from a valid incoming `x-request-id`, else generated.
//!
//! The id travels in the OpenTelemetry [`Context`](opentelemetry::Context)
//! of the request, so every log line written while the request is handled
//! carries it, whatever span it is written in.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use std::cell::RefCell;

use bytes::{Bytes, BytesMut};
use http::HeaderValue;

use crate::propagation::Carried;

/// The request id header: read from requests, written on responses.
pub static X_REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");

/// Longest incoming id accepted; longer ones are replaced, never truncated.
pub const MAX_LEN: usize = 128;

/// Length of a generated id: 32 hex digits.
const ID_LEN: usize = 32;

/// Generated ids cut from one block of text (see [`RequestId::generate`]).
const IDS_PER_BLOCK: usize = 32;

/// A request id: 1 to [`MAX_LEN`] characters from `A-Z a-z 0-9 - _ . : + = /`.
///
/// It is kept as the header value it arrived in (or is answered in), so
/// taking it from a request and answering it on the response copy nothing:
/// cloning it shares the text.
#[derive(Clone)]
pub struct RequestId(HeaderValue);

impl PartialEq for RequestId {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes() == other.0.as_bytes()
    }
}

impl Eq for RequestId {}

impl Hash for RequestId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl RequestId {
    /// Accepts `value` if it is a safe id, else `None`.
    pub fn parse(value: &[u8]) -> Option<Self> {
        if !Self::is_safe(value) {
            return None;
        }
        HeaderValue::from_bytes(value).ok().map(Self)
    }

    /// The id of an incoming request (HTTP headers or gRPC metadata): its
    /// `x-request-id` when that is a safe id, else a fresh one.
    pub(crate) fn from_headers(headers: &http::HeaderMap) -> Self {
        match crate::propagation::carrier::header(headers, &X_REQUEST_ID) {
            // The caller's value, shared rather than copied.
            Some(v) if Self::is_safe(v.as_bytes()) => Self(v.clone()),
            _ => Self::generate(),
        }
    }

    /// Whether `value` is a safe id.
    fn is_safe(value: &[u8]) -> bool {
        !value.is_empty()
            && value.len() <= MAX_LEN
            && value.iter().all(|b| {
                b.is_ascii_alphanumeric()
                    || matches!(b, b'-' | b'_' | b'.' | b':' | b'+' | b'=' | b'/')
            })
    }

    /// A fresh random id: 32 lowercase hex digits.
    ///
    /// The text is cut from a block of 32 ids made at once and kept per
    /// thread, so a request does not allocate for its id; a block is freed
    /// once every id cut from it is dropped (an id kept for long keeps its
    /// block's 1 KiB alive).
    pub fn generate() -> Self {
        thread_local! {
            static BLOCK: RefCell<Bytes> = const { RefCell::new(Bytes::new()) };
        }
        let shared = BLOCK
            .try_with(|block| {
                let mut block = block.try_borrow_mut().ok()?;
                if block.len() < ID_LEN {
                    *block = fresh_ids(IDS_PER_BLOCK);
                }
                Some(block.split_to(ID_LEN))
            })
            .ok()
            .flatten()
            // A thread being torn down: the id gets text of its own.
            .unwrap_or_else(|| fresh_ids(1));
        // Hex digits are a valid value.
        let value = HeaderValue::from_maybe_shared(shared);
        Self(value.unwrap_or_else(|_| HeaderValue::from_static("0")))
    }

    /// The id of the request being handled: the one obskit's HTTP and gRPC
    /// layers put in the current OpenTelemetry context, so it is there in
    /// handlers, in the functions they call, and in tasks that carry the
    /// request's context (`FutureExt::with_current_context`). `None` outside
    /// a request. Handlers can also take it from the request's extensions
    /// (axum's `Extension<RequestId>`), where the layers put it too.
    ///
    /// ```
    /// use axum::{Router, body::Body, http::Request, routing::get};
    /// use obskit::{http::HttpLayer, request_id::RequestId};
    /// use tower::ServiceExt as _;
    ///
    /// /// Code a handler calls: it needs no parameter to know its request.
    /// fn audit() -> String {
    ///     RequestId::current().map_or_else(|| "none".into(), |id| id.to_string())
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let telemetry = obskit::testing::TestTelemetry::new(); // obskit::init!()? in main
    /// let app: Router = Router::new()
    ///     .route("/orders", get(|| async { audit() }))
    ///     .layer(HttpLayer::new(&telemetry));
    ///
    /// let request = Request::get("/orders").header("x-request-id", "req-42").body(Body::empty())?;
    /// let response = app.oneshot(request).await?;
    /// assert_eq!(response.headers()["x-request-id"], "req-42"); // answered as received
    /// let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    /// assert_eq!(body, "req-42");
    /// assert_eq!(RequestId::current(), None, "outside the request");
    /// # Ok(()) }
    /// ```
    pub fn current() -> Option<Self> {
        opentelemetry::Context::map_current(Self::from_context)
    }

    /// The request id `cx` carries: the one of the request whose context
    /// it is (or was), kept for a task that took the context along, or one
    /// given with [`add_to`](Self::add_to) (or put in as a context value of
    /// its own, `cx.with_value(id)`). [`current`](Self::current) reads the
    /// current context.
    ///
    /// ```
    /// use obskit::opentelemetry::Context;
    /// use obskit::request_id::RequestId;
    ///
    /// let id = RequestId::parse(b"job-7").expect("a safe id");
    /// let cx = id.add_to(&Context::new());
    /// assert_eq!(RequestId::from_context(&cx), Some(id));
    /// assert_eq!(RequestId::from_context(&Context::new()), None);
    /// ```
    pub fn from_context(cx: &opentelemetry::Context) -> Option<Self> {
        Self::value_in(cx).cloned().map(Self)
    }

    /// `parent` with this id as its request id, for work that is not a
    /// served request but should be found by one id in the logs (a job, a
    /// batch): every line written in the returned context carries it, as
    /// a request's lines carry theirs.
    ///
    /// ```
    /// use obskit::opentelemetry::Context;
    /// use obskit::request_id::RequestId;
    ///
    /// let id = RequestId::generate();
    /// let _attached = id.add_to(&Context::current()).attach();
    /// assert_eq!(RequestId::current(), Some(id));
    /// ```
    #[must_use]
    pub fn add_to(&self, parent: &opentelemetry::Context) -> opentelemetry::Context {
        Carried::onto(parent.clone(), None, Some(self.0.clone()))
    }

    /// The text of the request id `cx` carries, without a copy.
    pub(crate) fn text_in(cx: &opentelemetry::Context) -> Option<&str> {
        // A safe id is ASCII by construction.
        Self::bytes_in(cx).map(|b| std::str::from_utf8(b).unwrap_or_default())
    }

    /// [`text_in`](Self::text_in) as bytes, for a line built as bytes.
    pub(crate) fn bytes_in(cx: &opentelemetry::Context) -> Option<&[u8]> {
        Self::value_in(cx).map(HeaderValue::as_bytes)
    }

    /// The header value of the request id `cx` carries: in the value
    /// extraction adds, or put in as a context value of its own.
    fn value_in(cx: &opentelemetry::Context) -> Option<&HeaderValue> {
        match Carried::of(cx).and_then(|c| c.request_id.as_ref()) {
            Some(value) => Some(value),
            None => cx.get::<Self>().map(Self::header_value),
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // A safe id is ASCII by construction.
        std::str::from_utf8(self.0.as_bytes()).unwrap_or_default()
    }

    /// The id as shared text (a copy of it).
    pub fn as_arc(&self) -> Arc<str> {
        Arc::from(self.as_str())
    }

    /// The id as the value of an `x-request-id` header (cloning it does
    /// not copy the text).
    ///
    /// ```
    /// use obskit::request_id::RequestId;
    ///
    /// let id = RequestId::parse(b"req-42").expect("a safe id");
    /// assert_eq!(id.header_value(), "req-42");
    /// ```
    pub fn header_value(&self) -> &HeaderValue {
        &self.0
    }

    #[cfg(test)]
    pub(crate) fn from_valid(s: &str) -> Self {
        Self::parse(s.as_bytes()).expect("valid test id")
    }
}

/// The text of `n` fresh random ids, one after the other.
fn fresh_ids(n: usize) -> Bytes {
    let mut rng = fastrand::Rng::new();
    let mut text = BytesMut::zeroed(ID_LEN * n);
    for id in text.chunks_exact_mut(ID_LEN) {
        crate::hex::write_hex(id, &rng.u128(..).to_be_bytes());
    }
    text.freeze()
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_safe_ids_and_rejects_the_rest() {
        assert_eq!(
            RequestId::parse(b"abc-123_x.y:z").unwrap().as_str(),
            "abc-123_x.y:z"
        );
        assert!(RequestId::parse(b"").is_none());
        assert!(RequestId::parse(&[b'a'; MAX_LEN + 1]).is_none());
        assert!(RequestId::parse(&[b'a'; MAX_LEN]).is_some());
        for bad in [&b"a b"[..], b"<script>", b"a\nb", "é".as_bytes(), b"a\"b"] {
            assert!(RequestId::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn generated_ids_are_unique_hex() {
        let a = RequestId::generate();
        let b = RequestId::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(RequestId::parse(a.as_str().as_bytes()).is_some());
    }

    #[test]
    fn ids_cut_from_one_block_keep_their_own_text() {
        // More than a block's worth, so a new block is started on the way.
        let ids: Vec<RequestId> = (0..IDS_PER_BLOCK * 2 + 3)
            .map(|_| RequestId::generate())
            .collect();
        let texts: Vec<String> = ids.iter().map(ToString::to_string).collect();
        for (id, text) in ids.iter().zip(&texts) {
            assert_eq!(id.as_str().len(), ID_LEN);
            assert!(id.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
            assert_eq!(id.header_value(), text.as_str());
        }
        let unique: std::collections::HashSet<&String> = texts.iter().collect();
        assert_eq!(unique.len(), texts.len(), "every id its own text");
        // Dropping most of them leaves the rest intact.
        let kept = ids[IDS_PER_BLOCK - 1].clone();
        drop(ids);
        assert_eq!(kept.to_string(), texts[IDS_PER_BLOCK - 1]);
    }
}
