//! A counting OTLP/HTTP trace endpoint: decodes every export as a collector
//! would, counts the spans and keeps nothing, so its memory stays flat under
//! any load.
//!
//! ```no_run
//! # fn main() -> std::io::Result<()> {
//! let sink = obskit_bench::sink::Sink::start()?;
//! // point an exporter at sink.traces_url(), send spans, then:
//! println!("{} spans received", sink.counts().spans());
//! # Ok(()) }
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

/// Where OTLP/HTTP sends traces.
pub const TRACES_PATH: &str = "/v1/traces";
/// `GET` answers the counts as one line of `key=value` pairs ([`Counts::line`]).
pub const STATS_PATH: &str = "/stats";
/// The only body type accepted, as OTLP/HTTP with protobuf defines it.
const PROTOBUF: &str = "application/x-protobuf";
/// Largest export accepted; the SDKs' default batches are far smaller.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// What the sink received so far.
#[derive(Debug, Default)]
pub struct Counts {
    spans: AtomicU64,
    requests: AtomicU64,
    bytes: AtomicU64,
    rejected: AtomicU64,
}

impl Counts {
    /// Spans in the exports accepted.
    pub fn spans(&self) -> u64 {
        self.spans.load(Ordering::Relaxed)
    }

    /// Export requests accepted.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Body bytes of the exports accepted.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Export requests refused: wrong media type or not an `ExportTraceServiceRequest`.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// `spans=N requests=N bytes=N rejected=N`, as `GET /stats` answers and the binary prints at exit.
    pub fn line(&self) -> String {
        format!(
            "spans={} requests={} bytes={} rejected={}",
            self.spans(),
            self.requests(),
            self.bytes(),
            self.rejected()
        )
    }
}

/// `POST /v1/traces` and `GET /stats`, counting into `counts`.
pub fn router(counts: Arc<Counts>) -> Router {
    Router::new()
        .route(TRACES_PATH, post(export))
        .route(STATS_PATH, get(stats))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(counts)
}

/// Serves [`router`] on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    counts: Arc<Counts>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(counts))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn export(State(counts): State<Arc<Counts>>, headers: HeaderMap, body: Bytes) -> Response {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if !media_type.is_some_and(|m| m.eq_ignore_ascii_case(PROTOBUF)) {
        counts.rejected.fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send Content-Type: application/x-protobuf",
        )
            .into_response();
    }
    let size = body.len() as u64;
    let request = match ExportTraceServiceRequest::decode(body) {
        Ok(request) => request,
        Err(e) => {
            counts.rejected.fetch_add(1, Ordering::Relaxed);
            return (
                StatusCode::BAD_REQUEST,
                format!("the body is not an ExportTraceServiceRequest: {e}"),
            )
                .into_response();
        }
    };
    let spans: usize = request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    drop(request);
    counts.spans.fetch_add(spans as u64, Ordering::Relaxed);
    counts.requests.fetch_add(1, Ordering::Relaxed);
    counts.bytes.fetch_add(size, Ordering::Relaxed);
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(PROTOBUF))],
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
        .into_response()
}

async fn stats(State(counts): State<Arc<Counts>>) -> String {
    counts.line()
}

/// A sink running on a thread of its own on an ephemeral `127.0.0.1` port,
/// for in-process benches. Dropping it stops the server.
#[derive(Debug)]
pub struct Sink {
    addr: SocketAddr,
    counts: Arc<Counts>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sink {
    /// Binds `127.0.0.1:0` and starts serving.
    pub fn start() -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let counts = Arc::new(Counts::default());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = Arc::clone(&counts);
        let thread = std::thread::Builder::new()
            .name("otlp-sink".into())
            .spawn(move || {
                runtime
                    .block_on(async move {
                        let listener = tokio::net::TcpListener::from_std(listener)?;
                        serve(listener, served, async move {
                            let _ = stopped.await;
                        })
                        .await
                    })
                    .ok();
            })?;
        Ok(Self {
            addr,
            counts,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>`: the base endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The full traces URL (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
    pub fn traces_url(&self) -> String {
        format!("http://{}{TRACES_PATH}", self.addr)
    }

    /// What was received so far.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http::Request;
    use http_body_util::BodyExt;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use tower::ServiceExt;

    use super::*;

    fn export_body(spans: usize) -> Vec<u8> {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![
                    ScopeSpans {
                        spans: vec![Span::default(); spans],
                        ..ScopeSpans::default()
                    },
                    ScopeSpans {
                        spans: vec![Span::default()],
                        ..ScopeSpans::default()
                    },
                ],
                ..ResourceSpans::default()
            }],
        }
        .encode_to_vec()
    }

    fn post(content_type: &str, body: Vec<u8>) -> Request<Body> {
        Request::post(TRACES_PATH)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap()
    }

    #[tokio::test]
    async fn counts_spans_across_scopes_and_answers_like_a_collector() {
        let counts = Arc::new(Counts::default());
        let body = export_body(3);
        let size = body.len() as u64;
        let response = router(Arc::clone(&counts))
            .oneshot(post(PROTOBUF, body))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROTOBUF);
        let answer = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            ExportTraceServiceResponse::decode(answer).unwrap(),
            ExportTraceServiceResponse::default()
        );
        assert_eq!(counts.spans(), 4);
        assert_eq!(counts.requests(), 1);
        assert_eq!(counts.bytes(), size);
        assert_eq!(
            counts.line(),
            format!("spans=4 requests=1 bytes={size} rejected=0")
        );
    }

    #[tokio::test]
    async fn refuses_json_and_garbage_without_counting_spans() {
        let counts = Arc::new(Counts::default());
        let app = router(Arc::clone(&counts));
        let json = app
            .clone()
            .oneshot(post("application/json", export_body(1)))
            .await
            .unwrap();
        assert_eq!(json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let garbage = app
            .oneshot(post(PROTOBUF, vec![0xff, 0xff, 0xff]))
            .await
            .unwrap();
        assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
        assert_eq!(counts.spans(), 0);
        assert_eq!(counts.rejected(), 2);
    }

    #[test]
    fn in_process_sink_receives_over_tcp_and_reports_stats() {
        let sink = Sink::start().unwrap();
        let client = reqwest::blocking::Client::new();
        let response = client
            .post(sink.traces_url())
            .header(header::CONTENT_TYPE, PROTOBUF)
            .body(export_body(2))
            .send()
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(sink.counts().spans(), 3);
        let stats = client
            .get(format!("{}{STATS_PATH}", sink.endpoint()))
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert!(stats.starts_with("spans=3 requests=1 bytes="), "{stats}");
    }
}
