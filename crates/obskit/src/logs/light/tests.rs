//! Light spans against the registry: the same code logs the same lines and
//! exports the same spans whether spans under an unsampled parent are
//! light or registry spans, and light spans leave nothing behind.

use std::sync::Arc;

use opentelemetry::Context;
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber as _;
use tracing::field::Empty;
use tracing_subscriber::Layer as _;

use super::{LightSpans, is_light, is_open};
use crate::SpanExt as _;
use crate::config::Sampler;
use crate::logs::json::JsonLayer;
use crate::logs::{CapturedLines, LineWriter, WriterGuard};
use crate::telemetry::ObskitSubscriber;
use crate::traces::bridge::SpanBridge;
use crate::traces::bridge::tests::Finished;
use crate::traces::{OwnSpans, Sampling, remote_parent, sdk_sampler};

/// The trace id of [`remote_parent`].
const UPSTREAM_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// obskit's subscriber (JSON lines, the bridge, a parent-based sampler),
/// keeping light spans or not.
struct Harness {
    dispatch: tracing::Dispatch,
    light: Option<Arc<LightSpans>>,
    lines: CapturedLines,
    finished: Finished,
    _provider: SdkTracerProvider,
    _guard: WriterGuard,
}

fn harness(light: bool) -> Harness {
    harness_with(light, Sampler::ParentBasedAlwaysOn)
}

/// [`harness`] with `sampler`.
fn harness_with(light: bool, sampler: Sampler) -> Harness {
    let finished = Finished::default();
    let provider = SdkTracerProvider::builder()
        .with_sampler(sdk_sampler(sampler))
        .with_span_processor(finished.clone())
        .build();
    let follows_parent = Sampling::new(sampler).follows_parent();
    let light = light.then(|| Arc::new(LightSpans::new(true, follows_parent)));
    let (writer, _, guard, lines) = LineWriter::in_memory();
    let mut bridge = SpanBridge::new(
        provider.tracer("obskit"),
        Sampling::new(sampler).follows_parent(),
    );
    if light.is_some() {
        // Light spans known to be sampled are obskit's own spans, captured
        // with the SDK's: the comparison with registry spans holds them to
        // the SDK's.
        let own = OwnSpans::capture(finished.0.clone(), Arc::default());
        bridge = bridge.with_own(Arc::new(own), Sampling::new(sampler));
    }
    let bridge = bridge.with_light(light.clone());
    let layer = JsonLayer::new("svc", writer)
        .with_light(light.clone())
        .and_then(bridge)
        .boxed();
    let dispatch = crate::telemetry::dispatch(layer, light.clone());
    Harness {
        dispatch,
        light,
        lines,
        finished,
        _provider: provider,
        _guard: guard,
    }
}

impl Harness {
    /// The lines so far, without their timestamps.
    fn lines(&self) -> Vec<serde_json::Value> {
        self.lines
            .text()
            .lines()
            .map(|line| {
                let mut value: serde_json::Value =
                    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
                let object = value.as_object_mut().unwrap();
                object.remove("timestamp");
                // A trace started on purpose has ids of its own each run.
                if object
                    .get("trace_id")
                    .is_some_and(|id| id != UPSTREAM_TRACE)
                {
                    object.insert("trace_id".into(), "new".into());
                    object.insert("span_id".into(), "new".into());
                }
                value
            })
            .collect()
    }

    /// Names, parents' names and attributes of the exported spans.
    fn exported(&self) -> Vec<(String, Option<String>, Vec<String>)> {
        let finished = self.finished.0.lock();
        let name_of = |id| {
            finished
                .iter()
                .find(|s| s.span_context.span_id() == id)
                .map(|s| s.name.to_string())
        };
        let mut exported: Vec<_> = finished
            .iter()
            .map(|s| {
                let mut attributes: Vec<_> = s
                    .attributes
                    .iter()
                    .filter(|kv| !kv.key.as_str().starts_with("code."))
                    .map(|kv| format!("{}={}", kv.key, kv.value))
                    .collect();
                attributes.sort();
                (s.name.to_string(), name_of(s.parent_span_id), attributes)
            })
            .collect();
        exported.sort();
        exported
    }

