//! OTLP/gRPC end to end: a real tonic client exports to the receiver, under each behavior and runtime flavor.

use crate::common;

use std::time::{Duration, Instant};

use obskit_test_receiver::proto::collector::trace::v1::trace_service_client::TraceServiceClient;
use obskit_test_receiver::{Behavior, Protocol, Receiver};
use tonic::transport::{Channel, Endpoint};

async fn client(receiver: &Receiver, timeout: Duration) -> TraceServiceClient<Channel> {
    let channel = Endpoint::from_shared(receiver.grpc_endpoint())
        .unwrap()
        .timeout(timeout)
        .connect()
        .await
        .unwrap();
    TraceServiceClient::new(channel)
}

fn export_request()
-> tonic::Request<obskit_test_receiver::proto::collector::trace::v1::ExportTraceServiceRequest> {
    let mut request = tonic::Request::new(common::request());
    request
        .metadata_mut()
        .insert("x-api-key", "Secret-Key".parse().unwrap());
    request
}

async fn export_and_check(receiver: &Receiver) {
    let mut client = client(receiver, Duration::from_secs(10)).await;
    let response = client.export(export_request()).await.unwrap().into_inner();
    assert_eq!(response.partial_success, None);

    common::assert_flattened(&receiver.spans(), Protocol::Grpc);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].protocol, Protocol::Grpc);
    assert!(requests[0].accepted);
    assert_eq!(requests[0].header("X-API-KEY"), Some("Secret-Key"));
    assert_eq!(requests[0].headers["content-type"], "application/grpc");
    assert_eq!(requests[0].request, common::request());
    assert_eq!(requests[0].span_count(), 2);
}

#[tokio::test]
async fn export_on_a_current_thread_runtime() {
    let receiver = Receiver::start().await.unwrap();
    assert!(receiver.grpc_endpoint().starts_with("http://127.0.0.1:"));
    assert_ne!(receiver.grpc_endpoint(), receiver.http_endpoint());
    export_and_check(&receiver).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_on_a_multi_thread_runtime() {
    let receiver = Receiver::start().await.unwrap();
    export_and_check(&receiver).await;
}

#[tokio::test]
async fn error_behavior_answers_unavailable_and_keeps_no_spans() {
    let receiver = Receiver::start_with(Behavior::Error).await.unwrap();
    let mut client = client(&receiver, Duration::from_secs(10)).await;
    let status = client.export(export_request()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert!(receiver.spans().is_empty());
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    assert!(!requests[0].accepted);

    // Recovery: the same client succeeds once the receiver is healthy again.
    receiver.set_behavior(Behavior::Healthy);
    client.export(export_request()).await.unwrap();
    assert_eq!(receiver.spans().len(), 2);
    assert_eq!(receiver.requests().len(), 2);
}

#[tokio::test]
async fn slow_behavior_outlasts_a_short_client_timeout() {
    let receiver = Receiver::start_with(Behavior::Slow(Duration::from_secs(1)))
        .await
        .unwrap();

    let mut impatient = client(&receiver, Duration::from_millis(100)).await;
    let started = Instant::now();
    let status = impatient.export(export_request()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Cancelled, "{status:?}");
    assert!(started.elapsed() < Duration::from_millis(900));
    // The spans arrived even though the answer came too late for the client.
    assert_eq!(
        receiver
            .wait_for_spans(2, Duration::from_secs(5))
            .await
            .len(),
        2
    );

    let mut patient = client(&receiver, Duration::from_secs(10)).await;
    let started = Instant::now();
    patient.export(export_request()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(receiver.spans().len(), 4);
}
