//! OTLP over TLS with a private CA, mTLS, and gzip bodies, against the test
//! receiver serving TLS with certificates each test makes; bad TLS files
//! fail `init` with an error naming the variable.

use crate::support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use obskit::InitError;
use obskit_test_receiver::{Behavior, Receiver, TestCa, TlsSettings};
use support::{config, harness};

fn spans(n: usize) {
    for i in 0..n {
        drop(tracing::info_span!("tls_work", i).entered());
    }
}

/// The CA, the receiver's TLS settings (mTLS when `mutual`), and the
/// PEM files a client needs, in `dir`.
struct Pki {
    settings: TlsSettings,
    ca_file: PathBuf,
    client_cert_file: PathBuf,
    client_key_file: PathBuf,
}

fn pki(dir: &Path, mutual: bool) -> Pki {
    let ca = TestCa::new();
    let server = ca.issue(&["127.0.0.1", "localhost"]);
    let client = ca.issue(&["obskit-client"]);
    let ca_file = dir.join("ca.pem");
    let client_cert_file = dir.join("client.pem");
    let client_key_file = dir.join("client-key.pem");
    std::fs::write(&ca_file, ca.certificate_pem()).unwrap();
    std::fs::write(&client_cert_file, &client.certificate_pem).unwrap();
    std::fs::write(&client_key_file, &client.private_key_pem).unwrap();
    Pki {
        settings: TlsSettings {
            server,
            client_ca_pem: mutual.then(|| ca.certificate_pem().to_owned()),
        },
        ca_file,
        client_cert_file,
        client_key_file,
    }
}

fn endpoint(rx: &Receiver, protocol: &str) -> String {
    if protocol == "grpc" {
        rx.grpc_endpoint()
    } else {
        rx.http_endpoint()
    }
}

/// Exports 3 spans with `vars` and returns (exported, dropped).
async fn export(vars: &[(&str, &str)]) -> (u64, u64) {
    let h = harness(config(vars).shutdown_timeout(Duration::from_secs(5)));
    spans(3);
    let report = h.telemetry.shutdown().await;
    (report.spans_exported, report.spans_dropped)
}

#[tokio::test]
async fn a_collector_behind_a_private_ca_is_reached_with_the_certificate_variable() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path(), false);
    let rx = Receiver::start_tls(Behavior::Healthy, &pki.settings).unwrap();
    let ca = pki.ca_file.to_str().unwrap();
    for (protocol, variable) in [
        ("grpc", "OTEL_EXPORTER_OTLP_CERTIFICATE"),
        ("http/protobuf", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"),
        ("http/json", "OTEL_EXPORTER_OTLP_CERTIFICATE"),
    ] {
        let url = endpoint(&rx, protocol);
        assert!(url.starts_with("https://"), "{url}");
        let base = [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", url.as_str()),
        ];
        // Without the CA the server's certificate is not trusted.
        assert_eq!(export(&base).await, (0, 3), "{protocol} without the CA");
        let mut vars = base.to_vec();
        vars.push((variable, ca));
        assert_eq!(export(&vars).await, (3, 0), "{protocol} with {variable}");
    }
    assert_eq!(rx.spans().len(), 9);
}

#[tokio::test]
async fn mtls_presents_the_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path(), true);
    let rx = Receiver::start_tls(Behavior::Healthy, &pki.settings).unwrap();
    let ca = pki.ca_file.to_str().unwrap();
    let cert = pki.client_cert_file.to_str().unwrap();
    let key = pki.client_key_file.to_str().unwrap();
    for (protocol, generic) in [
        ("grpc", true),
        ("http/protobuf", false),
        ("http/json", true),
    ] {
        let url = endpoint(&rx, protocol);
        let base = [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", url.as_str()),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", ca),
        ];
        assert_eq!(
            export(&base).await,
            (0, 3),
            "{protocol}: the server requires a client certificate"
        );
        let mut vars = base.to_vec();
        if generic {
            vars.push(("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", cert));
            vars.push(("OTEL_EXPORTER_OTLP_CLIENT_KEY", key));
        } else {
            vars.push(("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", cert));
            vars.push(("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", key));
        }
        assert_eq!(
            export(&vars).await,
            (3, 0),
            "{protocol} with a client identity"
        );
    }
    // The builder methods do the same as the variables.
    let url = rx.http_endpoint();
    let h = harness(
        config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", url.as_str())])
            .otlp_certificate(&pki.ca_file)
            .otlp_client_identity(&pki.client_cert_file, &pki.client_key_file),
    );
    spans(1);
    assert_eq!(h.telemetry.shutdown().await.spans_exported, 1);
}

