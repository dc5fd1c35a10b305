//! Where and how each signal is exported: the endpoint URLs by the
//! specification's rules, and each signal's configuration resolved (its
//! own variable where set, else the shared one).

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
    /// The URL spans are sent to, after the specification's rules: a traces
    /// endpoint is used as given; a base endpoint gets `v1/traces` appended
    /// for HTTP; gRPC uses the base as is.
    pub fn otlp_traces_endpoint(&self) -> String {
        if let Some(url) = &self.traces_endpoint {
            return url.as_str().to_owned();
        }
        self.url_from_base(self.protocol, "v1/traces")
    }

    /// The URL log records are sent to: a logs endpoint is used as given; a
    /// base endpoint gets `v1/logs` appended for HTTP; gRPC uses the base
    /// as is.
    pub fn otlp_logs_endpoint(&self) -> String {
        if let Some((_, url)) = &self.logs_otlp.endpoint {
            return url.as_str().to_owned();
        }
        self.url_from_base(self.logs_otlp.protocol, "v1/logs")
    }

    /// The URL metrics are pushed to: a metrics endpoint is used as given; a
    /// base endpoint gets `v1/metrics` appended for HTTP; gRPC uses the base
    /// as is.
    pub fn otlp_metrics_endpoint(&self) -> String {
        if let Some((_, url)) = &self.metrics_otlp.endpoint {
            return url.as_str().to_owned();
        }
        self.url_from_base(self.metrics_otlp.protocol, "v1/metrics")
    }

    fn url_from_base(&self, protocol: OtlpProtocol, path: &str) -> String {
        let base = self.base_endpoint.as_ref().map_or_else(
            || protocol.default_endpoint().to_owned(),
            |u| u.as_str().to_owned(),
        );
        match protocol {
            OtlpProtocol::Grpc => base.trim_end_matches('/').to_owned(),
            OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => {
                format!("{}/{path}", base.trim_end_matches('/'))
            }
        }
    }

    /// The setting that named the base endpoint, for errors.
    fn base_setting(&self) -> &'static str {
        env::OTEL_EXPORTER_OTLP_ENDPOINT
    }

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
