//! W3C Trace Context through a real service: what the server layer reads
//! and what obskit's client sends on, over sockets (the official suite in
//! crates/obskit-w3c covers the grammar in full; this runs without Python).

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use obskit::http::HttpLayer;
use obskit_test_receiver::Receiver;
use support::{config, harness};

type Seen = Arc<Mutex<Vec<http::HeaderMap>>>;

/// An upstream that records the headers of each call.
async fn upstream() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    let app = Router::new().route(
        "/",
        get(move |headers: http::HeaderMap| {
            let record = Arc::clone(&record);
            async move {
                record.lock().unwrap().push(headers);
                "ok"
            }
        }),
    );
    (support::server::spawn(app).await, seen)
}

const TID: &str = "12345678901234567890123456789012";
const SID: &str = "1234567890123456";

#[tokio::test]
async fn incoming_context_is_carried_to_outgoing_calls() {
    let rx = Receiver::start().await.unwrap();
    let h = harness(config(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY", "10"),
    ]));
    let (upstream, seen) = upstream().await;
    let client = obskit::http::HttpClientMiddleware::new(&h.telemetry).wrap(reqwest::Client::new());
    let app = Router::new()
        .route(
            "/relay",
            get(move || {
                let client = client.clone();
                let upstream = upstream.clone();
                async move {
                    client.get(&upstream).send().await.unwrap();
                    "relayed"
                }
            }),
        )
        .layer(HttpLayer::new(&h.telemetry));
    let base = support::server::spawn(app).await;
    let plain = reqwest::Client::new();
    let relay = |headers: &[(&str, &str)]| {
        let mut req = plain.get(format!("{base}/relay"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send()
    };

    // 1. Unsampled with the random flag, two tracestate headers, one empty.
    let tp = format!("00-{TID}-{SID}-02");
    relay(&[
        ("traceparent", &tp),
        ("tracestate", "foo=1,foo@@bar=2"),
        ("tracestate", ""),
        ("TraceState", "rojo=00f067aa0ba902b7"),
    ])
    .await
    .unwrap();
    // 2. No context at all: a new trace, random flag set, no tracestate.
    relay(&[]).await.unwrap();
    // 3. Two traceparents: restarted.
    relay(&[
        ("traceparent", &format!("00-{TID}-{SID}-01")),
        ("traceparent", &format!("00-{TID}-{SID}-01")),
    ])
    .await
    .unwrap();
    // 4. Sampled, with a tracestate of 33 members: continued, tracestate dropped.
    let many: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
    relay(&[
        ("traceparent", &format!("00-{TID}-{SID}-01")),
        ("tracestate", &many.join(",")),
    ])
    .await
    .unwrap();

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4);
    let traceparent = |h: &http::HeaderMap| {
        assert_eq!(h.get_all("traceparent").iter().count(), 1);
        h["traceparent"].to_str().unwrap().to_owned()
    };

    let first = traceparent(&seen[0]);
    assert!(first.starts_with(&format!("00-{TID}-")), "{first}");
    assert!(first.ends_with("-02"), "random kept, unsampled: {first}");
    assert_eq!(seen[0].get_all("tracestate").iter().count(), 1);
    assert_eq!(
        seen[0]["tracestate"],
        "foo=1,foo@@bar=2,rojo=00f067aa0ba902b7"
    );

    let second = traceparent(&seen[1]);
    assert!(!second.contains(TID));
    assert!(second.ends_with("-03"), "sampled and random: {second}");
    assert!(seen[1].get("tracestate").is_none(), "no empty tracestate");

    assert!(
        !traceparent(&seen[2]).contains(TID),
        "two traceparents restart"
    );

    let fourth = traceparent(&seen[3]);
    assert!(fourth.starts_with(&format!("00-{TID}-")) && fourth.ends_with("-01"));
    assert!(
        seen[3].get("tracestate").is_none(),
        "33 members discard the list"
    );

    let report = h.telemetry.shutdown().await;
    // Requests 2, 3 and 4 were sampled (server and client span each); the
    // first was not (flags 02), so nothing of it is exported.
    assert_eq!(report.spans_exported, 6, "{report:?}");
    let spans = rx.wait_for_spans(6, Duration::from_secs(5)).await;
    let continued: Vec<_> = spans.iter().filter(|s| s.trace_id == TID).collect();
    assert_eq!(continued.len(), 2, "request 4 only: {spans:#?}");
    let server = continued
        .iter()
        .find(|s| s.parent_span_id.as_deref() == Some(SID))
        .expect("the server span's parent is the incoming one");
    assert!(
        continued
            .iter()
            .any(|s| s.parent_span_id.as_deref() == Some(server.span_id.as_str())),
        "the client span is the server span's child"
    );
    // The exported server span carries the tracestate it received: none here.
    assert_eq!(server.raw.trace_state, "");
}