#[tokio::test]
async fn gzip_compression_over_grpc_and_http_protobuf_and_json() {
    let rx = Receiver::start().await.unwrap();
    for (protocol, header, variable) in [
        ("grpc", "grpc-encoding", "OTEL_EXPORTER_OTLP_COMPRESSION"),
        (
            "http/protobuf",
            "content-encoding",
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
        ),
        (
            "http/json",
            "content-encoding",
            "OTEL_EXPORTER_OTLP_COMPRESSION",
        ),
    ] {
        rx.clear();
        let url = endpoint(&rx, protocol);
        let vars = [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", url.as_str()),
            (variable, "gzip"),
        ];
        assert_eq!(export(&vars).await, (3, 0), "{protocol}");
        let requests = rx.requests();
        assert!(!requests.is_empty());
        for r in &requests {
            assert_eq!(
                r.header(header),
                Some("gzip"),
                "{protocol}: {:?}",
                r.headers
            );
        }
        assert_eq!(rx.spans().len(), 3, "{protocol}: the spans were decoded");

        rx.clear();
        let vars = [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", url.as_str()),
            (variable, "none"),
        ];
        assert_eq!(export(&vars).await, (3, 0), "{protocol}");
        assert!(
            rx.requests().iter().all(|r| r.header(header).is_none()),
            "{protocol}: uncompressed"
        );
    }
}

#[tokio::test]
async fn gzip_and_tls_together() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path(), true);
    let rx = Receiver::start_tls(Behavior::Healthy, &pki.settings).unwrap();
    for protocol in ["grpc", "http/protobuf", "http/json"] {
        let url = endpoint(&rx, protocol);
        let vars = [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", url.as_str()),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            (
                "OTEL_EXPORTER_OTLP_CERTIFICATE",
                pki.ca_file.to_str().unwrap(),
            ),
            (
                "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                pki.client_cert_file.to_str().unwrap(),
            ),
            (
                "OTEL_EXPORTER_OTLP_CLIENT_KEY",
                pki.client_key_file.to_str().unwrap(),
            ),
        ];
        assert_eq!(export(&vars).await, (3, 0), "{protocol}");
    }
}

/// Extra variables of one case.
type Vars<'a> = Vec<(&'a str, &'a str)>;

fn init_error(vars: &[(&str, &str)]) -> InitError {
    match config(vars).build_layer_with_writer::<tracing_subscriber::Registry>(std::io::sink()) {
        Ok(_) => panic!("init succeeded with {vars:?}"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn bad_tls_files_fail_init_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path(), false);
    let missing = dir.path().join("missing.pem");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "this is not PEM").unwrap();
    let unreadable = dir.path().join("a-directory.pem");
    std::fs::create_dir(&unreadable).unwrap();
    let (missing, garbage, unreadable) = (
        missing.to_str().unwrap(),
        garbage.to_str().unwrap(),
        unreadable.to_str().unwrap(),
    );
    let key = pki.client_key_file.to_str().unwrap();
    let cert = pki.client_cert_file.to_str().unwrap();
    for protocol in ["grpc", "http/protobuf", "http/json"] {
        let endpoint = "https://127.0.0.1:4318";
        let cases: Vec<(Vars<'_>, &str, &str)> = vec![
            (
                vec![("OTEL_EXPORTER_OTLP_CERTIFICATE", missing)],
                "OTEL_EXPORTER_OTLP_CERTIFICATE",
                "cannot read the file",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", unreadable)],
                "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
                "cannot read the file",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_CERTIFICATE", garbage)],
                "OTEL_EXPORTER_OTLP_CERTIFICATE",
                "no certificate",
            ),
            (
                vec![
                    ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", cert),
                    ("OTEL_EXPORTER_OTLP_CLIENT_KEY", garbage),
                ],
                "OTEL_EXPORTER_OTLP_CLIENT_KEY",
                "no usable private key",
            ),
            (
                vec![
                    ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", key),
                    ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", key),
                ],
                "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
                "no certificate",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_CLIENT_KEY", key)],
                "OTEL_EXPORTER_OTLP_CLIENT_KEY",
                "needs its certificate too",
            ),
        ];
        for (extra, variable, hint) in cases {
            let mut vars = vec![
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ];
            vars.extend(extra);
            let err = init_error(&vars);
            let InitError::Tls { variable: v, .. } = &err else {
                panic!("{protocol} {variable}: not a TLS error: {err:?}");
            };
            assert_eq!(*v, variable, "{protocol}: {err}");
            let text = err.to_string();
            assert!(text.starts_with(variable), "{text}");
            assert!(text.contains(hint), "{protocol}: {text}");
        }
    }
}

