//! Tests of the JSON log layer: line shape, trace ids, span fields, and
//! direct access lines byte for byte equal to the layer's.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::trace::{Span as _, Tracer, TracerProvider as _};
use tracing_subscriber::layer::SubscriberExt;

use super::*;

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);
impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
impl<'a> MakeWriter<'a> for Buf {
    type Writer = Buf;
    fn make_writer(&'a self) -> Buf {
        self.clone()
    }
}
impl Buf {
    fn lines(&self) -> Vec<serde_json::Value> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

#[test]
fn lines_carry_fields_spans_and_otel_ids() {
    let buf = Buf::default();
    let subscriber = tracing_subscriber::registry().with(JsonLayer::new("svc \"q\"", buf.clone()));
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let tracer = provider.tracer("test");
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(answer = 42, "outside");
        let otel_span = tracer.start("request");
        let expected = otel_span.span_context().clone();
        let cx = opentelemetry::Context::current_with_span(otel_span)
            .with_value(RequestId::from_valid("req-1"));
        let _attached = cx.attach();
        let span = tracing::info_span!("work", customer = "c-1", n = 3_u64);
        let _entered = span.enter();
        tracing::warn!(
            level = "shadow",
            ratio = 0.5,
            ok = true,
            "inside {}",
            "span"
        );
        drop(_entered);
        let lines = buf.lines();
        assert_eq!(lines.len(), 2);
        let outside = &lines[0];
        assert_eq!(outside["message"], "outside");
        assert_eq!(outside["answer"], 42);
        assert_eq!(outside["level"], "INFO");
        assert_eq!(outside["service_name"], "svc \"q\"");
        assert!(outside.get("trace_id").is_none());
        assert!(outside["timestamp"].as_str().unwrap().ends_with('Z'));
        let inside = &lines[1];
        assert_eq!(inside["message"], "inside span");
        assert_eq!(inside["level"], "WARN");
        assert_eq!(inside["field.level"], "shadow");
        assert_eq!(inside["ratio"], 0.5);
        assert_eq!(inside["ok"], true);
        assert_eq!(inside["trace_id"], expected.trace_id().to_string());
        assert_eq!(inside["span_id"], expected.span_id().to_string());
        assert_eq!(inside["request_id"], "req-1");
        assert_eq!(inside["spans"][0]["name"], "work");
        assert_eq!(inside["spans"][0]["customer"], "c-1");
        assert_eq!(inside["spans"][0]["n"], 3);
    });
}

#[test]
fn fields_recorded_after_creation_join_the_span_in_order() {
    let buf = Buf::default();
    let subscriber = tracing_subscriber::registry().with(JsonLayer::new("svc", buf.clone()));
    tracing::subscriber::with_default(subscriber, || {
        // Created without values: nothing stored until a value is recorded.
        let bare = tracing::info_span!("bare");
        let later = tracing::info_span!(
            "later",
            user = tracing::field::Empty,
            n = tracing::field::Empty
        );
        let mixed =
            later.in_scope(|| tracing::info_span!("mixed", a = 1_u64, b = tracing::field::Empty));
        bare.in_scope(|| tracing::info!("in bare"));
        later.in_scope(|| tracing::info!("before record"));
        later.record("user", "u-7");
        later.record("n", 9_u64);
        mixed.record("b", "two");
        mixed.in_scope(|| tracing::info!("after record"));
        let lines = buf.lines();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["spans"], serde_json::json!([{ "name": "bare" }]));
        assert_eq!(lines[1]["spans"], serde_json::json!([{ "name": "later" }]));
        assert_eq!(
            lines[2]["spans"],
            serde_json::json!([
                { "name": "later", "user": "u-7", "n": 9 },
                { "name": "mixed", "a": 1, "b": "two" }
            ])
        );
    });
}

/// The line without its timestamp, which differs between two writes.
fn without_timestamp(line: &str) -> String {
    let start = line.find("\"level\"").expect("a level after the timestamp");
    line[start..].to_owned()
}

