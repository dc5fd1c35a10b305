//! The end of an HTTP response body: the request ends when its body does.
//!
//! The core's body wrapper carries the request to its end; HTTP says where
//! that is. A body ends with its last frame, when it says so
//! (`is_end_stream`), or once it has sent the bytes its length promised:
//! hyper stops polling and drops a body as soon as the `Content-Length` is
//! satisfied. A body dropped before its end is a request the client left
//! (`cancelled`).

use bytes::Buf;
use http_body::{Body, Frame};
use opentelemetry::Context;

use super::exchange::Exchange;
use crate::instrument::{self, Finish, Outcome, Streaming};

/// The body of a response from [`HttpService`](super::HttpService).
///
/// It forwards every frame, the size hint and the end of the stream
/// unchanged; polling it runs inside the request's OpenTelemetry context, so
/// a stream's own log lines carry the request's trace id.
pub type ResponseBody<B> = instrument::ResponseBody<B, Pending>;

/// A request waiting for the end of its body.
pub struct Pending {
    finish: Finish<Exchange>,
    status: u16,
    /// Bytes still to send when the length is known.
    remaining: Option<u64>,
}

impl Pending {
    /// The end of a response with `status`, recorded through `finish` when
    /// `body` ends. `length` is its `Content-Length`, if any; `sent` whether
    /// the body is sent at all (not for `HEAD`, 1xx, 204 or 304: the server
    /// drops it unread). A body with nothing to send ends the request at
    /// once (`None`): the caller has the request's context attached.
    pub(crate) fn start<B: Body>(
        finish: Finish<Exchange>,
        status: u16,
        length: Option<u64>,
        sent: bool,
        body: &B,
    ) -> Option<Self> {
        let remaining = length.or_else(|| body.size_hint().exact());
        if !sent || body.is_end_stream() || remaining == Some(0) {
            finish.finish_attached(Outcome::Completed(status));
            return None;
        }
        Some(Self {
            finish,
            status,
            remaining,
        })
    }
}

impl Streaming for Pending {
    type End = Outcome<u16>;

    fn context(&self) -> Option<&Context> {
        Some(self.finish.context())
    }

    fn polled<B: Body>(
        &mut self,
        frame: &Option<Result<Frame<B::Data>, B::Error>>,
        body: &B,
    ) -> Option<Outcome<u16>> {
        let status = self.status;
        match frame {
            None => Some(Outcome::Completed(status)),
            Some(Err(_)) => Some(Outcome::Failed(Some(status))),
            Some(Ok(frame)) => {
                if let (Some(left), Some(data)) = (self.remaining.as_mut(), frame.data_ref()) {
                    let len = u64::try_from(data.remaining()).unwrap_or(u64::MAX);
                    *left = left.saturating_sub(len);
                }
                let done = body.is_end_stream() || self.remaining == Some(0);
                done.then_some(Outcome::Completed(status))
            }
        }
    }

    fn end(self, outcome: Outcome<u16>) {
        self.finish.finish_attached(outcome);
    }

    fn dropped(self) {
        let outcome = if std::thread::panicking() {
            Outcome::Failed(Some(self.status))
        } else {
            Outcome::Cancelled(Some(self.status))
        };
        self.finish.finish(outcome);
    }
}
