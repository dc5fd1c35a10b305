//! A generated messaging service's own figures in a real Prometheus: Debian's `prometheus`
//! scrapes the running service with the service's own `alerts/*.rules.yml` loaded (group
//! intervals shortened, nothing else changed), and every messaging selector that the
//! service's own dashboards and rules read (found in their PromQL, not listed here) returns
//! the series the test's traffic made, for that service and destination, with exactly its
//! counts: published, consumed, processed, processing time and message age counted once per
//! task, settled as acknowledged, nothing waiting in the queue and one consumer on it.
//!
//! Without Prometheus it prints a notice and checks nothing, unless `CI` is set.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use obskit_artifacts::{GeneratedFile, promql_expressions};
use obskit_test_support::prometheus::{self, Prometheus};
use obskit_test_support::selectors::{messaging_selectors, metric_of};

/// The scrape job's name.
const JOB: &str = "generated";
/// How long Prometheus may take to scrape the service, load and evaluate its rules, and see
/// the depth poll that follows the task (the generated service polls every 15 s).
const SETTLE: Duration = Duration::from_secs(60);

/// The figures every messaging panel and rule of the service reads, by metric: at least one
/// selector must return a series of each.
const FIGURES: [(&str, &str); 7] = [
    ("published", "messaging_client_sent_messages_total"),
    ("consumed", "messaging_client_consumed_messages_total"),
    ("processing time", "messaging_process_duration_seconds"),
    ("message age", "obskit_messaging_message_age_seconds"),
    ("depth", "obskit_messaging_queue_messages"),
    ("consumers", "obskit_messaging_queue_consumers"),
    ("settlements", "obskit_messaging_settlements_total"),
];

