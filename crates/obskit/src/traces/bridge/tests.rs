//! The bridge against a real SDK provider: what each kind of `tracing`
//! span becomes, sampled and not.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _, TracerProvider as _};
use opentelemetry::{Context, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanProcessor};
use parking_lot::Mutex;
use tracing_subscriber::layer::SubscriberExt as _;

use super::SpanBridge;
use crate::SpanExt as _;
use crate::config::Sampler;
use crate::traces::{Sampling, remote_parent, sdk_sampler};

/// A span processor that keeps every ended span (the light-span and
/// own-span tests use it too).
#[derive(Debug, Clone, Default)]
pub(crate) struct Finished(pub(crate) Arc<Mutex<Vec<SpanData>>>);

impl SpanProcessor for Finished {
    fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &Context) {}
    fn on_end(&self, span: SpanData) {
        self.0.lock().push(span);
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }
}

impl Finished {
    fn named(&self, name: &str) -> Option<SpanData> {
        self.0.lock().iter().find(|s| s.name == name).cloned()
    }
    fn names(&self) -> Vec<String> {
        self.0.lock().iter().map(|s| s.name.to_string()).collect()
    }
}

/// A subscriber with only the bridge, over a provider with `sampler`.
fn bridged(sampler: Sampler) -> (tracing::Dispatch, Finished, SdkTracerProvider) {
    let finished = Finished::default();
    let provider = SdkTracerProvider::builder()
        .with_sampler(sdk_sampler(sampler))
        .with_span_processor(finished.clone())
        .build();
    let bridge = SpanBridge::new(
        provider.tracer("obskit"),
        Sampling::new(sampler).follows_parent(),
    );
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(bridge));
    (dispatch, finished, provider)
}

fn attribute(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

#[tracing::instrument(fields(otel.kind = "client", peer = "db"))]
fn load(id: u64, name: &str) -> u64 {
    tracing::info!("not a span event");
    tracing::warn!(retries = 2, "slow answer");
    id
}

#[tracing::instrument(err)]
fn fail(id: u64) -> Result<(), std::io::Error> {
    Err(std::io::Error::other(format!("no row {id}")))
}

#[test]
fn a_sampled_span_is_a_child_with_fields_location_and_warnings() {
    let (dispatch, finished, _provider) = bridged(Sampler::ParentBasedAlwaysOn);
    let upstream = remote_parent(true);
    tracing::dispatcher::with_default(&dispatch, || {
        let _request = upstream.clone().attach();
        assert_eq!(load(7, "ada"), 7);
    });
    let span = finished.named("load").expect("exported");
    let parent = upstream.span().span_context().clone();
    assert_eq!(span.span_context.trace_id(), parent.trace_id());
    assert_eq!(span.parent_span_id, parent.span_id());
    assert!(span.span_context.is_sampled());
    assert_eq!(span.span_kind, SpanKind::Client, "otel.kind");
    assert_eq!(attribute(&span, "id"), Some(Value::I64(7)));
    assert_eq!(attribute(&span, "name"), Some(Value::from("ada")));
    assert_eq!(attribute(&span, "peer"), Some(Value::from("db")));
    assert!(attribute(&span, "code.file.path").is_some());
    assert!(attribute(&span, "code.line.number").is_some());
    let events: Vec<_> = span.events.iter().map(|e| e.name.to_string()).collect();
    assert_eq!(events, ["slow answer"], "warnings only, not info");
    assert_eq!(span.status, Status::Unset);
}

#[test]
fn an_error_fails_the_span_with_an_exception_event() {
    let (dispatch, finished, _provider) = bridged(Sampler::AlwaysOn);
    tracing::dispatcher::with_default(&dispatch, || {
        let _ = fail(3);
        let span = tracing::info_span!("plain", otel.name = "renamed");
        span.in_scope(|| tracing::error!(code = 7, "broken"));
        drop(tracing::info_span!("fine", otel.status_code = "ok").entered());
    });
    let failed = finished.named("fail").expect("exported");
    assert!(
        matches!(&failed.status, Status::Error { description } if description.contains("no row 3"))
    );
    let exception = failed
        .events
        .iter()
        .find(|e| e.name == "exception")
        .expect("an exception event");
    assert!(
        exception
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "exception.message")
    );

    let renamed = finished
        .named("renamed")
        .expect("otel.name renames the span");
    assert!(
        matches!(renamed.status, Status::Error { .. }),
        "an error event fails the span"
    );
    assert_eq!(
        renamed.events.iter().next().map(|e| e.name.to_string()),
        Some("broken".into())
    );
    assert_eq!(finished.named("fine").expect("exported").status, Status::Ok);
}

#[test]
fn recorded_fields_links_and_unentered_spans_are_kept() {
    let (dispatch, finished, _provider) = bridged(Sampler::AlwaysOn);
    tracing::dispatcher::with_default(&dispatch, || {
        let batch = tracing::info_span!("batch", size = tracing::field::Empty);
        let message = tracing::info_span!("message");
        batch.follows_from(&message);
        batch.record("size", 3_u64);
        batch.in_scope(|| {});
        drop((batch, message));
        drop(tracing::info_span!("never_entered"));
        let parent = tracing::info_span!("explicit_parent");
        let child = tracing::info_span!(parent: &parent, "explicit_child");
        drop((child, parent));
    });
    let batch = finished.named("batch").expect("exported");
    assert_eq!(attribute(&batch, "size"), Some(Value::I64(3)));
    let message = finished.named("message").expect("exported");
    assert_eq!(batch.links.links.len(), 1);
    assert_eq!(batch.links.links[0].span_context, message.span_context);
    assert!(finished.named("never_entered").is_some());
    let parent = finished.named("explicit_parent").expect("exported");
    let child = finished.named("explicit_child").expect("exported");
    assert_eq!(child.parent_span_id, parent.span_context.span_id());
}

