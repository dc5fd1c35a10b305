//! Typed Prometheus rule files, in both shapes: a plain rule file (`groups:`) and a Prometheus
//! Operator `PrometheusRule` resource wrapping the same groups.

use serde::Serialize;

use crate::kubernetes::Metadata;
use std::collections::BTreeMap;

/// A Prometheus rule file.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RuleFile {
    pub(crate) groups: Vec<RuleGroup>,
}

/// One rule group: rules evaluated in order at the same timestamp.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RuleGroup {
    pub(crate) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) interval: Option<String>,
    pub(crate) rules: Vec<Rule>,
}

/// A recording or alerting rule.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Rule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) record: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) alert: Option<String>,
    pub(crate) expr: String,
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    pub(crate) for_: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) annotations: Option<Annotations>,
}

/// The annotations every stock alert carries, in this order.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Annotations {
    pub(crate) summary: String,
    pub(crate) description: String,
    pub(crate) runbook_url: String,
    pub(crate) dashboard_url: String,
}

impl Annotations {
    /// `(name, template)` pairs, for expanding them in promtool expectations.
    pub(crate) fn pairs(&self) -> [(&'static str, &str); 4] {
        [
            ("summary", &self.summary),
            ("description", &self.description),
            ("runbook_url", &self.runbook_url),
            ("dashboard_url", &self.dashboard_url),
        ]
    }
}

impl Rule {
    /// A recording rule.
    pub(crate) fn record(name: String, expr: String) -> Self {
        Self {
            record: Some(name),
            alert: None,
            expr,
            for_: None,
            labels: BTreeMap::new(),
            annotations: None,
        }
    }

    /// Adds a label the rule sets on its output.
    pub(crate) fn label(mut self, name: &str, value: &str) -> Self {
        self.labels.insert(name.to_owned(), value.to_owned());
        self
    }

    /// An alerting rule.
    pub(crate) fn alert(name: &str, expr: String, for_: String, annotations: Annotations) -> Self {
        Self {
            record: None,
            alert: Some(name.to_owned()),
            expr,
            for_: Some(for_),
            labels: BTreeMap::new(),
            annotations: Some(annotations),
        }
    }
}

/// A Prometheus Operator `PrometheusRule` resource.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PrometheusRule {
    #[serde(rename = "apiVersion")]
    pub(crate) api_version: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) metadata: Metadata,
    pub(crate) spec: RuleFile,
}

impl PrometheusRule {
    /// Wraps `spec` in a resource called `name`.
    pub(crate) fn new(name: &str, spec: RuleFile) -> Self {
        Self {
            api_version: "monitoring.coreos.com/v1",
            kind: "PrometheusRule",
            metadata: Metadata::stock(name, "alerting-rules"),
            spec,
        }
    }
}
