//! Runs the real tools on the generated files: `promtool check rules` and `promtool test rules`
//! on the rule files and their unit tests (both periods, both formats), `promtool check rules`
//! on every dashboard query, and `amtool check-config` on the inhibit rules when amtool is
//! installed.
//!
//! Without promtool these tests say so and pass, unless `CI` is set: CI must run
//! them (`.ci/run` installs Debian's `prometheus` package).
#![allow(clippy::print_stderr)]

use obskit_artifacts::alerts::{self, AlertOptions, Period, RuleFormat};
use obskit_artifacts::{GeneratedFile, promql_expressions, stock_files};
use std::fs;
use std::path::Path;
use std::process::Command;

fn write_all(root: &Path, files: &[GeneratedFile]) {
    for file in files {
        let path = root.join(&file.path);
        fs::create_dir_all(path.parent().expect("generated paths have a parent")).expect("mkdir");
        fs::write(&path, &file.contents).expect("write generated file");
    }
}

/// Runs `tool args...` in `dir` and fails the test with its output unless it succeeds.
fn run(dir: &Path, tool: &Path, args: &[&str]) -> String {
    let output = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", tool.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "`{} {}` failed ({}):\n{stdout}\n{stderr}",
        tool.display(),
        args.join(" "),
        output.status
    );
    stdout
}

fn paths(files: &[GeneratedFile], keep: impl Fn(&str) -> bool) -> Vec<String> {
    files
        .iter()
        .map(|f| f.path.to_string_lossy().into_owned())
        .filter(|p| keep(p))
        .collect()
}

/// `promtool check rules` on every rule file and `promtool test rules` on every test file.
fn check_and_test(promtool: &Path, files: &[GeneratedFile]) {
    let dir = tempfile::tempdir().expect("tempdir");
    write_all(dir.path(), files);
    let rule_files = paths(files, |p| p.ends_with(".rules.yml"));
    let test_files = paths(files, |p| p.starts_with("alerts/tests/"));
    assert!(
        rule_files.len() >= 2 && test_files.len() >= 2,
        "rule and test files are generated"
    );
    let mut args = vec!["check", "rules"];
    args.extend(rule_files.iter().map(String::as_str));
    run(dir.path(), promtool, &args);
    let mut args = vec!["test", "rules"];
    args.extend(test_files.iter().map(String::as_str));
    let out = run(dir.path(), promtool, &args);
    assert_eq!(out.matches("SUCCESS").count(), test_files.len(), "{out}");
}

#[test]
fn stock_rules_pass_promtool_check_and_their_unit_tests() {
    let Some(promtool) = obskit_test_support::promtool() else {
        return;
    };
    check_and_test(&promtool, &stock_files().expect("stock files"));
}

#[test]
fn rules_for_a_28_day_period_pass_their_unit_tests() {
    let Some(promtool) = obskit_test_support::promtool() else {
        return;
    };
    let opts = AlertOptions {
        period: Period::Days28,
        runbook_base_url: "https://runbooks.example.org/obskit".to_owned(),
        dashboard_base_url: "https://grafana.example.org/".to_owned(),
        ..AlertOptions::default()
    };
    check_and_test(&promtool, &alerts::render(&opts).expect("alerts render"));
}

