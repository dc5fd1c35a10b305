//! `obskit alerts` and `obskit dashboards` through the real binary: the files are exactly
//! what obskit-artifacts generates for the options given, written under `--out` or
//! printed as one stream, and the written rules pass their own promtool tests.

use crate::common;

use std::fs;
use std::process::Command;

use common::{obskit, read_tree, stderr, stdout};
use obskit_artifacts::GeneratedFile;
use obskit_artifacts::alerts::{self, AlertOptions, Period, RuleFormat};

fn as_tree(files: &[GeneratedFile]) -> std::collections::BTreeMap<String, Vec<u8>> {
    files
        .iter()
        .map(|f| (common::slash_path(&f.path), f.contents.as_bytes().to_vec()))
        .collect()
}

#[test]
fn alerts_out_writes_the_rules_for_the_options_given() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("alerts")).unwrap();
    fs::write(dir.path().join("alerts/local.rules.yml"), "groups: []\n").unwrap();
    let generated = alerts::render(&AlertOptions::default()).unwrap();
    let output = obskit(dir.path(), &["alerts", "--out", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let listing = format!("Wrote {} files under .:\n", generated.len());
    assert!(stdout(&output).starts_with(&listing), "{}", stdout(&output));

    let mut expected = as_tree(&generated);
    expected.insert("alerts/local.rules.yml".into(), b"groups: []\n".to_vec());
    if let Some(diff) = common::tree_diff(&read_tree(dir.path()), &expected) {
        panic!("written (left) and generated (right) differ:\n{diff}");
    }

    let options = AlertOptions {
        period: Period::Days28,
        format: RuleFormat::PrometheusRule,
        dashboard_base_url: "https://grafana.example.com".into(),
        runbook_base_url: "https://wiki.example.com/runbooks".into(),
    };
    let other = tempfile::tempdir().unwrap();
    let output = obskit(
        other.path(),
        &[
            "alerts",
            "--period",
            "28d",
            "--format",
            "prometheus-rule",
            "--grafana-url",
            "https://grafana.example.com",
            "--runbook-url",
            "https://wiki.example.com/runbooks",
            "--out",
            "deploy",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let written = read_tree(&other.path().join("deploy"));
    if let Some(diff) = common::tree_diff(&written, &as_tree(&alerts::render(&options).unwrap())) {
        panic!("written (left) and generated (right) differ:\n{diff}");
    }
}

#[test]
fn alerts_print_as_one_yaml_stream() {
    let dir = tempfile::tempdir().unwrap();
    let output = obskit(dir.path(), &["alerts", "--format", "prometheus-rule"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let options = AlertOptions {
        format: RuleFormat::PrometheusRule,
        ..AlertOptions::default()
    };
    let expected: String = alerts::render(&options)
        .unwrap()
        .iter()
        .map(|f| format!("---\n# {}\n{}", common::slash_path(&f.path), f.contents))
        .collect();
    assert_eq!(stdout(&output), expected);
    assert!(common::list_entries(dir.path()).is_empty());
}

#[test]
fn dashboards_are_written_or_printed_as_generated() {
    let files = obskit_artifacts::dashboards::render().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let output = obskit(dir.path(), &["dashboards", "--out", "grafana"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    if let Some(diff) = common::tree_diff(&read_tree(&dir.path().join("grafana")), &as_tree(&files))
    {
        panic!("written (left) and generated (right) differ:\n{diff}");
    }

    let output = obskit(dir.path(), &["dashboards"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let printed = stdout(&output);
    assert_eq!(
        printed,
        files
            .iter()
            .map(|f| f.contents.as_str())
            .collect::<String>()
    );
    // A stream of JSON documents, one per dashboard.
    let documents = serde_json::Deserializer::from_str(&printed)
        .into_iter::<serde_json::Value>()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    assert_eq!(documents.len(), files.len());
}

#[test]
fn dashboard_configmaps_are_written_or_printed_as_generated() {
    let files = obskit_artifacts::kubernetes::grafana_configmaps().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let output = obskit(
        dir.path(),
        &["dashboards", "--format", "configmap", "--out", "."],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    if let Some(diff) = common::tree_diff(&read_tree(dir.path()), &as_tree(&files)) {
        panic!("written (left) and generated (right) differ:\n{diff}");
    }
    assert!(
        files
            .iter()
            .all(|f| common::slash_path(&f.path).starts_with("deploy/")),
        "ConfigMaps go where a service keeps its Kubernetes objects"
    );

    let output = obskit(dir.path(), &["dashboards", "--format", "configmap"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let expected: String = files
        .iter()
        .map(|f| format!("---\n# {}\n{}", common::slash_path(&f.path), f.contents))
        .collect();
    assert_eq!(stdout(&output), expected);
}

#[test]
fn mistakes_are_one_clear_error_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("taken"), "a file").unwrap();
    let output = obskit(dir.path(), &["dashboards", "--out", "taken"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "error: could not write the files under `taken`: caused by `taken` is in the way"
        ),
        "{err}"
    );

    let output = obskit(dir.path(), &["alerts", "--period", "7d"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("[possible values: 28d, 30d]"),
        "{}",
        stderr(&output)
    );

    let output = obskit(
        dir.path(),
        &["alerts", "--grafana-url", "not a url", "--out", "x"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("invalid dashboard_base_url `not a url`"),
        "{}",
        stderr(&output)
    );
    assert_eq!(common::list_entries(dir.path()), ["taken"]);
}

#[test]
fn written_rules_pass_their_promtool_tests() {
    let Some(promtool) = obskit_test_support::promtool() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let output = obskit(dir.path(), &["alerts", "--out", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let tests: Vec<_> = fs::read_dir(dir.path().join("alerts/tests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!tests.is_empty());
    let result = Command::new(promtool)
        .args(["test", "rules"])
        .args(&tests)
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}{}",
        stdout(&result),
        stderr(&result)
    );
}
