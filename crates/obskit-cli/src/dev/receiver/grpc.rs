//! OTLP/gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export`, storing what it
//! receives.
//!
//! The generated server would answer an undecodable message with INTERNAL (tonic's protobuf
//! codec maps every decode error so); a malformed export is the client's fault, so this
//! service decodes with its own codec and answers INVALID_ARGUMENT with a message, for
//! undecodable bytes and for ids of the wrong length alike.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message as _;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Request, Response, Status};

use super::http::MAX_BODY_BYTES;
use crate::dev::store::Store;

/// The gRPC service name OTLP exporters call.
pub const SERVICE_NAME: &str = "opentelemetry.proto.collector.trace.v1.TraceService";

/// The trace service over a store, ready to add to a tonic server.
#[derive(Debug, Clone)]
pub struct TraceService {
    store: Arc<Store>,
}

/// The gRPC service storing into `store`.
pub fn service(store: Arc<Store>) -> TraceService {
    TraceService { store }
}

impl NamedService for TraceService {
    const NAME: &'static str = SERVICE_NAME;
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'static>>;

impl<B> tower_service::Service<http::Request<B>> for TraceService
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() != format!("/{SERVICE_NAME}/Export") {
            let status = Status::unimplemented(format!(
                "obskit dev receives traces only ({SERVICE_NAME}/Export), not {}",
                request.uri().path()
            ));
            return Box::pin(async move { Ok(status.into_http()) });
        }
        let export = Export {
            store: Arc::clone(&self.store),
        };
        Box::pin(async move {
            let mut grpc =
                Grpc::new(OtlpCodec).apply_max_message_size_config(Some(MAX_BODY_BYTES), None);
            Ok(grpc.unary(export, request).await)
        })
    }
}

/// The `Export` method.
struct Export {
    store: Arc<Store>,
}

impl UnaryService<ExportTraceServiceRequest> for Export {
    type Response = ExportTraceServiceResponse;
    type Future = BoxFuture<Response<ExportTraceServiceResponse>, Status>;

    fn call(&mut self, request: Request<ExportTraceServiceRequest>) -> Self::Future {
        let store = Arc::clone(&self.store);
        Box::pin(async move {
            let spans = super::convert(request.into_inner())
                .map_err(|err| Status::invalid_argument(err.to_string()))?;
            store.insert_spans(spans);
            Ok(Response::new(ExportTraceServiceResponse::default()))
        })
    }
}

/// Protobuf, with decode errors reported as INVALID_ARGUMENT.
#[derive(Debug, Clone, Copy, Default)]
struct OtlpCodec;

impl Codec for OtlpCodec {
    type Encode = ExportTraceServiceResponse;
    type Decode = ExportTraceServiceRequest;
    type Encoder = OtlpCodec;
    type Decoder = OtlpCodec;

    fn encoder(&mut self) -> Self::Encoder {
        OtlpCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        OtlpCodec
    }
}

impl Encoder for OtlpCodec {
    type Item = ExportTraceServiceResponse;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst)
            .map_err(|err| Status::internal(format!("could not encode the response: {err}")))
    }
}

impl Decoder for OtlpCodec {
    type Item = ExportTraceServiceRequest;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        ExportTraceServiceRequest::decode(src)
            .map(Some)
            .map_err(|err| Status::invalid_argument(super::ReceiveError::from(err).to_string()))
    }
}