/// Asserts the figures of `tasks` tasks, each published and acknowledged, of the generated
/// project `project` (running as `service` on `port`, consuming from `destination`), as a
/// real Prometheus with the project's own rules scrapes them.
pub(crate) fn check(project: &Path, service: &str, port: u16, destination: &str, tasks: u64) {
    let Some(binary) = prometheus::binary_or_skip("the generated service's figures") else {
        return;
    };
    let files = generated_artifacts(project);
    let expressions = promql_expressions(&files);
    let selectors = messaging_selectors(&expressions);
    assert!(
        !selectors.is_empty(),
        "{service}: no dashboard or rule of {} reads a messaging series",
        project.display()
    );
    let rule_count = expressions
        .iter()
        .filter(|(place, _)| place.starts_with("alerts/"))
        .count();

    let dir = tempfile::tempdir().unwrap();
    let rule_files = fast_rule_copies(&files, dir.path());
    let config = dir.path().join("prometheus.yml");
    fs::write(
        &config,
        prometheus::config(JOB, &format!("127.0.0.1:{port}"), &rule_files),
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let prom = Prometheus::start(&binary, &config, dir.path()).await;
        let expected = Expected {
            service,
            destination,
            tasks: tasks as f64,
        };
        let started = Instant::now();
        let deadline = started + SETTLE;
        loop {
            let mut problems = rule_problems(&prom, rule_count).await;
            problems.extend(selector_problems(&prom, &selectors, &expected).await);
            if problems.is_empty() {
                checked(service, selectors.len(), rule_count, started.elapsed());
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{service}: its figures in Prometheus after {SETTLE:?}:\n{}\n{}",
                problems.join("\n"),
                prom.process.tail(20)
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
}

/// Says what was checked, for the test log.
#[allow(clippy::print_stderr)]
fn checked(service: &str, selectors: usize, rules: usize, took: Duration) {
    eprintln!(
        "{service}: {selectors} messaging selectors of its dashboards and rules hold its traffic in Prometheus, its {rules} rules evaluate (settled in {took:.1?})"
    );
}

/// The project's dashboards and rule files, as the artifact generator would list them.
fn generated_artifacts(project: &Path) -> Vec<GeneratedFile> {
    let mut files = Vec::new();
    for (dir, suffix) in [("dashboards", ".json"), ("alerts", ".rules.yml")] {
        for entry in fs::read_dir(project.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(suffix) {
                files.push(GeneratedFile {
                    path: Path::new(dir).join(&name),
                    contents: fs::read_to_string(&path).unwrap(),
                });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// Copies of the rule files in `dir` with their group intervals shortened (the first
/// evaluation of a long-interval group could come after the test); their paths.
fn fast_rule_copies(files: &[GeneratedFile], dir: &Path) -> Vec<PathBuf> {
    files
        .iter()
        .filter(|f| f.path.starts_with("alerts"))
        .map(|file| {
            let (copy, _) = prometheus::with_fast_group_intervals(&file.contents);
            let target = dir.join(file.path.file_name().unwrap());
            fs::write(&target, copy).unwrap();
            target
        })
        .collect()
}

/// What Prometheus lacks of the project's rules: each loaded, evaluated, without error.
async fn rule_problems(prom: &Prometheus, rule_count: usize) -> Vec<String> {
    let rules = prom.rules().await;
    let mut problems = Vec::new();
    if rules.len() != rule_count {
        problems.push(format!(
            "Prometheus loaded {} rules, the project's files hold {rule_count}",
            rules.len()
        ));
    }
    for rule in rules.iter().filter(|r| !r.evaluated || r.health != "ok") {
        problems.push(format!(
            "{} › {} › {}: health {:?}, evaluated {}, last error {:?}",
            rule.file, rule.group, rule.name, rule.health, rule.evaluated, rule.last_error
        ));
    }
    problems
}

/// The traffic the test sent: `tasks` tasks to `destination` of `service`, each published
/// once and acknowledged at its first processing.
struct Expected<'a> {
    service: &'a str,
    destination: &'a str,
    tasks: f64,
}

impl Expected<'_> {
    /// The value the series `labels` of `metric` has after this traffic; `Some(None)` for
    /// a value it does not fix (a histogram's sum of seconds), `None` for a metric it knows
    /// nothing of.
    fn value(&self, metric: &str, labels: &BTreeMap<String, String>) -> Option<Option<f64>> {
        let label = |name: &str| labels.get(name).map_or("", String::as_str);
        let failed = !label("error_type").is_empty();
        let histogram = |family: &str| {
            let part = metric.strip_prefix(family)?;
            Some(match part {
                "_count" => Some(if failed { 0.0 } else { self.tasks }),
                "_bucket" if label("le") == "+Inf" => Some(if failed { 0.0 } else { self.tasks }),
                "_bucket" | "_sum" => None,
                _ => return None,
            })
        };
        let value = match metric {
            "messaging_client_sent_messages_total" | "messaging_client_consumed_messages_total" => {
                Some(if failed { 0.0 } else { self.tasks })
            }
            "obskit_messaging_settlements_total" => Some(if label("settlement") == "ack" {
                self.tasks
            } else {
                0.0
            }),
            "obskit_messaging_queue_consumers" | "obskit_messaging_consumers" => Some(1.0),
            "obskit_messaging_queue_messages"
            | "obskit_messaging_queue_redelivered"
            | "obskit_messaging_queue_depth_stale"
            | "obskit_messaging_process_active" => Some(0.0),
            _ => {
                return histogram("messaging_process_duration_seconds")
                    .or_else(|| histogram("messaging_client_operation_duration_seconds"))
                    .or_else(|| histogram("obskit_messaging_message_age_seconds"));
            }
        };
        Some(value)
    }
}

/// What the answers to `selectors` lack: each selector's series belong to the service and
/// destination and hold the traffic's values; a selector that returns nothing reads a
/// metric the service exports (only not with the selected values, such as failures); and
/// every figure of [`FIGURES`] is returned by at least one selector.
async fn selector_problems(
    prom: &Prometheus,
    selectors: &BTreeMap<String, String>,
    expected: &Expected<'_>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut answered: Vec<&str> = Vec::new();
    for (selector, place) in selectors {
        let metric = metric_of(selector);
        let answer = prom.query(selector).await;
        let samples = answer.samples();
        if samples.is_empty() {
            if prom.query(metric).await.samples().is_empty() {
                problems.push(format!(
                    "{place}: {selector} returns nothing, and the service exports no {metric} ({})",
                    answer.describe()
                ));
            }
            continue;
        }
        answered.push(metric);
        for (labels, value) in samples {
            let labels: BTreeMap<String, String> = labels
                .into_iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
                .collect();
            let shown = format!("{selector} {labels:?} = {value}");
            for (label, want) in [
                ("service_name", expected.service),
                ("messaging_destination_name", expected.destination),
            ] {
                if labels.get(label).map(String::as_str) != Some(want) {
                    problems.push(format!("{place}: {shown}: {label} is not {want:?}"));
                }
            }
            let Some(want) = expected.value(metric, &labels) else {
                problems.push(format!(
                    "{place}: {shown}: no expectation for {metric}; say what the test's traffic makes of it"
                ));
                continue;
            };
            let got = value.parse::<f64>().unwrap_or(f64::NAN);
            if let Some(want) = want
                && got != want
            {
                problems.push(format!("{place}: {shown}, not {want}"));
            }
        }
    }
    for (figure, family) in FIGURES {
        if !answered.iter().any(|metric| metric.starts_with(family)) {
            problems.push(format!(
                "no messaging selector of the dashboards and rules returns the {figure} ({family})"
            ));
        }
    }
    problems
}

#[test]
fn the_traffic_fixes_every_messaging_figure() {
    let expected = Expected {
        service: "svc",
        destination: "tasks",
        tasks: 2.0,
    };
    let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let value = |metric: &str, pairs: &[(&str, &str)]| expected.value(metric, &labels(pairs));
    assert_eq!(
        value("messaging_client_sent_messages_total", &[]),
        Some(Some(2.0))
    );
    assert_eq!(
        value(
            "messaging_process_duration_seconds_count",
            &[("error_type", "x")]
        ),
        Some(Some(0.0))
    );
    assert_eq!(
        value(
            "obskit_messaging_message_age_seconds_bucket",
            &[("le", "+Inf")]
        ),
        Some(Some(2.0))
    );
    assert_eq!(
        value(
            "obskit_messaging_message_age_seconds_bucket",
            &[("le", "1")]
        ),
        Some(None)
    );
    assert_eq!(
        value(
            "obskit_messaging_settlements_total",
            &[("settlement", "dead_letter")]
        ),
        Some(Some(0.0))
    );
    assert_eq!(
        value("obskit_messaging_queue_consumers", &[]),
        Some(Some(1.0))
    );
    assert_eq!(value("messaging_unknown_total", &[]), None);
    assert_eq!(value("obskit_messaging_message_age_seconds_max", &[]), None);
}
