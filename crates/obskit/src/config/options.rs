//! The enumerated choices of the configuration, each parsed from the words
//! the OpenTelemetry specification uses for it.

use crate::error::ConfigError;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LogFormat {
    /// One JSON object per line (default): for machines and log pipelines.
    #[default]
    Json,
    /// Multi-line, coloured when the output is a terminal: for humans.
    Pretty,
}

impl Word for LogFormat {
    const WORDS: &'static [(&'static str, Self)] =
        &[("json", Self::Json), ("pretty", Self::Pretty)];
    const ACCEPTED: &'static str = "json, pretty";
}

/// What turns `tracing` spans (a `#[tracing::instrument]` function's)
/// into OpenTelemetry spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SpanBridge {
    /// obskit's own bridge (default): a span under an unsampled parent
    /// costs next to nothing; [`SpanExt`](crate::SpanExt) reaches the
    /// OpenTelemetry side of a span.
    #[default]
    Obskit,
    /// tracing-opentelemetry's layer, for code that uses its
    /// `OpenTelemetrySpanExt`; every span costs several times more.
    TracingOpentelemetry,
}

impl Word for SpanBridge {
    const WORDS: &'static [(&'static str, Self)] = &[
        ("obskit", Self::Obskit),
        ("tracing-opentelemetry", Self::TracingOpentelemetry),
        ("tracing_opentelemetry", Self::TracingOpentelemetry),
    ];
    const ACCEPTED: &'static str = "obskit, tracing-opentelemetry";
}

/// Where finished spans are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TracesExporter {
    /// To an OTLP endpoint (default).
    #[default]
    Otlp,
    /// One JSON line per span on standard error: for local debugging.
    Console,
    /// Nowhere. Spans are still created, so log lines keep their trace ids.
    None,
}

impl ExporterList for TracesExporter {
    const WORDS: &'static [(&'static str, Self)] = &[
        ("otlp", Self::Otlp),
        ("console", Self::Console),
        ("none", Self::None),
    ];
    const UNSUPPORTED: &'static [&'static str] = &["zipkin", "jaeger"];
    const WHY_UNSUPPORTED: &'static str = "obskit exports OTLP only; point OTEL_EXPORTER_OTLP_ENDPOINT at an OpenTelemetry Collector, Jaeger or Tempo, which all accept OTLP";
    const ACCEPTED: &'static str = "otlp, console, none";
    const NONE: Self = Self::None;
    const NONE_ALONE: &'static str = "`none` alone, or a list of otlp and console";
}

/// Where log events go (`OTEL_LOGS_EXPORTER`).
///
/// `console` is obskit's own log output: one JSON object per line on
/// standard output (or pretty lines, `OBSKIT_LOG_FORMAT`), the default.
/// `otlp` sends each event that passes the filter as an OTLP log record.
/// Both may be on at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LogsExporter {
    /// obskit's log lines on standard output (default).
    #[default]
    Console,
    /// OTLP log records to the logs endpoint.
    Otlp,
    /// Nowhere.
    None,
}

impl ExporterList for LogsExporter {
    const WORDS: &'static [(&'static str, Self)] = &[
        ("otlp", Self::Otlp),
        ("console", Self::Console),
        ("none", Self::None),
    ];
    const UNSUPPORTED: &'static [&'static str] = &[];
    const WHY_UNSUPPORTED: &'static str = "";
    const ACCEPTED: &'static str = "console, otlp, none, or a list of console and otlp";
    const NONE: Self = Self::None;
    const NONE_ALONE: &'static str = "`none` alone, or a list of console and otlp";
}

/// Where metrics go (`OTEL_METRICS_EXPORTER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MetricsExporter {
    /// Served on `/metrics` for a Prometheus scrape (default).
    #[default]
    Prometheus,
    /// Pushed to the OTLP metrics endpoint every export interval.
    Otlp,
    /// Nowhere: `/metrics` answers 404 and nothing is pushed.
    None,
}

