//! The OTLP/gRPC side: the official generated `TraceService`,
//! `LogsService` and `MetricsService` servers on one port, answering per the current behavior.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::{Request, Response, Status};

use crate::behavior::Behavior;
use crate::request::{Protocol, header_map};
use crate::store::Shared;

/// Implements `opentelemetry.proto.collector.trace.v1.TraceService` over the shared store.
#[derive(Debug)]
pub(crate) struct OtlpTraceService {
    shared: Arc<Shared>,
}

/// The gRPC service, ready to be served on a connection.
pub(crate) fn service(shared: Arc<Shared>) -> TraceServiceServer<OtlpTraceService> {
    // gzip bodies are decoded; `grpc-encoding` stays in the recorded headers.
    TraceServiceServer::new(OtlpTraceService { shared })
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip)
}

/// Both services, routed by path.
pub(crate) fn routes(shared: &Arc<Shared>) -> tonic::service::Routes {
    tonic::service::Routes::new(service(Arc::clone(shared)))
        .add_service(
            LogsServiceServer::new(OtlpLogsService {
                shared: Arc::clone(shared),
            })
            .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
        )
        .add_service(
            MetricsServiceServer::new(OtlpMetricsService {
                shared: Arc::clone(shared),
            })
            .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
        )
        .prepare()
}

/// Implements `opentelemetry.proto.collector.metrics.v1.MetricsService` over the shared store.
#[derive(Debug)]
pub(crate) struct OtlpMetricsService {
    shared: Arc<Shared>,
}

#[tonic::async_trait]
impl MetricsService for OtlpMetricsService {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let (metadata, _extensions, request) = request.into_parts();
        let headers = header_map(&metadata.into_headers());
        answer(
            self.shared.record_metrics(Protocol::Grpc, headers, request),
            ExportMetricsServiceResponse::default(),
        )
        .await
    }
}

/// Implements `opentelemetry.proto.collector.logs.v1.LogsService` over the shared store.
#[derive(Debug)]
pub(crate) struct OtlpLogsService {
    shared: Arc<Shared>,
}

#[tonic::async_trait]
impl LogsService for OtlpLogsService {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let (metadata, _extensions, request) = request.into_parts();
        let headers = header_map(&metadata.into_headers());
        answer(
            self.shared.record_logs(Protocol::Grpc, headers, request),
            ExportLogsServiceResponse::default(),
        )
        .await
    }
}

/// The answer `behavior` gives: `ok` (after the delay, when slow) or `UNAVAILABLE`.
async fn answer<T>(behavior: Behavior, ok: T) -> Result<Response<T>, Status> {
    match behavior {
        Behavior::Healthy => Ok(Response::new(ok)),
        Behavior::Slow(delay) => {
            tokio::time::sleep(delay).await;
            Ok(Response::new(ok))
        }
        Behavior::Error => Err(Status::unavailable(
            "the receiver is set to Behavior::Error",
        )),
    }
}

#[tonic::async_trait]
impl TraceService for OtlpTraceService {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let (metadata, _extensions, request) = request.into_parts();
        let headers = header_map(&metadata.into_headers());
        answer(
            self.shared.record(Protocol::Grpc, headers, request),
            ExportTraceServiceResponse::default(),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::metadata::MetadataValue;

    #[tokio::test]
    async fn export_records_metadata_and_answers_per_behavior() {
        let shared = Arc::new(Shared::new(Behavior::Healthy));
        let service = OtlpTraceService {
            shared: Arc::clone(&shared),
        };
        let mut request = Request::new(ExportTraceServiceRequest::default());
        request
            .metadata_mut()
            .insert("x-api-key", MetadataValue::from_static("Secret"));
        assert!(service.export(request).await.is_ok());

        shared.set_behavior(Behavior::Error);
        let status = service
            .export(Request::new(ExportTraceServiceRequest::default()))
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unavailable);

        let requests = shared.requests();
        assert_eq!(requests[0].header("x-api-key"), Some("Secret"));
        assert_eq!(requests[0].protocol, Protocol::Grpc);
        assert!(requests[0].accepted);
        assert!(!requests[1].accepted);
    }
}
