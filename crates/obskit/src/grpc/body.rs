//! The end of a gRPC response body: a call's status usually arrives in the
//! trailers after the last message, so the call ends where the body does.
//!
//! The core's body wrapper carries the call to its end; gRPC says where
//! that is and what the status is. A body dropped before its end ends the
//! call as CANCELLED (or DEADLINE_EXCEEDED once its deadline has passed).

use http_body::{Body, Frame};
use opentelemetry::Context;
use tonic::Code;

use super::call::{Call, Ending};
use super::status;
use crate::instrument::{self, Streaming};

/// The body of an instrumented gRPC response (server or client side):
/// passes frames through, reads `grpc-status` from the trailers, and ends
/// the call there. A body dropped before its end ends the call as
/// CANCELLED (or DEADLINE_EXCEEDED once its deadline has passed).
pub type ResponseBody<B> = instrument::ResponseBody<B, Call>;

impl Streaming for Call {
    type End = Code;

    fn context(&self) -> Option<&Context> {
        self.poll_context()
    }

    fn polled<B: Body>(
        &mut self,
        frame: &Option<Result<Frame<B::Data>, B::Error>>,
        _body: &B,
    ) -> Option<Code> {
        match frame {
            Some(Ok(f)) => f
                .trailers_ref()
                .map(|t| status::from_headers(t).unwrap_or(Code::Unknown)),
            // A body that fails or ends without trailers has no status:
            // gRPC clients report that as UNKNOWN / INTERNAL.
            Some(Err(_)) => Some(Code::Internal),
            None => Some(Code::Unknown),
        }
    }

    fn end(self, code: Code) {
        self.finish_polled(Ending::Status(code));
    }

    fn dropped(self) {
        self.finish(Ending::Dropped);
    }
}
