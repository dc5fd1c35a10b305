//! OTLP/gRPC: the `Export` methods of the trace, logs and metrics services, plain or gzip,
//! storing what they receive.
//!
//! The generated servers would answer an undecodable message with INTERNAL (tonic's
//! protobuf codec maps every decode error so) and an oversized one with OUT_OF_RANGE, which
//! exporters retry forever; this service decodes with its own codec and answers
//! INVALID_ARGUMENT for a malformed export and RESOURCE_EXHAUSTED for an oversized one,
//! each with a message. Any other method answers UNIMPLEMENTED with a message naming the
//! ones there are. Every refusal is counted (see [`crate::refusals`]).

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::server::{Grpc, UnaryService};
use tonic::{Code, Request, Response, Status};

use super::http::MAX_BODY_BYTES;
use super::{Export, Signal};
use crate::refusals::Cause;
use crate::store::Store;

/// The gRPC trace service OTLP exporters call.
pub const SERVICE_NAME: &str = "opentelemetry.proto.collector.trace.v1.TraceService";
/// The gRPC logs service.
pub const LOGS_SERVICE_NAME: &str = "opentelemetry.proto.collector.logs.v1.LogsService";
/// The gRPC metrics service.
pub const METRICS_SERVICE_NAME: &str = "opentelemetry.proto.collector.metrics.v1.MetricsService";

/// The three OTLP services over a store, as one tower service for a tonic server.
#[derive(Debug, Clone)]
pub struct OtlpService {
    store: Arc<Store>,
}

/// The gRPC services storing into `store`; serve with [`routes`].
pub fn service(store: Arc<Store>) -> OtlpService {
    OtlpService { store }
}

/// The gRPC services as tonic routes, every path (known or not) answered by them.
pub fn routes(store: Arc<Store>) -> tonic::service::Routes {
    tonic::service::Routes::from(axum::Router::new().fallback_service(service(store)))
}

fn endpoint(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "OTLP/gRPC traces",
        Signal::Logs => "OTLP/gRPC logs",
        Signal::Metrics => "OTLP/gRPC metrics",
    }
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'static>>;

impl<B> tower_service::Service<http::Request<B>> for OtlpService
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
        let store = Arc::clone(&self.store);
        let path = request.uri().path().to_owned();
        let Some(service) = path
            .strip_prefix('/')
            .and_then(|p| p.strip_suffix("/Export"))
        else {
            return Box::pin(async move { Ok(unimplemented(&store, &path)) });
        };
        match service {
            SERVICE_NAME => Box::pin(unary::<ExportTraceServiceRequest, B>(store, request)),
            LOGS_SERVICE_NAME => Box::pin(unary::<ExportLogsServiceRequest, B>(store, request)),
            METRICS_SERVICE_NAME => {
                Box::pin(unary::<ExportMetricsServiceRequest, B>(store, request))
            }
            _ => Box::pin(async move { Ok(unimplemented(&store, &path)) }),
        }
    }
}

fn unimplemented(store: &Store, path: &str) -> http::Response<tonic::body::Body> {
    let message = format!(
        "obskit dev does not serve {path}; it receives OTLP exports at /{SERVICE_NAME}/Export, /{LOGS_SERVICE_NAME}/Export and /{METRICS_SERVICE_NAME}/Export"
    );
    store.refusals().record(
        Cause {
            endpoint: "OTLP/gRPC",
            kind: "unknown method",
        },
        message.clone(),
    );
    Status::unimplemented(message).into_http()
}

async fn unary<T: Export, B>(
    store: Arc<Store>,
    request: http::Request<B>,
) -> Result<http::Response<tonic::body::Body>, Infallible>
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    let mut grpc = Grpc::new(OtlpCodec::<T>(PhantomData))
        .apply_max_message_size_config(Some(MAX_BODY_BYTES), None)
        .accept_compressed(CompressionEncoding::Gzip);
    let method = ExportMethod::<T> {
        store: Arc::clone(&store),
        marker: PhantomData,
    };
    let response = grpc.unary(method, request).await;
    Ok(review(&store, endpoint(T::SIGNAL), response))
}

/// Counts a refused export, and turns tonic's OUT_OF_RANGE (too large) into
/// RESOURCE_EXHAUSTED and its INTERNAL for a bad gzip body into INVALID_ARGUMENT.
fn review(
    store: &Store,
    endpoint: &'static str,
    response: http::Response<tonic::body::Body>,
) -> http::Response<tonic::body::Body> {
    let Some(status) = Status::from_header_map(response.headers()) else {
        return response;
    };
    if status.code() == Code::Ok {
        return response;
    }
    let (status, kind) = match status.code() {
        Code::OutOfRange | Code::ResourceExhausted => (
            Status::resource_exhausted(format!(
                "{}; export smaller batches (OTEL_BSP_MAX_EXPORT_BATCH_SIZE)",
                status.message()
            )),
            "too large",
        ),
        Code::Internal if status.message().contains("decompress") => (
            Status::invalid_argument(format!(
                "{}; send gzip bodies whole, or no compression",
                status.message()
            )),
            "compression",
        ),
        Code::Unimplemented => (status, "compression"),
        _ => (status, "invalid export"),
    };
    store
        .refusals()
        .record(Cause { endpoint, kind }, status.message().to_owned());
    status.into_http()
}

/// The `Export` method of one signal.
struct ExportMethod<T> {
    store: Arc<Store>,
    marker: PhantomData<fn() -> T>,
}

impl<T: Export> UnaryService<T> for ExportMethod<T> {
    type Response = T::Response;
    type Future = BoxFuture<Response<T::Response>, Status>;

    fn call(&mut self, request: Request<T>) -> Self::Future {
        let store = Arc::clone(&self.store);
        Box::pin(async move {
            request
                .into_inner()
                .store(&store)
                .map_err(|err| Status::invalid_argument(err.to_string()))?;
            Ok(Response::new(T::Response::default()))
        })
    }
}

/// Protobuf, with decode errors reported as INVALID_ARGUMENT.
struct OtlpCodec<T>(PhantomData<fn() -> T>);

impl<T: Export> Codec for OtlpCodec<T> {
    type Encode = T::Response;
    type Decode = T;
    type Encoder = Self;
    type Decoder = Self;

    fn encoder(&mut self) -> Self::Encoder {
        Self(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        Self(PhantomData)
    }
}

impl<T: Export> Encoder for OtlpCodec<T> {
    type Item = T::Response;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst)
            .map_err(|err| Status::internal(format!("could not encode the response: {err}")))
    }
}

impl<T: Export> Decoder for OtlpCodec<T> {
    type Item = T;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<T>, Status> {
        T::decode(src).map(Some).map_err(|err| {
            Status::invalid_argument(
                super::ReceiveError::from(obskit_otlp::DecodeError::from(err)).to_string(),
            )
        })
    }
}
