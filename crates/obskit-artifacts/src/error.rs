//! The one error type of this crate: what can go wrong while rendering artifacts.

use std::path::PathBuf;

/// Everything that can fail while generating dashboards, rules, tests and runbooks.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A rule, test or inhibit file could not be serialized as YAML.
    #[error("cannot serialize {path} as yaml: {source}")]
    Yaml {
        /// The file being generated.
        path: PathBuf,
        /// The serializer's error.
        #[source]
        source: yaml_serde::Error,
    },
    /// A dashboard could not be serialized as JSON.
    #[error("cannot serialize {path} as json: {source}")]
    Json {
        /// The file being generated.
        path: PathBuf,
        /// The serializer's error.
        #[source]
        source: serde_json::Error,
    },
    /// `--period` (or [`crate::alerts::Period::from_str`](std::str::FromStr)) got an unknown value.
    #[error("invalid period `{0}`: expected `28d` or `30d`")]
    InvalidPeriod(String),
    /// `--format` (or [`crate::alerts::RuleFormat::from_str`](std::str::FromStr)) got an unknown value.
    #[error("invalid rule format `{0}`: expected `rules` or `prometheus-rule`")]
    InvalidRuleFormat(String),
    /// An [`AlertOptions`](crate::alerts::AlertOptions) field holds a value the rules cannot embed.
    #[error("invalid {field} `{value}`: {fix}")]
    InvalidOption {
        /// The option's field name.
        field: &'static str,
        /// The rejected value.
        value: String,
        /// What an acceptable value looks like.
        fix: &'static str,
    },
    /// The generator's own model of a promtool test case contradicts what the case is meant to
    /// show (for example a "just below the threshold" series that would fire). This is a bug in
    /// obskit-artifacts, not in the caller's input.
    #[error(
        "promtool test case `{case}` is inconsistent: {problem}; fix the case parameters in obskit-artifacts"
    )]
    TestModel {
        /// The test case's name.
        case: String,
        /// What is inconsistent.
        problem: String,
    },
}
