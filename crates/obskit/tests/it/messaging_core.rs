//! The broker-neutral messaging core through its public API, over a plain
//! header map: trace continuation and links, strict header rules, batches,
//! exact counts per settlement, message age from a known clock, SLOs and
//! bounded destination labels.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use obskit::messaging::{CREATED_AT_HEADER, DeliveryInfo, Destination, Messaging, Settlement};
use obskit::opentelemetry::propagation::Extractor;
use obskit::opentelemetry::trace::SpanKind;
use obskit::slo::Slo;
use obskit::testing::TestTelemetry;

type Headers = HashMap<String, String>;

/// The value of the one series of `name` whose labels include all of `labels`.
fn value(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        if !rest.starts_with('{') {
            continue;
        }
        let (series, v) = rest.rsplit_once(' ')?;
        if labels.iter().all(|l| series.contains(l)) {
            assert!(
                found.is_none(),
                "{name} {labels:?} matches two series:\n{text}"
            );
            found = Some(v.parse().unwrap());
        }
    }
    found
}

fn series_count(text: &str, name: &str) -> usize {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with('{'))
        .count()
}

#[test]
fn one_message_continues_the_producers_trace_and_links_to_it() {
    let telemetry = TestTelemetry::new();
    let messaging = Messaging::new(&telemetry, "rabbitmq");
    let orders = Destination::new("orders");
    let mut headers = Headers::new();
    let send = messaging.publish(&orders, &mut headers);
    send.set_message_id("m-1");
    send.succeeded();
    assert!(headers["traceparent"].starts_with("00-"));
    assert!(
        headers[CREATED_AT_HEADER]
            .bytes()
            .all(|b| b.is_ascii_digit())
    );

    let processing = messaging.process(
        &orders,
        &headers,
        &DeliveryInfo::default().message_id("m-1"),
    );
    assert!(processing.age().is_some());
    processing.ack();

    let send = telemetry.span("send orders").expect("a send span");
    let process = telemetry.span("process orders").expect("a process span");
    assert_eq!(send.kind(), SpanKind::Producer);
    assert_eq!(process.kind(), SpanKind::Consumer);
    assert_eq!(process.trace_id(), send.trace_id());
    assert_eq!(process.parent_span_id(), Some(send.span_id()));
    let links = &process.data().links.links;
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].span_context.span_id().to_string(), send.span_id());
    for (span, op) in [(&send, "send"), (&process, "process")] {
        assert_eq!(
            span.attribute("messaging.system").as_deref(),
            Some("rabbitmq")
        );
        assert_eq!(
            span.attribute("messaging.operation.name").as_deref(),
            Some(op)
        );
        assert_eq!(
            span.attribute("messaging.destination.name").as_deref(),
            Some("orders")
        );
        assert_eq!(
            span.attribute("messaging.message.id").as_deref(),
            Some("m-1")
        );
        assert!(!span.is_error());
    }
}

#[test]
fn missing_or_malformed_headers_start_a_fresh_trace() {
    let telemetry = TestTelemetry::new();
    let messaging = Messaging::new(&telemetry, "nats");
    let jobs = Destination::new("jobs");
    let bad = [
        Headers::new(),
        Headers::from([("traceparent".into(), "00-zz-00f067aa0ba902b7-01".into())]),
        Headers::from([(
            "traceparent".into(),
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01".into(),
        )]),
    ];
    for headers in &bad {
        messaging
            .process(&jobs, headers, &DeliveryInfo::default())
            .ack();
    }
    let spans = telemetry.spans();
    assert_eq!(spans.len(), 3);
    for span in &spans {
        assert_eq!(span.parent_span_id(), None, "a root span");
        assert!(span.data().links.links.is_empty());
    }
    assert_ne!(spans[0].trace_id(), spans[1].trace_id());
}

