//! A real Prometheus for one test: the Debian binary, started on a free port of 127.0.0.1
//! with a throw-away TSDB, a configuration written for the test, and a small client for the
//! parts of its HTTP API the test reads (`/-/ready`, `/api/v1/query`, `/api/v1/rules`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::Url;
use serde_json::Value;

use crate::process::Running;
use crate::{find_program, free_port, skip};

/// Where Debian's `prometheus` package installs the server.
const DEBIAN_BINARY: &str = "/usr/bin/prometheus";
/// How long one API request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long Prometheus may take to report ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The Prometheus binary: Debian's, else the first `prometheus` on `PATH`.
pub fn binary() -> Option<PathBuf> {
    let debian = PathBuf::from(DEBIAN_BINARY);
    if debian.is_file() {
        return Some(debian);
    }
    find_program("prometheus")
}

/// [`binary`], or `None` after [`skip`] (a notice, or a failure under CI) when Prometheus
/// is not installed; `unchecked` names what goes unchecked without it.
pub fn binary_or_skip(unchecked: &str) -> Option<PathBuf> {
    let found = binary();
    if found.is_none() {
        skip(format_args!(
            "prometheus is not installed (apt-get install prometheus), so {unchecked} \
             went unchecked against a live Prometheus"
        ));
    }
    found
}

/// A `prometheus.yml` that scrapes `target` (host:port) as job `job` every second, evaluates
/// rules every second and loads `rule_files`.
pub fn config(job: &str, target: &str, rule_files: &[PathBuf]) -> String {
    let mut yaml = String::from(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nrule_files:\n",
    );
    for file in rule_files {
        let _ = writeln!(yaml, "  - '{}'", file.display());
    }
    let _ = write!(
        yaml,
        "scrape_configs:\n  - job_name: '{job}'\n    metrics_path: /metrics\n    static_configs:\n      - targets: ['{target}']\n"
    );
    yaml
}

