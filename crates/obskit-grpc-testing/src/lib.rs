//! A small gRPC service for obskit's tests: `obskit.test.v1.Echo`, one
//! method of each kind (unary, server-, client- and bidi-streaming), whose
//! requests say which status to answer with and how long to take, so tests
//! can drive every outcome over a real connection.
//!
//! The code is generated from `proto/echo.proto` at build time by protox
//! and tonic-prost-build: no system `protoc` is needed.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use opentelemetry::trace::TraceContextExt;
use tonic::{Code, Request, Response, Status, Streaming};

/// The generated messages, client and server.
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod pb {
    tonic::include_proto!("obskit.test.v1");
}

pub use pb::echo_client::EchoClient;
pub use pb::echo_server::{Echo, EchoServer};
pub use pb::{EchoReply, EchoRequest};

/// A boxed future answering a forwarded request.
pub type Forwarded =
    Pin<Box<dyn std::future::Future<Output = Result<EchoReply, Status>> + Send + 'static>>;

/// What the service calls for a unary request whose message starts with
/// `forward:` (a downstream call, for parentage tests).
pub type Forward = Arc<dyn Fn(EchoRequest) -> Forwarded + Send + Sync>;

/// The test service.
#[derive(Clone, Default)]
pub struct EchoService {
    forward: Option<Forward>,
    /// Answers leave `trace_id` empty (see [`EchoService::without_trace_id`]).
    no_trace_id: bool,
}

impl std::fmt::Debug for EchoService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EchoService")
            .field("forwards", &self.forward.is_some())
            .field("no_trace_id", &self.no_trace_id)
            .finish()
    }
}

impl EchoService {
    /// A service that answers every call itself.
    pub fn new() -> Self {
        Self::default()
    }

    /// A service that hands unary requests whose message starts with
    /// `forward:` to `forward` (with the prefix removed).
    pub fn forwarding(forward: Forward) -> Self {
        Self {
            forward: Some(forward),
            no_trace_id: false,
        }
    }

    /// The same service, answering without the trace id it sees (`trace_id`
    /// left empty), so a benchmark's handler does the same work with
    /// instrumentation and without: a service with no OpenTelemetry context
    /// answers an empty id anyway, and formatting the id would count the
    /// test handler's work against the instrumentation.
    ///
    /// ```
    /// let service = obskit_grpc_testing::EchoService::new().without_trace_id();
    /// assert!(format!("{service:?}").contains("no_trace_id: true"));
    /// ```
    #[must_use]
    pub fn without_trace_id(mut self) -> Self {
        self.no_trace_id = true;
        self
    }

    /// The trace id answers carry: the current context's, unless the
    /// service answers without it.
    fn trace_id(&self) -> String {
        if self.no_trace_id {
            String::new()
        } else {
            current_trace_id()
        }
    }

    /// The service ready to add to a tonic server.
    pub fn server(self) -> EchoServer<Self> {
        EchoServer::new(self)
    }
}

/// The trace id of the current OpenTelemetry context, or empty.
fn current_trace_id() -> String {
    let cx = opentelemetry::Context::current();
    let sc = cx.span().span_context().clone();
    if sc.is_valid() {
        sc.trace_id().to_string()
    } else {
        String::new()
    }
}

/// The status a request asks for, or `None` for OK.
fn requested_status(req: &EchoRequest) -> Option<Status> {
    (req.code != 0).then(|| Status::new(Code::from(req.code), format!("asked for {}", req.code)))
}

async fn pause(ms: u32) {
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(u64::from(ms))).await;
    }
}

/// A boxed stream of replies.
pub type ReplyStream = Pin<Box<dyn Stream<Item = Result<EchoReply, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl Echo for EchoService {
    async fn unary(&self, request: Request<EchoRequest>) -> Result<Response<EchoReply>, Status> {
        let req = request.into_inner();
        if let (Some(forward), Some(rest)) = (&self.forward, req.message.strip_prefix("forward:")) {
            let downstream = EchoRequest {
                message: rest.to_owned(),
                ..req.clone()
            };
            return forward(downstream).await.map(Response::new);
        }
        let trace_id = self.trace_id();
        pause(req.delay_ms).await;
        match requested_status(&req) {
            Some(status) => Err(status),
            None => Ok(Response::new(EchoReply {
                message: req.message,
                trace_id,
            })),
        }
    }

    type ServerStreamStream = ReplyStream;

    async fn server_stream(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<Self::ServerStreamStream>, Status> {
        let req = request.into_inner();
        let trace_id = self.trace_id();
        if req.count == 0
            && let Some(status) = requested_status(&req)
        {
            return Err(status);
        }
        let replies = futures_util::stream::unfold(0u32, move |sent| {
            let req = req.clone();
            let trace_id = trace_id.clone();
            async move {
                if sent < req.count {
                    pause(req.delay_ms).await;
                    let reply = EchoReply {
                        message: format!("{} {sent}", req.message),
                        trace_id,
                    };
                    Some((Ok(reply), sent + 1))
                } else if sent == req.count {
                    requested_status(&req).map(|s| (Err(s), sent + 1))
                } else {
                    None
                }
            }
        });
        Ok(Response::new(Box::pin(replies)))
    }

    async fn client_stream(
        &self,
        request: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<EchoReply>, Status> {
        let trace_id = self.trace_id();
        let mut stream = request.into_inner();
        let mut joined = Vec::new();
        while let Some(req) = stream.next().await {
            let req = req?;
            pause(req.delay_ms).await;
            if let Some(status) = requested_status(&req) {
                return Err(status);
            }
            joined.push(req.message);
        }
        Ok(Response::new(EchoReply {
            message: joined.join(" "),
            trace_id,
        }))
    }

    type BidiStream = ReplyStream;

    async fn bidi(
        &self,
        request: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<Self::BidiStream>, Status> {
        let trace_id = self.trace_id();
        let replies = request.into_inner().then(move |req| {
            let trace_id = trace_id.clone();
            async move {
                let req = req?;
                pause(req.delay_ms).await;
                match requested_status(&req) {
                    Some(status) => Err(status),
                    None => Ok(EchoReply {
                        message: req.message,
                        trace_id,
                    }),
                }
            }
        });
        Ok(Response::new(Box::pin(replies)))
    }
}
