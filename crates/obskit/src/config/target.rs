//! Where and how each signal is exported: the configuration of one
//! signal resolved (its own variable where set, else the shared one).

use std::time::Duration;

use super::{Compression, Config, OtlpProtocol, SignalOtlp, TlsFiles, env};

/// Where and how one signal is sent: its configuration resolved (the
/// signal's own variable where set, else the shared one).
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The URL exports go to.
    pub(crate) url: String,
    /// The setting that named the URL, for errors.
    #[cfg_attr(feature = "tls", allow(dead_code))]
    pub(crate) url_setting: &'static str,
    pub(crate) protocol: OtlpProtocol,
    pub(crate) headers: Vec<(String, String)>,
    /// Bound on one attempt.
    pub(crate) timeout: Duration,
    pub(crate) compression: Compression,
    pub(crate) tls: TlsFiles,
}

impl Config {
    /// Where and how spans are sent.
    pub(crate) fn traces_target(&self) -> Target {
        Target {
            url: self.otlp_traces_endpoint(),
            url_setting: if self.traces_endpoint.is_some() {
                env::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
            } else {
                self.base_setting()
            },
            protocol: self.protocol,
            headers: self.headers.clone(),
            timeout: self.export_timeout,
            compression: self.compression,
            tls: self.tls.clone(),
        }
    }

    /// Where and how log records are sent.
    pub(crate) fn logs_target(&self) -> Target {
        self.signal_target(&self.logs_otlp, self.otlp_logs_endpoint())
    }

    /// Where and how metrics are pushed.
    pub(crate) fn metrics_target(&self) -> Target {
        self.signal_target(&self.metrics_otlp, self.otlp_metrics_endpoint())
    }

    fn signal_target(&self, o: &SignalOtlp, url: String) -> Target {
        Target {
            url,
            url_setting: o
                .endpoint
                .as_ref()
                .map_or_else(|| self.base_setting(), |(setting, _)| setting),
            protocol: o.protocol,
            headers: o.headers.clone(),
            timeout: o.timeout,
            compression: o.compression,
            tls: o.tls.clone(),
        }
    }
}