#[test]
fn a_batch_gets_one_span_with_a_link_per_message() {
    let telemetry = TestTelemetry::new();
    let messaging = Messaging::new(&telemetry, "kafka");
    let topic = Destination::new("events");
    let mut all = Vec::new();
    for _ in 0..3 {
        let mut h = Headers::new();
        messaging.publish(&topic, &mut h).succeeded();
        all.push(h);
    }
    // One message without a context: counted, not linked.
    all.push(Headers::new());
    let infos: Vec<DeliveryInfo> = (0..all.len())
        .map(|i| DeliveryInfo::default().message_id(format!("m-{i}")))
        .collect();
    let batch = messaging.process_batch(
        &topic,
        all.iter().map(|h| h as &dyn Extractor).zip(infos.iter()),
    );
    batch.ack();

    let sends: Vec<_> = telemetry
        .spans()
        .into_iter()
        .filter(|s| s.name() == "send events")
        .collect();
    let process = telemetry.span("process events").unwrap();
    assert_eq!(
        process
            .attribute("messaging.batch.message_count")
            .as_deref(),
        Some("4")
    );
    let linked: Vec<String> = process
        .data()
        .links
        .links
        .iter()
        .map(|l| l.span_context.span_id().to_string())
        .collect();
    let sent: Vec<String> = sends.iter().map(|s| s.span_id()).collect();
    assert_eq!(linked, sent);
    assert!(sends.iter().all(|s| s.trace_id() != process.trace_id()));
    let text = telemetry.metrics().render();
    let dest = r#"messaging_destination_name="events""#;
    assert_eq!(
        value(&text, "messaging_client_consumed_messages_total", &[dest]),
        Some(4.0)
    );
    assert_eq!(
        value(
            &text,
            "obskit_messaging_settlements_total",
            &[dest, r#"settlement="ack""#]
        ),
        Some(4.0)
    );
}

#[test]
fn every_settlement_is_counted_exactly_and_failures_are_errors() {
    let telemetry = TestTelemetry::new();
    let messaging = Messaging::builder(&telemetry, "rabbitmq")
        .slos([Slo::availability("work", 0.99).unwrap().routes(["work"])])
        .build()
        .unwrap();
    let work = Destination::new("work");
    let h = Headers::new();
    let info = DeliveryInfo::default();
    for _ in 0..5 {
        messaging.process(&work, &h, &info).ack();
    }
    for _ in 0..3 {
        messaging.process(&work, &h, &info).requeue("timeout");
    }
    for _ in 0..2 {
        messaging.process(&work, &h, &info).dead_letter("invalid");
    }
    messaging
        .process(&work, &h, &info)
        .settle(Settlement::Requeue, None);
    // Dropped unsettled: the broker delivers it again; no settlement.
    drop(messaging.process(&work, &h, &info));
    messaging.process(&work, &h, &info).unsettled();

    let text = telemetry.metrics().render();
    let d = r#"messaging_destination_name="work""#;
    let settled = |s: &str| {
        value(
            &text,
            "obskit_messaging_settlements_total",
            &[d, &format!(r#"settlement="{s}""#)],
        )
    };
    assert_eq!(settled("ack"), Some(5.0));
    assert_eq!(settled("requeue"), Some(4.0));
    assert_eq!(settled("dead_letter"), Some(2.0));
    assert_eq!(
        value(&text, "messaging_client_consumed_messages_total", &[d]),
        Some(13.0)
    );
    let processed = |e: Option<&str>| {
        let mut text_rows = 0.0;
        for line in text.lines() {
            if line.starts_with("messaging_process_duration_seconds_count{")
                && line.contains(d)
                && match e {
                    Some(e) => line.contains(&format!(r#"error_type="{e}""#)),
                    None => !line.contains("error_type"),
                }
            {
                text_rows += line.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap();
            }
        }
        text_rows
    };
    assert_eq!(processed(None), 5.0);
    assert_eq!(processed(Some("timeout")), 3.0);
    assert_eq!(processed(Some("invalid")), 2.0);
    // The requeue without a class and the unsettled one.
    assert_eq!(processed(Some("_OTHER")), 2.0);
    assert_eq!(
        value(
            &text,
            "obskit_slo_requests_total",
            &[r#"slo="work""#, r#"result="good""#]
        ),
        Some(5.0)
    );
    assert_eq!(
        value(
            &text,
            "obskit_slo_requests_total",
            &[r#"slo="work""#, r#"result="bad""#]
        ),
        Some(7.0)
    );
    assert_eq!(
        value(&text, "obskit_messaging_process_active", &[d]),
        Some(0.0)
    );
    let errors = telemetry.spans().iter().filter(|s| s.is_error()).count();
    assert_eq!(errors, 8);
}

#[test]
fn age_comes_from_the_creation_header_else_the_broker_and_feeds_freshness() {
    let telemetry = TestTelemetry::new();
    let messaging = Messaging::builder(&telemetry, "rabbitmq")
        .slos([Slo::freshness("fresh", Duration::from_secs(60), 0.99).unwrap()])
        .build()
        .unwrap();
    let q = Destination::new("q");
    let micros = |t: SystemTime| {
        t.duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros()
            .to_string()
    };
    // A producer whose clock said "120 s ago" when it created the message.
    let old = Headers::from([(
        CREATED_AT_HEADER.into(),
        micros(SystemTime::now() - Duration::from_secs(120)),
    )]);
    let p = messaging.process(&q, &old, &DeliveryInfo::default());
    let age = p.age().unwrap();
    assert!(
        age >= Duration::from_secs(120) && age < Duration::from_secs(180),
        "{age:?}"
    );
    p.ack();
    // No header of obskit's: the broker's timestamp, 20 s ago.
    let broker =
        DeliveryInfo::default().broker_timestamp(SystemTime::now() - Duration::from_secs(20));
    let p = messaging.process(&q, &Headers::new(), &broker);
    let age = p.age().unwrap();
    assert!(
        age >= Duration::from_secs(20) && age < Duration::from_secs(60),
        "{age:?}"
    );
    p.ack();
    // The header wins over the broker; a malformed header falls back to it.
    let p = messaging.process(&q, &old, &broker);
    assert!(p.age().unwrap() >= Duration::from_secs(120));
    p.ack();
    let garbled = Headers::from([(CREATED_AT_HEADER.into(), "yesterday".into())]);
    let p = messaging.process(&q, &garbled, &broker);
    assert!(p.age().unwrap() < Duration::from_secs(60));
    p.ack();
    // Neither: age unknown, not judged for freshness.
    let p = messaging.process(&q, &Headers::new(), &DeliveryInfo::default());
    assert_eq!(p.age(), None);
    p.ack();

    let text = telemetry.metrics().render();
    let d = r#"messaging_destination_name="q""#;
    assert_eq!(
        value(&text, "obskit_messaging_message_age_seconds_count", &[d]),
        Some(4.0)
    );
    assert_eq!(
        value(
            &text,
            "obskit_messaging_message_age_seconds_bucket",
            &[d, r#"le="60""#]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &text,
            "obskit_messaging_message_age_seconds_bucket",
            &[d, r#"le="300""#]
        ),
        Some(4.0)
    );
    assert_eq!(
        value(
            &text,
            "obskit_slo_requests_total",
            &[r#"slo="fresh""#, r#"result="good""#]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &text,
            "obskit_slo_requests_total",
            &[r#"slo="fresh""#, r#"result="bad""#]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &text,
            "obskit_slo_freshness_threshold_seconds",
            &[r#"slo="fresh""#]
        ),
        Some(60.0)
    );
}

#[test]
fn ten_thousand_temporary_destinations_add_one_series() {
    let telemetry = TestTelemetry::new();
    let messaging = Messaging::builder(&telemetry, "rabbitmq")
        .destination_limit(3)
        .build()
        .unwrap();
    for i in 0..10_000 {
        let mut h = Headers::new();
        let reply = Destination::new(format!("amq.gen-{i:x}{}", fastrand_suffix(i)));
        messaging.publish(&reply, &mut h).succeeded();
    }
    let text = telemetry.metrics().render();
    assert_eq!(
        series_count(&text, "messaging_client_sent_messages_total"),
        1,
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "messaging_client_sent_messages_total",
            &[r#"messaging_destination_name="(temporary)""#]
        ),
        Some(10_000.0)
    );
    assert_eq!(
        telemetry
            .span("send (temporary)")
            .unwrap()
            .attribute("messaging.destination.temporary")
            .as_deref(),
        Some("true")
    );
    // Named destinations beyond the limit share `_OTHER`.
    for name in ["a", "b", "c", "d", "e"] {
        messaging
            .publish(&Destination::new(name), &mut Headers::new())
            .succeeded();
    }
    let text = telemetry.metrics().render();
    assert_eq!(
        value(
            &text,
            "messaging_client_sent_messages_total",
            &[r#"messaging_destination_name="_OTHER""#]
        ),
        Some(2.0)
    );
    assert_eq!(
        series_count(&text, "messaging_client_sent_messages_total"),
        5
    );
}

fn fastrand_suffix(i: u32) -> String {
    format!("-{:08x}", i.wrapping_mul(2_654_435_761))
}

#[test]
fn an_abandoned_send_is_a_failed_send() {
    let telemetry = TestTelemetry::new();
    let messaging = Messaging::new(&telemetry, "rabbitmq");
    let q = Destination::new("q");
    drop(messaging.publish(&q, &mut Headers::new()));
    messaging.publish(&q, &mut Headers::new()).failed("nack");
    messaging.publish(&q, &mut Headers::new()).succeeded();
    let text = telemetry.metrics().render();
    let d = r#"messaging_destination_name="q""#;
    let sent = |e: &str| value(&text, "messaging_client_sent_messages_total", &[d, e]);
    assert_eq!(sent(r#"error_type="cancelled""#), Some(1.0));
    assert_eq!(sent(r#"error_type="nack""#), Some(1.0));
    assert_eq!(
        sent(r#"messaging_operation_name="send"}"#),
        Some(1.0),
        "the success"
    );
    let counts: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.starts_with("messaging_client_operation_duration_seconds_count{") && l.contains(d)
        })
        .collect();
    assert_eq!(counts.len(), 3, "one series per error type and one without");
    assert!(counts.iter().all(|l| l.ends_with(" 1")));
    assert_eq!(telemetry.spans().iter().filter(|s| s.is_error()).count(), 2);
}

/// A sampler that leaves a message out: no span is built on either side
/// (the contexts do not record), yet the trace travels unsampled from the
/// producer to the consumer and every figure is counted. A message whose
/// producer sampled it is recorded by a consumer that follows its parent.
#[tokio::test]
async fn unsampled_messages_build_no_span_yet_carry_the_trace_and_count() {
    use obskit::config::{Sampler, TracesExporter};
    use obskit::opentelemetry::trace::TraceContextExt as _;

    let (telemetry, _layer) = obskit::Config::default()
        .service_name("unsampled")
        .unwrap()
        .sampler(Sampler::ParentBasedAlwaysOff)
        .unwrap()
        .traces_exporter(TracesExporter::None)
        .build_layer::<tracing_subscriber::Registry>()
        .expect("telemetry builds");
    let messaging = Messaging::new(&telemetry, "rabbitmq");
    let orders = Destination::new("orders");

    let mut headers = Headers::new();
    let send = messaging.publish(&orders, &mut headers);
    let sent = send.context().span().span_context().clone();
    assert!(!send.context().span().is_recording());
    assert!(sent.is_valid() && !sent.is_sampled());
    // Not sampled; a trace started here, so its id is random (Level 2 flag).
    assert_eq!(
        headers["traceparent"],
        format!("00-{}-{}-02", sent.trace_id(), sent.span_id())
    );
    send.succeeded();

    let processing = messaging.process(&orders, &headers, &DeliveryInfo::default());
    let span = processing.context().span();
    let processed = span.span_context();
    assert!(!span.is_recording());
    assert!(processed.is_valid() && !processed.is_sampled());
    assert_eq!(processed.trace_id(), sent.trace_id());
    assert_ne!(processed.span_id(), sent.span_id());
    processing.ack();

    // A sampled producer's message: its consumer records.
    let sampled: Headers = [(
        "traceparent".to_owned(),
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned(),
    )]
    .into();
    let processing = messaging.process(&orders, &sampled, &DeliveryInfo::default());
    assert!(processing.context().span().is_recording());
    assert_eq!(
        processing
            .context()
            .span()
            .span_context()
            .trace_id()
            .to_string(),
        "0af7651916cd43dd8448eb211c80319c"
    );
    processing.ack();

    let text = telemetry.metrics().render();
    let d = r#"messaging_destination_name="orders""#;
    assert_eq!(
        value(&text, "messaging_client_sent_messages_total", &[d]),
        Some(1.0)
    );
    assert_eq!(
        value(&text, "messaging_client_consumed_messages_total", &[d]),
        Some(2.0)
    );
    assert_eq!(
        value(
            &text,
            "obskit_messaging_settlements_total",
            &[d, r#"settlement="ack""#]
        ),
        Some(2.0)
    );
    let report = telemetry.shutdown().await;
    assert_eq!(report.spans_dropped, 0);
}