#[test]
fn a_span_ends_when_last_exited_not_when_dropped() {
    let (dispatch, finished, _provider) = bridged(Sampler::AlwaysOn);
    let mut exited = None;
    tracing::dispatcher::with_default(&dispatch, || {
        let span = tracing::info_span!("work");
        span.in_scope(|| {});
        exited = Some(std::time::SystemTime::now());
        std::thread::sleep(Duration::from_millis(2));
        drop(span);
    });
    let span = finished.named("work").expect("exported");
    assert!(
        span.end_time <= exited.expect("set"),
        "ended at its last exit"
    );
    assert!(span.start_time <= span.end_time);
}

#[test]
fn a_span_under_an_unsampled_parent_records_nothing_and_keeps_the_trace() {
    let (dispatch, finished, _provider) = bridged(Sampler::ParentBasedAlwaysOn);
    let upstream = remote_parent(false);
    let parent = upstream.span().span_context().clone();
    tracing::dispatcher::with_default(&dispatch, || {
        let _request = upstream.clone().attach();
        let span = tracing::info_span!("quiet", id = 1);
        span.in_scope(|| {
            // What log lines and outgoing calls inside the span see.
            let current = Context::current();
            let sc = current.span().span_context().clone();
            assert_eq!(sc.trace_id(), parent.trace_id());
            assert!(!sc.is_sampled());
            let inner = tracing::info_span!("quieter");
            inner.in_scope(|| tracing::error!("recorded nowhere but the logs"));
        });
        assert_eq!(
            span.context().span().span_context().trace_id(),
            parent.trace_id()
        );
        // A new trace started on purpose is sampled, whatever is current.
        drop(tracing::info_span!(parent: None, "fresh_root").entered());
    });
    assert_eq!(finished.names(), ["fresh_root"]);
}

#[test]
fn an_unsampled_span_entered_away_from_its_parent_brings_its_trace() {
    let (dispatch, finished, _provider) = bridged(Sampler::ParentBasedAlwaysOn);
    let upstream = remote_parent(false);
    let parent = upstream.span().span_context().clone();
    let span = tracing::dispatcher::with_default(&dispatch, || {
        let _request = upstream.clone().attach();
        tracing::info_span!("moved")
    });
    // Entered on another thread, where no context is current (a future
    // polled by another task), then again under another trace.
    std::thread::scope(|scope| {
        scope.spawn(|| {
            tracing::dispatcher::with_default(&dispatch, || {
                let seen = || Context::current().span().span_context().clone();
                assert!(!seen().is_valid());
                span.in_scope(|| assert_eq!(seen(), parent));
                assert!(!seen().is_valid(), "exiting detaches it");
                // The same ids, sampled: not the span's context.
                let _other = remote_parent(true).attach();
                let other = seen();
                assert!(other.is_sampled());
                span.in_scope(|| assert_eq!(seen(), parent));
                assert_eq!(seen(), other);
            });
        });
    });
    drop(span);
    assert!(finished.names().is_empty());
}

#[test]
fn set_parent_gives_a_span_a_remote_parent_before_it_starts() {
    let (dispatch, finished, _provider) = bridged(Sampler::ParentBasedAlwaysOn);
    let producer = remote_parent(true);
    let parent = producer.span().span_context().clone();
    tracing::dispatcher::with_default(&dispatch, || {
        // Created inside an unsampled trace, then given a sampled parent.
        let _unsampled = remote_parent(false).attach();
        let span = tracing::info_span!("consume");
        span.set_parent(producer.clone()).expect("not started yet");
        span.set_attribute("messaging.system", "kafka");
        span.in_scope(|| {});
        assert_eq!(
            span.set_parent(Context::new()),
            Err(crate::SetParentError::AlreadyStarted)
        );
        span.set_status(Status::error("poison message"));
    });
    let span = finished
        .named("consume")
        .expect("exported under its new parent");
    assert_eq!(span.span_context.trace_id(), parent.trace_id());
    assert_eq!(span.parent_span_id, parent.span_id());
    assert_eq!(
        attribute(&span, "messaging.system"),
        Some(Value::from("kafka"))
    );
    assert!(matches!(span.status, Status::Error { .. }));
}

#[test]
fn span_ext_without_the_bridge_says_so() {
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry());
    tracing::dispatcher::with_default(&dispatch, || {
        let span = tracing::info_span!("alone");
        assert_eq!(
            span.set_parent(Context::new()),
            Err(crate::SetParentError::NoBridge)
        );
        assert!(!span.context().has_active_span());
    });
}

#[test]
fn an_always_on_sampler_still_samples_under_an_unsampled_remote_parent() {
    // `always_on` ignores the parent's decision, so the bridge must ask it.
    let (dispatch, finished, _provider) = bridged(Sampler::AlwaysOn);
    tracing::dispatcher::with_default(&dispatch, || {
        let _request = remote_parent(false).attach();
        drop(tracing::info_span!("sampled_anyway").entered());
    });
    assert_eq!(finished.names(), ["sampled_anyway"]);
}