#[test]
fn direct_access_lines_equal_the_lines_of_the_event() {
    let (writer, _dropped, _guard, captured) = super::super::LineWriter::in_memory();
    let direct = DirectLines::new("svc \"q\"", writer);
    let buf = Buf::default();
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry().with(JsonLayer::new("svc \"q\"", buf.clone())),
    );
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let otel_span = provider.tracer("test").start("request");
    let cx = opentelemetry::Context::current_with_span(otel_span)
        .with_value(RequestId::from_valid("req-1"));
    let _attached = cx.attach();
    let cases: [(Option<u64>, Option<&str>, u64, &str); 4] = [
        (Some(200), None, 321_788, ""),
        (Some(503), Some("503"), 12_500_000, ""),
        (None, Some("_OTHER"), 1_000_000, " failed"),
        (Some(200), Some("cancelled"), 7_000_400_000, " cancelled"),
    ];
    for (status, error_type, nanos, end) in cases {
        let elapsed = std::time::Duration::from_nanos(nanos);
        let duration_ms = crate::logs::log_millis(elapsed);
        let status_text = status.map(|s| s.to_string()).unwrap_or_default();
        let space = if status.is_some() { " " } else { "" };
        let message = ["GET", " ", "/a \"b\"/{id}", space, &status_text, end];
        let fields = [
            ("http.request.method", Some(Value::Str("GET"))),
            ("http.route", Some(Value::Str("/a \"b\"/{id}"))),
            ("http.response.status_code", status.map(Value::U64)),
            ("error.type", error_type.map(Value::Str)),
            ("duration_ms", Some(Value::Millis(elapsed))),
        ];
        // Written as it is formatted, then from its prepared static part
        // (twice: the second time the part is found), then unkeyed.
        let key = LineKey {
            protocol: "test",
            text: ["GET", "/a \"b\"/{id}"],
            number: status.map_or(0, |s| 1000 + s as u32) + 10_000 * end.len() as u32,
            error_type,
        };
        tracing::dispatcher::with_default(&dispatch, || {
            assert!(direct.write(Level::WARN, Some(key), &message, &fields));
            assert!(direct.write(Level::WARN, Some(key), &message, &fields));
            assert!(direct.write(Level::WARN, None, &message, &fields));
            let joined = message.concat();
            tracing::event!(
                target: "obskit::access",
                Level::WARN,
                http.request.method = "GET",
                http.route = "/a \"b\"/{id}",
                http.response.status_code = status,
                error.type = error_type,
                duration_ms,
                message = joined.as_str()
            );
        });
    }
    let direct_text = captured.text();
    let direct_lines: Vec<&str> = direct_text.lines().collect();
    let event_text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let event_lines: Vec<&str> = event_text.lines().collect();
    assert_eq!(direct_lines.len(), 12);
    assert_eq!(event_lines.len(), 4);
    for (three, e) in direct_lines.chunks(3).zip(&event_lines) {
        for d in three {
            assert_eq!(without_timestamp(d), without_timestamp(e));
        }
        let d = three[0];
        serde_json::from_str::<serde_json::Value>(d).unwrap_or_else(|err| panic!("{err}: {d}"));
    }
    assert!(
        direct_lines[0].contains("\"message\":\"GET /a \\\"b\\\"/{id} 200\""),
        "{}",
        direct_lines[0]
    );
}

#[test]
fn prepared_static_parts_survive_eviction() {
    let (writer, _dropped, _guard, captured) = super::super::LineWriter::in_memory();
    let direct = DirectLines::new("svc", writer);
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry().with(JsonLayer::new("svc", Buf::default())),
    );
    let routes: Vec<String> = (0..PREPARED_PER_THREAD + 6)
        .map(|i| format!("/r{i}"))
        .collect();
    tracing::dispatcher::with_default(&dispatch, || {
        // Every route twice, in two rounds: the first ones are evicted
        // and prepared again.
        for _ in 0..2 {
            for route in &routes {
                let key = LineKey {
                    protocol: "test",
                    text: ["GET", route],
                    number: 200,
                    error_type: None,
                };
                let fields = [
                    ("http.route", Some(Value::Str(route))),
                    ("duration_ms", Some(Value::Millis(Duration::from_micros(5)))),
                ];
                assert!(direct.write(Level::INFO, Some(key), &["GET ", route], &fields));
            }
        }
    });
    let text = captured.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2 * routes.len());
    for (line, route) in lines.iter().zip(routes.iter().chain(&routes)) {
        assert!(
            line.ends_with(&format!(
                "\"message\":\"GET {route}\",\"http.route\":\"{route}\",\"duration_ms\":0.005}}"
            )),
            "{line}"
        );
    }
}

#[test]
fn direct_access_lines_leave_a_current_span_to_tracing_and_honour_the_filter() {
    let (writer, _dropped, _guard, captured) = super::super::LineWriter::in_memory();
    let direct = DirectLines::new("svc", writer);
    let fields = [("k", Some(Value::U64(1)))];
    // No subscriber on this thread: the line is dropped, as the event
    // would be, and the decision is left to a thread that has one.
    assert!(direct.write(Level::ERROR, None, &["m"], &fields));
    assert_eq!(captured.text(), "");
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new(
                "info,obskit::access=warn",
            ))
            .with(JsonLayer::new("svc", Buf::default())),
    );
    tracing::dispatcher::with_default(&dispatch, || {
        assert!(
            direct.write(Level::INFO, None, &["m"], &fields),
            "a filtered level is done with"
        );
        assert_eq!(captured.text(), "");
        let span = tracing::warn_span!("user work");
        let entered = span.enter();
        assert!(
            !direct.write(Level::WARN, None, &["m"], &fields),
            "a current span goes through tracing"
        );
        drop(entered);
        assert_eq!(captured.text(), "");
        assert!(direct.write(Level::ERROR, None, &["m"], &fields));
    });
    assert!(captured.text().contains("\"level\":\"ERROR\""));
}
