//! The gRPC example: `greeter.v1.Greeter` (`proto/greeter.proto`), served by this
//! service, and `GET /grpc-hello/{name}`, an HTTP route that calls it over gRPC.
//!
//! By default the route calls this same process (`GREETER_URL` points it elsewhere), so
//! one trace shows the HTTP request, the gRPC client call and the gRPC server's handling.

use anyhow::Context as _;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use obskit::grpc::{GrpcClient, GrpcClientLayer};
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status};

use crate::routes::Greeting;

/// The code `build.rs` generates from `proto/greeter.proto`.
#[allow(missing_docs, clippy::all)]
pub mod pb {
    tonic::include_proto!("greeter.v1");
}

use pb::greeter_client::GreeterClient;
use pb::greeter_server::{Greeter, GreeterServer};
use pb::{HelloReply, HelloRequest};

/// The server side of `greeter.v1.Greeter`.
#[derive(Debug, Default, Clone, Copy)]
pub struct GreeterService;

impl GreeterService {
    /// The tonic service, to add to [`obskit::grpc::GrpcRoutes`].
    pub fn into_server(self) -> GreeterServer<Self> {
        GreeterServer::new(self)
    }
}

#[tonic::async_trait]
impl Greeter for GreeterService {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        let name = request.into_inner().name;
        if name.is_empty() {
            return Err(Status::invalid_argument("name is empty; send a name"));
        }
        // Logged inside the gRPC server span, so the line carries its trace_id.
        tracing::info!(%name, "saying hello over gRPC");
        Ok(Response::new(HelloReply {
            message: format!("hello, {name}"),
        }))
    }
}

/// A `greeter.v1.Greeter` client whose calls go through [`GrpcClientLayer`]: a client
/// span, the trace context in the metadata, and the `rpc_client_*` metrics.
pub type Client = GreeterClient<GrpcClient<Channel>>;

/// A client for the Greeter at `GREETER_URL`, or this service itself on `port`.
pub fn client_from_env(telemetry: &obskit::Telemetry, port: u16) -> anyhow::Result<Client> {
    let url = std::env::var("GREETER_URL").unwrap_or_else(|_| format!("http://127.0.0.1:{port}"));
    client(telemetry, &url)
}

/// A client for the Greeter at `url`, e.g. `http://greeter:8080`. It connects on first use.
pub fn client(telemetry: &obskit::Telemetry, url: &str) -> anyhow::Result<Client> {
    let endpoint = Endpoint::from_shared(url.to_owned()).with_context(|| {
        format!("GREETER_URL `{url}` is not a URL; use one like http://greeter:8080")
    })?;
    let channel = GrpcClientLayer::new(telemetry)
        .target(url)
        .wrap(endpoint.connect_lazy());
    Ok(GreeterClient::new(channel))
}

/// `GET /grpc-hello/{name}`: asks the Greeter over gRPC; 502 when the call fails.
pub fn router(client: Client) -> Router {
    Router::new()
        .route("/grpc-hello/{name}", get(grpc_hello))
        .with_state(client)
}

async fn grpc_hello(
    State(mut client): State<Client>,
    Path(name): Path<String>,
) -> Result<Json<Greeting>, (StatusCode, String)> {
    match client.say_hello(HelloRequest { name }).await {
        Ok(reply) => Ok(Json(Greeting {
            message: reply.into_inner().message,
        })),
        Err(status) => {
            tracing::warn!(code = ?status.code(), message = status.message(), "gRPC call failed");
            Err((
                StatusCode::BAD_GATEWAY,
                format!("gRPC call failed: {}", status.message()),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn greets_by_name_and_refuses_an_empty_name() {
        let reply = GreeterService
            .say_hello(Request::new(HelloRequest { name: "ada".into() }))
            .await
            .unwrap();
        assert_eq!(reply.into_inner().message, "hello, ada");

        let status = GreeterService
            .say_hello(Request::new(HelloRequest {
                name: String::new(),
            }))
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
    }

    #[test]
    fn rejects_a_url_that_is_not_one() {
        let telemetry = obskit::testing::TestTelemetry::new();
        let message = format!("{:#}", client(&telemetry, "not a url").err().unwrap());
        assert!(message.contains("GREETER_URL"), "{message}");
    }
}