/// A key that does not belong to the certificate is valid PEM, so it
/// passes the file checks; the transport refuses it, and the error says so
/// (not "cannot start an export thread").
#[tokio::test]
async fn a_mismatched_client_identity_is_a_transport_error() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path(), false);
    let other = TestCa::new().issue(&["other"]);
    let other_key = dir.path().join("other-key.pem");
    std::fs::write(&other_key, &other.private_key_pem).unwrap();
    for protocol in ["grpc", "http/protobuf"] {
        let err = init_error(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "https://user:hunter2@127.0.0.1:4318",
            ),
            (
                "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                pki.client_cert_file.to_str().unwrap(),
            ),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", other_key.to_str().unwrap()),
        ]);
        let text = err.to_string();
        assert!(!text.contains("export thread"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        match protocol {
            "grpc" => assert!(matches!(err, InitError::GrpcChannel { .. }), "{err:?}"),
            _ => assert!(matches!(err, InitError::HttpClient { .. }), "{err:?}"),
        }
    }
}

/// Log records and metrics ride the same transport as spans: a private CA,
/// a client identity and gzip, each set through the signal's own variable
/// (`_LOGS_`, `_METRICS_`), over gRPC and HTTP/protobuf.
#[tokio::test]
async fn logs_and_metrics_use_their_own_tls_and_compression_variables() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path(), true);
    let rx = Receiver::start_tls(Behavior::Healthy, &pki.settings).unwrap();
    let ca = pki.ca_file.to_str().unwrap();
    let cert = pki.client_cert_file.to_str().unwrap();
    let key = pki.client_key_file.to_str().unwrap();
    for (protocol, header) in [
        ("grpc", "grpc-encoding"),
        ("http/protobuf", "content-encoding"),
    ] {
        rx.clear();
        let url = endpoint(&rx, protocol);
        let h = harness(
            config(&[
                ("OTEL_TRACES_EXPORTER", "none"),
                ("OTEL_LOGS_EXPORTER", "otlp"),
                ("OTEL_METRICS_EXPORTER", "otlp"),
                ("OTEL_METRIC_EXPORT_INTERVAL", "3600000"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", url.as_str()),
                ("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE", ca),
                ("OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE", cert),
                ("OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY", key),
                ("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "gzip"),
                ("OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", ca),
                ("OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE", cert),
                ("OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY", key),
                ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "gzip"),
            ])
            .shutdown_timeout(Duration::from_secs(20)),
        );
        tracing::info!(secure = true, "over tls");
        h.telemetry
            .metrics()
            .counter("tls_jobs_total", vec![])
            .increment(4);
        let report = h.telemetry.shutdown().await;
        assert!(!report.timed_out, "{protocol}: {report:?}");
        assert_eq!(report.log_records_exported, 1, "{protocol}: {report:?}");
        let logs = rx.logs();
        assert_eq!(logs.len(), 1, "{protocol}: {logs:#?}");
        assert_eq!(logs[0].body_str(), Some("over tls"));
        assert!(
            rx.log_requests()
                .iter()
                .all(|r| r.header(header) == Some("gzip")),
            "{protocol}"
        );
        let metrics = rx.metrics_requests();
        assert_eq!(metrics.len(), 1, "{protocol}: one push, at shutdown");
        assert_eq!(metrics[0].header(header), Some("gzip"), "{protocol}");
        assert!(
            metrics[0]
                .metrics()
                .iter()
                .any(|(_, m)| m.name == "tls_jobs_total"),
            "{protocol}"
        );
    }
    // Without them, the collector's certificate is not trusted: nothing arrives.
    rx.clear();
    let url = endpoint(&rx, "http/protobuf");
    let h = harness(
        config(&[
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", url.as_str()),
            ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", ca),
        ])
        .shutdown_timeout(Duration::from_secs(20)),
    );
    tracing::info!("refused");
    let report = h.telemetry.shutdown().await;
    assert_eq!(
        (report.log_records_exported, report.log_records_dropped),
        (0, 1),
        "the traces certificate is not the logs': {report:?}"
    );
    assert!(rx.logs().is_empty());
}
