//! The start-up summary: the effective configuration, redacted, logged
//! once when telemetry is installed.

use std::time::Duration;

use crate::config::{Config, LogsExporter, MetricsExporter};

/// The redacted effective configuration, logged once at start-up.
pub(super) struct Summary {
    service_version: String,
    exporters: String,
    logs_exporters: String,
    logs_endpoint: Option<String>,
    metrics_exporters: String,
    metrics_endpoint: Option<String>,
    endpoint: String,
    protocol: &'static str,
    header_names: String,
    sampler: String,
    pub(super) propagators: Vec<crate::config::PropagationFormat>,
    log_filter: String,
    log_format: String,
    sdk_disabled: bool,
    shutdown_timeout: Duration,
}

impl Summary {
    pub(super) fn of(c: &Config) -> Self {
        Self {
            service_version: c.resolved_service_version(),
            exporters: format!("{:?}", c.exporters).to_lowercase(),
            logs_exporters: format!("{:?}", c.logs_exporters).to_lowercase(),
            logs_endpoint: c
                .logs_exporters
                .contains(&LogsExporter::Otlp)
                .then(|| crate::config::redact::url(&c.otlp_logs_endpoint())),
            metrics_exporters: format!("{:?}", c.metrics_exporters).to_lowercase(),
            metrics_endpoint: c
                .metrics_exporters
                .contains(&MetricsExporter::Otlp)
                .then(|| crate::config::redact::url(&c.otlp_metrics_endpoint())),
            endpoint: crate::config::redact::url(&c.otlp_traces_endpoint()),
            protocol: c.protocol.as_str(),
            header_names: c.header_names().join(","),
            sampler: c.sampler.describe(),
            propagators: c.propagators.clone(),
            log_filter: c.log_filter.clone(),
            log_format: format!("{:?}", c.log_format).to_lowercase(),
            sdk_disabled: c.sdk_disabled,
            shutdown_timeout: c.shutdown_timeout,
        }
    }

    pub(super) fn log(&self, global_metrics: bool, resource: &opentelemetry_sdk::Resource) {
        let propagators = format!("{:?}", self.propagators).to_lowercase();
        let resource = crate::resource::describe(resource);
        tracing::info!(
            target: "obskit",
            service_version = %self.service_version,
            resource = %resource,
            traces_exporter = %self.exporters,
            otlp_endpoint = %self.endpoint,
            logs_exporter = %self.logs_exporters,
            otlp_logs_endpoint = self.logs_endpoint.as_deref(),
            metrics_exporter = %self.metrics_exporters,
            otlp_metrics_endpoint = self.metrics_endpoint.as_deref(),
            otlp_protocol = self.protocol,
            otlp_header_names = %self.header_names,
            sampler = %self.sampler,
            propagators = %propagators,
            log_filter = %self.log_filter,
            log_format = %self.log_format,
            sdk_disabled = self.sdk_disabled,
            shutdown_timeout_ms = u64::try_from(self.shutdown_timeout.as_millis()).unwrap_or(u64::MAX),
            global_metrics_recorder = global_metrics,
            "obskit telemetry initialised"
        );
    }
}
