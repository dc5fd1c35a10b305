//! The environment variables obskit reads, as public constants.
//!
//! Standard OpenTelemetry variables come first; `OBSKIT_*` variables exist
//! only for what the OpenTelemetry specification does not define.

/// `service.name` resource attribute; wins over `OTEL_RESOURCE_ATTRIBUTES`.
pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
/// Comma-separated `key=value` resource attributes, values percent-encoded.
pub const OTEL_RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
/// `true` disables the OpenTelemetry SDK: no spans, OTLP log records or
/// OTLP metrics are exported; stdout logs and `/metrics` stay.
pub const OTEL_SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
/// Where spans go: `otlp` (default), `console` or `none`.
pub const OTEL_TRACES_EXPORTER: &str = "OTEL_TRACES_EXPORTER";
/// Where log events go: `console` (default: obskit's JSON lines, or pretty
/// ones, on standard output), `otlp` (OTLP log records), `none`, or a
/// comma-separated list such as `otlp,console`.
pub const OTEL_LOGS_EXPORTER: &str = "OTEL_LOGS_EXPORTER";
/// Where metrics go: `prometheus` (default: served on `/metrics`), `otlp`
/// (pushed every `OTEL_METRIC_EXPORT_INTERVAL`), `none`, or a
/// comma-separated list such as `otlp,prometheus`.
pub const OTEL_METRICS_EXPORTER: &str = "OTEL_METRICS_EXPORTER";
/// Milliseconds between two OTLP metric pushes (default 60000).
pub const OTEL_METRIC_EXPORT_INTERVAL: &str = "OTEL_METRIC_EXPORT_INTERVAL";
/// Bound on one OTLP metric push, retries included, in milliseconds (default 30000).
pub const OTEL_METRIC_EXPORT_TIMEOUT: &str = "OTEL_METRIC_EXPORT_TIMEOUT";
/// Temporality of pushed counters and histograms: `cumulative` (default),
/// `delta` or `lowmemory`.
pub const OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: &str =
    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
/// Sampler name, as the specification lists them.
pub const OTEL_TRACES_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
/// Sampler argument: the ratio for the `traceidratio` samplers.
pub const OTEL_TRACES_SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
/// Comma-separated propagators: `tracecontext`, `baggage`, `b3`, `b3multi`, `jaeger`, `none`.
pub const OTEL_PROPAGATORS: &str = "OTEL_PROPAGATORS";

/// Base OTLP endpoint for every signal (HTTP adds `/v1/traces`).
pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// OTLP endpoint for traces, used exactly as given.
pub const OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// OTLP transport: `grpc`, `http/protobuf` (default) or `http/json`.
pub const OTEL_EXPORTER_OTLP_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// OTLP transport for traces.
pub const OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
/// Comma-separated `key=value` headers sent with every export, values percent-encoded.
pub const OTEL_EXPORTER_OTLP_HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
/// Headers sent with every trace export.
pub const OTEL_EXPORTER_OTLP_TRACES_HEADERS: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
/// Timeout of each export request (one attempt) in milliseconds (default 10000).
pub const OTEL_EXPORTER_OTLP_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
/// Export timeout for traces in milliseconds.
pub const OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";

/// Compression of export bodies: `gzip` or `none` (default).
pub const OTEL_EXPORTER_OTLP_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
/// Compression of trace export bodies.
pub const OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
/// PEM file of the certificates (a private CA) that verify the collector's
/// TLS certificate, in addition to the platform's roots.
pub const OTEL_EXPORTER_OTLP_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CERTIFICATE";
/// Like [`OTEL_EXPORTER_OTLP_CERTIFICATE`], for traces.
pub const OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE";
/// PEM file of the client's private key, for mTLS (with the client certificate).
pub const OTEL_EXPORTER_OTLP_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_CLIENT_KEY";
/// Like [`OTEL_EXPORTER_OTLP_CLIENT_KEY`], for traces.
pub const OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY";
/// PEM file of the client's certificate chain, for mTLS (with the client key).
pub const OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE";
/// Like [`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`], for traces.
pub const OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE: &str =
    "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE";

