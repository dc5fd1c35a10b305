//! insta snapshots of generated output. The stock files are compared byte for byte by the drift
//! test; these snapshots cover what is not checked in (the other period, the
//! `PrometheusRule` format, custom link bases) and an inventory of the stock files that makes a
//! review of any generator change quick.

use obskit_artifacts::alerts::{self, AlertOptions, Period, RuleFormat};
use obskit_artifacts::{GeneratedFile, stock_files};
use std::fmt::Write as _;

fn file<'a>(files: &'a [GeneratedFile], path: &str) -> &'a str {
    &files
        .iter()
        .find(|f| f.path.to_string_lossy() == path)
        .unwrap_or_else(|| panic!("{path} is generated"))
        .contents
}

#[test]
fn prometheus_rule_resources_for_a_28_day_period() {
    let opts = AlertOptions {
        period: Period::Days28,
        format: RuleFormat::PrometheusRule,
        runbook_base_url: "https://wiki.example.org/runbooks/".to_owned(),
        dashboard_base_url: "https://grafana.example.org".to_owned(),
    };
    let files = alerts::render(&opts).expect("alerts render");
    insta::assert_snapshot!(
        "slo_prometheusrule_28d",
        file(&files, "deploy/obskit-slo.prometheusrule.yml")
    );
    insta::assert_snapshot!(
        "red_prometheusrule",
        file(&files, "deploy/obskit-red.prometheusrule.yml")
    );
}

#[test]
fn inventory_of_the_stock_files() {
    let files = stock_files().expect("stock files");
    let mut inventory = String::new();
    for f in &files {
        let path = f.path.to_string_lossy();
        let _ = writeln!(inventory, "{path} ({} lines)", f.contents.lines().count());
        if path.ends_with(".json") {
            let board: serde_json::Value = serde_json::from_str(&f.contents).expect("json");
            for panel in board["panels"].as_array().expect("panels") {
                let queries = panel["targets"].as_array().map_or(0, Vec::len);
                let unit = panel["fieldConfig"]["defaults"]["unit"]
                    .as_str()
                    .unwrap_or("-");
                let _ = writeln!(
                    inventory,
                    "  {:<15} {:<45} {unit:<12} {queries} queries",
                    panel["type"].as_str().unwrap_or_default(),
                    panel["title"].as_str().unwrap_or_default()
                );
            }
        } else if path.ends_with(".yml") {
            let doc: yaml_serde::Value = yaml_serde::from_str(&f.contents).expect("yaml");
            for group in doc["groups"].as_sequence().map_or(&[][..], Vec::as_slice) {
                let _ = writeln!(
                    inventory,
                    "  group {}",
                    group["name"].as_str().unwrap_or_default()
                );
                for rule in group["rules"].as_sequence().expect("rules") {
                    let name = rule["record"]
                        .as_str()
                        .or_else(|| rule["alert"].as_str())
                        .unwrap_or_default();
                    let labels = yaml_serde::to_string(&rule["labels"])
                        .unwrap_or_default()
                        .replace('\n', " ");
                    let labels = if rule["labels"].is_null() {
                        String::new()
                    } else {
                        labels
                    };
                    let _ = writeln!(
                        inventory,
                        "    {name} {} {}",
                        rule["for"].as_str().unwrap_or(""),
                        labels.trim()
                    );
                }
            }
            for test in doc["tests"].as_sequence().map_or(&[][..], Vec::as_slice) {
                let _ = writeln!(
                    inventory,
                    "  test: {}",
                    test["name"].as_str().unwrap_or_default()
                );
            }
            for rule in doc["inhibit_rules"]
                .as_sequence()
                .map_or(&[][..], Vec::as_slice)
            {
                let _ = writeln!(
                    inventory,
                    "  inhibit: {}",
                    serde_json::to_string(rule).unwrap_or_default()
                );
            }
        } else {
            for heading in f.contents.lines().filter(|l| l.starts_with('#')) {
                let _ = writeln!(inventory, "  {heading}");
            }
        }
    }
    insta::assert_snapshot!("stock_inventory", inventory);
}
