//! Tests of the metrics handle: the exact exposition text in both formats,
//! exemplars, derived counters and bucket settings.

use super::*;
use crate::metrics::{exemplar, text};

/// `text` as its lines, for exact-line assertions.
fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn exposition_has_service_label_buckets_and_process_metrics() {
    let m = MetricsHandle::new("svc");
    m.set_build_info("1.2.3", Some("abc"));
    m.histogram(
        names::HTTP_SERVER_REQUEST_DURATION,
        vec![Label::new(names::HTTP_ROUTE, "/a")],
    )
    .record(0.02);
    m.derive_counter(names::LOG_LINES_DROPPED_TOTAL, || 7);
    let text = m.render();
    let lines = lines(&text);
    let build_info = format!(
        r#"obskit_build_info{{service_name="svc",service_version="1.2.3",vcs_revision="abc",obskit_version="{}"}} 1"#,
        env!("CARGO_PKG_VERSION")
    );
    for expected in [
        build_info.as_str(),
        "# HELP http_server_request_duration_seconds Duration of HTTP server requests.",
        "# TYPE http_server_request_duration_seconds histogram",
        r#"http_server_request_duration_seconds_bucket{service_name="svc",http_route="/a",le="0.01"} 0"#,
        r#"http_server_request_duration_seconds_bucket{service_name="svc",http_route="/a",le="0.025"} 1"#,
        r#"http_server_request_duration_seconds_bucket{service_name="svc",http_route="/a",le="10"} 1"#,
        r#"http_server_request_duration_seconds_bucket{service_name="svc",http_route="/a",le="+Inf"} 1"#,
        r#"http_server_request_duration_seconds_sum{service_name="svc",http_route="/a"} 0.02"#,
        r#"http_server_request_duration_seconds_count{service_name="svc",http_route="/a"} 1"#,
        "# TYPE obskit_log_lines_dropped_total counter",
        r#"obskit_log_lines_dropped_total{service_name="svc"} 7"#,
    ] {
        assert!(lines.contains(&expected), "{expected} missing:\n{text}");
    }
    assert!(!text.contains("summary"), "{text}");
    assert!(!text.contains("quantile"), "{text}");
    #[cfg(target_os = "linux")]
    for name in [
        names::PROCESS_CPU_SECONDS_TOTAL,
        names::PROCESS_RESIDENT_MEMORY_BYTES,
        names::PROCESS_OPEN_FDS,
        names::PROCESS_THREADS,
        names::PROCESS_START_TIME_SECONDS,
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} "))
                && text.contains(&format!("{name}{{service_name=\"svc\"}} ")),
            "{name} missing:\n{text}"
        );
    }
}

/// The lines of `text` from the first that starts with `head` on, `n` of them.
fn block<'a>(text: &'a str, head: &str, n: usize) -> Vec<&'a str> {
    let lines = lines(text);
    let start = lines
        .iter()
        .position(|l| l.starts_with(head))
        .unwrap_or_else(|| panic!("no {head:?}:\n{text}"));
    lines[start..(start + n).min(lines.len())].to_vec()
}