/// OTLP endpoint for logs, used exactly as given (HTTP default: the base
/// endpoint with `/v1/logs`).
pub const OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT";
/// OTLP transport for logs: `grpc` or `http/protobuf`.
pub const OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL";
/// Headers sent with every log export.
pub const OTEL_EXPORTER_OTLP_LOGS_HEADERS: &str = "OTEL_EXPORTER_OTLP_LOGS_HEADERS";
/// Timeout of each log export request (one attempt) in milliseconds.
pub const OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT";
/// Compression of log export bodies.
pub const OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION";
/// Like [`OTEL_EXPORTER_OTLP_CERTIFICATE`], for logs.
pub const OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE";
/// Like [`OTEL_EXPORTER_OTLP_CLIENT_KEY`], for logs.
pub const OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY";
/// Like [`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`], for logs.
pub const OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE: &str =
    "OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE";

/// OTLP endpoint for metrics, used exactly as given (HTTP default: the
/// base endpoint with `/v1/metrics`).
pub const OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
/// OTLP transport for metrics: `grpc` or `http/protobuf`.
pub const OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL";
/// Headers sent with every metrics export.
pub const OTEL_EXPORTER_OTLP_METRICS_HEADERS: &str = "OTEL_EXPORTER_OTLP_METRICS_HEADERS";
/// Timeout of each metrics export request (one attempt) in milliseconds.
pub const OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT";
/// Compression of metrics export bodies.
pub const OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION";
/// Like [`OTEL_EXPORTER_OTLP_CERTIFICATE`], for metrics.
pub const OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE";
/// Like [`OTEL_EXPORTER_OTLP_CLIENT_KEY`], for metrics.
pub const OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY";
/// Like [`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`], for metrics.
pub const OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE: &str =
    "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE";

/// Batch span processor: delay between exports in milliseconds (default 5000).
pub const OTEL_BSP_SCHEDULE_DELAY: &str = "OTEL_BSP_SCHEDULE_DELAY";
/// Batch span processor: bound on one whole export, retries and backoff
/// included, in milliseconds (default 30000).
pub const OTEL_BSP_EXPORT_TIMEOUT: &str = "OTEL_BSP_EXPORT_TIMEOUT";
/// Batch span processor: spans held before new ones are dropped (default 2048).
pub const OTEL_BSP_MAX_QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
/// Batch span processor: most spans in one export (default 512).
pub const OTEL_BSP_MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";

/// Batch log record processor: delay between exports in milliseconds (default 1000).
pub const OTEL_BLRP_SCHEDULE_DELAY: &str = "OTEL_BLRP_SCHEDULE_DELAY";
/// Batch log record processor: bound on one whole export, retries and
/// backoff included, in milliseconds (default 30000).
pub const OTEL_BLRP_EXPORT_TIMEOUT: &str = "OTEL_BLRP_EXPORT_TIMEOUT";
/// Batch log record processor: records held before new ones are dropped (default 2048).
pub const OTEL_BLRP_MAX_QUEUE_SIZE: &str = "OTEL_BLRP_MAX_QUEUE_SIZE";
/// Batch log record processor: most records in one export (default 512).
pub const OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE";