/// A copy of a rule file in which every group-level `interval:` is replaced by `1s`; also
/// returns a description of each replaced line.
///
/// Why: a group's first evaluation waits for its slot, which Prometheus places at a hash of
/// the group within the group's interval. The stock period group (`interval: 2m30s`) could
/// first run up to 150 s after start, longer than this whole test may take. The expressions,
/// groups and rules stay exactly as checked in; only when they run changes.
pub fn with_fast_group_intervals(rules: &str) -> (String, Vec<String>) {
    let mut replaced = Vec::new();
    let mut out = String::with_capacity(rules.len());
    for line in rules.lines() {
        // Group keys sit at two spaces (`- name:` then `  interval:`); rule keys are deeper.
        if let Some(value) = line.strip_prefix("  interval:") {
            replaced.push(format!("interval:{value} -> interval: 1s"));
            out.push_str("  interval: 1s");
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    (out, replaced)
}

/// A running Prometheus and a client for its API.
pub struct Prometheus {
    /// The process; killed when dropped.
    pub process: Running,
    base: String,
    client: reqwest::Client,
}

impl Prometheus {
    /// Starts `binary` with `config_file` and a TSDB under `data_dir`, on a free port of
    /// 127.0.0.1 (a few attempts, in case another process takes the port first), and waits
    /// until `/-/ready` answers 200.
    pub async fn start(binary: &Path, config_file: &Path, data_dir: &Path) -> Self {
        Self::start_with_features(binary, config_file, data_dir, &[]).await
    }

    /// As [`Prometheus::start`], with `--enable-feature=` for each of `features` (e.g.
    /// `exemplar-storage`).
    pub async fn start_with_features(
        binary: &Path,
        config_file: &Path,
        data_dir: &Path,
        features: &[&str],
    ) -> Self {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("an HTTP client");
        let mut attempts = Vec::new();
        for attempt in 0..3 {
            let port = free_port();
            let mut command = Command::new(binary);
            command
                .arg(format!("--config.file={}", config_file.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    data_dir.join(format!("tsdb-{attempt}")).display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--log.level=info");
            for feature in features {
                command.arg(format!("--enable-feature={feature}"));
            }
            let process = Running::spawn("prometheus", command);
            let mut prometheus = Self {
                process,
                base: format!("http://127.0.0.1:{port}"),
                client: client.clone(),
            };
            match prometheus.wait_ready().await {
                Ok(()) => return prometheus,
                Err(why) => attempts.push(format!("{why}\n{}", prometheus.process.tail(30))),
            }
        }
        panic!(
            "Prometheus did not become ready:\n{}",
            attempts.join("\n\n")
        );
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.process.exited() {
                return Err(format!("prometheus exited early: {status}"));
            }
            let ready = self
                .client
                .get(format!("{}/-/ready", self.base))
                .send()
                .await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "/-/ready did not answer 200 within {READY_TIMEOUT:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Evaluates `expr` now through `GET /api/v1/query`.
    pub async fn query(&self, expr: &str) -> Answer {
        let url = Url::parse_with_params(&format!("{}/api/v1/query", self.base), [("query", expr)])
            .expect("a valid URL");
        self.get(url).await
    }

    /// The exemplars of the series `selector` selects between `start` and `end` (Unix
    /// seconds), through `GET /api/v1/query_exemplars` (needs `exemplar-storage`).
    pub async fn query_exemplars(
        &self,
        selector: &str,
        start: f64,
        end: f64,
    ) -> Result<Vec<SeriesExemplar>, String> {
        let url = Url::parse_with_params(
            &format!("{}/api/v1/query_exemplars", self.base),
            [
                ("query", selector.to_owned()),
                ("start", start.to_string()),
                ("end", end.to_string()),
            ],
        )
        .expect("a valid URL");
        let answer = self.get(url).await;
        if !answer.success() {
            return Err(answer.describe());
        }
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let labels = |v: &Value| {
            v.as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), text(v))).collect())
                .unwrap_or_default()
        };
        Ok(answer.body["data"]
            .as_array()
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .flat_map(|series| {
                let series_labels: std::collections::BTreeMap<String, String> =
                    labels(&series["seriesLabels"]);
                series["exemplars"]
                    .as_array()
                    .map_or(&[][..], Vec::as_slice)
                    .iter()
                    .map(move |e| SeriesExemplar {
                        series: series_labels.clone(),
                        labels: labels(&e["labels"]),
                        value: text(&e["value"]).parse().unwrap_or(f64::NAN),
                        timestamp: e["timestamp"].as_f64().unwrap_or(f64::NAN),
                    })
            })
            .collect())
    }

    /// The rule groups Prometheus loaded, with each rule's state (`GET /api/v1/rules`).
    pub async fn rules(&self) -> Vec<RuleState> {
        let url = Url::parse(&format!("{}/api/v1/rules", self.base)).expect("a valid URL");
        let answer = self.get(url).await;
        assert!(
            answer.success(),
            "GET /api/v1/rules failed: {}",
            answer.describe()
        );
        let groups = answer.body["data"]["groups"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        groups
            .iter()
            .flat_map(|group| {
                let file = group["file"].as_str().unwrap_or_default().to_owned();
                let group_name = group["name"].as_str().unwrap_or_default().to_owned();
                group["rules"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |rule| RuleState {
                        file: file.clone(),
                        group: group_name.clone(),
                        name: rule["name"].as_str().unwrap_or_default().to_owned(),
                        recording: rule["type"] == "recording",
                        health: rule["health"].as_str().unwrap_or_default().to_owned(),
                        last_error: rule["lastError"].as_str().unwrap_or_default().to_owned(),
                        evaluated: rule["lastEvaluation"]
                            .as_str()
                            .is_some_and(|t| !t.starts_with("0001-")),
                    })
            })
            .collect()
    }

    async fn get(&self, url: Url) -> Answer {
        match self.client.get(url).send().await {
            Ok(response) => {
                let http = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
                Answer { http, body }
            }
            Err(e) => Answer {
                http: 0,
                body: Value::String(format!("request failed: {e}")),
            },
        }
    }
}

/// One exemplar of `/api/v1/query_exemplars`, with the labels of the series it belongs to.
#[derive(Debug, Clone)]
pub struct SeriesExemplar {
    /// The series' labels, `__name__` included.
    pub series: std::collections::BTreeMap<String, String>,
    /// The exemplar's own labels (`trace_id`, `span_id`).
    pub labels: std::collections::BTreeMap<String, String>,
    /// The value it recorded.
    pub value: f64,
    /// When, in Unix seconds.
    pub timestamp: f64,
}

/// What one rule looks like in `/api/v1/rules`.
#[derive(Debug, Clone)]
pub struct RuleState {
    /// The rule file, as Prometheus loaded it.
    pub file: String,
    /// The group name.
    pub group: String,
    /// The recorded series or the alert name.
    pub name: String,
    /// A recording rule (else an alerting rule).
    pub recording: bool,
    /// `ok`, `err` or `unknown` (not evaluated yet).
    pub health: String,
    /// The last evaluation error, if any.
    pub last_error: String,
    /// Whether the rule has been evaluated at least once.
    pub evaluated: bool,
}

/// One answer of the HTTP API: the HTTP status (0 when the request itself failed) and the
/// JSON body (a string when the body was not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    http: u16,
    body: Value,
}

impl Answer {
    /// `"status": "success"`.
    pub fn success(&self) -> bool {
        self.body["status"] == "success"
    }

    /// The samples of an instant query: one per series of a vector, one for a scalar, each as
    /// (labels, value as Prometheus printed it).
    pub fn samples(&self) -> Vec<(serde_json::Map<String, Value>, String)> {
        let data = &self.body["data"];
        let value_of = |pair: &Value| pair[1].as_str().unwrap_or_default().to_owned();
        match data["resultType"].as_str() {
            Some("vector") => data["result"]
                .as_array()
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .map(|s| {
                    (
                        s["metric"].as_object().cloned().unwrap_or_default(),
                        value_of(&s["value"]),
                    )
                })
                .collect(),
            Some("scalar") => vec![(serde_json::Map::new(), value_of(&data["result"]))],
            _ => Vec::new(),
        }
    }

    /// Whether at least one sample holds a number (not NaN): something a panel can show.
    pub fn has_number(&self) -> bool {
        self.samples().iter().any(|(_, v)| v != "NaN")
    }

    /// A short, readable account of the answer for failure messages.
    pub fn describe(&self) -> String {
        if !self.success() {
            let error = self.body["error"]
                .as_str()
                .map_or_else(|| self.body.to_string(), str::to_owned);
            return format!("HTTP {}: {error}", self.http);
        }
        let samples = self.samples();
        if samples.is_empty() {
            return "success, but no series".to_owned();
        }
        let shown: Vec<String> = samples
            .iter()
            .take(4)
            .map(|(labels, value)| format!("{} => {value}", Value::Object(labels.clone())))
            .collect();
        let more = samples.len().saturating_sub(shown.len());
        let more = if more > 0 {
            format!(" (+{more} more)")
        } else {
            String::new()
        };
        format!("{} series: {}{more}", samples.len(), shown.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_intervals_are_shortened_and_rule_keys_left_alone() {
        let rules = "groups:\n- name: a\n  interval: 2m30s\n  rules:\n  - record: r\n    expr: up\n    interval: x\n";
        let (copy, replaced) = with_fast_group_intervals(rules);
        assert_eq!(
            copy,
            "groups:\n- name: a\n  interval: 1s\n  rules:\n  - record: r\n    expr: up\n    interval: x\n"
        );
        assert_eq!(replaced, ["interval: 2m30s -> interval: 1s"]);
    }

    #[test]
    fn answers_are_read_and_described() {
        let vector = Answer {
            http: 200,
            body: serde_json::json!({"status": "success", "data": {"resultType": "vector", "result": [
                {"metric": {"a": "b"}, "value": [1.0, "NaN"]},
                {"metric": {}, "value": [1.0, "2"]}
            ]}}),
        };
        assert!(vector.success() && vector.has_number());
        assert_eq!(vector.samples().len(), 2);
        let nan = Answer {
            http: 200,
            body: serde_json::json!({"status": "success", "data": {"resultType": "vector", "result": [
                {"metric": {}, "value": [1.0, "NaN"]}
            ]}}),
        };
        assert!(!nan.has_number());
        let error = Answer {
            http: 400,
            body: serde_json::json!({"status": "error", "error": "parse error"}),
        };
        assert!(!error.success());
        assert_eq!(error.describe(), "HTTP 400: parse error");
    }
}