    fn subscriber(&self) -> &ObskitSubscriber {
        self.dispatch
            .downcast_ref::<ObskitSubscriber>()
            .expect("obskit's subscriber")
    }
}

#[tracing::instrument(fields(late = Empty))]
fn load(id: u64) -> u64 {
    tracing::info!("loading");
    let total = sum(id, "x");
    tracing::Span::current().record("late", 3_u64);
    tracing::warn!(total, "slow");
    total
}

#[tracing::instrument]
fn sum(a: u64, b: &str) -> u64 {
    tracing::info!(b, "summing");
    a + 1
}

/// A request's work that is not sampled, and what may happen in it: nested
/// and explicit spans, fields recorded late, a span moved to another
/// thread, a sampled root started on purpose and a span under it.
fn unsampled_work(dispatch: &tracing::Dispatch) {
    let _request = remote_parent(false).attach();
    tracing::info!("before");
    assert_eq!(load(7), 8);

    let work = tracing::info_span!("work", late = Empty, n = 1_u64);
    work.record("late", "yes");
    let child = tracing::info_span!(parent: &work, "explicit_child", k = "v");
    tracing::info!(parent: &child, "to the child");
    drop(child);
    work.in_scope(|| {
        tracing::info!("in work");
        let root = tracing::info_span!(parent: None, "fresh_root", m = 2_u64);
        root.in_scope(|| {
            tracing::info!("in the fresh root");
            let _unsampled = remote_parent(false).attach();
            tracing::info_span!("under_root").in_scope(|| tracing::info!("under a registry span"));
        });
    });

    let moved = tracing::info_span!("moved", k = "w");
    std::thread::scope(|scope| {
        scope.spawn(|| {
            tracing::dispatcher::with_default(dispatch, || {
                tracing::info!("no span here");
                moved.in_scope(|| {
                    let cx = Context::current();
                    assert!(!cx.span().span_context().is_sampled());
                    assert!(cx.span().span_context().is_valid());
                    tracing::info!("moved away");
                });
            });
        });
    });
    drop((moved, work));
    tracing::info!("after");
}

/// Runs `run` with registry spans, then with light spans, checks both give
/// the same (lines and exported spans), and returns it.
fn the_same_light_or_not<T: PartialEq + std::fmt::Debug>(run: impl Fn(bool) -> T) -> T {
    let registry = run(false);
    let light = run(true);
    assert_eq!(
        light, registry,
        "light spans (left) differ from registry spans"
    );
    registry
}

#[test]
fn light_spans_log_and_export_as_registry_spans_do() {
    let run = |light: bool| {
        let harness = harness(light);
        tracing::dispatcher::with_default(&harness.dispatch, || {
            unsampled_work(&harness.dispatch);
        });
        (harness.lines(), harness.exported())
    };
    let (registry_lines, registry_spans) = the_same_light_or_not(run);
    // The comparison is about something: spans listed with their fields,
    // the trace's ids, and the sampled root exported.
    let in_sum = registry_lines
        .iter()
        .find(|l| l["message"] == "summing")
        .expect("logged");
    assert_eq!(
        in_sum["spans"],
        serde_json::json!([{"name": "load", "id": 7}, {"name": "sum", "a": 7, "b": "x"}])
    );
    assert_eq!(in_sum["trace_id"], UPSTREAM_TRACE);
    let slow = registry_lines
        .iter()
        .find(|l| l["message"] == "slow")
        .expect("logged");
    assert_eq!(
        slow["spans"],
        serde_json::json!([{"name": "load", "id": 7, "late": 3}])
    );
    let child = registry_lines
        .iter()
        .find(|l| l["message"] == "to the child")
        .expect("logged");
    assert_eq!(
        child["spans"],
        serde_json::json!([{"name": "work", "n": 1, "late": "yes"}, {"name": "explicit_child", "k": "v"}])
    );
    let under = registry_lines
        .iter()
        .find(|l| l["message"] == "under a registry span")
        .expect("logged");
    assert_eq!(
        under["spans"],
        serde_json::json!([{"name": "fresh_root", "m": 2}, {"name": "under_root"}])
    );
    let moved = registry_lines
        .iter()
        .find(|l| l["message"] == "moved away")
        .expect("logged");
    assert_eq!(moved["trace_id"], UPSTREAM_TRACE);
    assert_eq!(
        moved["spans"],
        serde_json::json!([{"name": "moved", "k": "w"}])
    );
    assert_eq!(
        registry_spans,
        [("fresh_root".to_owned(), None, vec!["m=2".to_owned()])]
    );
}

