//! OTLP/gRPC: the generated `opentelemetry.proto.collector.trace.v1.TraceService`, storing
//! what it receives; a malformed export fails with INVALID_ARGUMENT and a message.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::{Request, Response, Status};

use super::http::MAX_BODY_BYTES;
use crate::dev::store::Store;

/// The trace service over a store.
#[derive(Debug)]
pub struct Receiver {
    store: Arc<Store>,
}

/// The gRPC service, ready to add to a tonic server.
pub fn service(store: Arc<Store>) -> TraceServiceServer<Receiver> {
    TraceServiceServer::new(Receiver { store }).max_decoding_message_size(MAX_BODY_BYTES)
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let spans = super::convert(request.into_inner())
            .map_err(|err| Status::invalid_argument(err.to_string()))?;
        self.store.insert_spans(spans);
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}
