//! Tests of the configuration: the specification's defaults, every
//! variable's parsing and precedence, and errors that name the variable.

use std::collections::HashMap;

use super::*;

fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_env_with(|name| map.get(name).cloned())
}

#[test]
fn defaults_follow_the_specification() {
    let c = from(&[]).unwrap();
    assert_eq!(c.protocol, OtlpProtocol::HttpProtobuf);
    assert_eq!(c.otlp_traces_endpoint(), "http://localhost:4318/v1/traces");
    assert_eq!(c.sampler, Sampler::ParentBasedAlwaysOn);
    assert_eq!(
        c.propagators,
        vec![PropagationFormat::TraceContext, PropagationFormat::Baggage]
    );
    assert_eq!(c.exporters, vec![TracesExporter::Otlp]);
    assert_eq!(c.export_timeout, Duration::from_secs(10));
    assert_eq!(c.log_filter, "info");
    assert_eq!(c.log_format, LogFormat::Json);
    assert!(!c.sdk_disabled);
    assert_eq!(c.batch, BatchConfig::default());
    let grpc = from(&[(env::OTEL_EXPORTER_OTLP_PROTOCOL, "grpc")]).unwrap();
    assert_eq!(grpc.otlp_traces_endpoint(), "http://localhost:4317");
}