#[tracing::instrument(err)]
fn failing(id: u64) -> Result<(), std::io::Error> {
    Err(std::io::Error::other(format!("no row {id}")))
}

/// A sampled request's work: the same kinds of spans, with warnings and
/// errors (span events), `otel.*` fields, links, `SpanExt` calls and a
/// span started in a trace of its own.
fn sampled_work(dispatch: &tracing::Dispatch) {
    let _request = remote_parent(true).attach();
    tracing::info!("before");
    assert_eq!(load(7), 8);
    assert!(failing(3).is_err());

    let work = tracing::info_span!("work", late = Empty, n = 1_u64, otel.kind = "client");
    work.record("late", "yes");
    work.set_attribute("extra", "x");
    let child = tracing::info_span!(parent: &work, "explicit_child", k = "v");
    tracing::info!(parent: &child, "to the child");
    tracing::warn!(parent: &child, "warned the child");
    drop(child);
    let batch = tracing::info_span!("batch");
    batch.follows_from(&work);
    batch.in_scope(|| tracing::error!(code = 7, "broken"));
    drop(batch);
    work.in_scope(|| {
        tracing::info!("in work");
        tracing::info_span!("plain", otel.name = "renamed", otel.status_code = "ok")
            .in_scope(|| tracing::info!("in renamed"));
        let linked = tracing::info_span!("linked");
        linked.add_link(remote_parent(true).span().span_context().clone());
        linked.set_status(opentelemetry::trace::Status::error("set"));
        drop(linked);
    });

    let moved = tracing::info_span!("moved", k = "w");
    std::thread::scope(|scope| {
        scope.spawn(|| {
            tracing::dispatcher::with_default(dispatch, || {
                moved.in_scope(|| {
                    tracing::info!("moved away");
                    tracing::warn!("warned away");
                });
            });
        });
    });
    drop((moved, work));
    drop(tracing::info_span!("never_entered", n = 2_u64));
    let own = tracing::info_span!("own_trace");
    own.set_parent(Context::new()).expect("not started");
    own.in_scope(|| tracing::info!("in its own trace"));
    drop(own);
    tracing::info!("after");
}

impl Harness {
    /// The lines so far, without timestamps, each span id replaced by the
    /// name of the exported span it is.
    fn named_lines(&self) -> Vec<serde_json::Value> {
        let names: Vec<(String, String)> = self
            .finished
            .0
            .lock()
            .iter()
            .map(|s| (s.span_context.span_id().to_string(), s.name.to_string()))
            .collect();
        let mut lines = self.lines();
        for line in &mut lines {
            let Some(id) = line.get("span_id").and_then(|id| id.as_str()) else {
                continue;
            };
            if let Some((_, name)) = names.iter().find(|(span_id, _)| span_id == id) {
                line["span_id"] = name.clone().into();
            }
        }
        lines
    }

