//! The response of an HTTP request: the core's response future polls the
//! handler inside the request's OpenTelemetry context; HTTP answers the
//! request id, reads the status and the length, and hands the request to
//! the body, which records the end.

use http::header::CONTENT_LENGTH;
use http::{Response, StatusCode};
use http_body::Body;
use opentelemetry::Context;

use super::body::Pending;
use super::exchange::Exchange;
use crate::instrument::{self, Awaited, Finish, Outcome, answer_request_id};
use crate::request_id::RequestId;

/// The future of [`HttpService`](super::HttpService): polls the handler
/// inside the request's OpenTelemetry context and wraps the response body
/// in a [`ResponseBody`](super::ResponseBody), which records the request
/// when the body ends.
pub type ResponseFuture<F> = instrument::ResponseFuture<F, Served>;

/// A request waiting for its response.
pub struct Served {
    pub(crate) finish: Finish<Exchange>,
    pub(crate) request_id: RequestId,
}

impl Awaited for Served {
    type Body = Pending;

    fn context(&self) -> Option<&Context> {
        Some(self.finish.context())
    }

    fn respond<B: Body>(self, response: &mut Response<B>) -> Option<Pending> {
        answer_request_id(response.headers_mut(), &self.request_id);
        let status = response.status();
        let length = crate::propagation::carrier::header(response.headers(), &CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let sent = self.finish.protocol().method != "HEAD"
            && !status.is_informational()
            && status != StatusCode::NO_CONTENT
            && status != StatusCode::NOT_MODIFIED;
        Pending::start(self.finish, status.as_u16(), length, sent, response.body())
    }

    fn failed(self) {
        self.finish.finish_attached(Outcome::Failed(None));
    }

    fn dropped(self) {
        self.finish.finish(if std::thread::panicking() {
            // The handler panicked: the most obvious failure there is.
            Outcome::Failed(None)
        } else {
            Outcome::Cancelled(None)
        });
    }
}
