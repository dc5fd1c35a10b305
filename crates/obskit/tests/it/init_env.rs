//! `obskit::init!()` in a real process configured by real environment
//! variables: the test binary re-runs itself as the child.

#![allow(clippy::print_stderr)] // The child reports to the parent on stderr.

use std::process::{Command, Output};
use std::time::Duration;

use obskit_test_receiver::Receiver;

const CHILD: &str = "OBSKIT_TEST_CHILD";
/// Set: the child also serves requests through `HttpLayer::new`, one
/// per comma-separated path (`1`: `/ping`).
const CHILD_REQUEST: &str = "OBSKIT_TEST_CHILD_REQUEST";
/// How long `/slow` takes at least.
const SLOW: Duration = Duration::from_millis(50);

/// Runs `child_main` in a fresh process with `vars` set (and nothing
/// inherited from `OTEL_*`).
fn run_child(vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "init_env::child_main",
        "--nocapture",
        "--test-threads=1",
    ]);
    for (k, _) in std::env::vars() {
        if k.starts_with("OTEL_") || k.starts_with("OBSKIT_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.env(CHILD, "1");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("the child runs")
}

/// The child: one line of init, a span with a log line, a clean shutdown.
#[test]
fn child_main() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let telemetry = match obskit::init!() {
            Ok(t) => t,
            Err(e) => {
                eprintln!("INIT ERROR: {e}");
                std::process::exit(3);
            }
        };
        {
            let _s = tracing::info_span!("child_work", job = "demo").entered();
            tracing::info!(answer = 42, "hello from the child");
        }
        metrics::counter!("child_events_total").increment(1);
        let text = telemetry.metrics().render();
        tracing::info!(
            has_global_metric = text.contains("child_events_total"),
            "metrics checked"
        );
        if let Ok(paths) = std::env::var(CHILD_REQUEST) {
            use axum::http::StatusCode;
            use tower::ServiceExt as _;
            let app = axum::Router::new()
                .route("/ping", axum::routing::get(|| async { "pong" }))
                .route(
                    "/boom",
                    axum::routing::get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
                )
                .route(
                    "/slow",
                    axum::routing::get(|| async {
                        tokio::time::sleep(SLOW).await;
                        "late"
                    }),
                )
                .layer(obskit::http::HttpLayer::new(&telemetry));
            let paths = if paths == "1" {
                "/ping".to_owned()
            } else {
                paths
            };
            for path in paths.split(',') {
                let request = axum::http::Request::get(path)
                    .body(axum::body::Body::empty())
                    .unwrap();
                let response = app.clone().oneshot(request).await.unwrap();
                axum::body::to_bytes(response.into_body(), usize::MAX)
                    .await
                    .unwrap();
            }
        }
        let report = telemetry.shutdown().await;
        eprintln!(
            "REPORT exported={} dropped={}",
            report.spans_exported, report.spans_dropped
        );
    });
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        // libtest prints "test child_main ... " before the first line.
        .filter_map(|l| l.find("{\"timestamp\"").map(|i| &l[i..]))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn init_reads_the_environment_and_exports() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let rx = rt.block_on(Receiver::start()).unwrap();
    let out = run_child(&[
        ("OTEL_SERVICE_NAME", "env-svc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.grpc_endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=Bearer%20top-secret",
        ),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=ci,k8s.pod.name=env-svc-5c7d-q2x9z",
        ),
        ("RUST_LOG", "info"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {stderr}");
    assert!(stderr.contains("REPORT exported=1 dropped=0"), "{stderr}");
    let spans = rt.block_on(rx.wait_for_spans(1, Duration::from_secs(5)));
    assert_eq!(spans[0].name, "child_work");
    assert_eq!(spans[0].service_name(), Some("env-svc"));
    assert_eq!(spans[0].resource["deployment.environment.name"], "ci");
    assert_eq!(
        rx.requests()[0].header("authorization"),
        Some("Bearer top-secret")
    );

    let lines = json_lines(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("top-secret"),
        "a header value leaked: {stdout}"
    );
    let effective = lines
        .iter()
        .find(|l| l["message"] == "obskit telemetry initialised")
        .unwrap_or_else(|| panic!("no effective-configuration line in:\n{stdout}"));
    assert_eq!(effective["service_name"], "env-svc");
    assert_eq!(
        effective["service_version"],
        env!("CARGO_PKG_VERSION"),
        "init!() records the calling crate's version"
    );
    assert_eq!(effective["otlp_protocol"], "grpc");
    assert_eq!(effective["otlp_header_names"], "authorization");
    assert_eq!(effective["global_metrics_recorder"], true);
    let resource = effective["resource"].as_str().unwrap();
    assert!(
        resource.contains("k8s.pod.name=env-svc-5c7d-q2x9z,"),
        "{resource}"
    );
    assert!(resource.contains("service.name=env-svc,"), "{resource}");
    assert!(resource.contains("service.instance.id="), "{resource}");
    assert_eq!(
        spans[0].resource["k8s.pod.name"], "env-svc-5c7d-q2x9z",
        "the spans carry the resource the line shows"
    );
    let hello = lines
        .iter()
        .find(|l| l["message"] == "hello from the child")
        .unwrap();
    assert_eq!(hello["trace_id"], spans[0].trace_id.as_str());
    assert_eq!(hello["span_id"], spans[0].span_id.as_str());
    assert_eq!(hello["answer"], 42);
    assert_eq!(hello["spans"][0]["job"], "demo");
    let metrics = lines
        .iter()
        .find(|l| l["message"] == "metrics checked")
        .unwrap();
    assert_eq!(
        metrics["has_global_metric"], true,
        "metrics::counter! lands in obskit's registry"
    );
    assert!(lines.iter().any(|l| l["message"] == "telemetry shut down"));
}

/// Credentials in the endpoint URL appear neither in the start-up line nor
/// in export warnings; init errors mask them too.
#[test]
fn credentials_in_the_endpoint_never_reach_the_logs() {
    let endpoint = obskit_test_receiver::refused_endpoint().unwrap();
    let with_secret = endpoint.replace("http://", "http://user:hunter2@");
    let out = run_child(&[
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            &format!("{with_secret}/v1/traces?key=s3cret"),
        ),
        ("OTEL_BSP_SCHEDULE_DELAY", "10"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for secret in ["hunter2", "s3cret"] {
        assert!(!stdout.contains(secret), "{secret} leaked: {stdout}");
        assert!(!stderr.contains(secret), "{secret} leaked: {stderr}");
    }
    let lines = json_lines(&out);
    let effective = lines
        .iter()
        .find(|l| l["message"] == "obskit telemetry initialised")
        .unwrap_or_else(|| panic!("no start-up line in {stdout}"));
    let host = endpoint.trim_start_matches("http://");
    assert_eq!(
        effective["otlp_endpoint"],
        format!("http://****@{host}/v1/traces?key=****")
    );
    let warning = lines
        .iter()
        .find(|l| l["target"] == "obskit::export")
        .unwrap_or_else(|| panic!("no export warning in {stdout}"));
    let error = warning["error"].as_str().unwrap_or_default();
    assert!(error.contains(&format!("http://****@{host}")), "{error}");

    let out = run_child(&[(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "udp://user:hunter2@host:4317",
    )]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(stderr.contains("udp://****@host:4317"), "{stderr}");
}

#[test]
fn pretty_format_and_filters_come_from_the_environment() {
    let out = run_child(&[
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OBSKIT_LOG_FORMAT", "pretty"),
        ("RUST_LOG", "warn"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        json_lines(&out).is_empty(),
        "pretty output is not JSON: {stdout}"
    );
    assert!(
        !stdout.contains("hello from the child"),
        "info is filtered out at warn: {stdout}"
    );

    let out = run_child(&[
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OBSKIT_LOG_FORMAT", "pretty"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("hello from the child"), "{stdout}");
}

#[test]
fn a_bad_variable_fails_init_with_a_message_naming_it() {
    let cases = [
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "collector:4317",
            "expected an absolute URL",
        ),
        (
            "OTEL_TRACES_SAMPLER",
            "sometimes",
            "accepted values: always_on",
        ),
        (
            "OTEL_TRACES_SAMPLER_ARG",
            "2",
            "expected a number from 0 to 1",
        ),
        (
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "udp",
            "accepted values: grpc, http/protobuf, http/json",
        ),
        (
            "OTEL_PROPAGATORS",
            "tracecontext,zipkin",
            "accepted values: tracecontext, baggage, b3, b3multi, jaeger, none",
        ),
        ("OTEL_EXPORTER_OTLP_HEADERS", "api-key", "entry 1"),
        ("RUST_LOG", "info,[=x", "not a valid log filter"),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "ftp://collector:4318",
            "neither http nor https",
        ),
        // Read by the server and the layer, refused at init all the same.
        ("OBSKIT_ACCESS_LOG", "loud", "accepted values: trace"),
        ("OBSKIT_DRAIN_DELAY", "soon", "a duration with a unit"),
        ("OBSKIT_INFLIGHT_TIMEOUT", "10", "a duration with a unit"),
        ("OBSKIT_ACCESS_LOG_STATUS", "5xxx", "e.g. 4xx,5xx"),
        ("OBSKIT_ACCESS_LOG_STATUS", "599-500", "inclusive ranges"),
        (
            "OBSKIT_ACCESS_LOG_MIN_DURATION",
            "250",
            "a duration with a unit",
        ),
    ];
    for (var, value, hint) in cases {
        let out = run_child(&[(var, value)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{var}={value}: {stderr}");
        let line = stderr
            .lines()
            .find(|l| l.starts_with("INIT ERROR"))
            .unwrap_or_default();
        assert!(line.contains(var), "{var}: {line}");
        assert!(line.contains(hint), "{var}: {line}");
    }
}

/// `OBSKIT_ACCESS_LOG` belongs to the layer: `HttpLayer::new` reads it.
#[test]
fn the_layer_takes_its_access_log_level_from_the_environment() {
    let access = |level: &str| -> Vec<serde_json::Value> {
        let out = run_child(&[
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OBSKIT_ACCESS_LOG", level),
            (CHILD_REQUEST, "1"),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json_lines(&out)
            .into_iter()
            .filter(|l| l["target"] == "obskit::access")
            .collect()
    };
    let warn = access("warn");
    assert_eq!(warn.len(), 1, "{warn:?}");
    assert_eq!(warn[0]["message"], "GET /ping 200");
    assert_eq!(warn[0]["level"], "WARN");
    assert_eq!(access("off"), Vec::<serde_json::Value>::new());
}

/// The access-log filter: only the statuses and durations asked for, and
/// every failed request whatever the filter says.
#[test]
fn the_access_log_filter_keeps_what_it_is_told_and_every_failure() {
    let messages = |vars: &[(&str, &str)]| -> Vec<String> {
        let mut all = vec![
            ("OTEL_TRACES_EXPORTER", "none"),
            (CHILD_REQUEST, "/ping,/missing,/boom,/slow"),
        ];
        all.extend_from_slice(vars);
        let out = run_child(&all);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json_lines(&out)
            .into_iter()
            .filter(|l| l["target"] == "obskit::access")
            .map(|l| l["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(
        messages(&[]),
        [
            "GET /ping 200",
            "GET _unmatched 404",
            "GET /boom 500",
            "GET /slow 200"
        ],
        "no filter: every request"
    );
    // An hour is longer than any request here: only the 4xx and the failure.
    assert_eq!(
        messages(&[
            ("OBSKIT_ACCESS_LOG_STATUS", "4xx"),
            ("OBSKIT_ACCESS_LOG_MIN_DURATION", "1h")
        ]),
        ["GET _unmatched 404", "GET /boom 500"]
    );
    // `/slow` takes at least SLOW; the others are not asserted either way
    // (a loaded machine may make any request slow).
    let slow = messages(&[("OBSKIT_ACCESS_LOG_MIN_DURATION", "50ms")]);
    assert!(slow.iter().any(|m| m == "GET /slow 200"), "{slow:?}");
    assert!(slow.iter().any(|m| m == "GET /boom 500"), "{slow:?}");
    assert_eq!(
        messages(&[("OBSKIT_ACCESS_LOG_STATUS", "200")]),
        ["GET /ping 200", "GET /boom 500", "GET /slow 200"]
    );
}

#[test]
fn the_console_exporter_writes_spans_as_json_on_stderr() {
    let out = run_child(&[("OTEL_TRACES_EXPORTER", "console")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("REPORT exported=1 dropped=0"), "{stderr}");
    let span: serde_json::Value = stderr
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON span line on stderr: {stderr}"));
    assert_eq!(span["name"], "child_work");
    assert_eq!(span["trace_id"].as_str().map(str::len), Some(32));
    assert_eq!(span["attributes"]["job"], "demo");
}
