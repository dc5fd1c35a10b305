//! Configuration: a builder with sane defaults, filled from the standard
//! `OTEL_*` environment variables by [`Config::from_env`].
//!
//! ```
//! use std::time::Duration;
//! use obskit::config::{Config, Sampler};
//!
//! let config = Config::default()
//!     .service_name("payments")?
//!     .sampler(Sampler::ParentBasedTraceIdRatio(0.25))?
//!     .shutdown_timeout(Duration::from_secs(3));
//! # Ok::<(), obskit::ConfigError>(())
//! ```

pub mod env;
mod from_env;
mod options;
pub(crate) mod parse;
pub(crate) mod redact;
pub(crate) mod server;
mod shutdown;
mod target;

use std::fmt;
use std::time::Duration;

pub use options::{
    Compression, LogFormat, LogsExporter, MetricsExporter, OtlpProtocol, PropagationFormat,
    Sampler, SpanBridge, Temporality, TracesExporter,
};
pub use shutdown::{
    DEFAULT_DRAIN_DELAY, DEFAULT_INFLIGHT_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT, ShutdownBounds,
    shutdown_bound,
};

pub(crate) use target::Target;

use crate::error::ConfigError;

/// What a service is and which build it runs, captured at compile time by
/// [`build_info!`](crate::build_info).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    /// The crate name of the binary.
    pub name: &'static str,
    /// The crate version of the binary.
    pub version: &'static str,
    /// The source revision, when the build knew it.
    pub vcs_revision: Option<&'static str>,
}

/// Captures the calling crate's [`BuildInfo`]: its name, its version, and
/// the revision from `OBSKIT_VCS_REVISION`, `GIT_COMMIT` or `GITHUB_SHA` if
/// one was set when it was compiled.
#[macro_export]
macro_rules! build_info {
    () => {
        $crate::config::BuildInfo {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            vcs_revision: match option_env!("OBSKIT_VCS_REVISION") {
                Some(rev) => Some(rev),
                None => match option_env!("GIT_COMMIT") {
                    Some(rev) => Some(rev),
                    None => option_env!("GITHUB_SHA"),
                },
            },
        }
    };
}

/// A batch processor's limits: the `OTEL_BSP_*` variables for spans, the
/// `OTEL_BLRP_*` ones for log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchConfig {
    /// Items held before new ones are dropped.
    pub max_queue_size: usize,
    /// Most items sent in one export.
    pub max_export_batch_size: usize,
    /// Longest wait before a partial batch is sent.
    pub scheduled_delay: Duration,
    /// Bound on one whole export: every attempt and the backoff between them
    /// (`OTEL_BSP_EXPORT_TIMEOUT`, `OTEL_BLRP_EXPORT_TIMEOUT`). Each attempt is bounded by the transport
    /// timeout ([`Config::otlp_timeout`]).
    pub export_timeout: Duration,
}

impl BatchConfig {
    /// The log record processor's defaults: as spans, but a partial batch
    /// waits at most one second (the specification's
    /// `OTEL_BLRP_SCHEDULE_DELAY`).
    pub fn logs() -> Self {
        Self {
            scheduled_delay: Duration::from_millis(1000),
            ..Self::default()
        }
    }

    fn clamped(self) -> Self {
        Self {
            max_queue_size: self.max_queue_size.max(1),
            max_export_batch_size: self.max_export_batch_size.max(1),
            ..self
        }
    }
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            max_queue_size: 2048,
            max_export_batch_size: 512,
            scheduled_delay: Duration::from_millis(5000),
            export_timeout: Duration::from_millis(30_000),
        }
    }
}

/// A PEM file named by a TLS variable (or builder method), read at `init`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsFile {
    /// Where the path came from, named in errors.
    pub(crate) setting: &'static str,
    pub(crate) path: std::path::PathBuf,
}

/// The TLS files for the OTLP exporter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TlsFiles {
    /// Extra roots that verify the collector (a private CA).
    pub(crate) certificate: Option<TlsFile>,
    /// The client's key and certificate chain, for mTLS.
    pub(crate) client_key: Option<TlsFile>,
    pub(crate) client_certificate: Option<TlsFile>,
}

impl TlsFiles {
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.certificate.is_none() && self.client_key.is_none() && self.client_certificate.is_none()
    }
}

/// One signal's OTLP settings where they may differ from the shared ones:
/// filled from the signal's own variables, else the shared ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SignalOtlp {
    /// The signal's own endpoint, used as given, and where it came from.
    pub(crate) endpoint: Option<(&'static str, url::Url)>,
    pub(crate) protocol: OtlpProtocol,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) timeout: Duration,
    pub(crate) compression: Compression,
    pub(crate) tls: TlsFiles,
}

