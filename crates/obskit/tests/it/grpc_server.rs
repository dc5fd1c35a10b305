//! The gRPC server layer over real tonic servers and clients on 127.0.0.1:
//! exact RED figures per status code, statuses read from trailers-only
//! answers and from trailers at the end of a stream, streaming durations,
//! deadlines, cancellation, bounded method names, hostile trace context,
//! SLO classification and the access line.

use crate::grpc_support;
use crate::support;

use std::time::Duration;

use futures_util::StreamExt;
use grpc_support::{UNARY, channel, client, raw_unary, req, spawn_tonic};
use obskit::grpc::GrpcLayer;
use obskit::slo::Slo;
use obskit_grpc_testing::{EchoRequest, EchoService};
use obskit_test_receiver::{Receiver, SpanKind, StatusCode as SpanStatus};
use obskit_test_support::prom;
use support::{Harness, config, harness};
use tonic::Code;

const COUNT: &str = "rpc_server_call_duration_seconds_count";
const SUM: &str = "rpc_server_call_duration_seconds_sum";
const ACTIVE: &str = "obskit_rpc_server_active_calls";
const SPAN_WAIT: Duration = Duration::from_secs(10);

fn metrics_only(name: &str) -> Harness {
    harness(config(&[
        ("OTEL_SERVICE_NAME", name),
        ("OTEL_TRACES_EXPORTER", "none"),
    ]))
}

fn traced(name: &str, rx: &Receiver) -> Harness {
    harness(config(&[
        ("OTEL_SERVICE_NAME", name),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.http_endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
    ]))
}

/// The count of `method` calls that ended with `code` (and `error_type`
/// exactly when the code is a server error).
fn calls(metrics: &str, service: &str, method: &str, code: &str) -> Option<f64> {
    let mut labels = vec![
        ("service_name", service),
        ("rpc_system_name", "grpc"),
        ("rpc_method", method),
        ("rpc_status_code", code),
    ];
    let server_errors = [
        "UNKNOWN",
        "DEADLINE_EXCEEDED",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
    ];
    if server_errors.contains(&code) {
        labels.push(("error_type", code));
    }
    prom::exact(metrics, COUNT, &labels)
}

