//! Request ids: taken from a valid incoming `x-request-id`, else generated.
//!
//! The id travels in the OpenTelemetry [`Context`](opentelemetry::Context)
//! of the request, so every log line written while the request is handled
//! carries it, whatever span it is written in.

use std::fmt;
use std::sync::Arc;

/// The request id header: read from requests, written on responses.
pub static X_REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");

/// Longest incoming id accepted; longer ones are replaced, never truncated.
pub const MAX_LEN: usize = 128;

/// A request id: 1 to [`MAX_LEN`] characters from `A-Z a-z 0-9 - _ . : + = /`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// Accepts `value` if it is a safe id, else `None`.
    pub fn parse(value: &[u8]) -> Option<Self> {
        if value.is_empty() || value.len() > MAX_LEN {
            return None;
        }
        let safe = value.iter().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'+' | b'=' | b'/')
        });
        if !safe {
            return None;
        }
        // All bytes are ASCII, so this cannot fail.
        std::str::from_utf8(value).ok().map(|s| Self(s.into()))
    }

    /// The id of an incoming request (HTTP headers or gRPC metadata): its
    /// `x-request-id` when that is a safe id, else a fresh one.
    pub(crate) fn from_headers(headers: &http::HeaderMap) -> Self {
        headers
            .get(&X_REQUEST_ID)
            .and_then(|v| Self::parse(v.as_bytes()))
            .unwrap_or_else(Self::generate)
    }

    /// A fresh random id: 32 lowercase hex digits.
    pub fn generate() -> Self {
        let mut text = [0_u8; 32];
        crate::hex::write_hex(&mut text, &fastrand::u128(..).to_be_bytes());
        // Hex digits are ASCII; one allocation, for the shared text.
        Self(std::str::from_utf8(&text).unwrap_or_default().into())
    }

    /// The id of the request being handled: the one obskit's HTTP and gRPC
    /// layers put in the current OpenTelemetry context, so it is there in
    /// handlers, in the functions they call, and in tasks that carry the
    /// request's context (`FutureExt::with_current_context`). `None` outside
    /// a request. Handlers can also take it from the request's extensions
    /// (axum's `Extension<RequestId>`), where the layers put it too.
    ///
    /// ```
    /// use obskit::request_id::RequestId;
    ///
    /// assert_eq!(RequestId::current(), None);
    /// let id = RequestId::parse(b"req-42").expect("a safe id");
    /// let _request = opentelemetry::Context::current_with_value(id).attach();
    /// assert_eq!(RequestId::current().as_ref().map(RequestId::as_str), Some("req-42"));
    /// ```
    pub fn current() -> Option<Self> {
        opentelemetry::Context::map_current(|cx| cx.get::<Self>().cloned())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as shared text (cloning it does not copy).
    pub fn as_arc(&self) -> Arc<str> {
        Arc::clone(&self.0)
    }

    #[cfg(test)]
    pub(crate) fn from_valid(s: &str) -> Self {
        Self::parse(s.as_bytes()).expect("valid test id")
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
}