impl Default for SignalOtlp {
    fn default() -> Self {
        Self {
            endpoint: None,
            protocol: OtlpProtocol::default(),
            headers: Vec::new(),
            timeout: Duration::from_millis(10_000),
            compression: Compression::None,
            tls: TlsFiles::default(),
        }
    }
}

/// Everything [`install`](Config::install) needs. Build one with
/// [`Config::from_env`] or [`Config::default`] and the setters.
#[derive(Clone)]
pub struct Config {
    pub(crate) service_name: Option<String>,
    pub(crate) build: Option<BuildInfo>,
    pub(crate) service_version: Option<String>,
    pub(crate) vcs_revision: Option<String>,
    pub(crate) resource_attributes: Vec<(String, String)>,
    pub(crate) log_filter: String,
    pub(crate) log_format: LogFormat,
    pub(crate) log_buffer_lines: usize,
    pub(crate) span_bridge: SpanBridge,
    pub(crate) sdk_disabled: bool,
    pub(crate) exporters: Vec<TracesExporter>,
    pub(crate) protocol: OtlpProtocol,
    /// Base endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`): HTTP appends `/v1/traces`.
    pub(crate) base_endpoint: Option<url::Url>,
    /// Traces endpoint used as given.
    pub(crate) traces_endpoint: Option<url::Url>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) export_timeout: Duration,
    pub(crate) compression: Compression,
    pub(crate) tls: TlsFiles,
    pub(crate) sampler: Sampler,
    pub(crate) propagators: Vec<PropagationFormat>,
    pub(crate) batch: BatchConfig,
    pub(crate) logs_exporters: Vec<LogsExporter>,
    pub(crate) logs_otlp: SignalOtlp,
    pub(crate) logs_batch: BatchConfig,
    pub(crate) metrics_exporters: Vec<MetricsExporter>,
    pub(crate) metrics_otlp: SignalOtlp,
    pub(crate) metric_interval: Duration,
    pub(crate) metric_timeout: Duration,
    pub(crate) temporality: Temporality,
    pub(crate) shutdown_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            service_name: None,
            build: None,
            service_version: None,
            vcs_revision: None,
            resource_attributes: Vec::new(),
            log_filter: "info".to_owned(),
            log_format: LogFormat::Json,
            log_buffer_lines: 16_384,
            span_bridge: SpanBridge::Obskit,
            sdk_disabled: false,
            exporters: vec![TracesExporter::Otlp],
            protocol: OtlpProtocol::default(),
            base_endpoint: None,
            traces_endpoint: None,
            headers: Vec::new(),
            export_timeout: Duration::from_millis(10_000),
            compression: Compression::None,
            tls: TlsFiles::default(),
            sampler: Sampler::default(),
            propagators: vec![PropagationFormat::TraceContext, PropagationFormat::Baggage],
            batch: BatchConfig::default(),
            logs_exporters: vec![LogsExporter::Console],
            logs_otlp: SignalOtlp::default(),
            logs_batch: BatchConfig::logs(),
            metrics_exporters: vec![MetricsExporter::Prometheus],
            metrics_otlp: SignalOtlp::default(),
            metric_interval: Duration::from_millis(60_000),
            metric_timeout: Duration::from_millis(30_000),
            temporality: Temporality::Cumulative,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }
}

impl fmt::Debug for Config {
    /// Redacted: header values never appear, and the endpoint's user info
    /// and query values are masked (`https://****@host`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("service_name", &self.resolved_service_name())
            .field("service_version", &self.resolved_service_version())
            .field("log_filter", &self.log_filter)
            .field("log_format", &self.log_format)
            .field("span_bridge", &self.span_bridge)
            .field("sdk_disabled", &self.sdk_disabled)
            .field("exporters", &self.exporters)
            .field("protocol", &self.protocol)
            .field("endpoint", &redact::url(&self.otlp_traces_endpoint()))
            .field("header_names", &self.header_names())
            .field("export_timeout", &self.export_timeout)
            .field("compression", &self.compression)
            .field("tls", &self.tls)
            .field("sampler", &self.sampler)
            .field("propagators", &self.propagators)
            .field("batch", &self.batch)
            .field("logs_exporters", &self.logs_exporters)
            .field("logs_endpoint", &redact::url(&self.otlp_logs_endpoint()))
            .field("logs_protocol", &self.logs_otlp.protocol)
            .field(
                "logs_header_names",
                &self
                    .logs_otlp
                    .headers
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("logs_batch", &self.logs_batch)
            .field("metrics_exporters", &self.metrics_exporters)
            .field(
                "metrics_endpoint",
                &redact::url(&self.otlp_metrics_endpoint()),
            )
            .field("metrics_protocol", &self.metrics_otlp.protocol)
            .field("metric_interval", &self.metric_interval)
            .field("metric_timeout", &self.metric_timeout)
            .field("temporality", &self.temporality)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish()
    }
}

