//! Telemetry for tests: nothing installed process-wide, nothing sent over
//! the network, log lines and finished spans kept in memory to assert on.
//!
//! [`TestTelemetry`] is a real [`Telemetry`] (it dereferences to one), built
//! by the same code as the one `init!` installs: the same JSON log lines, the
//! same spans, the same `/metrics`. Its `tracing` subscriber is the default
//! of the thread that made it, for as long as it lives, so run async tests
//! on a current-thread runtime (`#[tokio::test]`'s default) where every task
//! runs on that thread.
//!
//! ```
//! use axum::{Router, body::Body, http::Request, routing::get};
//! use obskit::http::HttpLayer;
//! use obskit::testing::TestTelemetry;
//! use tower::ServiceExt as _;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let telemetry = TestTelemetry::new();
//! let app = Router::new()
//!     .route("/hello/{name}", get(|| async {
//!         tracing::info!("saying hello");
//!         "hello"
//!     }))
//!     .layer(HttpLayer::new(&telemetry));
//!
//! let response = app
//!     .oneshot(Request::get("/hello/ada").body(Body::empty()).unwrap())
//!     .await
//!     .unwrap();
//! assert_eq!(response.status(), 200);
//! // The request ends with its body: read it, then look.
//! axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
//!
//! let span = telemetry.span("GET /hello/{name}").expect("the server span");
//! assert_eq!(span.attribute("http.response.status_code").as_deref(), Some("200"));
//! let logs = telemetry.logs();
//! let hello = logs.iter().find(|l| l["message"] == "saying hello").unwrap();
//! assert_eq!(hello["trace_id"], span.trace_id());
//! assert!(logs.iter().any(|l| l["message"] == "GET /hello/{name} 200"));
//! # }
//! ```

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanProcessor};
use parking_lot::Mutex;

use crate::config::Config;
use crate::error::InitError;
use crate::logs::{self, CapturedLines};
use crate::telemetry::Telemetry;
use crate::traces::{self, Traces};

/// Keeps one more dispatcher registered for the life of the process.
///
/// `tracing` caches whether a callsite is enabled. While a single
/// dispatcher is registered it takes a shortcut and asks only the current
/// thread's subscriber: a log call first reached in a test without a
/// subscriber (a route tested bare) is then cached as disabled, and the
/// same line is lost in a test running on another thread with its
/// `TestTelemetry`. With two dispatchers registered, every live one is
/// asked. The extra one is a no-op subscriber, never the default anywhere.
fn keep_callsite_interest_per_dispatcher() {
    static SECOND: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
    SECOND.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
}

/// A [`Telemetry`] for tests, keeping its log lines and finished spans in
/// memory. See the [module docs](self).
///
/// Every span is recorded (the sampler is `always_on`), and nothing is
/// installed globally: not the `tracing` subscriber (it is this thread's
/// default while the value lives), not the `metrics` recorder, not the
/// OpenTelemetry tracer provider or propagator.
#[must_use = "dropping it ends the capture"]
pub struct TestTelemetry {
    telemetry: Telemetry,
    logs: CapturedLines,
    spans: Arc<Mutex<Vec<SpanData>>>,
    _default: tracing::subscriber::DefaultGuard,
}

impl std::fmt::Debug for TestTelemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestTelemetry")
            .field("telemetry", &self.telemetry)
            .field("spans", &self.spans.lock().len())
            .finish_non_exhaustive()
    }
}

impl Default for TestTelemetry {
    fn default() -> Self {
        Self::new()
    }
}

impl TestTelemetry {
    /// Telemetry for a service called `test`, logging at `info` and above.
    pub fn new() -> Self {
        let config = Config::default()
            .service_name("test")
            .expect("`test` is a valid service name");
        Self::from_config(config).expect("in-memory telemetry starts no thread and cannot fail")
    }

    /// Telemetry built from `config` (its service name, log filter and
    /// format, propagators, resource), with spans and log lines kept in
    /// memory instead of exported and written.
    pub fn from_config(config: Config) -> Result<Self, InitError> {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let closed = Arc::new(AtomicBool::new(false));
        let resource = crate::resource::build(&config);
        let provider = SdkTracerProvider::builder()
            .with_resource(resource.clone())
            .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn)
            .with_span_processor(Capture(Arc::clone(&spans), Arc::clone(&closed)))
            .build();
        let traces = Traces {
            provider,
            resource,
            processors: Vec::new(),
            stats: Arc::default(),
            propagator: Arc::new(traces::propagator(&config.propagators)),
            warn: Arc::default(),
            // The test provider samples every span, whatever its parent says.
            sampling: traces::Sampling::new(crate::config::Sampler::AlwaysOn),
            // obskit's own spans are captured as the SDK's would be.
            own: Arc::new(traces::OwnSpans::capture(Arc::clone(&spans), closed)),
        };
        let (telemetry, layer, logs, light) = config.assemble::<tracing_subscriber::Registry>(
            logs::Output::Memory,
            traces,
            None,
            false,
            crate::telemetry::SubscriberOwner::Obskit,
        )?;
        let logs = logs.expect("an in-memory writer returns its lines");
        keep_callsite_interest_per_dispatcher();
        let dispatch = crate::telemetry::dispatch(layer, light);
        telemetry.set_diagnostics_dispatch(dispatch.clone());
        let default = tracing::dispatcher::set_default(&dispatch);
        Ok(Self {
            telemetry,
            logs,
            spans,
            _default: default,
        })
    }

    /// Every log line so far, as written: one JSON object per line (or the
    /// pretty format, if the configuration chose it).
    pub fn log_lines(&self) -> Vec<String> {
        self.logs.text().lines().map(str::to_owned).collect()
    }

    /// Every log line so far, parsed; a line that is not JSON comes back as
    /// a JSON string.
    pub fn logs(&self) -> Vec<serde_json::Value> {
        self.log_lines()
            .into_iter()
            .map(|line| serde_json::from_str(&line).unwrap_or(serde_json::Value::String(line)))
            .collect()
    }

    /// Every span ended so far, in the order they ended.
    pub fn spans(&self) -> Vec<FinishedSpan> {
        self.spans
            .lock()
            .iter()
            .cloned()
            .map(FinishedSpan)
            .collect()
    }

    /// The first span ended with this name.
    pub fn span(&self, name: &str) -> Option<FinishedSpan> {
        self.spans
            .lock()
            .iter()
            .find(|s| s.name == name)
            .cloned()
            .map(FinishedSpan)
    }
}

