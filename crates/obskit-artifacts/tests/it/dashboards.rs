//! Structure of the generated dashboards: what makes them importable as is and usable for any
//! obskit service (datasource variable everywhere, units and descriptions, stable unique uids,
//! `$__rate_interval`, no overlapping panels, the panels the issue asks for).

use obskit_artifacts::dashboards;
use serde_json::Value;
use std::collections::BTreeSet;

/// The uids are part of the public surface: alert links and bookmarks use them.
const STABLE_UIDS: [&str; 2] = ["obskit-service-overview", "obskit-slo"];

fn boards() -> Vec<(String, Value)> {
    dashboards::render()
        .expect("dashboards render")
        .into_iter()
        .map(|f| {
            let json = serde_json::from_str(&f.contents).expect("valid json");
            (f.path.to_string_lossy().into_owned(), json)
        })
        .collect()
}

/// Every panel, rows' nested panels included.
fn panels(board: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in board["panels"].as_array().expect("panels") {
        out.push(p);
        if let Some(inner) = p["panels"].as_array() {
            out.extend(inner);
        }
    }
    out
}

fn titles(board: &Value) -> Vec<&str> {
    panels(board)
        .iter()
        .filter_map(|p| p["title"].as_str())
        .collect()
}

#[test]
fn uids_are_stable_unique_and_name_the_files() {
    let boards = boards();
    let uids: Vec<&str> = boards
        .iter()
        .map(|(_, b)| b["uid"].as_str().expect("uid"))
        .collect();
    assert_eq!(uids, STABLE_UIDS);
    for (path, board) in &boards {
        let uid = board["uid"].as_str().expect("uid");
        assert!(uid.len() <= 40, "grafana uids are at most 40 characters");
        assert_eq!(path, &format!("dashboards/{uid}.json"));
        assert!(
            board["id"].is_null(),
            "{path}: a fixed id would clash on import"
        );
        assert!(board["schemaVersion"].as_u64().expect("schemaVersion") >= 39);
        assert!(
            board["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("obskit / "))
        );
        assert!(
            board["tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "obskit"))
        );
    }
}

#[test]
fn every_panel_uses_the_datasource_variable_and_has_a_unit_and_description() {
    for (path, board) in boards() {
        let mut ids = BTreeSet::new();
        for panel in panels(&board) {
            let title = panel["title"].as_str().expect("title");
            assert!(
                ids.insert(panel["id"].as_u64().expect("id")),
                "{path}: duplicate panel id at {title}"
            );
            if panel["type"] == "row" {
                assert!(
                    panel.get("targets").is_none(),
                    "{path}: row {title} has queries"
                );
                continue;
            }
            assert_eq!(
                panel["datasource"]["uid"], "${datasource}",
                "{path}: {title}"
            );
            assert_eq!(panel["datasource"]["type"], "prometheus", "{path}: {title}");
            assert!(
                panel["description"].as_str().is_some_and(|d| d.len() > 20),
                "{path}: {title} needs a description"
            );
            assert!(
                panel["fieldConfig"]["defaults"]["unit"]
                    .as_str()
                    .is_some_and(|u| !u.is_empty()),
                "{path}: {title} needs a unit"
            );
            let targets = panel["targets"].as_array().expect("targets");
            assert!(!targets.is_empty(), "{path}: {title} has no query");
            for target in targets {
                assert_eq!(
                    target["datasource"]["uid"], "${datasource}",
                    "{path}: {title}"
                );
                assert!(
                    target["expr"].as_str().is_some_and(|e| !e.is_empty()),
                    "{path}: {title}"
                );
            }
        }
    }
}

#[test]
fn queries_use_rate_interval_and_only_defined_variables() {
    for (path, board) in boards() {
        let defined: BTreeSet<String> = board["templating"]["list"]
            .as_array()
            .expect("variables")
            .iter()
            .map(|v| v["name"].as_str().expect("name").to_owned())
            .collect();
        assert!(
            defined.contains("datasource") && defined.contains("service"),
            "{path}"
        );
        let datasource = &board["templating"]["list"][0];
        assert_eq!(
            (datasource["type"].as_str(), datasource["query"].as_str()),
            (Some("datasource"), Some("prometheus"))
        );
        for panel in panels(&board) {
            for target in panel["targets"].as_array().map_or(&[][..], Vec::as_slice) {
                let expr = target["expr"].as_str().expect("expr");
                for range in expr.split('[').skip(1) {
                    let range = range.split(']').next().unwrap_or_default();
                    assert_eq!(
                        range, "$__rate_interval",
                        "{path}: fixed range `[{range}]` in `{expr}`"
                    );
                }
                for var in expr.split('$').skip(1) {
                    let name: String = var
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    assert!(
                        name.starts_with("__") || defined.contains(&name),
                        "{path}: undefined ${name}"
                    );
                    // Variables only appear in regex matchers, so "All" and multi-values work.
                    assert!(
                        !expr.contains(&format!("=\"${name}\"")),
                        "{path}: use =~ for ${name}"
                    );
                }
            }
        }
    }
}

#[test]
fn panels_fit_the_grid_without_overlapping() {
    for (path, board) in boards() {
        let rects: Vec<(u64, u64, u64, u64, &str)> = panels(&board)
            .iter()
            .map(|p| {
                let g = &p["gridPos"];
                let n = |k: &str| g[k].as_u64().expect("grid number");
                (
                    n("x"),
                    n("y"),
                    n("w"),
                    n("h"),
                    p["title"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        for (i, a) in rects.iter().enumerate() {
            assert!(a.0 + a.2 <= 24, "{path}: {} is wider than the grid", a.4);
            for b in &rects[i + 1..] {
                let apart =
                    a.0 + a.2 <= b.0 || b.0 + b.2 <= a.0 || a.1 + a.3 <= b.1 || b.1 + b.3 <= a.1;
                assert!(apart, "{path}: {} overlaps {}", a.4, b.4);
            }
        }
    }
}

#[test]
fn dashboards_show_what_the_issue_asks_for() {
    let boards = boards();
    let overview = titles(&boards[0].1);
    for wanted in [
        "Request rate",
        "Error ratio",
        "Latency by route (p50, p95, p99)",
        "In-flight requests",
        "Responses by status code",
        "Outgoing request rate",
        "Outgoing error ratio",
        "Outgoing p99 latency",
        "CPU",
        "Resident memory",
        "Running versions",
        "Datastore operations by system and operation",
        "Datastore error ratio by system and operation",
        "Datastore latency by system and operation (p50, p95, p99)",
        "Connection pool usage against maximum",
        "Requests waiting for a connection",
        "Connection wait time (p50, p99)",
    ] {
        assert!(
            overview.contains(&wanted),
            "service overview lacks {wanted}"
        );
    }
    let slo = titles(&boards[1].1);
    for wanted in [
        "Objective",
        "SLI over the period",
        "SLI, last hour",
        "Error budget remaining",
        "Burn rate by window",
        "Burn-rate alert state",
    ] {
        assert!(slo.contains(&wanted), "SLO dashboard lacks {wanted}");
    }
    let burn = panels(&boards[1].1)
        .into_iter()
        .find(|p| p["title"] == "Burn rate by window")
        .expect("burn rate panel");
    let windows: Vec<&str> = burn["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| {
            t["legendFormat"]
                .as_str()
                .expect("legend")
                .rsplit(' ')
                .next()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(windows, ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]);
    let alert_state = serde_json::to_string(&boards[1].1).expect("json");
    assert!(alert_state.contains(r#"ALERTS{alertname=\"ObskitSloErrorBudgetBurn\""#));
}

/// Latency panels show exemplars: every time series drawn from histogram buckets asks Grafana
/// for them (`"exemplar": true` on each target), so a latency spike links to the traces behind
/// it; no other panel does (exemplars of recording rules or stats do not exist or show).
#[test]
fn latency_time_series_and_only_they_show_exemplars() {
    let mut with = BTreeSet::new();
    for (path, board) in boards() {
        for panel in panels(&board) {
            let Some(targets) = panel["targets"].as_array() else {
                continue;
            };
            let title = panel["title"].as_str().expect("a title");
            let from_buckets = targets
                .iter()
                .all(|t| t["expr"].as_str().is_some_and(|e| e.contains("_bucket")));
            let latency = panel["type"] == "timeseries" && from_buckets;
            for target in targets {
                assert_eq!(
                    target["exemplar"].as_bool().unwrap_or(false),
                    latency,
                    "{path}: panel {title:?}, target {}",
                    target["refId"]
                );
            }
            if latency {
                with.insert(title.to_owned());
            }
        }
    }
    assert_eq!(
        with,
        BTreeSet::from([
            "Latency by route (p50, p95, p99)".to_owned(),
            "Outgoing p99 latency".to_owned(),
            "gRPC latency by method (p50, p95, p99)".to_owned(),
            "Outgoing gRPC p99 latency".to_owned(),
            "Processing latency by destination (p50, p95, p99)".to_owned(),
            "Message age p99 by destination".to_owned(),
            "Datastore latency by system and operation (p50, p95, p99)".to_owned(),
            "Connection wait time (p50, p99)".to_owned(),
        ])
    );
}
