//! OTLP/HTTP end to end: a plain reqwest client posts protobuf to the receiver, under each behavior and runtime flavor.

use crate::common;

use std::time::{Duration, Instant};

use obskit_test_receiver::proto::collector::trace::v1::ExportTraceServiceResponse;
use obskit_test_receiver::{Behavior, Protocol, Receiver};
use prost::Message;

const PROTOBUF: &str = "application/x-protobuf";

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder().timeout(timeout).build().unwrap()
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(url)
        .header("content-type", content_type)
        .header("X-Api-Key", "Secret-Key")
        .body(body)
        .send()
        .await
}

async fn export_and_check(receiver: &Receiver) {
    assert_eq!(
        receiver.http_traces_url(),
        format!("{}/v1/traces", receiver.http_endpoint())
    );
    let response = post(
        &client(Duration::from_secs(10)),
        &receiver.http_traces_url(),
        PROTOBUF,
        common::request().encode_to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], PROTOBUF);
    let answer = ExportTraceServiceResponse::decode(response.bytes().await.unwrap()).unwrap();
    assert_eq!(answer, ExportTraceServiceResponse::default());

    common::assert_flattened(
        &receiver.wait_for_spans(2, Duration::from_secs(5)).await,
        Protocol::Http,
    );
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].protocol, Protocol::Http);
    assert!(requests[0].accepted);
    assert_eq!(requests[0].header("x-api-key"), Some("Secret-Key"));
    assert_eq!(requests[0].headers["content-type"], PROTOBUF);
    assert_eq!(requests[0].request, common::request());
}

#[tokio::test]
async fn export_on_a_current_thread_runtime() {
    let receiver = Receiver::start().await.unwrap();
    assert!(receiver.http_endpoint().starts_with("http://127.0.0.1:"));
    export_and_check(&receiver).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_on_a_multi_thread_runtime() {
    let receiver = Receiver::start().await.unwrap();
    export_and_check(&receiver).await;
}

#[tokio::test]
async fn bad_requests_get_404_415_and_400_and_are_not_recorded() {
    let receiver = Receiver::start().await.unwrap();
    let client = client(Duration::from_secs(10));
    let body = common::request().encode_to_vec();

    let wrong_path = format!("{}/v1/profiles", receiver.http_endpoint());
    let response = post(&client, &wrong_path, PROTOBUF, body.clone())
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    let url = receiver.http_traces_url();
    let response = post(&client, &url, "text/plain", b"{}".to_vec())
        .await
        .unwrap();
    assert_eq!(response.status(), 415);

    let response = post(&client, &url, "application/json", b"[1,2]".to_vec())
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "JSON that is not a request");

    let response = post(&client, &url, PROTOBUF, vec![0xff, 0xff, 0xff])
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("ExportTraceServiceRequest")
    );

    assert!(receiver.requests().is_empty());
    assert!(receiver.spans().is_empty());
}

#[tokio::test]
async fn error_behavior_answers_503_until_healthy_again() {
    let receiver = Receiver::start_with(Behavior::Error).await.unwrap();
    assert_eq!(receiver.behavior(), Behavior::Error);
    let client = client(Duration::from_secs(10));
    let url = receiver.http_traces_url();
    let body = common::request().encode_to_vec();

    let response = post(&client, &url, PROTOBUF, body.clone()).await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(receiver.spans().is_empty());
    assert!(!receiver.requests()[0].accepted);

    receiver.set_behavior(Behavior::Healthy);
    let response = post(&client, &url, PROTOBUF, body).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(receiver.spans().len(), 2);
    assert_eq!(receiver.requests().len(), 2);
}

#[tokio::test]
async fn slow_behavior_outlasts_a_short_client_timeout() {
    let receiver = Receiver::start_with(Behavior::Slow(Duration::from_secs(1)))
        .await
        .unwrap();
    let url = receiver.http_traces_url();
    let body = common::request().encode_to_vec();

    let started = Instant::now();
    let error = post(
        &client(Duration::from_millis(100)),
        &url,
        PROTOBUF,
        body.clone(),
    )
    .await
    .unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert!(started.elapsed() < Duration::from_millis(900));
    assert_eq!(
        receiver
            .wait_for_spans(2, Duration::from_secs(5))
            .await
            .len(),
        2
    );

    let started = Instant::now();
    let response = post(&client(Duration::from_secs(10)), &url, PROTOBUF, body)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn wait_for_spans_returns_what_arrived_at_the_timeout_and_clear_forgets() {
    let receiver = Receiver::start().await.unwrap();
    let response = post(
        &client(Duration::from_secs(10)),
        &receiver.http_traces_url(),
        PROTOBUF,
        common::request().encode_to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);

    let started = Instant::now();
    let spans = receiver.wait_for_spans(3, Duration::from_millis(200)).await;
    assert_eq!(spans.len(), 2);
    assert!(started.elapsed() >= Duration::from_millis(200));

    receiver.clear();
    assert!(receiver.spans().is_empty());
    assert!(receiver.requests().is_empty());
    assert!(
        receiver
            .wait_for_spans(1, Duration::from_millis(50))
            .await
            .is_empty()
    );
}
