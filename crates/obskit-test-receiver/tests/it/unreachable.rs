//! Collectors that are not there: a black hole that never answers and a port that refuses, seen through real clients.

use std::time::{Duration, Instant};

use obskit_test_receiver::proto::collector::trace::v1::ExportTraceServiceRequest;
use obskit_test_receiver::proto::collector::trace::v1::trace_service_client::TraceServiceClient;
use obskit_test_receiver::{BlackHole, refused_endpoint};
use tonic::transport::Endpoint;

#[tokio::test]
async fn http_client_times_out_against_the_black_hole() {
    let hole = BlackHole::start().unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = client
        .post(format!("{}/v1/traces", hole.endpoint()))
        .header("content-type", "application/x-protobuf")
        .body(vec![0_u8; 16])
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(hole.connections(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_export_times_out_against_the_black_hole() {
    let hole = BlackHole::start().unwrap();
    let channel = Endpoint::from_shared(hole.endpoint())
        .unwrap()
        .timeout(Duration::from_millis(200))
        .connect_lazy();
    let mut client = TraceServiceClient::new(channel);
    let started = Instant::now();
    let status = client
        .export(ExportTraceServiceRequest::default())
        .await
        .unwrap_err();
    // Timed out waiting for an answer, not refused or reset.
    assert_eq!(status.code(), tonic::Code::Cancelled, "{status:?}");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(hole.connections(), 1);
}

#[tokio::test]
async fn refused_endpoint_fails_fast_with_a_connect_error() {
    let endpoint = refused_endpoint().unwrap();
    assert!(endpoint.starts_with("http://127.0.0.1:"));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = client
        .post(format!("{endpoint}/v1/traces"))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_connect(), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
