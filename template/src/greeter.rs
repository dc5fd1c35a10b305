//! The gRPC example: `greeter.v1.Greeter` (`proto/greeter.proto`), served by this
//! service, and `GET /grpc-hello/{name}`, an HTTP route that calls it over gRPC.
//!
//! By default the route calls this same process (`GREETER_URL` points it elsewhere), so
//! one trace shows the HTTP request, the gRPC client call and the gRPC server's handling.
//! Every call the client makes carries a deadline ([`DEADLINE`]).

use std::pin::Pin;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use obskit::grpc::{GrpcClient, GrpcClientLayer};
use tokio_stream::{Stream, StreamExt as _};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status};

use crate::routes::Greeting;

/// The code `build.rs` generates from `proto/greeter.proto`.
#[allow(missing_docs, clippy::all)]
pub mod pb {
    tonic::include_proto!("greeter.v1");

    /// The compiled `greeter.proto`, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/greeter_descriptor.bin"));
}

use pb::greeter_client::GreeterClient;
use pb::greeter_server::{Greeter, GreeterServer};
use pb::{HelloReply, HelloRequest, HelloStreamRequest};

/// How long a call may take before the client gives up on it: a hung upstream fails the
/// call instead of hanging the route. It travels with the call (`grpc-timeout`), so both
/// sides record a late call as DEADLINE_EXCEEDED.
pub const DEADLINE: Duration = Duration::from_secs(2);

/// The most greetings one `SayHelloStream` call sends.
pub const MAX_STREAM_COUNT: u32 = 100;

/// The pause between two streamed greetings, so a stream takes a while, as real ones do.
const STREAM_PAUSE: Duration = Duration::from_millis(10);

/// The server side of `greeter.v1.Greeter`.
#[derive(Debug, Default, Clone, Copy)]
pub struct GreeterService;

/// The tonic server of [`GreeterService`], as the health service names it.
pub type Server = GreeterServer<GreeterService>;

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

    type SayHelloStreamStream = Pin<Box<dyn Stream<Item = Result<HelloReply, Status>> + Send>>;

    async fn say_hello_stream(
        &self,
        request: Request<HelloStreamRequest>,
    ) -> Result<Response<Self::SayHelloStreamStream>, Status> {
        let HelloStreamRequest { name, count } = request.into_inner();
        if name.is_empty() {
            return Err(Status::invalid_argument("name is empty; send a name"));
        }
        if !(1..=MAX_STREAM_COUNT).contains(&count) {
            return Err(Status::invalid_argument(format!(
                "count is {count}; send 1 to {MAX_STREAM_COUNT}"
            )));
        }
        tracing::info!(%name, count, "streaming greetings over gRPC");
        // obskit measures the call until its last message: the span, the duration and the
        // status cover the whole stream.
        let greetings = tokio_stream::iter(1..=count).then(move |i| {
            let message = format!("hello, {name} ({i}/{count})");
            async move {
                tokio::time::sleep(STREAM_PAUSE).await;
                Ok(HelloReply { message })
            }
        });
        Ok(Response::new(Box::pin(greetings)))
    }
}

/// Sets [`DEADLINE`] (or another) on every call made through a client.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(pub Duration);

impl Interceptor for Deadline {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request.set_timeout(self.0);
        Ok(request)
    }
}

/// A `greeter.v1.Greeter` client whose calls carry a [`Deadline`] and go through
/// [`GrpcClientLayer`]: a client span, the trace context in the metadata, and the
/// `rpc_client_*` metrics.
pub type Client = GreeterClient<InterceptedService<GrpcClient<Channel>, Deadline>>;

/// A client for the Greeter at `GREETER_URL`, or this service itself on `port`.
pub fn client_from_env(telemetry: &obskit::Telemetry, port: u16) -> anyhow::Result<Client> {
    let url = std::env::var("GREETER_URL").unwrap_or_else(|_| format!("http://127.0.0.1:{port}"));
    client(telemetry, &url)
}

/// A client for the Greeter at `url`, e.g. `http://greeter:8080`, whose calls have
/// [`DEADLINE`]. It connects on first use.
pub fn client(telemetry: &obskit::Telemetry, url: &str) -> anyhow::Result<Client> {
    client_with_deadline(telemetry, url, DEADLINE)
}

/// Like [`client`], with another deadline.
pub fn client_with_deadline(
    telemetry: &obskit::Telemetry,
    url: &str,
    deadline: Duration,
) -> anyhow::Result<Client> {
    let endpoint = Endpoint::from_shared(url.to_owned()).with_context(|| {
        format!("GREETER_URL `{url}` is not a URL; use one like http://greeter:8080")
    })?;
    let channel = GrpcClientLayer::new(telemetry)
        .target(url)
        .wrap(endpoint.connect_lazy());
    Ok(GreeterClient::with_interceptor(channel, Deadline(deadline)))
}

/// `GET /grpc-hello/{name}`: asks the Greeter over gRPC; 504 when the call misses its
/// deadline, 502 when it fails otherwise.
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
            // tonic reports its own deadline as CANCELLED ("Timeout expired").
            let late = matches!(
                status.code(),
                tonic::Code::DeadlineExceeded | tonic::Code::Cancelled
            );
            let code = if late {
                StatusCode::GATEWAY_TIMEOUT
            } else {
                StatusCode::BAD_GATEWAY
            };
            Err((code, format!("gRPC call failed: {}", status.message())))
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

    #[tokio::test]
    async fn streams_count_greetings_and_refuses_a_count_out_of_range() {
        let request = HelloStreamRequest {
            name: "ada".into(),
            count: 3,
        };
        let stream = GreeterService
            .say_hello_stream(Request::new(request))
            .await
            .unwrap()
            .into_inner();
        let messages: Vec<_> = stream.map(|r| r.unwrap().message).collect().await;
        assert_eq!(
            messages,
            ["hello, ada (1/3)", "hello, ada (2/3)", "hello, ada (3/3)"]
        );

        for count in [0, MAX_STREAM_COUNT + 1] {
            let request = HelloStreamRequest {
                name: "ada".into(),
                count,
            };
            let status = GreeterService
                .say_hello_stream(Request::new(request))
                .await
                .err()
                .unwrap();
            assert_eq!(status.code(), tonic::Code::InvalidArgument);
            assert!(status.message().contains("send 1 to 100"), "{status:?}");
        }
    }

    #[test]
    fn every_call_carries_the_deadline() {
        let request = Deadline(DEADLINE).call(Request::new(())).unwrap();
        assert_eq!(
            request.metadata().get("grpc-timeout").unwrap(),
            "2000000u",
            "2 s, in the unit tonic writes"
        );
    }

    #[test]
    fn rejects_a_url_that_is_not_one() {
        let telemetry = obskit::testing::TestTelemetry::new();
        let message = format!("{:#}", client(&telemetry, "not a url").err().unwrap());
        assert!(message.contains("GREETER_URL"), "{message}");
    }
}
