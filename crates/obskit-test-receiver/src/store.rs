//! The state both servers write and the test reads: current behavior, received requests and spans, and the wake-ups for waiters.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use tokio::sync::Notify;

use crate::behavior::Behavior;
use crate::log::ReceivedLog;
use crate::request::{Protocol, ReceivedLogsRequest, ReceivedMetricsRequest, ReceivedRequest};
use crate::span::ReceivedSpan;
use std::collections::BTreeMap;

/// Shared between the receiver's servers (writers) and its handle (reader).
#[derive(Debug, Default)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Wakes [`Shared::wait_for_spans_blocking`].
    changed: Condvar,
    /// Wakes [`Shared::wait_for_spans`].
    notify: Notify,
}

#[derive(Debug, Default)]
struct State {
    behavior: Behavior,
    requests: Vec<ReceivedRequest>,
    spans: Vec<ReceivedSpan>,
    log_requests: Vec<ReceivedLogsRequest>,
    logs: Vec<ReceivedLog>,
    metrics_requests: Vec<ReceivedMetricsRequest>,
}

impl Shared {
    /// A store that answers with `behavior` until told otherwise.
    pub(crate) fn new(behavior: Behavior) -> Self {
        Self {
            state: Mutex::new(State {
                behavior,
                ..State::default()
            }),
            ..Self::default()
        }
    }