impl ExporterList for MetricsExporter {
    const WORDS: &'static [(&'static str, Self)] = &[
        ("prometheus", Self::Prometheus),
        ("otlp", Self::Otlp),
        ("none", Self::None),
    ];
    const UNSUPPORTED: &'static [&'static str] = &["console"];
    const WHY_UNSUPPORTED: &'static str = "obskit prints no metrics to the console; curl /metrics (prometheus) or push them with otlp";
    const ACCEPTED: &'static str = "prometheus, otlp, none, or a list of prometheus and otlp";
    const NONE: Self = Self::None;
    const NONE_ALONE: &'static str = "`none` alone, or a list of prometheus and otlp";
}

/// Aggregation temporality of pushed counters and histograms
/// (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`). Gauges are
/// gauges either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Temporality {
    /// Totals since the service started (default).
    #[default]
    Cumulative,
    /// What changed since the previous push: counters and histograms.
    Delta,
    /// As `Delta`, except for the counters obskit observes rather than
    /// records (its export counters, the process CPU time), which stay
    /// cumulative, as the specification has it for asynchronous counters.
    LowMemory,
}

impl Word for Temporality {
    const WORDS: &'static [(&'static str, Self)] = &[
        ("cumulative", Self::Cumulative),
        ("delta", Self::Delta),
        ("lowmemory", Self::LowMemory),
    ];
    const ACCEPTED: &'static str = "cumulative, delta, lowmemory";
}

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OtlpProtocol {
    /// OTLP over gRPC, default port 4317.
    Grpc,
    /// Protobuf over HTTP, default port 4318: the specification's default.
    #[default]
    HttpProtobuf,
    /// JSON over HTTP, default port 4318.
    HttpJson,
}

impl Word for OtlpProtocol {
    const WORDS: &'static [(&'static str, Self)] = &[
        ("grpc", Self::Grpc),
        ("http/protobuf", Self::HttpProtobuf),
        ("http/json", Self::HttpJson),
    ];
    const ACCEPTED: &'static str = "grpc, http/protobuf, http/json";
}

impl OtlpProtocol {
    /// The specification's name for this protocol.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grpc => "grpc",
            Self::HttpProtobuf => "http/protobuf",
            Self::HttpJson => "http/json",
        }
    }

    /// The default endpoint for this protocol.
    pub(crate) fn default_endpoint(self) -> &'static str {
        match self {
            Self::Grpc => "http://localhost:4317",
            Self::HttpProtobuf | Self::HttpJson => "http://localhost:4318",
        }
    }
}

/// Compression of OTLP export bodies (`OTEL_EXPORTER_OTLP_COMPRESSION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Compression {
    /// Bodies sent as they are: the specification's default.
    #[default]
    None,
    /// gzip: `Content-Encoding: gzip` over HTTP, `grpc-encoding: gzip` over gRPC.
    Gzip,
}

impl Word for Compression {
    const WORDS: &'static [(&'static str, Self)] = &[("none", Self::None), ("gzip", Self::Gzip)];
    const ACCEPTED: &'static str = "gzip, none";
}

impl Compression {
    /// The specification's name for this compression.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
        }
    }
}

/// Which spans are recorded and exported.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum Sampler {
    /// Every trace.
    AlwaysOn,
    /// No trace.
    AlwaysOff,
    /// A fraction of traces, chosen by trace id.
    TraceIdRatio(f64),
    /// Follow the caller's decision; sample every new trace (the default).
    #[default]
    ParentBasedAlwaysOn,
    /// Follow the caller's decision; sample no new trace.
    ParentBasedAlwaysOff,
    /// Follow the caller's decision; sample a fraction of new traces.
    ParentBasedTraceIdRatio(f64),
}