#[test]
fn rpc_families_have_help_and_unit_lines_like_their_http_twins() {
    let m = MetricsHandle::new("svc");
    let labels = || {
        vec![
            Label::new(names::RPC_SYSTEM_NAME, names::RPC_SYSTEM_GRPC),
            Label::new(names::RPC_METHOD, "a.B/C"),
        ]
    };
    for name in [
        names::RPC_SERVER_CALL_DURATION,
        names::RPC_CLIENT_CALL_DURATION,
    ] {
        m.histogram(name, labels()).record(0.02);
    }
    for name in [
        names::RPC_SERVER_ACTIVE_CALLS,
        names::RPC_CLIENT_ACTIVE_CALLS,
    ] {
        m.gauge(name, labels()).set(1.0);
    }
    let text = m.render();
    for side in ["server", "client"] {
        assert_eq!(
            block(
                &text,
                &format!("# HELP rpc_{side}_call_duration_seconds"),
                3
            ),
            [
                format!("# HELP rpc_{side}_call_duration_seconds Duration of RPC {side} calls."),
                format!("# TYPE rpc_{side}_call_duration_seconds histogram"),
                format!(
                    r#"rpc_{side}_call_duration_seconds_bucket{{service_name="svc",rpc_system_name="grpc",rpc_method="a.B/C",le="0.005"}} 0"#
                ),
            ],
            "{text}"
        );
        assert_eq!(
            block(&text, &format!("# HELP obskit_rpc_{side}_active_calls"), 3),
            [
                format!("# HELP obskit_rpc_{side}_active_calls Number of active RPC {side} calls."),
                format!("# TYPE obskit_rpc_{side}_active_calls gauge"),
                format!(
                    r#"obskit_rpc_{side}_active_calls{{service_name="svc",rpc_system_name="grpc",rpc_method="a.B/C"}} 1"#
                ),
            ],
            "{text}"
        );
    }
    let om = m.render_as(Format::OpenMetrics);
    for side in ["server", "client"] {
        assert_eq!(
            block(&om, &format!("# TYPE rpc_{side}_call_duration_seconds "), 4),
            [
                format!("# TYPE rpc_{side}_call_duration_seconds histogram"),
                format!("# UNIT rpc_{side}_call_duration_seconds seconds"),
                format!("# HELP rpc_{side}_call_duration_seconds Duration of RPC {side} calls."),
                format!(
                    r#"rpc_{side}_call_duration_seconds_bucket{{service_name="svc",rpc_system_name="grpc",rpc_method="a.B/C",le="0.005"}} 0"#
                ),
            ],
            "{om}"
        );
        assert_eq!(
            block(&om, &format!("# TYPE obskit_rpc_{side}_active_calls "), 3),
            [
                format!("# TYPE obskit_rpc_{side}_active_calls gauge"),
                format!("# HELP obskit_rpc_{side}_active_calls Number of active RPC {side} calls."),
                format!(
                    r#"obskit_rpc_{side}_active_calls{{service_name="svc",rpc_system_name="grpc",rpc_method="a.B/C"}} 1"#
                ),
            ],
            "{om}"
        );
    }
}

/// The families the messaging instruments describe when they are made.
fn messaging(name: &str) -> bool {
    name.starts_with("messaging_")
        || name.starts_with("obskit_messaging_")
        || name == names::SLO_FRESHNESS_THRESHOLD
}

/// Every other metric obskit defines is described by the registry
/// itself: a `# HELP` line in both formats, and a `# UNIT` line in
/// OpenMetrics for each family named in seconds.
#[test]
fn every_obskit_family_has_help_and_seconds_families_a_unit() {
    let m = MetricsHandle::new("svc");
    m.set_build_info("1", None);
    m.set_target_info(&opentelemetry_sdk::Resource::builder_empty().build());
    let all = || names::ALL_METRICS.iter().copied().filter(|n| !messaging(n));
    for name in all() {
        if names::HISTOGRAMS.contains(&name) {
            m.histogram(name, Vec::new()).record(1.0);
        } else if name.ends_with("_total") {
            m.counter(name, Vec::new()).increment(1);
        } else if name != names::BUILD_INFO && name != names::TARGET_INFO {
            m.gauge(name, Vec::new()).set(1.0);
        }
    }
    let text = m.render();
    let om = m.render_as(Format::OpenMetrics);
    for name in all() {
        if name.starts_with("process_") && !cfg!(target_os = "linux") {
            continue;
        }
        let has = |text: &str, line: &str| text.lines().any(|l| l.starts_with(line));
        assert!(
            has(&text, &format!("# HELP {name} ")),
            "no HELP for {name}:\n{text}"
        );
        // OpenMetrics names counter families without `_total`, info
        // families without `_info`.
        let family = name
            .strip_suffix("_total")
            .or_else(|| name.strip_suffix("_info"))
            .unwrap_or(name);
        assert!(
            has(&om, &format!("# HELP {family} ")),
            "no OpenMetrics HELP for {family}:\n{om}"
        );
        if family.ends_with("_seconds") {
            assert!(
                om.lines().any(|l| l == format!("# UNIT {family} seconds")),
                "no UNIT for {family}:\n{om}"
            );
        }
    }
}

#[test]
fn every_family_has_one_type_line_and_families_are_sorted() {
    let m = MetricsHandle::new("svc");
    m.set_build_info("1", None);
    m.counter(names::SLO_REQUESTS_TOTAL, vec![Label::new(names::SLO, "a")])
        .increment(1);
    m.counter(names::SLO_REQUESTS_TOTAL, vec![Label::new(names::SLO, "b")])
        .increment(1);
    let text = m.render();
    let types: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    let mut sorted = types.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(types, sorted, "{text}");
}

