//! The server span of a served call: the semantic-convention attributes
//! known when the call arrives. (What is known only at the end, the status
//! code and `error.type`, is set by the core's `Finish`.)

use std::net::SocketAddr;

use http::Request;

use super::call::Method;
use crate::metrics::names::RPC_SYSTEM_GRPC;
use crate::request_id::RequestId;
use crate::traces::Described;
use crate::traces::attributes::{RpcServer, Text};

/// The attributes of a recorded server span.
pub(crate) fn describe<B>(req: &Request<B>, method: &Method, request_id: &RequestId) -> Described {
    let server = req
        .uri()
        .authority()
        .map(|authority| (Text::new(authority.host()), authority.port_u16()));
    Described::RpcServer(RpcServer {
        system: RPC_SYSTEM_GRPC,
        method: match method {
            Method::Known(name) => Some(*name),
            Method::Unknown(_) => None,
        },
        server,
        peer: peer_addr(req),
        request_id: request_id.clone(),
    })
}

/// The peer's address: from tonic's transport, or from axum's connect info.
fn peer_addr<B>(req: &Request<B>) -> Option<SocketAddr> {
    let ext = req.extensions();
    ext.get::<tonic::transport::server::TcpConnectInfo>()
        .and_then(tonic::transport::server::TcpConnectInfo::remote_addr)
        .or_else(|| {
            ext.get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map(|c| c.0)
        })
}
