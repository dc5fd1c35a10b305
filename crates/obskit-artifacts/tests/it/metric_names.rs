//! Every metric a dashboard, rule or promtool test uses is one obskit exports (a constant of
//! `obskit-names`), one of Prometheus' own (`up`, `ALERTS`), a recording rule the stock rules
//! define, or a threshold override a user may define; and every label is an obskit label, a
//! Prometheus target label or one the rules set.

use obskit_artifacts::alerts::{self, AlertOptions, RuleFormat, THRESHOLD_OVERRIDES};
use obskit_artifacts::promql::{label_names, metric_names};
use obskit_artifacts::{GeneratedFile, promql_expressions, stock_files};
use obskit_names as n;
use std::collections::BTreeSet;

/// Labels that are not obskit's: the histogram bucket bound, Prometheus' target and alert
/// labels, and the labels the stock rules attach.
const OTHER_LABELS: [&str; 8] = [
    "le",
    "job",
    "instance",
    "alertname",
    "alertstate",
    "tier",
    "severity",
    "period",
];

fn all_files() -> Vec<GeneratedFile> {
    let mut files = stock_files().expect("stock files");
    let operator = AlertOptions {
        format: RuleFormat::PrometheusRule,
        ..AlertOptions::default()
    };
    files.extend(alerts::render(&operator).expect("prometheus-rule files"));
    files
}

/// Names of the recording rules the rule files define.
fn recorded(files: &[GeneratedFile]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for file in files
        .iter()
        .filter(|f| f.path.to_string_lossy().ends_with(".rules.yml"))
    {
        let parsed: yaml_serde::Value = yaml_serde::from_str(&file.contents).expect("rule yaml");
        for group in parsed["groups"].as_sequence().expect("groups") {
            for rule in group["rules"].as_sequence().expect("rules") {
                if let Some(record) = rule["record"].as_str() {
                    names.insert(record.to_owned());
                }
            }
        }
    }
    names
}

fn allowed_metrics(files: &[GeneratedFile]) -> BTreeSet<String> {
    let mut allowed: BTreeSet<String> = n::ALL_METRICS.iter().map(|m| (*m).to_owned()).collect();
    for h in n::HISTOGRAMS {
        for suffix in ["_bucket", "_sum", "_count"] {
            allowed.insert(format!("{h}{suffix}"));
        }
    }
    allowed.extend(["up".to_owned(), "ALERTS".to_owned()]);
    allowed.extend(THRESHOLD_OVERRIDES.iter().map(|m| (*m).to_owned()));
    allowed.extend(recorded(files));
    allowed
}

#[test]
fn every_queried_metric_is_exported_or_recorded() {
    let files = all_files();
    let allowed = allowed_metrics(&files);
    let exprs = promql_expressions(&files);
    assert!(exprs.len() > 80, "only {} expressions found", exprs.len());
    let mut used = BTreeSet::new();
    for (place, expr) in &exprs {
        let names = metric_names(expr);
        assert!(
            !names.is_empty() || expr.contains("vector("),
            "{place}: no metric in `{expr}`"
        );
        for name in names {
            assert!(
                allowed.contains(&name),
                "{place}: `{name}` is not an obskit metric, `up`, `ALERTS` or a stock recording rule"
            );
            used.insert(name);
        }
    }
    // Every recording rule is used by an alert or a dashboard, or is a figure the SLO
    // dashboard shows.
    for record in recorded(&files) {
        assert!(
            used.contains(&record),
            "recording rule {record} is never queried"
        );
    }
}

#[test]
fn every_label_is_obskit_s_prometheus_s_or_the_rules() {
    let files = all_files();
    let allowed: BTreeSet<&str> = n::ALL_LABELS
        .iter()
        .chain(OTHER_LABELS.iter())
        .copied()
        .collect();
    for (place, expr) in promql_expressions(&files) {
        for label in label_names(&expr) {
            assert!(
                allowed.contains(label.as_str()),
                "{place}: label `{label}` in `{expr}`"
            );
        }
    }
}

#[test]
fn promtool_tests_feed_only_exported_series() {
    let files = all_files();
    let exported: BTreeSet<String> = allowed_metrics(&files)
        .into_iter()
        .filter(|m| !m.contains(':') && m != "ALERTS")
        .collect();
    let mut seen = 0;
    for file in files.iter().filter(|f| f.path.starts_with("alerts/tests")) {
        let parsed: yaml_serde::Value = yaml_serde::from_str(&file.contents).expect("test yaml");
        for group in parsed["tests"].as_sequence().expect("tests") {
            for series in group["input_series"].as_sequence().expect("input_series") {
                let selector = series["series"].as_str().expect("series string");
                for name in metric_names(selector) {
                    assert!(
                        exported.contains(&name),
                        "{}: input series `{selector}`",
                        file.path.display()
                    );
                    seen += 1;
                }
                for label in label_names(selector) {
                    assert!(
                        n::ALL_LABELS.contains(&label.as_str())
                            || OTHER_LABELS.contains(&label.as_str()),
                        "{}: label `{label}` in `{selector}`",
                        file.path.display()
                    );
                }
            }
        }
    }
    assert!(seen > 20, "only {seen} input series found");
}
