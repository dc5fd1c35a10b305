//! Reads generated dashboards and rule files back and lists their PromQL, ready to send to a
//! real Prometheus: Grafana variables are replaced by values Prometheus accepts.

use crate::GeneratedFile;
use serde_json::Value as Json;
use yaml_serde::Value as Yaml;

/// What `$__rate_interval` (and `$__interval`) become in [`promql_expressions`]: a range that
/// holds several samples at any usual scrape interval.
pub const GRAFANA_RATE_INTERVAL: &str = "1m";
/// What every other Grafana variable (`$service`, `$route`, `$slo`) becomes in
/// [`promql_expressions`]. The dashboards only use variables in `=~` matchers, so this selects
/// every service, route or SLO that has data.
pub const GRAFANA_MATCH_ALL: &str = ".+";

/// Every PromQL expression in the given dashboards (`*.json`: panel targets and variable
/// queries) and rule files (`*.rules.yml`, `*.prometheusrule.yml`: every `expr`), each with a
/// description of where it comes from (`dashboards/obskit-slo.json › Burn rate › A`).
///
/// Grafana variables are substituted ([`GRAFANA_RATE_INTERVAL`], [`GRAFANA_MATCH_ALL`]) and a
/// `label_values(selector, label)` variable query becomes its `selector`, so every expression
/// can be sent to Prometheus' query API as is. Other files (promtool tests, runbooks) are
/// skipped. A dashboard or rule file that does not parse yields one entry with an empty
/// expression and the parse error in its description, so a caller that queries everything fails
/// loudly instead of silently checking less.
pub fn promql_expressions(files: &[GeneratedFile]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for file in files {
        let path = file.path.to_string_lossy();
        let result = if path.ends_with(".json") {
            serde_json::from_str::<Json>(&file.contents)
                .map(|d| dashboard(&path, &d))
                .map_err(|e| e.to_string())
        } else if path.ends_with(".rules.yml") || path.ends_with(".prometheusrule.yml") {
            yaml_serde::from_str::<Yaml>(&file.contents)
                .map(|r| rules(&path, &r))
                .map_err(|e| e.to_string())
        } else {
            continue;
        };
        match result {
            Ok(found) => out.extend(found),
            Err(e) => out.push((format!("{path} (unparseable: {e})"), String::new())),
        }
    }
    out
}

fn dashboard(path: &str, dashboard: &Json) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let variables = dashboard["templating"]["list"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    for var in variables.iter().filter(|v| v["type"] == "query") {
        let query = var["query"]["query"]
            .as_str()
            .or_else(|| var["query"].as_str());
        if let Some(selector) = query.and_then(label_values_selector) {
            let name = var["name"].as_str().unwrap_or_default();
            out.push((format!("{path} › variable {name}"), substitute(selector)));
        }
    }
    panels(path, &dashboard["panels"], &mut out);
    out
}

fn panels(path: &str, panels: &Json, out: &mut Vec<(String, String)>) {
    for panel in panels.as_array().map_or(&[][..], Vec::as_slice) {
        let title = panel["title"].as_str().unwrap_or_default();
        for target in panel["targets"].as_array().map_or(&[][..], Vec::as_slice) {
            if let Some(expr) = target["expr"].as_str() {
                let ref_id = target["refId"].as_str().unwrap_or_default();
                out.push((format!("{path} › {title} › {ref_id}"), substitute(expr)));
            }
        }
        panels_in_row(path, panel, out);
    }
}

fn panels_in_row(path: &str, panel: &Json, out: &mut Vec<(String, String)>) {
    if panel.get("panels").is_some() {
        panels(path, &panel["panels"], out);
    }
}

/// `label_values(selector, label)` → `selector`.
fn label_values_selector(query: &str) -> Option<&str> {
    let inner = query
        .trim()
        .strip_prefix("label_values(")?
        .strip_suffix(')')?;
    let comma = inner.rfind(',')?;
    Some(inner[..comma].trim())
}

fn rules(path: &str, file: &Yaml) -> Vec<(String, String)> {
    let groups = file
        .get("groups")
        .or_else(|| file.get("spec").and_then(|s| s.get("groups")))
        .and_then(Yaml::as_sequence);
    let mut out = Vec::new();
    for group in groups.map_or(&[][..], Vec::as_slice) {
        let group_name = group.get("name").and_then(Yaml::as_str).unwrap_or_default();
        for rule in group
            .get("rules")
            .and_then(Yaml::as_sequence)
            .map_or(&[][..], Vec::as_slice)
        {
            let name = rule
                .get("record")
                .or_else(|| rule.get("alert"))
                .and_then(Yaml::as_str)
                .unwrap_or_default();
            let tier = rule
                .get("labels")
                .and_then(|l| l.get(crate::names::TIER_LABEL))
                .and_then(Yaml::as_str)
                .map(|t| format!(" ({t})"))
                .unwrap_or_default();
            if let Some(expr) = rule.get("expr").and_then(Yaml::as_str) {
                out.push((
                    format!("{path} › {group_name} › {name}{tier}"),
                    expr.trim().to_owned(),
                ));
            }
        }
    }
    out
}

/// Replaces Grafana variables by values Prometheus accepts.
fn substitute(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (name, len) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}').unwrap_or(braced.len());
            let name = braced[..end].split(':').next().unwrap_or_default();
            (name, end + 2)
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        out.push_str(match name {
            "__rate_interval" | "__interval" => GRAFANA_RATE_INTERVAL,
            "" => "$",
            _ => GRAFANA_MATCH_ALL,
        });
        rest = &after[len.min(after.len())..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn substitutes_grafana_variables() {
        assert_eq!(
            substitute(r#"rate(m{s=~"$service", r=~"${route:regex}"}[$__rate_interval])"#),
            r#"rate(m{s=~".+", r=~".+"}[1m])"#
        );
        assert_eq!(substitute("a $"), "a $");
    }

    #[test]
    fn label_values_become_selectors() {
        assert_eq!(
            label_values_selector(r#"label_values(m{a=~"$x"}, http_route)"#),
            Some(r#"m{a=~"$x"}"#)
        );
        assert_eq!(label_values_selector("query_result(up)"), None);
    }

    #[test]
    fn reads_rules_in_both_formats_and_reports_unparseable_files() {
        let plain = "groups:\n- name: g\n  rules:\n  - record: r\n    expr: up\n";
        let operator = "kind: PrometheusRule\nspec:\n  groups:\n  - name: g\n    rules:\n    - alert: A\n      expr: up == 0\n      labels:\n        tier: t\n";
        let files = [
            GeneratedFile {
                path: PathBuf::from("a.rules.yml"),
                contents: plain.to_owned(),
            },
            GeneratedFile {
                path: PathBuf::from("b.prometheusrule.yml"),
                contents: operator.to_owned(),
            },
            GeneratedFile {
                path: PathBuf::from("c.json"),
                contents: "{".to_owned(),
            },
            GeneratedFile {
                path: PathBuf::from("d.md"),
                contents: "# x".to_owned(),
            },
        ];
        let found = promql_expressions(&files);
        assert_eq!(
            found[0],
            ("a.rules.yml › g › r".to_owned(), "up".to_owned())
        );
        assert_eq!(
            found[1],
            (
                "b.prometheusrule.yml › g › A (t)".to_owned(),
                "up == 0".to_owned()
            )
        );
        assert!(found[2].0.starts_with("c.json (unparseable"));
        assert_eq!(found.len(), 3);
    }
}