/// Log filter directives, as `tracing_subscriber::EnvFilter` reads them (default `info`).
pub const RUST_LOG: &str = "RUST_LOG";
/// Log format: `json` (default) or `pretty`.
pub const OBSKIT_LOG_FORMAT: &str = "OBSKIT_LOG_FORMAT";
/// Bound on the whole shutdown, as a duration such as `5s` or `500ms` (default `5s`).
pub const OBSKIT_SHUTDOWN_TIMEOUT: &str = "OBSKIT_SHUTDOWN_TIMEOUT";
/// How long [`serve`](crate::serve()) keeps serving after a shutdown signal
/// while readiness reports `draining`, so load balancers stop sending
/// traffic first (default `5s`). Read by [`Server::new`](crate::Server::new).
pub const OBSKIT_DRAIN_DELAY: &str = "OBSKIT_DRAIN_DELAY";
/// How long [`serve`](crate::serve()) waits for in-flight requests once it
/// stops accepting, before it closes them (default `10s`). Read by
/// [`Server::new`](crate::Server::new).
pub const OBSKIT_INFLIGHT_TIMEOUT: &str = "OBSKIT_INFLIGHT_TIMEOUT";
/// Level of the HTTP access log line: `trace`, `debug`, `info` (default),
/// `warn`, `error`, or `off`. Read by [`HttpLayer`](crate::http::HttpLayer)'s `new`.
pub const OBSKIT_ACCESS_LOG: &str = "OBSKIT_ACCESS_LOG";
/// Writes access lines only for these statuses (unset: every status), as a
/// comma-separated list of codes, inclusive ranges and classes:
/// `4xx,5xx`, `404,500-599`. For gRPC calls the numbers are gRPC status
/// codes (`0`–`16`). Failed and cancelled requests are always written; a
/// request that passes this or [`OBSKIT_ACCESS_LOG_MIN_DURATION`] is
/// written. Read by the HTTP and gRPC layers.
pub const OBSKIT_ACCESS_LOG_STATUS: &str = "OBSKIT_ACCESS_LOG_STATUS";
/// Writes access lines only for requests that took at least this long
/// (unset: every request), as a duration such as `250ms`. Failed and
/// cancelled requests are always written; a request that passes this or
/// [`OBSKIT_ACCESS_LOG_STATUS`] is written. Read by the HTTP and gRPC layers.
pub const OBSKIT_ACCESS_LOG_MIN_DURATION: &str = "OBSKIT_ACCESS_LOG_MIN_DURATION";
/// What turns `tracing` spans into OpenTelemetry spans: `obskit` (default)
/// or `tracing-opentelemetry` (for code using its `OpenTelemetrySpanExt`).
pub const OBSKIT_SPAN_BRIDGE: &str = "OBSKIT_SPAN_BRIDGE";
/// Source revision the service was built from (the `vcs_revision` build-info label).
pub const OBSKIT_VCS_REVISION: &str = "OBSKIT_VCS_REVISION";

/// Every variable obskit reads, for documentation and the configuration table test.
pub const ALL: &[&str] = &[
    OTEL_SERVICE_NAME,
    OTEL_RESOURCE_ATTRIBUTES,
    OTEL_SDK_DISABLED,
    OTEL_TRACES_EXPORTER,
    OTEL_LOGS_EXPORTER,
    OTEL_METRICS_EXPORTER,
    OTEL_METRIC_EXPORT_INTERVAL,
    OTEL_METRIC_EXPORT_TIMEOUT,
    OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
    OTEL_TRACES_SAMPLER,
    OTEL_TRACES_SAMPLER_ARG,
    OTEL_PROPAGATORS,
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    OTEL_EXPORTER_OTLP_HEADERS,
    OTEL_EXPORTER_OTLP_TRACES_HEADERS,
    OTEL_EXPORTER_OTLP_TIMEOUT,
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
    OTEL_EXPORTER_OTLP_COMPRESSION,
    OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
    OTEL_EXPORTER_OTLP_CERTIFICATE,
    OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE,
    OTEL_EXPORTER_OTLP_CLIENT_KEY,
    OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY,
    OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
    OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE,
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT,
    OTEL_EXPORTER_OTLP_LOGS_PROTOCOL,
    OTEL_EXPORTER_OTLP_LOGS_HEADERS,
    OTEL_EXPORTER_OTLP_LOGS_TIMEOUT,
    OTEL_EXPORTER_OTLP_LOGS_COMPRESSION,
    OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE,
    OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY,
    OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE,
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
    OTEL_EXPORTER_OTLP_METRICS_HEADERS,
    OTEL_EXPORTER_OTLP_METRICS_TIMEOUT,
    OTEL_EXPORTER_OTLP_METRICS_COMPRESSION,
    OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE,
    OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY,
    OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE,
    OTEL_BSP_SCHEDULE_DELAY,
    OTEL_BSP_EXPORT_TIMEOUT,
    OTEL_BSP_MAX_QUEUE_SIZE,
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
    OTEL_BLRP_SCHEDULE_DELAY,
    OTEL_BLRP_EXPORT_TIMEOUT,
    OTEL_BLRP_MAX_QUEUE_SIZE,
    OTEL_BLRP_MAX_EXPORT_BATCH_SIZE,
    RUST_LOG,
    OBSKIT_LOG_FORMAT,
    OBSKIT_SHUTDOWN_TIMEOUT,
    OBSKIT_DRAIN_DELAY,
    OBSKIT_INFLIGHT_TIMEOUT,
    OBSKIT_ACCESS_LOG,
    OBSKIT_ACCESS_LOG_STATUS,
    OBSKIT_ACCESS_LOG_MIN_DURATION,
    OBSKIT_SPAN_BRIDGE,
    OBSKIT_VCS_REVISION,
];
