//! Shared helpers for the gRPC tests: a tonic server with obskit's layer on
//! a real `127.0.0.1` socket, clients for it, and raw calls to any path.

use std::net::SocketAddr;

use obskit::grpc::{GrpcLayer, HealthService};
use obskit_grpc_testing::{EchoClient, EchoReply, EchoRequest, EchoService};
use tonic::transport::{Channel, Endpoint};

/// The fully qualified unary method of the test service.
pub(crate) const UNARY: &str = "obskit.test.v1.Echo/Unary";

/// Serves `echo` (and the health service) behind `layer` with tonic's own
/// transport server on `127.0.0.1:0`; returns the address.
pub(crate) async fn spawn_tonic(
    layer: GrpcLayer,
    echo: EchoService,
    health: Option<HealthService>,
) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let mut router = tonic::transport::Server::builder()
        .layer(layer)
        .add_service(echo.server());
    if let Some(h) = health {
        router = router.add_service(h.into_server());
    }
    tokio::spawn(router.serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)));
    addr
}

/// A channel to `addr`.
pub(crate) async fn channel(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect")
}

/// A plain (uninstrumented) client of the test service.
pub(crate) async fn client(addr: SocketAddr) -> EchoClient<Channel> {
    EchoClient::new(channel(addr).await)
}

/// A unary request answering with `code` after `delay_ms`.
pub(crate) fn req(message: &str, code: i32, delay_ms: u32) -> EchoRequest {
    EchoRequest {
        message: message.into(),
        code,
        delay_ms,
        count: 0,
    }
}

/// A unary call to any `path` (`/package.Service/Method`) with the test
/// messages, as a client with other stubs would make it.
pub(crate) async fn raw_unary(
    channel: Channel,
    path: String,
) -> Result<tonic::Response<EchoReply>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    grpc.unary(
        tonic::Request::new(req("raw", 0, 0)),
        http::uri::PathAndQuery::try_from(path).expect("a valid path"),
        tonic_prost::ProstCodec::<EchoRequest, EchoReply>::default(),
    )
    .await
}