#[test]
fn a_user_histogram_renders_as_a_histogram_with_the_duration_buckets() {
    let m = MetricsHandle::new("svc");
    let global = Forward(Arc::clone(&m.inner));
    metrics::with_local_recorder(&global, || {
        metrics::describe_histogram!("my_duration_seconds", "Time spent in my code.");
        metrics::histogram!("my_duration_seconds", "step" => "parse").record(0.3);
        metrics::histogram!("my_duration_seconds", "step" => "parse").record(20.0);
    });
    let text = m.render();
    let lines = lines(&text);
    let mut expected = vec![
        "# HELP my_duration_seconds Time spent in my code.".to_owned(),
        "# TYPE my_duration_seconds histogram".to_owned(),
    ];
    for &bound in names::HTTP_DURATION_BUCKETS {
        expected.push(format!(
            r#"my_duration_seconds_bucket{{service_name="svc",step="parse",le="{}"}} {}"#,
            text::f64_string(bound),
            u8::from(bound >= 0.3)
        ));
    }
    expected.extend([
        r#"my_duration_seconds_bucket{service_name="svc",step="parse",le="+Inf"} 2"#.to_owned(),
        r#"my_duration_seconds_sum{service_name="svc",step="parse"} 20.3"#.to_owned(),
        r#"my_duration_seconds_count{service_name="svc",step="parse"} 2"#.to_owned(),
    ]);
    let start = lines
        .iter()
        .position(|l| *l == expected[0])
        .unwrap_or_else(|| panic!("no my_duration_seconds:\n{text}"));
    assert_eq!(lines[start..start + expected.len()], expected, "{text}");
    assert!(!text.contains("summary"), "{text}");
}

/// The OpenMetrics output of the same registry, with exemplars from a
/// sampled and an unsampled request, pinned byte for byte (exemplar
/// times checked, then written as `T`).
#[test]
fn openmetrics_text_is_pinned_byte_for_byte() {
    let m = populated();
    let from = exemplar::now_millis();
    for (trace, sampled) in [
        (0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736, true),
        (0x77, false),
    ] {
        let _cx = exemplar::context(trace, 0x00f0_67aa_0ba9_02b7, sampled).attach();
        m.histogram(
            names::HTTP_SERVER_REQUEST_DURATION,
            vec![
                Label::new(names::HTTP_REQUEST_METHOD, "GET"),
                Label::new(names::HTTP_ROUTE, "/a"),
                Label::new(names::HTTP_RESPONSE_STATUS_CODE, "200"),
            ],
        )
        .record(0.6);
        m.counter(
            names::SLO_REQUESTS_TOTAL,
            vec![
                Label::new(names::SLO, "latency"),
                Label::new(names::SLO_RESULT, "bad"),
            ],
        )
        .increment(1);
    }
    let to = exemplar::now_millis();
    let text = exemplar::fix_exemplar_times(
        &without_process(&m.render_as(Format::OpenMetrics)),
        from,
        to,
    );
    let expected = include_str!("../testdata/openmetrics-1.0.0.txt")
        .replace("OBSKIT_VERSION", env!("CARGO_PKG_VERSION"));
    assert_eq!(text, expected, "got:\n{text}");
}

#[test]
fn user_metrics_recorded_in_a_sampled_span_get_exemplars() {
    let m = MetricsHandle::new("svc");
    let global = Forward(Arc::clone(&m.inner));
    metrics::with_local_recorder(&global, || {
        let _cx = exemplar::context(0xfeed, 0xbeef, true).attach();
        metrics::histogram!("my_duration_seconds", "step" => "parse").record(0.3);
        metrics::counter!("my_events_total").increment(1);
    });
    metrics::with_local_recorder(&global, || {
        let _cx = exemplar::context(0xdead, 0xd00d, false).attach();
        metrics::histogram!("my_duration_seconds", "step" => "parse").record(0.3);
        metrics::counter!("my_events_total").increment(1);
    });
    let text = m.render_as(Format::OpenMetrics);
    let ids = r#"# {trace_id="0000000000000000000000000000feed",span_id="000000000000beef"}"#;
    for sample in [
        r#"my_duration_seconds_bucket{service_name="svc",step="parse",le="0.5"} 2 "#,
        r#"my_events_total{service_name="svc"} 2 "#,
    ] {
        let line = text
            .lines()
            .find(|l| l.starts_with(sample))
            .unwrap_or_else(|| panic!("no {sample}:\n{text}"));
        assert!(line.contains(ids), "{line}");
    }
    assert!(!text.contains("dead"), "{text}");
    assert_eq!(text.matches(" # {").count(), 2, "{text}");
}