    /// Everything exported but ids and times: name, parent's name, kind,
    /// status, attributes, events and links (by parent's name or trace).
    fn exported_in_full(&self) -> Vec<String> {
        let finished = self.finished.0.lock();
        let name_of = |id| {
            finished
                .iter()
                .find(|s| s.span_context.span_id() == id)
                .map(|s| s.name.to_string())
        };
        let not_code = |kv: &&opentelemetry::KeyValue| !kv.key.as_str().starts_with("code.");
        let mut exported: Vec<_> = finished
            .iter()
            .map(|s| {
                let mut attributes: Vec<_> = s
                    .attributes
                    .iter()
                    .filter(not_code)
                    .map(|kv| format!("{}={}", kv.key, kv.value))
                    .collect();
                attributes.sort();
                let events: Vec<_> = s
                    .events
                    .iter()
                    .map(|e| {
                        let attributes: Vec<_> = e
                            .attributes
                            .iter()
                            .filter(not_code)
                            .map(|kv| format!("{}={}", kv.key, kv.value))
                            .collect();
                        format!("{}{attributes:?}", e.name)
                    })
                    .collect();
                let links: Vec<_> = s
                    .links
                    .iter()
                    .map(|l| {
                        name_of(l.span_context.span_id())
                            .unwrap_or_else(|| l.span_context.trace_id().to_string())
                    })
                    .collect();
                format!(
                    "{} parent={:?} kind={:?} status={:?} sampled={} {attributes:?} events={events:?} links={links:?}",
                    s.name,
                    name_of(s.parent_span_id),
                    s.span_kind,
                    s.status,
                    s.span_context.is_sampled(),
                )
            })
            .collect();
        exported.sort();
        exported
    }
}

#[test]
fn sampled_light_spans_log_and_export_as_registry_spans_do() {
    let run = |light: bool| {
        let harness = harness(light);
        tracing::dispatcher::with_default(&harness.dispatch, || {
            sampled_work(&harness.dispatch);
            let _request = remote_parent(true).attach();
            let span = tracing::info_span!("probe");
            assert_eq!(is_light(&span.id().expect("enabled")), light);
        });
        (harness.named_lines(), harness.exported_in_full())
    };
    let (registry_lines, registry_spans) = the_same_light_or_not(run);
    // The comparison is about something.
    let slow = registry_lines
        .iter()
        .find(|l| l["message"] == "slow")
        .expect("logged");
    assert_eq!(slow["span_id"], "load");
    assert_eq!(
        slow["spans"],
        serde_json::json!([{"name": "load", "id": 7, "late": 3}])
    );
    let spans = registry_spans.join("\n");
    for expected in [
        "load parent=None kind=Internal status=Unset sampled=true [\"id=7\", \"late=3\"] events=[\"slow[",
        "sum parent=Some(\"load\")",
        "fail",
        "renamed parent=Some(\"work\") kind=Internal status=Ok",
        "batch parent=None kind=Internal status=Error",
        "links=[\"work\"]",
        "work parent=None kind=Client",
        "\"extra=x\"",
        "explicit_child parent=Some(\"work\")",
        "moved parent=None kind=Internal status=Unset sampled=true [\"k=w\"] events=[\"warned away[",
        "never_entered",
        "own_trace parent=None",
    ] {
        assert!(spans.contains(expected), "{expected} in {spans}");
    }
}

#[test]
fn a_sampler_that_ignores_the_parent_decides_for_light_spans_too() {
    for sampler in [Sampler::AlwaysOn, Sampler::AlwaysOff] {
        let harness = harness_with(true, sampler);
        tracing::dispatcher::with_default(&harness.dispatch, || {
            let _unsampled = remote_parent(false).attach();
            let span = tracing::info_span!("under_unsampled");
            assert!(is_light(&span.id().expect("enabled")));
            span.in_scope(|| {
                let sc = Context::current().span().span_context().clone();
                assert_eq!(sc.is_sampled(), sampler == Sampler::AlwaysOn);
            });
        });
        let names: Vec<_> = harness.exported().into_iter().map(|s| s.0).collect();
        let expected: &[&str] = if sampler == Sampler::AlwaysOn {
            &["under_unsampled"]
        } else {
            &[]
        };
        assert_eq!(names, expected, "{sampler:?}");
    }
}