#[test]
fn endpoint_url_rules() {
    let c = from(&[(
        env::OTEL_EXPORTER_OTLP_ENDPOINT,
        "http://collector:4318/otlp/",
    )])
    .unwrap();
    assert_eq!(
        c.otlp_traces_endpoint(),
        "http://collector:4318/otlp/v1/traces"
    );
    let c = from(&[
        (env::OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4318"),
        (
            env::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
            "http://traces:9999/custom",
        ),
    ])
    .unwrap();
    assert_eq!(c.otlp_traces_endpoint(), "http://traces:9999/custom");
    let c = from(&[
        (env::OTEL_EXPORTER_OTLP_PROTOCOL, "grpc"),
        (env::OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4317"),
    ])
    .unwrap();
    assert_eq!(c.otlp_traces_endpoint(), "http://collector:4317");
    let err = from(&[(env::OTEL_EXPORTER_OTLP_ENDPOINT, "collector:4317")]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("OTEL_EXPORTER_OTLP_ENDPOINT=\"collector:4317\"")
    );
}

#[test]
fn signal_specific_variables_win() {
    let c = from(&[
        (env::OTEL_EXPORTER_OTLP_PROTOCOL, "grpc"),
        (env::OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, "http/json"),
        (env::OTEL_EXPORTER_OTLP_HEADERS, "a=1"),
        (env::OTEL_EXPORTER_OTLP_TRACES_HEADERS, "b=2"),
        (env::OTEL_EXPORTER_OTLP_TIMEOUT, "100"),
        (env::OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, "200"),
    ])
    .unwrap();
    assert_eq!(c.protocol, OtlpProtocol::HttpJson);
    assert_eq!(c.headers, vec![("b".to_owned(), "2".to_owned())]);
    assert_eq!(c.export_timeout, Duration::from_millis(200));
}

#[test]
fn logs_settings_fall_back_to_the_shared_ones() {
    let c = from(&[]).unwrap();
    assert_eq!(c.logs_exporters, vec![LogsExporter::Console]);
    assert_eq!(c.otlp_logs_endpoint(), "http://localhost:4318/v1/logs");
    assert_eq!(c.logs_batch, BatchConfig::logs());
    assert_eq!(c.logs_batch.scheduled_delay, Duration::from_secs(1));
    let c = from(&[
        (env::OTEL_LOGS_EXPORTER, "otlp,console"),
        (
            env::OTEL_EXPORTER_OTLP_ENDPOINT,
            "http://collector:4318/otlp/",
        ),
        (env::OTEL_EXPORTER_OTLP_HEADERS, "a=1"),
        (env::OTEL_EXPORTER_OTLP_TRACES_HEADERS, "t=2"),
        (env::OTEL_EXPORTER_OTLP_COMPRESSION, "gzip"),
        (env::OTEL_EXPORTER_OTLP_LOGS_TIMEOUT, "300"),
        (env::OTEL_EXPORTER_OTLP_CERTIFICATE, "/ca.pem"),
        (env::OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY, "/logs-key.pem"),
        (env::OTEL_BLRP_MAX_QUEUE_SIZE, "7"),
        (env::OTEL_BLRP_SCHEDULE_DELAY, "250"),
    ])
    .unwrap();
    assert_eq!(
        c.logs_exporters,
        vec![LogsExporter::Otlp, LogsExporter::Console]
    );
    assert_eq!(c.otlp_logs_endpoint(), "http://collector:4318/otlp/v1/logs");
    let t = c.logs_target();
    assert_eq!(t.headers, vec![("a".to_owned(), "1".to_owned())]);
    assert_eq!(t.compression, Compression::Gzip);
    assert_eq!(t.timeout, Duration::from_millis(300));
    assert_eq!(
        c.export_timeout,
        Duration::from_secs(10),
        "traces keep theirs"
    );
    assert_eq!(
        t.tls.certificate.unwrap().setting,
        env::OTEL_EXPORTER_OTLP_CERTIFICATE
    );
    assert_eq!(
        t.tls.client_key.unwrap().setting,
        env::OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY
    );
    assert_eq!(c.logs_batch.max_queue_size, 7);
    assert_eq!(c.logs_batch.scheduled_delay, Duration::from_millis(250));
    assert_eq!(c.batch, BatchConfig::default(), "spans keep theirs");
    let c = from(&[
        (env::OTEL_EXPORTER_OTLP_PROTOCOL, "grpc"),
        (env::OTEL_EXPORTER_OTLP_ENDPOINT, "http://collector:4317"),
        (
            env::OTEL_EXPORTER_OTLP_LOGS_ENDPOINT,
            "http://logs:4318/v1/logs",
        ),
        (env::OTEL_EXPORTER_OTLP_LOGS_PROTOCOL, "http/protobuf"),
    ])
    .unwrap();
    assert_eq!(c.otlp_logs_endpoint(), "http://logs:4318/v1/logs");
    assert_eq!(c.logs_target().protocol, OtlpProtocol::HttpProtobuf);
    assert_eq!(c.protocol, OtlpProtocol::Grpc);
    assert_eq!(
        c.logs_target().url_setting,
        env::OTEL_EXPORTER_OTLP_LOGS_ENDPOINT
    );
}

#[test]
fn service_name_resolution_order() {
    let c = from(&[(
        env::OTEL_RESOURCE_ATTRIBUTES,
        "service.name=attr,service.version=1.2.3",
    )])
    .unwrap();
    assert_eq!(c.resolved_service_name(), "attr");
    assert_eq!(c.resolved_service_version(), "1.2.3");
    let c = from(&[
        (env::OTEL_RESOURCE_ATTRIBUTES, "service.name=attr"),
        (env::OTEL_SERVICE_NAME, "env"),
    ])
    .unwrap();
    assert_eq!(c.resolved_service_name(), "env");
    let c = from(&[]).unwrap().build_info(BuildInfo {
        name: "my-svc",
        version: "0.3.0",
        vcs_revision: Some("abc123"),
    });
    assert_eq!(c.resolved_service_name(), "my-svc");
    assert_eq!(c.resolved_service_version(), "0.3.0");
    assert_eq!(c.resolved_vcs_revision().as_deref(), Some("abc123"));
    assert!(!from(&[]).unwrap().resolved_service_name().is_empty());
    assert!(
        from(&[(env::OTEL_SERVICE_NAME, "  ")]).is_ok(),
        "blank counts as unset"
    );
}

#[test]
fn every_bad_value_names_its_variable() {
    let cases: &[(&str, &str)] = &[
        (env::OTEL_SDK_DISABLED, "maybe"),
        (env::OTEL_TRACES_EXPORTER, "kafka"),
        (env::OTEL_TRACES_SAMPLER, "sometimes"),
        (env::OTEL_TRACES_SAMPLER_ARG, "1.5"),
        (env::OTEL_PROPAGATORS, "w3c"),
        (env::OTEL_EXPORTER_OTLP_ENDPOINT, "localhost:4317"),
        (env::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, "udp://x"),
        (env::OTEL_EXPORTER_OTLP_PROTOCOL, "thrift"),
        (env::OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, "http"),
        (env::OTEL_EXPORTER_OTLP_HEADERS, "novalue"),
        (env::OTEL_EXPORTER_OTLP_TRACES_HEADERS, "a b=c"),
        (env::OTEL_EXPORTER_OTLP_TIMEOUT, "10s"),
        (env::OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, "-1"),
        (env::OTEL_EXPORTER_OTLP_COMPRESSION, "zip"),
        (env::OTEL_EXPORTER_OTLP_TRACES_COMPRESSION, "brotli"),
        (env::OTEL_RESOURCE_ATTRIBUTES, "=x"),
        (env::OTEL_BSP_MAX_QUEUE_SIZE, "0"),
        (env::OTEL_BSP_MAX_EXPORT_BATCH_SIZE, "many"),
        (env::OTEL_BSP_SCHEDULE_DELAY, "1s"),
        (env::OTEL_BSP_EXPORT_TIMEOUT, "soon"),
        (env::OTEL_LOGS_EXPORTER, "stdout"),
        (env::OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, "collector:4318"),
        (env::OTEL_EXPORTER_OTLP_LOGS_PROTOCOL, "udp"),
        (env::OTEL_EXPORTER_OTLP_LOGS_HEADERS, "novalue"),
        (env::OTEL_EXPORTER_OTLP_LOGS_TIMEOUT, "1s"),
        (env::OTEL_EXPORTER_OTLP_LOGS_COMPRESSION, "zstd"),
        (env::OTEL_BLRP_MAX_QUEUE_SIZE, "0"),
        (env::OTEL_BLRP_MAX_EXPORT_BATCH_SIZE, "all"),
        (env::OTEL_BLRP_SCHEDULE_DELAY, "-1"),
        (env::OTEL_BLRP_EXPORT_TIMEOUT, "later"),
        (env::OTEL_METRICS_EXPORTER, "statsd"),
        (env::OTEL_METRIC_EXPORT_INTERVAL, "0"),
        (env::OTEL_METRIC_EXPORT_TIMEOUT, "30s"),
        (
            env::OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
            "both",
        ),
        (env::OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, "collector"),
        (env::OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, "thrift"),
        (env::OTEL_EXPORTER_OTLP_METRICS_HEADERS, "=v"),
        (env::OTEL_EXPORTER_OTLP_METRICS_TIMEOUT, "fast"),
        (env::OTEL_EXPORTER_OTLP_METRICS_COMPRESSION, "lz4"),
        (env::RUST_LOG, "info,[=bad"),
        (env::OBSKIT_LOG_FORMAT, "xml"),
        (env::OBSKIT_SHUTDOWN_TIMEOUT, "5"),
        (env::OBSKIT_DRAIN_DELAY, "soon"),
        (env::OBSKIT_INFLIGHT_TIMEOUT, "-3s"),
        (env::OBSKIT_ACCESS_LOG, "loud"),
        (env::OBSKIT_SPAN_BRIDGE, "otel"),
    ];
    for (var, value) in cases {
        let err = from(&[(var, value)]).expect_err(var).to_string();
        assert!(err.starts_with(var), "{var}: {err}");
    }
}

#[test]
fn compression_and_tls_files_from_the_environment() {
    let c = from(&[]).unwrap();
    assert_eq!(c.compression, Compression::None);
    assert!(c.tls.is_empty());
    let c = from(&[
        (env::OTEL_EXPORTER_OTLP_COMPRESSION, "GZIP"),
        (env::OTEL_EXPORTER_OTLP_CERTIFICATE, "/ca.pem"),
        (env::OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE, "/traces-ca.pem"),
        (env::OTEL_EXPORTER_OTLP_CLIENT_KEY, " /key.pem "),
        (env::OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE, "/cert.pem"),
    ])
    .unwrap();
    assert_eq!(c.compression, Compression::Gzip);
    let ca = c.tls.certificate.unwrap();
    assert_eq!(ca.setting, env::OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE);
    assert_eq!(ca.path, std::path::Path::new("/traces-ca.pem"));
    let key = c.tls.client_key.unwrap();
    assert_eq!(key.setting, env::OTEL_EXPORTER_OTLP_CLIENT_KEY);
    assert_eq!(key.path, std::path::Path::new("/key.pem"));
    assert_eq!(
        c.tls.client_certificate.unwrap().setting,
        env::OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE
    );
    let c = from(&[
        (env::OTEL_EXPORTER_OTLP_COMPRESSION, "gzip"),
        (env::OTEL_EXPORTER_OTLP_TRACES_COMPRESSION, "none"),
    ])
    .unwrap();
    assert_eq!(c.compression, Compression::None, "the traces form wins");
}

#[test]
fn debug_output_never_shows_header_values() {
    let c = from(&[(
        env::OTEL_EXPORTER_OTLP_HEADERS,
        "authorization=Bearer%20s3cret",
    )])
    .unwrap();
    let shown = format!("{c:?}");
    assert!(shown.contains("authorization"), "{shown}");
    assert!(!shown.contains("s3cret"), "{shown}");
}

#[test]
fn credentials_in_endpoints_are_masked_in_debug_and_errors() {
    for var in [
        env::OTEL_EXPORTER_OTLP_ENDPOINT,
        env::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    ] {
        let c = from(&[(var, "https://user:hunter2@collector:4318/?token=abc")]).unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("abc"),
            "{shown}"
        );
        assert!(shown.contains("https://****@collector:4318/"), "{shown}");
        // The real endpoint is still used as given.
        assert!(c.otlp_traces_endpoint().contains("user:hunter2@"));

        let err = from(&[(var, "ftp://user:hunter2@collector:4318")]).unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("ftp://****@collector:4318"), "{text}");
        assert!(!format!("{err:?}").contains("hunter2"));
    }
    let err = Config::default()
        .otlp_endpoint("user:hunter2@collector:4318")
        .unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn builder_setters_validate() {
    assert!(Config::default().service_name("").is_err());
    assert!(Config::default().log_filter("=[").is_err());
    assert!(
        Config::default()
            .sampler(Sampler::TraceIdRatio(1.1))
            .is_err()
    );
    assert!(Config::default().otlp_endpoint("nope").is_err());
    assert!(Config::default().otlp_header("x-key", "v").is_ok());
    assert!(Config::default().otlp_header("bad key", "v").is_err());
}