impl Sampler {
    /// Parses `OTEL_TRACES_SAMPLER` with its `OTEL_TRACES_SAMPLER_ARG`.
    pub(crate) fn parse(
        setting: &'static str,
        value: &str,
        arg_setting: &'static str,
        arg: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let ratio = || match arg {
            Some(a) => super::parse::ratio(arg_setting, a),
            None => Ok(1.0),
        };
        match value.trim().to_ascii_lowercase().as_str() {
            "always_on" => Ok(Self::AlwaysOn),
            "always_off" => Ok(Self::AlwaysOff),
            "traceidratio" => Ok(Self::TraceIdRatio(ratio()?)),
            "parentbased_always_on" => Ok(Self::ParentBasedAlwaysOn),
            "parentbased_always_off" => Ok(Self::ParentBasedAlwaysOff),
            "parentbased_traceidratio" => Ok(Self::ParentBasedTraceIdRatio(ratio()?)),
            "jaeger_remote" | "parentbased_jaeger_remote" | "xray" => {
                Err(ConfigError::Unsupported {
                    setting,
                    value: value.to_owned(),
                    reason: "remote samplers need a sampling service obskit does not talk to; use parentbased_traceidratio with OTEL_TRACES_SAMPLER_ARG, or tail sampling in an OpenTelemetry Collector",
                })
            }
            _ => Err(ConfigError::UnknownValue {
                setting,
                value: value.to_owned(),
                accepted: "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio",
            }),
        }
    }

    /// Checks a ratio given through the builder.
    pub(crate) fn validate(self) -> Result<Self, ConfigError> {
        match self {
            Self::TraceIdRatio(r) | Self::ParentBasedTraceIdRatio(r)
                if !(0.0..=1.0).contains(&r) =>
            {
                Err(ConfigError::InvalidNumber {
                    setting: "Config::sampler",
                    value: r.to_string(),
                    expected: "a ratio from 0 to 1",
                })
            }
            other => Ok(other),
        }
    }

    /// The specification's name for this sampler, with its ratio.
    pub(crate) fn describe(self) -> String {
        match self {
            Self::AlwaysOn => "always_on".into(),
            Self::AlwaysOff => "always_off".into(),
            Self::TraceIdRatio(r) => format!("traceidratio({r})"),
            Self::ParentBasedAlwaysOn => "parentbased_always_on".into(),
            Self::ParentBasedAlwaysOff => "parentbased_always_off".into(),
            Self::ParentBasedTraceIdRatio(r) => format!("parentbased_traceidratio({r})"),
        }
    }
}

/// A context propagation format for incoming and outgoing requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PropagationFormat {
    /// W3C Trace Context: `traceparent` and `tracestate`.
    TraceContext,
    /// W3C Baggage: `baggage`.
    Baggage,
    /// B3, one header: `b3`. Extraction also reads the `X-B3-*` headers.
    B3,
    /// B3, multiple headers: `X-B3-TraceId`, `X-B3-SpanId`, `X-B3-Sampled`
    /// (or `X-B3-Flags`). Extraction also reads `b3`.
    B3Multi,
    /// Jaeger: `uber-trace-id`, and baggage as `uberctx-{key}` headers.
    Jaeger,
}

impl PropagationFormat {
    /// Parses the comma-separated `OTEL_PROPAGATORS` list, in order, each
    /// propagator once; `none` alone means no propagation.
    pub(crate) fn parse_list(setting: &'static str, value: &str) -> Result<Vec<Self>, ConfigError> {
        let mut out = Vec::new();
        let mut saw_none = false;
        for word in value.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            let p = match word.to_ascii_lowercase().as_str() {
                "tracecontext" => Self::TraceContext,
                "baggage" => Self::Baggage,
                "b3" => Self::B3,
                "b3multi" => Self::B3Multi,
                "jaeger" => Self::Jaeger,
                "none" => {
                    saw_none = true;
                    continue;
                }
                "xray" | "ottrace" => {
                    return Err(ConfigError::Unsupported {
                        setting,
                        value: value.to_owned(),
                        reason: "obskit has no AWS X-Ray or OT Trace propagator; accepted: tracecontext, baggage, b3, b3multi, jaeger, none",
                    });
                }
                _ => {
                    return Err(ConfigError::UnknownValue {
                        setting,
                        value: value.to_owned(),
                        accepted: "tracecontext, baggage, b3, b3multi, jaeger, none",
                    });
                }
            };
            if !out.contains(&p) {
                out.push(p);
            }
        }
        if saw_none && !out.is_empty() {
            return Err(ConfigError::UnknownValue {
                setting,
                value: value.to_owned(),
                accepted: "`none` alone, or a list of tracecontext, baggage, b3, b3multi, jaeger",
            });
        }
        Ok(out)
    }
}