#[test]
fn only_spans_under_an_unsampled_parent_are_light_and_none_is_left_behind() {
    let harness = harness(true);
    assert!(harness.light.is_some(), "keeps light spans");
    let mut ids = Vec::new();
    tracing::dispatcher::with_default(&harness.dispatch, || {
        let sampled = tracing::info_span!("sampled");
        assert!(!is_light(&sampled.id().expect("enabled")));
        let _request = remote_parent(false).attach();
        let parent = tracing::info_span!("parent", n = 1_u64);
        let parent_id = parent.id().expect("enabled");
        assert!(is_light(&parent_id));
        let child = parent.in_scope(|| {
            assert_eq!(tracing::Span::current().id(), Some(parent_id.clone()));
            tracing::info_span!("child")
        });
        let child_id = child.id().expect("enabled");
        assert!(is_light(&child_id));
        // The parent outlives its handle while its child lives.
        drop(parent);
        assert!(is_open(&parent_id));
        ids.extend([parent_id, child_id]);
        drop(child);
        assert!(tracing::Span::current().is_none());
        assert!(harness.subscriber().current_span().id().is_none());
    });
    for id in &ids {
        assert!(!is_open(id), "closed and freed");
    }
    assert_eq!(
        harness.exported(),
        [("sampled".to_owned(), None, Vec::new())]
    );
}

#[test]
fn set_parent_makes_a_light_span_a_sampled_registry_span() {
    let harness = harness(true);
    let producer = remote_parent(true);
    let parent = producer.span().span_context().clone();
    tracing::dispatcher::with_default(&harness.dispatch, || {
        let _unsampled = remote_parent(false).attach();
        let span = tracing::info_span!("consume", queue = "orders", size = Empty);
        assert!(is_light(&span.id().expect("enabled")));
        assert_eq!(
            span.context().span().span_context().trace_id(),
            remote_parent(false).span().span_context().trace_id()
        );
        span.set_parent(producer.clone()).expect("not started yet");
        span.set_attribute("messaging.system", "kafka");
        span.record("size", 3_u64);
        span.in_scope(|| tracing::info!("consumed"));
        assert_eq!(
            span.set_parent(Context::new()),
            Err(crate::SetParentError::AlreadyStarted)
        );
    });
    let consumed = harness.lines().pop().expect("logged");
    assert_eq!(
        consumed["spans"],
        serde_json::json!([{"name": "consume", "queue": "orders", "size": 3}])
    );
    let finished = harness.finished.0.lock();
    let span = finished
        .iter()
        .find(|s| s.name == "consume")
        .expect("exported");
    assert_eq!(span.span_context.trace_id(), parent.trace_id());
    assert_eq!(span.parent_span_id, parent.span_id());
    assert_eq!(consumed["span_id"], span.span_context.span_id().to_string());
    let attributes: Vec<_> = span
        .attributes
        .iter()
        .filter(|kv| !kv.key.as_str().starts_with("code."))
        .map(|kv| format!("{}={}", kv.key, kv.value))
        .collect();
    assert_eq!(attributes, ["messaging.system=kafka", "size=3"]);
}

#[test]
fn no_registry_span_is_taken_for_a_light_one_on_any_thread() {
    // The registry puts a span's thread number into its id; thread numbers
    // are reused only once a thread has ended. Holding this many threads at
    // once takes the numbers past 2 048, which set bit 49 of an id.
    const THREADS: usize = 2_100;
    let registry = Arc::new(tracing_subscriber::registry());
    let barrier = Arc::new(std::sync::Barrier::new(THREADS + 1));
    let (ids, received) = std::sync::mpsc::channel();
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (registry, barrier, ids) = (registry.clone(), barrier.clone(), ids.clone());
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    let dispatch = tracing::Dispatch::from(registry);
                    let span = tracing::dispatcher::with_default(&dispatch, || {
                        tracing::info_span!("registry")
                    });
                    ids.send(span.id().expect("enabled")).unwrap();
                    barrier.wait();
                })
                .unwrap()
        })
        .collect();
    let ids: Vec<_> = (0..THREADS).map(|_| received.recv().unwrap()).collect();
    barrier.wait();
    for thread in threads {
        thread.join().unwrap();
    }
    assert!(
        ids.iter().any(|id| id.into_u64() & (1 << 49) != 0),
        "the threads reached past 2 048"
    );
    assert!(ids.iter().all(|id| !is_light(id)));
}