/// Polls the exposition until `pred` holds (a call ends when its stream
/// does, which the client may see a moment before the server records it),
/// for up to a minute: a loaded machine is slow, never wrong.
async fn settle(h: &Harness, pred: impl Fn(&str) -> bool) -> String {
    let metrics = h.telemetry.metrics();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let text = metrics.render();
        if pred(&text) || tokio::time::Instant::now() >= deadline {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The calls of `UNARY` in flight on the server.
fn active(metrics: &str) -> Option<f64> {
    prom::value(metrics, ACTIVE, &[("rpc_method", UNARY)])
}

#[tokio::test]
async fn red_figures_are_exact_per_status_code() {
    let h = metrics_only("grpc-red");
    let addr = spawn_tonic(GrpcLayer::new(&h.telemetry), EchoService::new(), None).await;
    let mut c = client(addr).await;
    for _ in 0..3 {
        c.unary(req("hi", 0, 0)).await.expect("OK");
    }
    for _ in 0..2 {
        let e = c.unary(req("missing", 5, 0)).await.unwrap_err();
        assert_eq!(e.code(), Code::NotFound);
    }
    let e = c.unary(req("broken", 13, 0)).await.unwrap_err();
    assert_eq!(e.code(), Code::Internal);
    let e = c.unary(req("gone", 14, 0)).await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable);

    let text = settle(&h, |t| {
        calls(t, "grpc-red", UNARY, "UNAVAILABLE") == Some(1.0)
    })
    .await;
    assert_eq!(calls(&text, "grpc-red", UNARY, "OK"), Some(3.0), "{text}");
    assert_eq!(
        calls(&text, "grpc-red", UNARY, "NOT_FOUND"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        calls(&text, "grpc-red", UNARY, "INTERNAL"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        calls(&text, "grpc-red", UNARY, "UNAVAILABLE"),
        Some(1.0),
        "{text}"
    );
    // NOT_FOUND is the caller's problem: no error_type on the server side.
    assert_eq!(
        prom::value(
            &text,
            COUNT,
            &[
                ("rpc_status_code", "NOT_FOUND"),
                ("error_type", "NOT_FOUND")
            ]
        ),
        None,
        "{text}"
    );
    assert_eq!(prom::matching(&text, COUNT, &[]).len(), 4, "{text}");
    assert_eq!(
        prom::exact(
            &text,
            ACTIVE,
            &[
                ("service_name", "grpc-red"),
                ("rpc_system_name", "grpc"),
                ("rpc_method", UNARY)
            ]
        ),
        Some(0.0),
        "{text}"
    );
    assert!(
        text.contains("# TYPE rpc_server_call_duration_seconds histogram"),
        "{text}"
    );
    // The RPC families are described like their HTTP twins: HELP in both
    // formats, UNIT in OpenMetrics, and Prometheus's linter finds nothing.
    let om = h
        .telemetry
        .metrics()
        .render_as(obskit::metrics::Format::OpenMetrics);
    for family in ["rpc_server_call_duration_seconds", ACTIVE] {
        assert!(text.contains(&format!("# HELP {family} ")), "{text}");
        assert!(om.contains(&format!("# HELP {family} ")), "{om}");
    }
    assert!(
        om.contains("# UNIT rpc_server_call_duration_seconds seconds\n"),
        "{om}"
    );
    obskit_test_support::assert_promtool_accepts(&text);
}

#[tokio::test]
async fn statuses_come_from_trailers_only_answers_and_from_trailers_after_a_stream() {
    let rx = Receiver::start().await.expect("receiver");
    let h = traced("grpc-trailers", &rx);
    let addr = spawn_tonic(GrpcLayer::new(&h.telemetry), EchoService::new(), None).await;
    let mut c = client(addr).await;

    // An error before any message: tonic answers trailers-only.
    let e = c
        .server_stream(EchoRequest {
            message: "x".into(),
            code: 7,
            delay_ms: 0,
            count: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);

    // Two messages, then DATA_LOSS in the trailers.
    let mut stream = c
        .server_stream(EchoRequest {
            message: "y".into(),
            code: 15,
            delay_ms: 0,
            count: 2,
        })
        .await
        .expect("the stream starts OK")
        .into_inner();
    let mut got = Vec::new();
    while let Some(item) = stream.next().await {
        got.push(item.map(|r| r.message).map_err(|s| s.code()));
    }
    assert_eq!(
        got,
        [Ok("y 0".into()), Ok("y 1".into()), Err(Code::DataLoss)]
    );

    let method = "obskit.test.v1.Echo/ServerStream";
    let text = settle(&h, |t| {
        calls(t, "grpc-trailers", method, "DATA_LOSS") == Some(1.0)
    })
    .await;
    assert_eq!(
        calls(&text, "grpc-trailers", method, "PERMISSION_DENIED"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        calls(&text, "grpc-trailers", method, "DATA_LOSS"),
        Some(1.0),
        "{text}"
    );

    let spans = rx.wait_for_spans(2, SPAN_WAIT).await;
    let by_code = |code: &str| {
        spans
            .iter()
            .find(|s| s.attr("rpc.status_code").and_then(|v| v.as_str()) == Some(code))
            .unwrap_or_else(|| panic!("no span with {code}: {spans:#?}"))
    };
    let denied = by_code("PERMISSION_DENIED");
    assert_eq!(denied.name, method);
    assert_eq!(denied.kind, SpanKind::Server);
    assert_eq!(denied.status_code, SpanStatus::Unset, "not a server error");
    assert_eq!(denied.attr("error.type"), None);
    let lost = by_code("DATA_LOSS");
    assert_eq!(lost.status_code, SpanStatus::Error);
    assert_eq!(
        lost.attr("error.type").and_then(|v| v.as_str()),
        Some("DATA_LOSS")
    );
    assert_eq!(
        lost.attr("rpc.system.name").and_then(|v| v.as_str()),
        Some("grpc")
    );
    assert_eq!(
        lost.attr("rpc.method").and_then(|v| v.as_str()),
        Some(method)
    );
    assert_eq!(
        lost.attr("server.address").and_then(|v| v.as_str()),
        Some("127.0.0.1")
    );
    assert_eq!(
        lost.attr("server.port").and_then(|v| v.as_i64()),
        Some(i64::from(addr.port()))
    );
    assert_eq!(
        lost.attr("network.peer.address").and_then(|v| v.as_str()),
        Some("127.0.0.1")
    );
    assert!(
        lost.attr("network.peer.port")
            .and_then(|v| v.as_i64())
            .is_some()
    );
    let report = h.telemetry.shutdown().await;
    assert_eq!(report.spans_dropped, 0);
}

#[tokio::test]
async fn a_streaming_call_is_measured_to_the_end_of_its_stream() {
    let rx = Receiver::start().await.expect("receiver");
    let h = traced("grpc-stream", &rx);
    let addr = spawn_tonic(GrpcLayer::new(&h.telemetry), EchoService::new(), None).await;
    let mut c = client(addr).await;

    // Server streaming: three replies 150 ms apart, so at least 450 ms.
    let stream = c
        .server_stream(EchoRequest {
            message: "s".into(),
            code: 0,
            delay_ms: 150,
            count: 3,
        })
        .await
        .expect("stream")
        .into_inner();
    let replies: Vec<_> = stream.collect().await;
    assert_eq!(replies.len(), 3);

    // Client streaming: the answer comes after the client's last message.
    let outbound = futures_util::stream::iter(["a", "b", "c"]).then(|m| async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        EchoRequest {
            message: m.into(),
            code: 0,
            delay_ms: 0,
            count: 0,
        }
    });
    let joined = c
        .client_stream(outbound)
        .await
        .expect("client stream")
        .into_inner();
    assert_eq!(joined.message, "a b c");

    // Bidi: each message answered as it comes, 100 ms apart, then UNAVAILABLE.
    let outbound = futures_util::stream::iter([0, 0, 14]).then(|code| async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        EchoRequest {
            message: "b".into(),
            code,
            delay_ms: 0,
            count: 0,
        }
    });
    let replies: Vec<_> = c
        .bidi(outbound)
        .await
        .expect("bidi")
        .into_inner()
        .map(|r| r.map(|_| ()).map_err(|s| s.code()))
        .collect()
        .await;
    assert_eq!(replies, [Ok(()), Ok(()), Err(Code::Unavailable)]);

    let text = settle(&h, |t| {
        calls(t, "grpc-stream", "obskit.test.v1.Echo/Bidi", "UNAVAILABLE") == Some(1.0)
    })
    .await;
    let sum = |method: &str| {
        prom::value(&text, SUM, &[("rpc_method", method)])
            .unwrap_or_else(|| panic!("{method}: {text}"))
    };
    assert!(sum("obskit.test.v1.Echo/ServerStream") >= 0.45, "{text}");
    // The client may send its headers with its first message, 100 ms in;
    // the two gaps after it are measured whatever the machine's load.
    assert!(sum("obskit.test.v1.Echo/ClientStream") >= 0.2, "{text}");
    assert!(sum("obskit.test.v1.Echo/Bidi") >= 0.2, "{text}");
    assert_eq!(
        calls(
            &text,
            "grpc-stream",
            "obskit.test.v1.Echo/ServerStream",
            "OK"
        ),
        Some(1.0)
    );
    assert_eq!(
        calls(
            &text,
            "grpc-stream",
            "obskit.test.v1.Echo/ClientStream",
            "OK"
        ),
        Some(1.0)
    );

    let spans = rx.wait_for_spans(3, SPAN_WAIT).await;
    let stream_span = spans
        .iter()
        .find(|s| s.name == "obskit.test.v1.Echo/ServerStream")
        .expect("the server-streaming span");
    assert!(
        stream_span.duration_nanos() >= 450_000_000,
        "the span covers the whole stream: {} ns",
        stream_span.duration_nanos()
    );
    let report = h.telemetry.shutdown().await;
    assert_eq!(report.spans_dropped, 0);
}

#[tokio::test]
async fn a_call_past_its_deadline_is_deadline_exceeded_and_a_dropped_one_cancelled() {
    let h = metrics_only("grpc-deadline");
    let addr = spawn_tonic(GrpcLayer::new(&h.telemetry), EchoService::new(), None).await;
    let mut c = client(addr).await;
    // A method becomes known by answering (a dropped call teaches nothing).
    c.unary(req("first", 0, 0)).await.expect("OK");

    // The handler never answers (its wait outlasts any test run), so only
    // a deadline or the caller can end these calls.
    let never = u32::MAX;

    // The deadline is enforced by the server alone: tonic's own client would
    // race its timer against the server's and, when it fires first, reset
    // the stream before the server's deadline (a cancellation). A plain
    // HTTP/2 client sends `grpc-timeout` and waits for the answer. The
    // server's timer starts after the layer has seen the call, so the layer
    // always finds the deadline passed, however slow the machine.
    let mut late = tonic::Request::new(req("late", 0, never));
    late.set_timeout(Duration::from_millis(500));
    let e = tokio::time::timeout(Duration::from_secs(60), unenforced_unary(addr, late))
        .await
        .expect("the server ends the call at its deadline")
        .unwrap_err();
    // tonic's server answers an expired deadline with CANCELLED ("Timeout
    // expired"); the layer records what happened: DEADLINE_EXCEEDED.
    assert!(
        matches!(e.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{e:?}"
    );
    let text = settle(&h, |t| {
        calls(t, "grpc-deadline", UNARY, "DEADLINE_EXCEEDED").is_some() && active(t) == Some(0.0)
    })
    .await;
    assert_eq!(
        calls(&text, "grpc-deadline", UNARY, "DEADLINE_EXCEEDED"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(active(&text), Some(0.0), "{text}");

    // The caller gives up without a deadline once the server has the call:
    // the server sees the stream reset.
    let abandoned = tokio::spawn(async move { c.unary(req("slow", 0, never)).await });
    let text = settle(&h, |t| active(t) == Some(1.0)).await;
    assert_eq!(
        active(&text),
        Some(1.0),
        "the call never reached the server: {text}"
    );
    abandoned.abort();
    assert!(
        abandoned.await.unwrap_err().is_cancelled(),
        "the call ended by itself"
    );

    let text = settle(&h, |t| {
        calls(t, "grpc-deadline", UNARY, "CANCELLED").is_some() && active(t) == Some(0.0)
    })
    .await;
    assert_eq!(
        calls(&text, "grpc-deadline", UNARY, "CANCELLED"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        calls(&text, "grpc-deadline", UNARY, "DEADLINE_EXCEEDED"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(active(&text), Some(0.0), "{text}");
}

/// A unary call to `UNARY` over a plain HTTP/2 client, which sends the
/// request's `grpc-timeout` but, unlike tonic's channel, does not enforce it.
async fn unenforced_unary(
    addr: std::net::SocketAddr,
    request: tonic::Request<EchoRequest>,
) -> Result<tonic::Response<obskit_grpc_testing::EchoReply>, tonic::Status> {
    let http2 = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<tonic::body::Body>();
    let origin: http::Uri = format!("http://{addr}").parse().expect("an origin");
    let mut grpc = tonic::client::Grpc::with_origin(http2, origin);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    grpc.unary(
        request,
        http::uri::PathAndQuery::from_static("/obskit.test.v1.Echo/Unary"),
        tonic_prost::ProstCodec::<EchoRequest, obskit_grpc_testing::EchoReply>::default(),
    )
    .await
}

#[tokio::test]
async fn ten_thousand_calls_to_unknown_methods_add_at_most_one_series() {
    let h = metrics_only("grpc-unknown");
    let addr = spawn_tonic(GrpcLayer::new(&h.telemetry), EchoService::new(), None).await;
    let ch = channel(addr).await;
    raw_unary(ch.clone(), format!("/{UNARY}"))
        .await
        .expect("a known method");
    let before = prom::series(&h.telemetry.metrics().render(), COUNT).len();

    let mut calls_made = 0;
    for i in 0..10_000 {
        let path = if i % 2 == 0 {
            format!("/obskit.test.v1.Echo/Nope{i}")
        } else {
            format!("/evil.Service{i}/Method{i}")
        };
        let e = raw_unary(ch.clone(), path).await.unwrap_err();
        assert_eq!(e.code(), Code::Unimplemented);
        calls_made += 1;
    }
    let text = h.telemetry.metrics().render();
    let after = prom::series(&text, COUNT).len();
    assert!(after <= before + 1, "{before} -> {after}:\n{text}");
    assert_eq!(
        calls(&text, "grpc-unknown", "_OTHER", "UNIMPLEMENTED"),
        Some(f64::from(calls_made)),
        "{text}"
    );
    assert!(!text.contains("Nope"), "no unknown method name is exported");
    assert!(
        !text.contains("evil"),
        "no unknown service name is exported"
    );
}

#[tokio::test]
async fn unknown_methods_are_named_other_on_spans_with_the_original_kept() {
    let rx = Receiver::start().await.expect("receiver");
    let h = traced("grpc-other", &rx);
    let addr = spawn_tonic(GrpcLayer::new(&h.telemetry), EchoService::new(), None).await;
    let e = raw_unary(channel(addr).await, "/pkg.Nothing/Here".into())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented);
    let spans = rx.wait_for_spans(1, SPAN_WAIT).await;
    assert_eq!(spans[0].name, "grpc");
    assert_eq!(
        spans[0].attr("rpc.method").and_then(|v| v.as_str()),
        Some("_OTHER")
    );
    assert_eq!(
        spans[0]
            .attr("rpc.method_original")
            .and_then(|v| v.as_str()),
        Some("pkg.Nothing/Here")
    );
    assert_eq!(
        spans[0].attr("rpc.status_code").and_then(|v| v.as_str()),
        Some("UNIMPLEMENTED")
    );
    let report = h.telemetry.shutdown().await;
    assert_eq!(report.spans_dropped, 0);
}

#[tokio::test]
async fn malformed_traceparent_metadata_starts_a_fresh_trace_and_a_valid_one_is_continued() {
    let rx = Receiver::start().await.expect("receiver");
    let h = traced("grpc-context", &rx);
    let addr = spawn_tonic(GrpcLayer::new(&h.telemetry), EchoService::new(), None).await;
    let mut c = client(addr).await;
    let hostile_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    for (i, bad) in [
        format!("00-{}-00f067aa0ba902b7-01", hostile_trace.to_uppercase()),
        format!("00-{}-00f067aa0ba902b7-01-extra", hostile_trace),
        format!("00-{}-0000000000000000-01", hostile_trace),
        format!("00-{}-00f067aa0ba902b7-01", &hostile_trace[..30]),
    ]
    .into_iter()
    .enumerate()
    {
        let mut r = tonic::Request::new(req(&format!("bad{i}"), 0, 0));
        r.metadata_mut().insert("traceparent", bad.parse().unwrap());
        let reply = c.unary(r).await.expect("OK").into_inner();
        assert_ne!(reply.trace_id, hostile_trace, "{bad}");
        assert_eq!(
            reply.trace_id.len(),
            32,
            "the handler runs inside a fresh trace"
        );
    }
    let valid_trace = "0af7651916cd43dd8448eb211c80319c";
    let mut r = tonic::Request::new(req("good", 0, 0));
    r.metadata_mut().insert(
        "traceparent",
        format!("00-{valid_trace}-b7ad6b7169203331-01")
            .parse()
            .unwrap(),
    );
    r.metadata_mut()
        .insert("x-request-id", "order-42".parse().unwrap());
    let response = c.unary(r).await.expect("OK");
    assert_eq!(
        response
            .metadata()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("order-42"),
        "the request id comes back in the response metadata"
    );
    assert_eq!(response.into_inner().trace_id, valid_trace);

    let spans = rx.wait_for_spans(5, SPAN_WAIT).await;
    let fresh: Vec<_> = spans.iter().filter(|s| s.trace_id != valid_trace).collect();
    assert_eq!(fresh.len(), 4, "{spans:#?}");
    assert!(
        fresh
            .iter()
            .all(|s| s.parent_span_id.is_none() && s.trace_id != hostile_trace)
    );
    let continued = spans
        .iter()
        .find(|s| s.trace_id == valid_trace)
        .expect("continued");
    assert_eq!(
        continued.parent_span_id.as_deref(),
        Some("b7ad6b7169203331")
    );
    assert_eq!(
        continued
            .attr("rpc.request.metadata.x-request-id")
            .and_then(|v| v.as_str()),
        Some("order-42")
    );
    let report = h.telemetry.shutdown().await;
    assert_eq!(report.spans_dropped, 0);
}

#[tokio::test]
async fn slo_counters_classify_exactly_the_server_error_codes_and_exact_latency() {
    // Generous enough that no call is slow by accident on a loaded machine.
    let threshold = Duration::from_secs(2);
    let h = metrics_only("grpc-slo");
    let layer = GrpcLayer::new(&h.telemetry)
        .slos([
            Slo::availability("availability", 0.999).unwrap(),
            Slo::latency("fast", threshold, 0.99).unwrap(),
        ])
        .unwrap();
    let addr = spawn_tonic(layer, EchoService::new(), None).await;
    let mut c = client(addr).await;
    // Good for availability: OK and the caller's errors.
    for code in [0, 3, 5, 6, 7, 8, 9, 10, 11, 16] {
        let _ = c.unary(req("a", code, 0)).await;
    }
    // Bad: exactly the six server-error codes.
    for code in [2, 4, 12, 13, 14, 15] {
        let _ = c.unary(req("b", code, 0)).await;
    }
    // CANCELLED: neither good nor bad for availability, and not bad for
    // latency before the threshold.
    let _ = c.unary(req("c", 1, 0)).await;
    // Slow: bad for latency only.
    let slow = u32::try_from(threshold.as_millis()).unwrap() + 100;
    c.unary(req("slow", 0, slow)).await.expect("OK");
    // Abandoned by its caller past the threshold: bad for latency only.
    let mut caller = c.clone();
    let abandoned = tokio::spawn(async move { caller.unary(req("left", 0, u32::MAX)).await });
    let text = settle(&h, |t| active(t) == Some(1.0)).await;
    assert_eq!(
        active(&text),
        Some(1.0),
        "the call never reached the server: {text}"
    );
    tokio::time::sleep(threshold + Duration::from_millis(100)).await;
    abandoned.abort();
    let slo = |text: &str, name: &str, result: &str| {
        prom::exact(
            text,
            "obskit_slo_requests_total",
            &[
                ("service_name", "grpc-slo"),
                ("slo", name),
                ("result", result),
            ],
        )
    };
    let text = settle(&h, |t| {
        calls(t, "grpc-slo", UNARY, "CANCELLED") == Some(2.0) && active(t) == Some(0.0)
    })
    .await;
    assert_eq!(slo(&text, "availability", "good"), Some(11.0), "{text}");
    assert_eq!(slo(&text, "availability", "bad"), Some(6.0), "{text}");
    assert_eq!(slo(&text, "fast", "good"), Some(16.0), "{text}");
    assert_eq!(slo(&text, "fast", "bad"), Some(2.0), "{text}");
    // Both CANCELLED calls are in RED with their code, not as server errors.
    assert_eq!(
        calls(&text, "grpc-slo", UNARY, "CANCELLED"),
        Some(2.0),
        "{text}"
    );
}

#[tokio::test]
async fn one_access_line_per_call_in_the_calls_trace() {
    let rx = Receiver::start().await.expect("receiver");
    let h = traced("grpc-access", &rx);
    let addr = spawn_tonic(GrpcLayer::new(&h.telemetry), EchoService::new(), None).await;
    let mut c = client(addr).await;
    let reply = c.unary(req("x", 5, 0)).await.unwrap_err();
    assert_eq!(reply.code(), Code::NotFound);
    let line = h
        .logs
        .wait_for(Duration::from_secs(5), |l| l["target"] == "obskit::access")
        .expect("an access line");
    assert_eq!(line["rpc.method"], UNARY, "{line}");
    assert_eq!(line["rpc.status_code"], "NOT_FOUND", "{line}");
    assert_eq!(line["message"], format!("{UNARY} NOT_FOUND"), "{line}");
    let spans = rx.wait_for_spans(1, SPAN_WAIT).await;
    assert_eq!(line["trace_id"], spans[0].trace_id.as_str(), "{line}");
    let n = h
        .logs
        .lines()
        .iter()
        .filter(|l| l["target"] == "obskit::access")
        .count();
    assert_eq!(n, 1);
    let report = h.telemetry.shutdown().await;
    assert_eq!(report.spans_dropped, 0);
}
