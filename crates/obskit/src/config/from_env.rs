//! Reading the configuration from the environment: the standard `OTEL_*`
//! variables first, `OBSKIT_*` only for what OpenTelemetry does not define
//! (their names are the constants of [`env`](super::env)).

use super::options::{ExporterList as _, Word as _};
use super::*;

/// The variable names of one signal's OTLP settings.
struct SignalVars {
    endpoint: &'static str,
    protocol: &'static str,
    headers: &'static str,
    timeout: &'static str,
    compression: &'static str,
    certificate: &'static str,
    client_key: &'static str,
    client_certificate: &'static str,
}

const LOGS_VARS: SignalVars = SignalVars {
    endpoint: env::OTEL_EXPORTER_OTLP_LOGS_ENDPOINT,
    protocol: env::OTEL_EXPORTER_OTLP_LOGS_PROTOCOL,
    headers: env::OTEL_EXPORTER_OTLP_LOGS_HEADERS,
    timeout: env::OTEL_EXPORTER_OTLP_LOGS_TIMEOUT,
    compression: env::OTEL_EXPORTER_OTLP_LOGS_COMPRESSION,
    certificate: env::OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE,
    client_key: env::OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY,
    client_certificate: env::OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE,
};

const METRICS_VARS: SignalVars = SignalVars {
    endpoint: env::OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
    protocol: env::OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
    headers: env::OTEL_EXPORTER_OTLP_METRICS_HEADERS,
    timeout: env::OTEL_EXPORTER_OTLP_METRICS_TIMEOUT,
    compression: env::OTEL_EXPORTER_OTLP_METRICS_COMPRESSION,
    certificate: env::OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE,
    client_key: env::OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY,
    client_certificate: env::OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE,
};

const TRACES_VARS: SignalVars = SignalVars {
    endpoint: env::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    protocol: env::OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    headers: env::OTEL_EXPORTER_OTLP_TRACES_HEADERS,
    timeout: env::OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
    compression: env::OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
    certificate: env::OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE,
    client_key: env::OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY,
    client_certificate: env::OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE,
};

impl SignalOtlp {
    /// Reads one signal's settings: its own variable where set, else the
    /// shared `OTEL_EXPORTER_OTLP_*` one.
    fn from_env(
        get: &dyn Fn(&str) -> Option<String>,
        vars: &SignalVars,
    ) -> Result<Self, ConfigError> {
        use env::*;
        let either = |specific: &'static str, generic: &'static str| {
            get(specific)
                .map(|v| (specific, v))
                .or_else(|| get(generic).map(|v| (generic, v)))
        };
        let mut c = Self::default();
        if let Some(v) = get(vars.endpoint) {
            c.endpoint = Some((vars.endpoint, parse::endpoint(vars.endpoint, &v)?));
        }
        if let Some((setting, v)) = either(vars.protocol, OTEL_EXPORTER_OTLP_PROTOCOL) {
            c.protocol = OtlpProtocol::parse(setting, &v)?;
        }
        if let Some((setting, v)) = either(vars.headers, OTEL_EXPORTER_OTLP_HEADERS) {
            c.headers = parse::headers(setting, &v)?;
        }
        if let Some((setting, v)) = either(vars.timeout, OTEL_EXPORTER_OTLP_TIMEOUT) {
            c.timeout = parse::millis(setting, &v)?;
        }
        if let Some((setting, v)) = either(vars.compression, OTEL_EXPORTER_OTLP_COMPRESSION) {
            c.compression = Compression::parse(setting, &v)?;
        }
        let file = |specific, generic| {
            either(specific, generic).map(|(setting, v)| TlsFile {
                setting,
                path: v.trim().into(),
            })
        };
        c.tls = TlsFiles {
            certificate: file(vars.certificate, OTEL_EXPORTER_OTLP_CERTIFICATE),
            client_key: file(vars.client_key, OTEL_EXPORTER_OTLP_CLIENT_KEY),
            client_certificate: file(
                vars.client_certificate,
                OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
            ),
        };
        Ok(c)
    }
}

