//! The official OpenTelemetry Python SDK as the exporting peer of the real `obskit dev`:
//! traces, logs and metrics over gRPC and over HTTP/protobuf, plain and gzip, cumulative
//! and delta; each arrives whole and shows on the pages (the log line linked to its trace,
//! the metrics feeding the service page's figures, with nothing scraped).

#![cfg(feature = "dev")]

use crate::dev_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use dev_support::{Dev, get};
use obskit_test_support::wait;

/// Whether python3 with the OpenTelemetry SDK and both OTLP exporters is here; fails under
/// `CI` when it is not (`.ci/run` installs it).
fn python_sdk() -> bool {
    obskit_test_support::python3_with(
        "opentelemetry.sdk, opentelemetry.exporter.otlp.proto.grpc, opentelemetry.exporter.otlp.proto.http",
        "pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-grpc opentelemetry-exporter-otlp-proto-http",
    )
}

/// Polls `path` on the UI until its page contains `needle`.
fn page_with(dev: &Dev, path: &str, needle: &str) -> String {
    wait::poll(Duration::from_secs(60), || {
        let (status, page) = get(dev.ui_port, path);
        if status == 200 && page.contains(needle) {
            Ok(page)
        } else {
            Err(page)
        }
    })
    .unwrap_or_else(|page| panic!("`{needle}` never on {path}:\n{page}"))
}

#[test]
fn the_python_sdk_exports_traces_logs_and_metrics_over_grpc_and_http_plain_and_gzip() {
    if !python_sdk() {
        return;
    }
    let mut dev = Dev::start(None, &[], &[]);
    let grpc_port = dev.grpc_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/dev_python/export.py");
    for (protocol, compression, temporality) in [
        ("grpc", "none", "cumulative"),
        ("grpc", "gzip", "delta"),
        ("http", "none", "delta"),
        ("http", "gzip", "cumulative"),
    ] {
        let service = format!("py-{protocol}-{compression}");
        let endpoint = match protocol {
            "grpc" => format!("http://127.0.0.1:{grpc_port}"),
            _ => format!("http://127.0.0.1:{}", dev.http_port),
        };
        let mut python = Command::new("python3");
        python
            .arg(&script)
            .args([protocol, &service, temporality])
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
            .env_remove("OTEL_EXPORTER_OTLP_COMPRESSION")
            .env_remove("OTEL_EXPORTER_OTLP_PROTOCOL");
        if compression == "gzip" {
            python.env("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip");
        }
        let output = python.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{service}: {stderr}");
        // The SDK logs export failures on stderr: there must be none.
        assert!(!stderr.contains("Failed to export"), "{service}: {stderr}");
        let trace_id = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        assert_eq!(trace_id.len(), 32, "{service}: {trace_id}");

        let waterfall = page_with(&dev, &format!("/traces/{trace_id}"), "SELECT items");
        assert!(waterfall.contains("id=\"span-count\">2<"), "{waterfall}");
        // The log record, inside the client span, linked to it like a stdout line.
        assert!(
            waterfall.contains(&format!("python says hello from {service}")),
            "{waterfall}"
        );
        assert!(
            waterfall.contains("class=\"span-link mono\" href=\"#span-"),
            "{waterfall}"
        );
        let logs = page_with(
            &dev,
            &format!("/logs?live=0&q={service}"),
            "python says hello",
        );
        assert!(
            logs.contains(&format!("href=\"/traces/{trace_id}\"")),
            "{logs}"
        );
        assert!(logs.contains(">WARN<"), "{logs}");
        assert!(logs.contains("shop.orders"), "{logs}");
    }
    // The metrics of all four, on the service page with nothing scraped: three requests each.
    let service = page_with(&dev, "/service", "py-http-gzip");
    assert!(service.contains("metrics received over OTLP"), "{service}");
    for name in [
        "py-grpc-none",
        "py-grpc-gzip",
        "py-http-none",
        "py-http-gzip",
    ] {
        let row = service
            .split("<tr class=\"route\"")
            .find(|row| row.contains(&format!("<td>{name}</td>")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{service}"));
        assert!(row.contains("<td class=\"num\">3</td>"), "{name}: {row}");
    }
    dev.collect();
    assert!(
        !dev.err_lines.iter().any(|l| l.contains("refused")),
        "{}",
        dev.err_lines.join("\n")
    );
}