#[test]
fn histogram_buckets_can_be_chosen_per_name_before_first_use() {
    let m = MetricsHandle::new("svc");
    m.set_histogram_buckets("payload_bytes", &[100.0, 1000.0])
        .unwrap();
    m.histogram("payload_bytes", Vec::new()).record(100.0);
    m.histogram("payload_bytes", Vec::new()).record(5000.0);
    let text = m.render();
    let lines = lines(&text);
    for expected in [
        r#"payload_bytes_bucket{service_name="svc",le="100"} 1"#,
        r#"payload_bytes_bucket{service_name="svc",le="1000"} 1"#,
        r#"payload_bytes_bucket{service_name="svc",le="+Inf"} 2"#,
        r#"payload_bytes_sum{service_name="svc"} 5100"#,
    ] {
        assert!(lines.contains(&expected), "{expected} missing:\n{text}");
    }
    // The same bounds again are fine; others are refused once series exist.
    m.set_histogram_buckets("payload_bytes", &[100.0, 1000.0])
        .unwrap();
    assert_eq!(
        m.set_histogram_buckets("payload_bytes", &[1.0]),
        Err(BucketsError::AlreadyRegistered {
            name: "payload_bytes".into()
        })
    );
    assert!(matches!(
        m.set_histogram_buckets("other", &[2.0, 1.0]),
        Err(BucketsError::NotIncreasing { .. })
    ));
}