/// A choice named by one word of the specification (any case, blanks
/// around it ignored).
pub(crate) trait Word: Copy + 'static {
    /// Each word and the choice it names.
    const WORDS: &'static [(&'static str, Self)];
    /// The words an error lists.
    const ACCEPTED: &'static str;

    /// The value of `setting` named by one of the [`WORDS`](Self::WORDS);
    /// an error listing the accepted words otherwise.
    fn parse(setting: &'static str, value: &str) -> Result<Self, ConfigError> {
        let word = value.trim().to_ascii_lowercase();
        Self::WORDS
            .iter()
            .find(|(w, _)| *w == word)
            .map(|&(_, v)| v)
            .ok_or_else(|| ConfigError::UnknownValue {
                setting,
                value: value.to_owned(),
                accepted: Self::ACCEPTED,
            })
    }
}

/// An exporter chosen from the comma-separated list an `OTEL_*_EXPORTER`
/// variable takes: `none` stands alone, and an empty list means the default.
pub(crate) trait ExporterList: Copy + PartialEq + Default + 'static {
    /// Each word and the exporter it names.
    const WORDS: &'static [(&'static str, Self)];
    /// Other SDKs' words that obskit refuses, for the reason [`WHY_UNSUPPORTED`](Self::WHY_UNSUPPORTED).
    const UNSUPPORTED: &'static [&'static str];
    /// Why the [`UNSUPPORTED`](Self::UNSUPPORTED) words are refused, and what to do instead.
    const WHY_UNSUPPORTED: &'static str;
    /// The words an error about an unknown word lists.
    const ACCEPTED: &'static str;
    /// The exporter `none` names.
    const NONE: Self;
    /// What an error about `none` in a longer list says may be listed.
    const NONE_ALONE: &'static str;

    /// Parses the list: each word lowercased, repeats kept once, empty
    /// entries skipped.
    fn parse_list(setting: &'static str, value: &str) -> Result<Vec<Self>, ConfigError> {
        let error = |accepted| ConfigError::UnknownValue {
            setting,
            value: value.to_owned(),
            accepted,
        };
        let mut out = Vec::new();
        for w in value.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            let word = w.to_ascii_lowercase();
            if Self::UNSUPPORTED.contains(&word.as_str()) {
                return Err(ConfigError::Unsupported {
                    setting,
                    value: value.to_owned(),
                    reason: Self::WHY_UNSUPPORTED,
                });
            }
            let exporter = Self::WORDS
                .iter()
                .find(|(name, _)| *name == word)
                .map(|&(_, e)| e)
                .ok_or_else(|| error(Self::ACCEPTED))?;
            if !out.contains(&exporter) {
                out.push(exporter);
            }
        }
        if out.len() > 1 && out.contains(&Self::NONE) {
            return Err(error(Self::NONE_ALONE));
        }
        if out.is_empty() {
            out.push(Self::default());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samplers_cover_the_specification() {
        let p = |v, a| Sampler::parse("S", v, "A", a);
        assert_eq!(p("always_on", None).unwrap(), Sampler::AlwaysOn);
        assert_eq!(p("always_off", None).unwrap(), Sampler::AlwaysOff);
        assert_eq!(
            p("traceidratio", Some("0.5")).unwrap(),
            Sampler::TraceIdRatio(0.5)
        );
        assert_eq!(p("traceidratio", None).unwrap(), Sampler::TraceIdRatio(1.0));
        assert_eq!(
            p("parentbased_always_on", None).unwrap(),
            Sampler::ParentBasedAlwaysOn
        );
        assert_eq!(
            p("parentbased_always_off", None).unwrap(),
            Sampler::ParentBasedAlwaysOff
        );
        assert_eq!(
            p("parentbased_traceidratio", Some("0.1")).unwrap(),
            Sampler::ParentBasedTraceIdRatio(0.1)
        );
        let err = p("traceidratio", Some("2")).unwrap_err().to_string();
        assert!(err.starts_with("A=\"2\""), "{err}");
        assert!(matches!(
            p("xray", None),
            Err(ConfigError::Unsupported { .. })
        ));
        assert!(matches!(
            p("sometimes", None),
            Err(ConfigError::UnknownValue { .. })
        ));
    }

    #[test]
    fn propagators_accept_lists_and_none() {
        let p = |v| PropagationFormat::parse_list("P", v);
        assert_eq!(
            p("tracecontext,baggage").unwrap(),
            vec![PropagationFormat::TraceContext, PropagationFormat::Baggage]
        );
        assert_eq!(p(" baggage ").unwrap(), vec![PropagationFormat::Baggage]);
        assert!(p("none").unwrap().is_empty());
        assert!(p("none,baggage").is_err());
        assert_eq!(
            p("jaeger, B3multi,b3,tracecontext,b3").unwrap(),
            vec![
                PropagationFormat::Jaeger,
                PropagationFormat::B3Multi,
                PropagationFormat::B3,
                PropagationFormat::TraceContext
            ],
            "in order, each once"
        );
        assert!(p("none").unwrap().is_empty());
        assert!(p(" none , ").unwrap().is_empty());
        assert!(matches!(p("xray"), Err(ConfigError::Unsupported { .. })));
        let err = p("tracecontext,zipkin").unwrap_err().to_string();
        assert_eq!(
            err,
            "P=\"tracecontext,zipkin\" is not recognised; accepted values: \
             tracecontext, baggage, b3, b3multi, jaeger, none"
        );
        assert!(matches!(p("w3c"), Err(ConfigError::UnknownValue { .. })));
    }

    #[test]
    fn logs_exporters() {
        let p = |v| LogsExporter::parse_list("L", v);
        assert_eq!(p("otlp").unwrap(), vec![LogsExporter::Otlp]);
        assert_eq!(
            p(" OTLP , console,otlp").unwrap(),
            vec![LogsExporter::Otlp, LogsExporter::Console]
        );
        assert_eq!(p(",").unwrap(), vec![LogsExporter::Console]);
        assert_eq!(p("none").unwrap(), vec![LogsExporter::None]);
        let err = p("none,otlp").unwrap_err().to_string();
        assert!(err.starts_with("L=\"none,otlp\""), "{err}");
        assert!(p("stdout").is_err());
    }

    #[test]
    fn exporters_and_protocols() {
        assert_eq!(
            TracesExporter::parse_list("E", "otlp,console")
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            TracesExporter::parse_list("E", "none").unwrap(),
            vec![TracesExporter::None]
        );
        assert!(TracesExporter::parse_list("E", "none,otlp").is_err());
        assert!(matches!(
            TracesExporter::parse_list("E", "zipkin"),
            Err(ConfigError::Unsupported { .. })
        ));
        assert_eq!(
            OtlpProtocol::parse("P", "GRPC").unwrap(),
            OtlpProtocol::Grpc
        );
        assert_eq!(
            OtlpProtocol::parse("P", "http/json").unwrap(),
            OtlpProtocol::HttpJson
        );
        assert!(OtlpProtocol::parse("P", "http").is_err());
        assert!(LogFormat::parse("F", "yaml").is_err());
        assert_eq!(
            SpanBridge::parse("B", " Obskit ").unwrap(),
            SpanBridge::Obskit
        );
        assert_eq!(
            SpanBridge::parse("B", "tracing-opentelemetry").unwrap(),
            SpanBridge::TracingOpentelemetry
        );
        let err = SpanBridge::parse("B", "otel").unwrap_err().to_string();
        assert!(err.contains("obskit, tracing-opentelemetry"), "{err}");
    }
}
