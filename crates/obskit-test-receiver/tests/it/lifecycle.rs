//! Start-up and shutdown: plain `#[test]` use, independence from a blocked test runtime, and ports closed on drop.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use obskit_test_receiver::{Behavior, Protocol, Receiver};
use prost::Message;

/// Posts the common request with blocking std I/O and returns the raw HTTP response.
fn blocking_post(receiver: &Receiver) -> String {
    let body = common::request().encode_to_vec();
    let mut stream = TcpStream::connect(receiver.http_addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nhost: {}\r\ncontent-type: application/x-protobuf\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        receiver.http_addr(),
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn works_without_an_async_runtime() {
    let receiver = Receiver::start_blocking(Behavior::Healthy).unwrap();
    let response = blocking_post(&receiver);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let spans = receiver.wait_for_spans_blocking(2, Duration::from_secs(5));
    common::assert_flattened(&spans, Protocol::Http);
}

#[tokio::test]
async fn keeps_answering_while_the_test_runtime_is_blocked() {
    let receiver = Receiver::start().await.unwrap();
    // Blocking this current-thread runtime's only thread would starve a
    // receiver that ran on it; this one has its own thread.
    let response = blocking_post(&receiver);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert_eq!(receiver.spans().len(), 2);
}

#[tokio::test]
async fn drop_closes_both_ports_and_open_connections() {
    let receiver = Receiver::start_with(Behavior::Slow(Duration::from_secs(60)))
        .await
        .unwrap();
    let (grpc, http) = (receiver.grpc_addr(), receiver.http_addr());

    // A request stuck in the 60 s delay holds a connection open.
    let body = common::request().encode_to_vec();
    let mut stuck = TcpStream::connect(http).unwrap();
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nhost: {http}\r\ncontent-type: application/x-protobuf\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    stuck.write_all(head.as_bytes()).unwrap();
    stuck.write_all(&body).unwrap();
    assert_eq!(
        receiver
            .wait_for_spans(2, Duration::from_secs(5))
            .await
            .len(),
        2
    );

    drop(receiver);

    assert!(TcpStream::connect(grpc).is_err(), "gRPC port still open");
    assert!(TcpStream::connect(http).is_err(), "HTTP port still open");
    stuck
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut rest = Vec::new();
    // The held connection is closed (end of stream or reset), not left hanging.
    match stuck.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty(), "unexpected answer: {rest:?}"),
        Err(error) => assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset),
    }
}