/// Reads a batch processor's four variables into `batch`.
fn batch_from_env(
    get: &dyn Fn(&str) -> Option<String>,
    batch: &mut BatchConfig,
    [queue, size, delay, timeout]: [&'static str; 4],
) -> Result<(), ConfigError> {
    if let Some(v) = get(queue) {
        batch.max_queue_size = parse::count(queue, &v)?;
    }
    if let Some(v) = get(size) {
        batch.max_export_batch_size = parse::count(size, &v)?;
    }
    if let Some(v) = get(delay) {
        batch.scheduled_delay = parse::millis(delay, &v)?;
    }
    if let Some(v) = get(timeout) {
        batch.export_timeout = parse::millis(timeout, &v)?;
    }
    Ok(())
}

impl Config {
    /// Reads the process environment; see [`env`](mod@env) for the variables.
    ///
    /// A variable set to the empty string counts as unset, as the
    /// specification says.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`
    /// instead of the process environment (for tests and for layered config).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut c = Self::default();
        use env::*;

        if let Some(v) = get(OTEL_RESOURCE_ATTRIBUTES) {
            c.resource_attributes = parse::key_values(OTEL_RESOURCE_ATTRIBUTES, &v)?;
        }
        if let Some(v) = get(OTEL_SERVICE_NAME) {
            c = c.service_name_from(OTEL_SERVICE_NAME, v)?;
        }
        if let Some(v) = get(OBSKIT_VCS_REVISION) {
            c.vcs_revision = Some(v.trim().to_owned());
        }
        if let Some(v) = get(RUST_LOG) {
            c = c.log_filter_from(RUST_LOG, v)?;
        }
        if let Some(v) = get(OBSKIT_LOG_FORMAT) {
            c.log_format = LogFormat::parse(OBSKIT_LOG_FORMAT, &v)?;
        }
        if let Some(v) = get(OBSKIT_SPAN_BRIDGE) {
            c.span_bridge = SpanBridge::parse(OBSKIT_SPAN_BRIDGE, &v)?;
        }
        if let Some(v) = get(OTEL_SDK_DISABLED) {
            c.sdk_disabled = parse::boolean(OTEL_SDK_DISABLED, &v)?;
        }
        if let Some(v) = get(OTEL_TRACES_EXPORTER) {
            c.exporters = TracesExporter::parse_list(OTEL_TRACES_EXPORTER, &v)?;
        }
        if let Some(v) = get(OTEL_EXPORTER_OTLP_ENDPOINT) {
            c.base_endpoint = Some(parse::endpoint(OTEL_EXPORTER_OTLP_ENDPOINT, &v)?);
        }
        let traces = SignalOtlp::from_env(&get, &TRACES_VARS)?;
        c.traces_endpoint = traces.endpoint.map(|(_, url)| url);
        c.protocol = traces.protocol;
        c.headers = traces.headers;
        c.export_timeout = traces.timeout;
        c.compression = traces.compression;
        c.tls = traces.tls;
        if let Some(v) = get(OTEL_LOGS_EXPORTER) {
            c.logs_exporters = LogsExporter::parse_list(OTEL_LOGS_EXPORTER, &v)?;
        }
        c.logs_otlp = SignalOtlp::from_env(&get, &LOGS_VARS)?;
        if let Some(v) = get(OTEL_METRICS_EXPORTER) {
            c.metrics_exporters = MetricsExporter::parse_list(OTEL_METRICS_EXPORTER, &v)?;
        }
        c.metrics_otlp = SignalOtlp::from_env(&get, &METRICS_VARS)?;
        if let Some(v) = get(OTEL_METRIC_EXPORT_INTERVAL) {
            c.metric_interval = parse::millis(OTEL_METRIC_EXPORT_INTERVAL, &v)?;
            if c.metric_interval.is_zero() {
                return Err(ConfigError::InvalidNumber {
                    setting: OTEL_METRIC_EXPORT_INTERVAL,
                    value: v,
                    expected: "a positive number of milliseconds",
                });
            }
        }
        if let Some(v) = get(OTEL_METRIC_EXPORT_TIMEOUT) {
            c.metric_timeout = parse::millis(OTEL_METRIC_EXPORT_TIMEOUT, &v)?;
        }
        if let Some(v) = get(OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE) {
            c.temporality =
                Temporality::parse(OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, &v)?;
        }
        let sampler_arg = get(OTEL_TRACES_SAMPLER_ARG);
        if let Some(v) = get(OTEL_TRACES_SAMPLER) {
            c.sampler = Sampler::parse(
                OTEL_TRACES_SAMPLER,
                &v,
                OTEL_TRACES_SAMPLER_ARG,
                sampler_arg.as_deref(),
            )?;
        } else if let Some(arg) = sampler_arg.as_deref() {
            // An argument without a sampler is meaningless but almost always
            // a half-done configuration: validate it so the mistake surfaces.
            parse::ratio(OTEL_TRACES_SAMPLER_ARG, arg)?;
        }
        if let Some(v) = lookup(OTEL_PROPAGATORS) {
            // Unlike other variables, an explicitly empty list is not "unset"
            // only when it says `none`; empty stays the default.
            if !v.trim().is_empty() {
                c.propagators = PropagationFormat::parse_list(OTEL_PROPAGATORS, &v)?;
            }
        }
        batch_from_env(
            &get,
            &mut c.batch,
            [
                OTEL_BSP_MAX_QUEUE_SIZE,
                OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
                OTEL_BSP_SCHEDULE_DELAY,
                OTEL_BSP_EXPORT_TIMEOUT,
            ],
        )?;
        batch_from_env(
            &get,
            &mut c.logs_batch,
            [
                OTEL_BLRP_MAX_QUEUE_SIZE,
                OTEL_BLRP_MAX_EXPORT_BATCH_SIZE,
                OTEL_BLRP_SCHEDULE_DELAY,
                OTEL_BLRP_EXPORT_TIMEOUT,
            ],
        )?;
        if let Some(v) = get(OBSKIT_SHUTDOWN_TIMEOUT) {
            c.shutdown_timeout = parse::duration(OBSKIT_SHUTDOWN_TIMEOUT, &v)?;
        }
        // Read by the server and the HTTP layer; checked here so a bad
        // value stops the service at start.
        server::validate(&get)?;
        Ok(c)
    }
}
