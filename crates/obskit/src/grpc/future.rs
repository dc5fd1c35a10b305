//! The response of a served call: the core's response future polls the
//! handler inside the call's context; gRPC answers the request id and ends
//! the call at once on a trailers-only answer, else hands it to the body.

use http::Response;
use http_body::Body;
use opentelemetry::Context;
use tonic::Code;

use super::call::{Call, Ending, ServerCall};
use crate::instrument::{self, Awaited, answer_request_id};
use crate::request_id::RequestId;

/// The future of [`GrpcService`](super::GrpcService).
pub type ResponseFuture<F> = instrument::ResponseFuture<F, Served>;

/// A served call waiting for its response.
pub struct Served {
    pub(crate) call: ServerCall,
    pub(crate) request_id: RequestId,
}

impl Awaited for Served {
    type Body = Call;

    fn context(&self) -> Option<&Context> {
        Some(self.call.otel_context())
    }

    fn respond<B: Body>(self, response: &mut Response<B>) -> Option<Call> {
        answer_request_id(response.headers_mut(), &self.request_id);
        Call::Server(self.call).answered(response)
    }

    fn failed(self) {
        self.call.end_attached(Ending::Status(Code::Unknown));
    }

    fn dropped(self) {
        self.call.end(if std::thread::panicking() {
            Ending::Panicked
        } else {
            Ending::Dropped
        });
    }
}