impl Config {
    /// Sets `service.name`. Overrides `OTEL_SERVICE_NAME`.
    pub fn service_name(self, name: impl Into<String>) -> Result<Self, ConfigError> {
        self.service_name_from("Config::service_name", name.into())
    }

    fn service_name_from(
        mut self,
        setting: &'static str,
        name: String,
    ) -> Result<Self, ConfigError> {
        let trimmed = name.trim();
        if trimmed.is_empty() || trimmed.len() > 255 {
            return Err(ConfigError::InvalidServiceName {
                setting,
                value: name,
            });
        }
        self.service_name = Some(trimmed.to_owned());
        Ok(self)
    }

    /// Records the binary's name, version and revision (see [`build_info!`](crate::build_info)).
    /// The name is the service name unless one is configured.
    #[must_use]
    pub fn build_info(mut self, build: BuildInfo) -> Self {
        self.build = Some(build);
        self
    }

    /// Sets `service.version`. Overrides the build info and `OTEL_RESOURCE_ATTRIBUTES`.
    #[must_use]
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }

    /// Adds a resource attribute; a later value for the same key wins.
    #[must_use]
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.resource_attributes.push((key.into(), value.into()));
        self
    }

    /// Sets the log filter directives (`RUST_LOG` syntax).
    pub fn log_filter(self, directives: impl Into<String>) -> Result<Self, ConfigError> {
        self.log_filter_from("Config::log_filter", directives.into())
    }

    fn log_filter_from(
        mut self,
        setting: &'static str,
        directives: String,
    ) -> Result<Self, ConfigError> {
        if let Err(e) = tracing_subscriber::EnvFilter::builder().parse(&directives) {
            return Err(ConfigError::InvalidFilter {
                setting,
                value: directives,
                reason: e.to_string(),
            });
        }
        self.log_filter = directives;
        Ok(self)
    }

    /// Sets the log format.
    #[must_use]
    pub fn log_format(mut self, format: LogFormat) -> Self {
        self.log_format = format;
        self
    }

    /// Chooses what turns `tracing` spans into OpenTelemetry spans
    /// (`OBSKIT_SPAN_BRIDGE`).
    ///
    /// ```
    /// use obskit::config::SpanBridge;
    /// let config = obskit::Config::default().span_bridge(SpanBridge::TracingOpentelemetry);
    /// # drop(config);
    /// ```
    #[must_use]
    pub fn span_bridge(mut self, bridge: SpanBridge) -> Self {
        self.span_bridge = bridge;
        self
    }

    /// Sets how many log lines may wait for the writer before new ones are
    /// dropped (and counted in `obskit_log_lines_dropped_total`).
    #[must_use]
    pub fn log_buffer_lines(mut self, lines: usize) -> Self {
        self.log_buffer_lines = lines.max(1);
        self
    }

    /// Turns span export off (`OTEL_SDK_DISABLED=true`); logs and metrics stay.
    #[must_use]
    pub fn sdk_disabled(mut self, disabled: bool) -> Self {
        self.sdk_disabled = disabled;
        self
    }

    /// Chooses where spans go.
    #[must_use]
    pub fn traces_exporter(mut self, exporter: TracesExporter) -> Self {
        self.exporters = vec![exporter];
        self
    }

    /// Sets the OTLP traces endpoint, used exactly as given (like
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
    pub fn otlp_endpoint(mut self, endpoint: &str) -> Result<Self, ConfigError> {
        self.traces_endpoint = Some(parse::endpoint("Config::otlp_endpoint", endpoint)?);
        Ok(self)
    }

    /// Sets the OTLP transport.
    #[must_use]
    pub fn otlp_protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.protocol = protocol;
        self.logs_otlp.protocol = protocol;
        self.metrics_otlp.protocol = protocol;
        self
    }

    /// Adds a header sent with every export.
    pub fn otlp_header(mut self, name: &str, value: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: &str| ConfigError::InvalidKeyValueList {
            setting: "Config::otlp_header",
            entry: 1,
            reason: reason.to_owned(),
        };
        http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid("the name is not a valid HTTP header name"))?;
        http::HeaderValue::from_str(value)
            .map_err(|_| invalid("the value contains characters not allowed in an HTTP header"))?;
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self.logs_otlp
            .headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self.metrics_otlp
            .headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        Ok(self)
    }

    /// Sets the timeout of each export request, one attempt (like
    /// `OTEL_EXPORTER_OTLP_TIMEOUT`); the whole export with its retries is
    /// bounded by [`BatchConfig::export_timeout`].
    #[must_use]
    pub fn otlp_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = timeout;
        self.logs_otlp.timeout = timeout;
        self.metrics_otlp.timeout = timeout;
        self
    }

    /// Sets the compression of export bodies (like `OTEL_EXPORTER_OTLP_COMPRESSION`).
    #[must_use]
    pub fn otlp_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self.logs_otlp.compression = compression;
        self.metrics_otlp.compression = compression;
        self
    }

    /// Trusts the certificates in this PEM file for the collector's TLS
    /// certificate, besides the platform's roots (like
    /// `OTEL_EXPORTER_OTLP_CERTIFICATE`). The file is read by `install`/`build`.
    #[must_use]
    pub fn otlp_certificate(mut self, pem_file: impl Into<std::path::PathBuf>) -> Self {
        let file = TlsFile {
            setting: "Config::otlp_certificate",
            path: pem_file.into(),
        };
        self.tls.certificate = Some(file.clone());
        self.logs_otlp.tls.certificate = Some(file.clone());
        self.metrics_otlp.tls.certificate = Some(file);
        self
    }

    /// Presents this client certificate chain and key (PEM files) to the
    /// collector, for mTLS (like `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and
    /// `OTEL_EXPORTER_OTLP_CLIENT_KEY`). The files are read by `install`/`build`.
    #[must_use]
    pub fn otlp_client_identity(
        mut self,
        certificate_pem_file: impl Into<std::path::PathBuf>,
        key_pem_file: impl Into<std::path::PathBuf>,
    ) -> Self {
        self.tls.client_certificate = Some(TlsFile {
            setting: "Config::otlp_client_identity",
            path: certificate_pem_file.into(),
        });
        self.tls.client_key = Some(TlsFile {
            setting: "Config::otlp_client_identity",
            path: key_pem_file.into(),
        });
        self.logs_otlp.tls.client_certificate = self.tls.client_certificate.clone();
        self.logs_otlp.tls.client_key = self.tls.client_key.clone();
        self.metrics_otlp.tls.client_certificate = self.tls.client_certificate.clone();
        self.metrics_otlp.tls.client_key = self.tls.client_key.clone();
        self
    }

    /// Sets the sampler; ratios must lie in `[0, 1]`.
    pub fn sampler(mut self, sampler: Sampler) -> Result<Self, ConfigError> {
        self.sampler = sampler.validate()?;
        Ok(self)
    }

    /// Sets the propagators; an empty list turns propagation off.
    #[must_use]
    pub fn propagators(mut self, propagators: impl IntoIterator<Item = PropagationFormat>) -> Self {
        self.propagators = propagators.into_iter().collect();
        self.propagators.dedup();
        self
    }

    /// Sets the batch processor's limits.
    #[must_use]
    pub fn batch(mut self, batch: BatchConfig) -> Self {
        self.batch = batch.clamped();
        self
    }

    /// Chooses where log events go (like `OTEL_LOGS_EXPORTER`); give a
    /// list to send them to more than one place.
    ///
    /// ```
    /// use obskit::config::LogsExporter;
    /// let config = obskit::Config::default()
    ///     .logs_exporters([LogsExporter::Otlp, LogsExporter::Console])
    ///     .logs_endpoint("http://collector:4318/v1/logs")?;
    /// assert_eq!(config.otlp_logs_endpoint(), "http://collector:4318/v1/logs");
    /// # Ok::<(), obskit::ConfigError>(())
    /// ```
    #[must_use]
    pub fn logs_exporters(mut self, exporters: impl IntoIterator<Item = LogsExporter>) -> Self {
        self.logs_exporters = Vec::new();
        for e in exporters {
            if !self.logs_exporters.contains(&e) {
                self.logs_exporters.push(e);
            }
        }
        if self.logs_exporters.is_empty() {
            self.logs_exporters.push(LogsExporter::None);
        }
        self
    }

    /// Sets the OTLP logs endpoint, used exactly as given (like
    /// `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`).
    pub fn logs_endpoint(mut self, endpoint: &str) -> Result<Self, ConfigError> {
        self.logs_otlp.endpoint = Some((
            "Config::logs_endpoint",
            parse::endpoint("Config::logs_endpoint", endpoint)?,
        ));
        Ok(self)
    }

    /// Sets the log record batch processor's limits (like `OTEL_BLRP_*`).
    #[must_use]
    pub fn logs_batch(mut self, batch: BatchConfig) -> Self {
        self.logs_batch = batch.clamped();
        self
    }

    /// Chooses where metrics go (like `OTEL_METRICS_EXPORTER`); give a list
    /// to serve `/metrics` and push over OTLP at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use obskit::config::{MetricsExporter, Temporality};
    /// let config = obskit::Config::default()
    ///     .metrics_exporters([MetricsExporter::Otlp, MetricsExporter::Prometheus])
    ///     .metrics_endpoint("http://collector:4318/v1/metrics")?
    ///     .metric_export_interval(Duration::from_secs(15))
    ///     .metrics_temporality(Temporality::Delta);
    /// assert_eq!(config.otlp_metrics_endpoint(), "http://collector:4318/v1/metrics");
    /// # Ok::<(), obskit::ConfigError>(())
    /// ```
    #[must_use]
    pub fn metrics_exporters(
        mut self,
        exporters: impl IntoIterator<Item = MetricsExporter>,
    ) -> Self {
        self.metrics_exporters = Vec::new();
        for e in exporters {
            if !self.metrics_exporters.contains(&e) {
                self.metrics_exporters.push(e);
            }
        }
        if self.metrics_exporters.is_empty() {
            self.metrics_exporters.push(MetricsExporter::None);
        }
        self
    }

    /// Sets the OTLP metrics endpoint, used exactly as given (like
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`).
    pub fn metrics_endpoint(mut self, endpoint: &str) -> Result<Self, ConfigError> {
        self.metrics_otlp.endpoint = Some((
            "Config::metrics_endpoint",
            parse::endpoint("Config::metrics_endpoint", endpoint)?,
        ));
        Ok(self)
    }

    /// Sets the time between two OTLP metric pushes (like
    /// `OTEL_METRIC_EXPORT_INTERVAL`); at least a millisecond.
    #[must_use]
    pub fn metric_export_interval(mut self, interval: Duration) -> Self {
        self.metric_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Bounds one OTLP metric push, retries included (like
    /// `OTEL_METRIC_EXPORT_TIMEOUT`).
    #[must_use]
    pub fn metric_export_timeout(mut self, timeout: Duration) -> Self {
        self.metric_timeout = timeout;
        self
    }

    /// Sets the temporality of pushed counters and histograms (like
    /// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`).
    #[must_use]
    pub fn metrics_temporality(mut self, temporality: Temporality) -> Self {
        self.temporality = temporality;
        self
    }

    /// Bounds the whole of [`Telemetry::shutdown`](crate::Telemetry::shutdown).
    #[must_use]
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The service name: configured, else `service.name` from the resource
    /// attributes, else the build's crate name, else the executable's name.
    pub fn resolved_service_name(&self) -> String {
        if let Some(name) = &self.service_name {
            return name.clone();
        }
        if let Some(name) = self.attribute("service.name") {
            return name.to_owned();
        }
        if let Some(build) = &self.build {
            return build.name.to_owned();
        }
        std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "unknown_service".to_owned())
    }

    /// The service version: configured, else from the resource attributes,
    /// else the build's, else `unknown`.
    pub fn resolved_service_version(&self) -> String {
        self.service_version
            .clone()
            .or_else(|| self.attribute("service.version").map(str::to_owned))
            .or_else(|| self.build.as_ref().map(|b| b.version.to_owned()))
            .unwrap_or_else(|| "unknown".to_owned())
    }

    /// The source revision, when known.
    pub fn resolved_vcs_revision(&self) -> Option<String> {
        self.vcs_revision
            .clone()
            .or_else(|| self.attribute("vcs.ref.head.revision").map(str::to_owned))
            .or_else(|| {
                self.build
                    .as_ref()
                    .and_then(|b| b.vcs_revision.map(str::to_owned))
            })
    }

    fn attribute(&self, key: &str) -> Option<&str> {
        self.resource_attributes
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Names of the configured export headers (values are never shown).
    pub fn header_names(&self) -> Vec<&str> {
        self.headers.iter().map(|(k, _)| k.as_str()).collect()
    }
}

#[cfg(test)]
mod tests;