#[test]
fn concurrent_recording_loses_nothing() {
    const THREADS: usize = 8;
    const EACH: usize = 100_000;
    let m = MetricsHandle::new("svc");
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                // Each thread registers its own handles: the same series.
                let c = m.counter("events_total", Vec::new());
                let g = m.gauge("level", Vec::new());
                let h = m.histogram("work_seconds", Vec::new());
                for i in 0..EACH {
                    c.increment(1);
                    g.increment(1.0);
                    h.record(if i % 2 == 0 { 0.25 } else { 100.0 });
                }
            });
        }
    });
    let n = THREADS * EACH;
    let text = m.render();
    let lines = lines(&text);
    for expected in [
        format!(r#"events_total{{service_name="svc"}} {n}"#),
        format!(r#"level{{service_name="svc"}} {n}"#),
        format!(
            r#"work_seconds_bucket{{service_name="svc",le="0.25"}} {}"#,
            n / 2
        ),
        format!(
            r#"work_seconds_bucket{{service_name="svc",le="10"}} {}"#,
            n / 2
        ),
        format!(r#"work_seconds_bucket{{service_name="svc",le="+Inf"}} {n}"#),
        format!(r#"work_seconds_count{{service_name="svc"}} {n}"#),
        format!(
            r#"work_seconds_sum{{service_name="svc"}} {}"#,
            (n / 2) as f64 * 100.25
        ),
    ] {
        assert!(
            lines.contains(&expected.as_str()),
            "{expected} missing:\n{text}"
        );
    }
}

/// A registry holding one series of every kind obskit publishes, plus
/// user series of each type, recorded with fixed values.
fn populated() -> MetricsHandle {
    let m = MetricsHandle::new("svc");
    m.set_build_info("1.2.3", Some("abc"));
    m.derive_counter(names::SPANS_EXPORTED_TOTAL, || 3);
    let server = |route: &str, status: &str| {
        vec![
            Label::new(names::HTTP_REQUEST_METHOD, "GET"),
            Label::new(names::HTTP_ROUTE, route.to_owned()),
            Label::new(names::HTTP_RESPONSE_STATUS_CODE, status.to_owned()),
        ]
    };
    let h = m.histogram(names::HTTP_SERVER_REQUEST_DURATION, server("/a", "200"));
    for v in [0.003, 0.02, 0.02, 1.0, 40.0] {
        h.record(v);
    }
    let mut failed = server("/b/{id}", "500");
    failed.push(Label::new(names::ERROR_TYPE, "500"));
    m.histogram(names::HTTP_SERVER_REQUEST_DURATION, failed)
        .record(0.4);
    m.histogram(
        names::HTTP_CLIENT_REQUEST_DURATION,
        vec![
            Label::new(names::HTTP_REQUEST_METHOD, "POST"),
            Label::new(names::SERVER_ADDRESS, "inventory"),
            Label::new(names::HTTP_RESPONSE_STATUS_CODE, "201"),
        ],
    )
    .record(0.075);
    m.gauge(
        names::HTTP_SERVER_ACTIVE_REQUESTS,
        vec![
            Label::new(names::HTTP_REQUEST_METHOD, "GET"),
            Label::new(names::URL_SCHEME, "http"),
        ],
    )
    .increment(2.0);
    for (result, n) in [("good", 4), ("bad", 1)] {
        m.counter(
            names::SLO_REQUESTS_TOTAL,
            vec![
                Label::new(names::SLO, "latency"),
                Label::new(names::SLO_RESULT, result),
            ],
        )
        .increment(n);
    }
    m.gauge(
        names::SLO_OBJECTIVE_RATIO,
        vec![Label::new(names::SLO, "latency")],
    )
    .set(0.99);
    m.gauge(
        names::SLO_LATENCY_THRESHOLD,
        vec![Label::new(names::SLO, "latency")],
    )
    .set(0.3);
    m.gauge(names::HEALTH_READY, Vec::new()).set(1.0);
    let global = Forward(Arc::clone(&m.inner));
    metrics::with_local_recorder(&global, || {
        metrics::describe_counter!("jobs", "Jobs \"done\"\nso far.");
        metrics::counter!("jobs", "queue" => "a\"b").increment(2);
        metrics::describe_histogram!("upload_size_bytes", metrics::Unit::Bytes, "Upload sizes.");
        metrics::histogram!("upload_size_bytes").record(f64::NAN);
        metrics::gauge!("temperature_celsius").set(-1.5e-7);
    });
    m
}

/// `text` without the `process_*` families, whose values change by themselves.
fn without_process(text: &str) -> String {
    text.lines()
        .filter(|l| {
            !l.starts_with("process_")
                && !l.starts_with("# HELP process_")
                && !l.starts_with("# TYPE process_")
                && !l.starts_with("# UNIT process_")
        })
        .flat_map(|l| [l, "\n"])
        .collect()
}

/// The Prometheus text 0.0.4 output, pinned byte for byte: `/metrics`
/// without an OpenMetrics `Accept` header must never change by accident.
#[test]
fn prometheus_text_is_pinned_byte_for_byte() {
    let text = without_process(&populated().render());
    let expected = include_str!("../testdata/prometheus-0.0.4.txt")
        .replace("OBSKIT_VERSION", env!("CARGO_PKG_VERSION"));
    assert_eq!(text, expected, "got:\n{text}");
}

#[test]
fn promtool_accepts_the_exposition() {
    let m = MetricsHandle::new("svc");
    m.set_build_info("1.2.3", Some("abc"));
    m.derive_counter(names::SPANS_EXPORTED_TOTAL, || 3);
    let labels = |route: &str, status: &str| {
        vec![
            Label::new(names::HTTP_REQUEST_METHOD, "GET"),
            Label::new(names::HTTP_ROUTE, route.to_owned()),
            Label::new(names::HTTP_RESPONSE_STATUS_CODE, status.to_owned()),
        ]
    };
    for (route, status, v) in [("/a", "200", 0.003), ("/b/{id}", "500", 12.0)] {
        m.histogram(names::HTTP_SERVER_REQUEST_DURATION, labels(route, status))
            .record(v);
    }
    m.gauge(
        names::HTTP_SERVER_ACTIVE_REQUESTS,
        vec![Label::new(names::HTTP_REQUEST_METHOD, "GET")],
    )
    .increment(2.0);
    m.counter(
        names::SLO_REQUESTS_TOTAL,
        vec![
            Label::new(names::SLO, "avail\"ability\\\n"),
            Label::new(names::SLO_RESULT, "good"),
        ],
    )
    .increment(4);
    m.gauge(
        names::SLO_OBJECTIVE_RATIO,
        vec![Label::new(names::SLO, "x")],
    )
    .set(0.999);
    // The RPC families too: promtool's linter asks for their HELP.
    let rpc = || vec![Label::new(names::RPC_METHOD, "a.B/C")];
    for name in [
        names::RPC_SERVER_CALL_DURATION,
        names::RPC_CLIENT_CALL_DURATION,
    ] {
        m.histogram(name, rpc()).record(0.2);
    }
    for name in [
        names::RPC_SERVER_ACTIVE_CALLS,
        names::RPC_CLIENT_ACTIVE_CALLS,
    ] {
        m.gauge(name, rpc()).set(1.0);
    }
    let global = Forward(Arc::clone(&m.inner));
    metrics::with_local_recorder(&global, || {
        metrics::describe_histogram!("my.weird-name seconds", "Described\nover \"two\" lines \\.");
        metrics::histogram!("my.weird-name seconds", "9x" => "y").record(f64::NAN);
        metrics::describe_gauge!("my_level", "A level.");
        metrics::gauge!("my_level").set(f64::INFINITY);
    });
    let text = m.render();
    obskit_test_support::assert_promtool_accepts(&text);
}