    /// A panic in a test thread must not hide the data from the rest of the test.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn behavior(&self) -> Behavior {
        self.lock().behavior
    }

    pub(crate) fn set_behavior(&self, behavior: Behavior) {
        self.lock().behavior = behavior;
    }

    /// Records a request under the current behavior, keeps its spans if that
    /// behavior accepts them, wakes waiters, and returns the behavior to answer with.
    pub(crate) fn record(
        &self,
        protocol: Protocol,
        headers: BTreeMap<String, String>,
        request: ExportTraceServiceRequest,
    ) -> Behavior {
        self.record_with(|state, accepted| {
            if accepted {
                let spans = ReceivedSpan::from_request(&request, protocol);
                state.spans.extend(spans);
            }
            state.requests.push(ReceivedRequest {
                protocol,
                headers,
                accepted,
                request,
            });
        })
    }

    /// [`Shared::record`] for a logs request.
    pub(crate) fn record_logs(
        &self,
        protocol: Protocol,
        headers: BTreeMap<String, String>,
        request: ExportLogsServiceRequest,
    ) -> Behavior {
        self.record_with(|state, accepted| {
            if accepted {
                let logs = ReceivedLog::from_request(&request, protocol);
                state.logs.extend(logs);
            }
            state.log_requests.push(ReceivedLogsRequest {
                protocol,
                headers,
                accepted,
                request,
            });
        })
    }

    /// Records a metrics request under the current behavior.
    pub(crate) fn record_metrics(
        &self,
        protocol: Protocol,
        headers: BTreeMap<String, String>,
        request: ExportMetricsServiceRequest,
    ) -> Behavior {
        self.record_with(|state, accepted| {
            state.metrics_requests.push(ReceivedMetricsRequest {
                protocol,
                headers,
                accepted,
                request,
            });
        })
    }

    /// Lets `write` store a request (told whether the current behavior accepts it), wakes
    /// every waiter, and returns the behavior to answer with.
    fn record_with(&self, write: impl FnOnce(&mut State, bool)) -> Behavior {
        let behavior = {
            let mut state = self.lock();
            let behavior = state.behavior;
            write(&mut state, behavior.accepts());
            behavior
        };
        self.changed.notify_all();
        self.notify.notify_waiters();
        behavior
    }

    /// Returns `read(state)` once `ready(state)` holds, or when `timeout` runs out (whatever
    /// is stored then); `Duration::MAX` waits for ever.
    async fn wait_until<T>(
        &self,
        timeout: Duration,
        ready: impl Fn(&State) -> bool,
        read: impl Fn(&State) -> T,
    ) -> T {
        let deadline = tokio::time::Instant::now().checked_add(timeout);
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Register before checking, so a record() between the check and the await still wakes us.
            notified.as_mut().enable();
            {
                let state = self.lock();
                if ready(&state) {
                    return read(&state);
                }
            }
            match deadline {
                Some(deadline) => {
                    if tokio::time::timeout_at(deadline, notified).await.is_err() {
                        return read(&self.lock());
                    }
                }
                None => notified.await,
            }
        }
    }

    /// [`Shared::wait_until`] for threads without an async runtime.
    fn wait_until_blocking<T>(
        &self,
        timeout: Duration,
        ready: impl Fn(&State) -> bool,
        read: impl Fn(&State) -> T,
    ) -> T {
        let state = self.lock();
        let (state, _timed_out) = self
            .changed
            .wait_timeout_while(state, timeout, |state| !ready(state))
            .unwrap_or_else(PoisonError::into_inner);
        read(&state)
    }

    pub(crate) fn metrics_requests(&self) -> Vec<ReceivedMetricsRequest> {
        self.lock().metrics_requests.clone()
    }

    /// Returns once at least `count` accepted metrics requests are stored,
    /// or every request stored when `timeout` runs out.
    pub(crate) async fn wait_for_metrics(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Vec<ReceivedMetricsRequest> {
        self.wait_until(
            timeout,
            |state| state.metrics_requests.iter().filter(|r| r.accepted).count() >= count,
            |state| state.metrics_requests.clone(),
        )
        .await
    }

    pub(crate) fn logs(&self) -> Vec<ReceivedLog> {
        self.lock().logs.clone()
    }

    pub(crate) fn log_requests(&self) -> Vec<ReceivedLogsRequest> {
        self.lock().log_requests.clone()
    }

    /// Returns once at least `count` log records are stored, or whatever is
    /// stored when `timeout` runs out.
    pub(crate) async fn wait_for_logs(&self, count: usize, timeout: Duration) -> Vec<ReceivedLog> {
        self.wait_until(
            timeout,
            |state| state.logs.len() >= count,
            |state| state.logs.clone(),
        )
        .await
    }

    /// [`Shared::wait_for_logs`] for threads without an async runtime.
    pub(crate) fn wait_for_logs_blocking(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Vec<ReceivedLog> {
        self.wait_until_blocking(
            timeout,
            |state| state.logs.len() >= count,
            |state| state.logs.clone(),
        )
    }

    pub(crate) fn spans(&self) -> Vec<ReceivedSpan> {
        self.lock().spans.clone()
    }

    pub(crate) fn requests(&self) -> Vec<ReceivedRequest> {
        self.lock().requests.clone()
    }

    /// Forgets every request and span; the behavior stays.
    pub(crate) fn clear(&self) {
        let mut state = self.lock();
        state.requests.clear();
        state.spans.clear();
        state.log_requests.clear();
        state.logs.clear();
        state.metrics_requests.clear();
    }

    /// Returns once at least `count` spans are stored, or whatever is stored when `timeout` runs out.
    pub(crate) async fn wait_for_spans(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Vec<ReceivedSpan> {
        self.wait_until(
            timeout,
            |state| state.spans.len() >= count,
            |state| state.spans.clone(),
        )
        .await
    }

    /// [`Shared::wait_for_spans`] for threads without an async runtime.
    pub(crate) fn wait_for_spans_blocking(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Vec<ReceivedSpan> {
        self.wait_until_blocking(
            timeout,
            |state| state.spans.len() >= count,
            |state| state.spans.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use std::sync::Arc;
    use std::time::Instant;

    fn request(spans: usize) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span::default(); spans],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        }
    }

    #[test]
    fn error_behavior_records_the_request_but_not_its_spans() {
        let shared = Shared::new(Behavior::Error);
        assert_eq!(
            shared.record(Protocol::Http, BTreeMap::new(), request(2)),
            Behavior::Error
        );
        shared.set_behavior(Behavior::Healthy);
        assert_eq!(
            shared.record(Protocol::Grpc, BTreeMap::new(), request(3)),
            Behavior::Healthy
        );

        let requests = shared.requests();
        assert_eq!(requests.len(), 2);
        assert!(!requests[0].accepted);
        assert!(requests[1].accepted);
        assert_eq!(shared.spans().len(), 3);

        shared.clear();
        assert!(shared.spans().is_empty());
        assert!(shared.requests().is_empty());
        assert_eq!(shared.behavior(), Behavior::Healthy);
    }

    #[test]
    fn blocking_wait_returns_early_when_spans_arrive() {
        let shared = Arc::new(Shared::new(Behavior::Healthy));
        let writer = Arc::clone(&shared);
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            writer.record(Protocol::Http, BTreeMap::new(), request(2));
        });
        let started = Instant::now();
        let spans = shared.wait_for_spans_blocking(2, Duration::from_secs(10));
        assert_eq!(spans.len(), 2);
        assert!(started.elapsed() < Duration::from_secs(5));
        thread.join().unwrap();
    }

    #[test]
    fn blocking_wait_gives_up_at_the_timeout() {
        let shared = Shared::new(Behavior::Healthy);
        shared.record(Protocol::Http, BTreeMap::new(), request(1));
        let started = Instant::now();
        let spans = shared.wait_for_spans_blocking(5, Duration::from_millis(50));
        assert_eq!(spans.len(), 1);
        assert!(started.elapsed() >= Duration::from_millis(50));
    }

    #[tokio::test]
    async fn async_wait_returns_early_and_gives_up_at_the_timeout() {
        let shared = Arc::new(Shared::new(Behavior::Healthy));
        let writer = Arc::clone(&shared);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            writer.record(Protocol::Grpc, BTreeMap::new(), request(1));
        });
        assert_eq!(
            shared
                .wait_for_spans(1, Duration::from_secs(10))
                .await
                .len(),
            1
        );

        let started = Instant::now();
        assert_eq!(
            shared
                .wait_for_spans(3, Duration::from_millis(50))
                .await
                .len(),
            1
        );
        assert!(started.elapsed() >= Duration::from_millis(50));
    }

    #[tokio::test]
    async fn async_wait_without_deadline_still_wakes() {
        let shared = Arc::new(Shared::new(Behavior::Healthy));
        let writer = Arc::clone(&shared);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            writer.record(Protocol::Grpc, BTreeMap::new(), request(1));
        });
        assert_eq!(shared.wait_for_spans(1, Duration::MAX).await.len(), 1);
    }
}