impl Deref for TestTelemetry {
    type Target = Telemetry;

    fn deref(&self) -> &Telemetry {
        &self.telemetry
    }
}

/// A span that has ended, as the exporter would have received it.
#[derive(Debug, Clone)]
pub struct FinishedSpan(SpanData);

impl FinishedSpan {
    /// The span's name, e.g. `GET /users/{id}`.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// An attribute's value as text (`"200"` for the number 200), if set.
    pub fn attribute(&self, key: &str) -> Option<String> {
        self.0
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.to_string())
    }

    /// Whether the span's status is an error.
    pub fn is_error(&self) -> bool {
        matches!(self.0.status, Status::Error { .. })
    }

    /// The span's kind (`Server` for a request the layer instrumented).
    pub fn kind(&self) -> SpanKind {
        self.0.span_kind.clone()
    }

    /// The trace id as 32 lowercase hex digits, as log lines show it.
    pub fn trace_id(&self) -> String {
        self.0.span_context.trace_id().to_string()
    }

    /// The span id as 16 lowercase hex digits.
    pub fn span_id(&self) -> String {
        self.0.span_context.span_id().to_string()
    }

    /// The parent's span id, `None` for a root span.
    pub fn parent_span_id(&self) -> Option<String> {
        let parent = self.0.parent_span_id;
        (parent != opentelemetry::trace::SpanId::INVALID).then(|| parent.to_string())
    }

    /// How long the span lasted.
    pub fn duration(&self) -> Duration {
        self.0
            .end_time
            .duration_since(self.0.start_time)
            .unwrap_or_default()
    }

    /// Everything the SDK recorded.
    pub fn data(&self) -> &SpanData {
        &self.0
    }
}

/// Keeps every ended span; `closed` is set when the provider shuts down.
#[derive(Debug)]
struct Capture(Arc<Mutex<Vec<SpanData>>>, Arc<AtomicBool>);

impl SpanProcessor for Capture {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &opentelemetry::Context) {}

    fn on_end(&self, span: SpanData) {
        self.0.lock().push(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.1.store(true, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use http::Request;
    use tower::ServiceExt as _;

    use super::*;
    use crate::http::HttpLayer;

    #[tracing::instrument]
    async fn load(id: u32) -> String {
        tracing::info!("loading");
        format!("user {id}")
    }

    /// The user's own `#[tracing::instrument]` span is a child of the server
    /// span, in the same trace, and its log line carries both ids.
    #[tokio::test]
    async fn a_users_span_is_a_child_of_the_request_span() {
        let telemetry = TestTelemetry::new();
        let app = Router::new()
            .route("/users/{id}", get(|| load(7)))
            .layer(HttpLayer::new(&telemetry));
        let response = app
            .oneshot(Request::get("/users/7").body(Body::empty()).unwrap())
            .await
            .unwrap();
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();

        let server = telemetry.span("GET /users/{id}").expect("server span");
        let own = telemetry.span("load").expect("the instrumented span");
        assert_eq!(server.kind(), SpanKind::Server);
        assert_eq!(server.parent_span_id(), None);
        assert_eq!(own.trace_id(), server.trace_id());
        assert_eq!(own.parent_span_id(), Some(server.span_id()));
        assert!(!server.is_error());
        assert_eq!(telemetry.spans().len(), 2);

        let logs = telemetry.logs();
        let line = logs.iter().find(|l| l["message"] == "loading").unwrap();
        assert_eq!(line["trace_id"], server.trace_id());
        assert_eq!(line["span_id"], own.span_id());
        assert!(
            telemetry.log_lines().iter().all(|l| l.starts_with('{')),
            "JSON lines"
        );
    }

    /// Two test telemetries on two threads do not see each other's lines.
    #[test]
    fn captures_are_per_telemetry() {
        let a = TestTelemetry::new();
        tracing::info!("for a");
        let b = std::thread::spawn(|| {
            let b = TestTelemetry::new();
            tracing::info!("for b");
            b.log_lines()
        })
        .join()
        .unwrap();
        assert_eq!(a.logs().len(), 1);
        assert_eq!(a.logs()[0]["message"], "for a");
        assert_eq!(b.len(), 1);
    }
}
