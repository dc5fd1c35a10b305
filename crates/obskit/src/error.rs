//! Typed errors for configuration and installation.
//!
//! Every message names the setting (an environment variable or a builder
//! method), the value that was rejected, and what would be accepted, so the
//! fix is in the first line a user reads.

/// A configuration value was rejected.
///
/// `setting` is the environment variable (e.g. `OTEL_TRACES_SAMPLER`) or the
/// builder method (e.g. `Config::otlp_endpoint`) the value came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A value outside a fixed set of accepted words.
    #[error("{setting}={value:?} is not recognised; accepted values: {accepted}")]
    UnknownValue {
        /// Where the value came from.
        setting: &'static str,
        /// The rejected value.
        value: String,
        /// The accepted values, comma-separated.
        accepted: &'static str,
    },
    /// A value the specification defines but this build cannot honour.
    #[error("{setting}={value:?} is not supported by obskit: {reason}")]
    Unsupported {
        /// Where the value came from.
        setting: &'static str,
        /// The rejected value.
        value: String,
        /// Why, and what to use instead.
        reason: &'static str,
    },
    /// An endpoint that is not an absolute `http://` or `https://` URL.
    #[error(
        "{setting}={value:?} is not a valid endpoint: {reason}; expected an absolute URL such as http://localhost:4318"
    )]
    InvalidEndpoint {
        /// Where the value came from.
        setting: &'static str,
        /// The rejected value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A number that does not parse or lies outside its range.
    #[error("{setting}={value:?} is invalid; expected {expected}")]
    InvalidNumber {
        /// Where the value came from.
        setting: &'static str,
        /// The rejected value.
        value: String,
        /// The accepted form and range.
        expected: &'static str,
    },
    /// A malformed `key=value,key=value` list (headers or resource attributes).
    #[error(
        "{setting} is malformed at entry {entry}: {reason}; expected comma-separated key=value pairs with percent-encoded values"
    )]
    InvalidKeyValueList {
        /// Where the value came from.
        setting: &'static str,
        /// The 1-based index of the bad entry (the entry itself may be a secret and is not repeated).
        entry: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A log filter that `tracing_subscriber::EnvFilter` cannot parse.
    #[error(
        "{setting}={value:?} is not a valid log filter: {reason}; expected directives such as `info` or `info,my_crate=debug`"
    )]
    InvalidFilter {
        /// Where the value came from.
        setting: &'static str,
        /// The rejected value.
        value: String,
        /// The parser's explanation.
        reason: String,
    },
    /// An empty or otherwise unusable service name.
    #[error(
        "{setting}={value:?} is not a valid service name; it must be non-empty and at most 255 characters"
    )]
    InvalidServiceName {
        /// Where the value came from.
        setting: &'static str,
        /// The rejected value.
        value: String,
    },
}

/// Installing telemetry failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// The configuration was rejected.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The OTLP exporter could not be built.
    #[error("cannot build the OTLP exporter for {endpoint}: {source}")]
    Exporter {
        /// The endpoint the exporter was built for.
        endpoint: String,
        /// The exporter's own error.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// A TLS file (`OTEL_EXPORTER_OTLP_CERTIFICATE`, `..._CLIENT_KEY`,
    /// `..._CLIENT_CERTIFICATE` or their `_TRACES_` and `_LOGS_` forms) cannot be used:
    /// missing, unreadable, not PEM, or half of a client identity.
    #[error("{variable}={path:?} cannot be used for TLS: {reason}")]
    Tls {
        /// The variable (or builder method) that named the file.
        variable: &'static str,
        /// The path as given.
        path: String,
        /// What is wrong, and what is expected.
        reason: String,
    },
    /// The gRPC channel to the collector could not be set up (an endpoint
    /// tonic refuses, or a TLS setting it rejects).
    #[error("cannot set up the OTLP/gRPC channel to {endpoint}: {}", chain(source))]
    GrpcChannel {
        /// The endpoint, credentials masked.
        endpoint: String,
        /// tonic's error.
        #[source]
        source: tonic::transport::Error,
    },
    /// The HTTP client for OTLP/HTTP could not be built (usually its TLS
    /// setup: a certificate or key rustls rejects).
    #[error("cannot build the OTLP/HTTP client for {endpoint}: {}", chain(source))]
    HttpClient {
        /// The endpoint, credentials masked.
        endpoint: String,
        /// reqwest's error.
        #[source]
        source: reqwest::Error,
    },
    /// The background log writer thread could not start.
    #[error("cannot start the log writer thread: {0}")]
    LogWriter(#[source] std::io::Error),
    /// The background export thread could not start.
    #[error("cannot start an export thread: {0}")]
    ExportThread(#[source] std::io::Error),
    /// A global `tracing` subscriber is already installed.
    #[error(
        "a global tracing subscriber is already installed; call obskit::init!() once, before any other subscriber, or compose obskit's layer into yours with Config::build_layer()"
    )]
    SubscriberAlreadySet,
}

/// An error and its causes, `: `-separated: tonic and reqwest put the
/// useful part (which certificate, which key) in the causes.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let next = e.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = e.source();
    }
    text
}