/// The rules inside each `PrometheusRule`, extracted, are the plain rule files' groups, and
/// pass `promtool check rules` and the plain files' unit tests in their place.
#[test]
fn prometheus_rule_resources_hold_the_rules_and_pass_their_unit_tests() {
    let Some(promtool) = obskit_test_support::promtool() else {
        return;
    };
    let operator = AlertOptions {
        format: RuleFormat::PrometheusRule,
        ..AlertOptions::default()
    };
    let mut plain = alerts::render(&AlertOptions::default()).expect("alerts render");
    let resources = alerts::render(&operator).expect("alerts render");
    assert_eq!(resources.len(), 2);
    for file in resources {
        let resource: yaml_serde::Value = yaml_serde::from_str(&file.contents).expect("valid yaml");
        assert_eq!(
            resource["apiVersion"].as_str(),
            Some("monitoring.coreos.com/v1")
        );
        assert_eq!(resource["kind"].as_str(), Some("PrometheusRule"));
        assert!(
            resource["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("obskit-"))
        );
        let name = file
            .path
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .replace(".prometheusrule.yml", ".rules.yml");
        let rule_file = plain
            .iter_mut()
            .find(|f| f.path == Path::new("alerts").join(&name))
            .unwrap_or_else(|| panic!("no plain alerts/{name} beside {}", file.path.display()));
        let groups: yaml_serde::Value = yaml_serde::from_str(&rule_file.contents).expect("yaml");
        assert_eq!(
            resource["spec"],
            groups,
            "{} holds other rules",
            file.path.display()
        );
        // The extracted spec replaces the plain file for promtool.
        rule_file.contents = yaml_serde::to_string(&resource["spec"]).expect("spec serializes");
    }
    check_and_test(&promtool, &plain);
}

#[test]
fn every_dashboard_query_is_valid_promql() {
    let Some(promtool) = obskit_test_support::promtool() else {
        return;
    };
    let dashboards = obskit_artifacts::dashboards::render().expect("dashboards render");
    let exprs = promql_expressions(&dashboards);
    assert!(
        exprs.len() > 30,
        "found only {} dashboard queries",
        exprs.len()
    );
    // Each query becomes a recording rule, which promtool parses.
    let mut rules = String::from("groups:\n- name: dashboard-queries\n  rules:\n");
    for (i, (place, expr)) in exprs.iter().enumerate() {
        rules.push_str(&format!(
            "  # {place}\n  - record: obskit_dashboard_query_{i}\n    expr: {}\n",
            serde_json::to_string(expr).expect("json string")
        ));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("queries.yml"), rules).expect("write");
    let out = run(dir.path(), &promtool, &["check", "rules", "queries.yml"]);
    assert!(
        out.contains(&format!("{} rules found", exprs.len())),
        "{out}"
    );
}

#[test]
fn inhibit_rules_load_in_alertmanager() {
    let files = stock_files().expect("stock files");
    let inhibit = files
        .iter()
        .find(|f| f.path == Path::new("alerts/alertmanager-inhibit.yml"))
        .expect("inhibit file generated");
    let parsed: yaml_serde::Value = yaml_serde::from_str(&inhibit.contents).expect("valid yaml");
    let rules = parsed["inhibit_rules"]
        .as_sequence()
        .expect("inhibit_rules list");
    assert!(!rules.is_empty());
    for rule in rules {
        let matchers = |key: &str| -> Vec<String> {
            rule[key]
                .as_sequence()
                .expect("matcher list")
                .iter()
                .map(|m| m.as_str().expect("string matcher").to_owned())
                .collect()
        };
        // A page mutes what it explains; otherwise a cause mutes its consequences, tickets only.
        assert!(
            matchers("source_matchers")
                .iter()
                .any(|m| m == "severity=\"page\"")
                || matchers("target_matchers")
                    .iter()
                    .any(|m| m == "severity=\"ticket\""),
            "sources are pages, or only tickets are muted"
        );
        assert!(
            !matchers("target_matchers")
                .iter()
                .any(|m| m == "severity=\"page\""),
            "pages are never muted"
        );
        assert!(
            rule["equal"]
                .as_sequence()
                .is_some_and(|e| e.iter().any(|l| l.as_str() == Some("service_name")))
        );
    }
    let Some(amtool) = obskit_test_support::find_program("amtool") else {
        eprintln!(
            "note: amtool is not installed (apt-get install prometheus-alertmanager); the inhibit rules were checked structurally only"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "route:\n  receiver: blackhole\nreceivers:\n- name: blackhole\n{}",
        inhibit.contents
    );
    fs::write(dir.path().join("alertmanager.yml"), config).expect("write");
    let out = run(dir.path(), &amtool, &["check-config", "alertmanager.yml"]);
    assert!(
        out.contains(&format!(" - {} inhibit rules", rules.len())),
        "{out}"
    );
}
