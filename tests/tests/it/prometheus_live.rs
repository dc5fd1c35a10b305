//! The stock dashboards and rules against a real Prometheus.
//!
//! Starts the `e2e-service` binary (a real obskit service that publishes to and consumes from a
//! RabbitMQ queue and a NATS JetStream stream of this run's own and queries PostgreSQL and
//! Redis), starts Debian's
//! Prometheus on 127.0.0.1 with a scrape job for it, the checked-in `alerts/*.rules.yml` and a
//! rule file of the test's that sets the queue's and the subject's own depth threshold, sends
//! known traffic,
//! then sends every PromQL expression of every dashboard panel, dashboard variable
//! and rule (`obskit_artifacts::promql_expressions`) to the query API and requires that:
//! - each one parses and evaluates (`"status": "success"`);
//! - each dashboard expression returns a number: no dead panel;
//! - each recording rule returns a number, and every vector selector of every rule (alerting
//!   and recording) selects at least one series: no rule rests on a series nobody exports.
//!   Alert expressions themselves normally return nothing (nothing is burning), which is why
//!   they are checked selector by selector.
//!
//! It also checks that Prometheus loaded every rule and evaluates each without error, that the
//! scrape is up, that every obskit series carries `service_name`, that the counters
//! Prometheus scraped add up to the traffic sent (requests, messages of each messaging system,
//! statements, commands), that every messaging series a panel or rule reads exists for NATS as
//! well as for RabbitMQ, and that the alerts this traffic clearly implies are pending while
//! those about a missing or unready service are not. Then the consumers of the RabbitMQ queue
//! and of the NATS subject stop taking messages as if their processing were blocked: the depth
//! and growth alerts must go pending for both destinations, and once they resume, the age
//! alert (the messages waited longer than the 1 s freshness objective); the depth alert must go
//! away as the backlog drains, and the age alert once fresh messages outnumber the old ones
//! 99 to 1. Then the service holds every connection of its PostgreSQL pool
//! with one more request waiting: the saturation and waiting alerts must go pending for the
//! pool, and go away once the connections are given back. Last, the growth alerts must go away
//! once the depth's 15 m trend turns downward.
//!
//! Without Prometheus, RabbitMQ, NATS, PostgreSQL or Redis the test prints a SKIPPED notice and
//! passes, unless `CI` is set.
#![allow(clippy::print_stderr)]

use crate::support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use obskit_artifacts::{promql::vector_selectors, promql_expressions, stock_files};
use obskit_test_support::selectors::messaging_selectors;

use support::dependencies::Dependencies;
use support::prometheus::{self, Prometheus, RuleState};
use support::service::{SERVICE_NAME, Service};
use support::traffic::{self, Tally};

/// The scrape job's name.
const JOB: &str = "obskit-e2e";
/// Rounds of traffic, one a second: enough for every `rate` to see many samples.
const ROUNDS: u64 = 24;
/// How long the scraped counters and the rules may take to catch up with the traffic.
const SETTLE: Duration = Duration::from_secs(20);
/// The series Prometheus itself adds to every scrape, which carry no `service_name`.
const SCRAPE_SERIES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// A query that may return nothing because it cannot in a short test, by construction.
struct AllowedEmpty {
    /// Where it comes from as `promql_expressions` names it, or the start of that name (a
    /// dashboard panel, `path › title › `, covers all of the panel's queries).
    place: &'static str,
    /// The expression or vector selector that returns nothing; empty for any query of `place`.
    query: &'static str,
    /// Why it cannot return data here.
    why: &'static str,
}

impl AllowedEmpty {
    fn covers(&self, place: &str, query: &str) -> bool {
        place.starts_with(self.place) && (self.query.is_empty() || self.query == query)
    }
}

/// Every query allowed to return nothing, with the reason. An entry that no longer matches a
/// query, or none of whose queries returns nothing, fails the test, so this list cannot go stale.
/// Empty: the service publishes, consumes and queries datastores, so every panel and rule has
/// data.
const ALLOWED_EMPTY: &[AllowedEmpty] = &[];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_panel_and_rule_returns_data_from_a_live_prometheus() {
    let Some(binary) = prometheus::binary_or_skip("the stock dashboards and rules") else {
        return;
    };
    let Some(dependencies) = Dependencies::find() else {
        return;
    };
    let started = Instant::now();
    let files = stock_files().expect("the stock artifacts render");
    let expressions = promql_expressions(&files);
    // Prometheus loads the rule files; the PrometheusRule objects in deploy/ hold the same rules.
    let rule_count = expressions
        .iter()
        .filter(|(place, _)| place.starts_with("alerts/"))
        .count()
        + OVERRIDES;
    assert!(
        expressions.iter().any(|(p, _)| is_dashboard(p)) && rule_count > 0,
        "promql_expressions found no dashboard or no rule expressions: {expressions:#?}"
    );

    let dir = tempfile::tempdir().expect("a temporary directory");
    let env = dependencies.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let service = Service::start_with(&env);
    let mut rule_files = copy_rule_files(dir.path());
    rule_files.push(write_overrides(
        dir.path(),
        &[&dependencies.queue, &dependencies.subject()],
    ));
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        prometheus::config(JOB, &format!("127.0.0.1:{}", service.port), &rule_files),
    )
    .expect("write prometheus.yml");
    let prom = Prometheus::start(&binary, &config, dir.path()).await;
    let prom_started = Instant::now();
    wait_for_first_scrape(&prom).await;

    let tally = traffic::drive(&service.url(""), ROUNDS, Duration::from_secs(1)).await;
    assert!(
        tally.surprises.is_empty(),
        "the service answered unexpectedly:\n{}\n{}",
        tally.surprises.join("\n"),
        service.process.tail(20)
    );

    let mut failures = Vec::new();
    check_scrape(&prom, &mut failures).await;
    check_counts(&prom, &tally, &mut failures).await;
    let rules = wait_for_rules(&prom, rule_count, &mut failures).await;
    let recording: BTreeSet<&str> = rules
        .iter()
        .filter(|r| r.recording)
        .map(|r| r.name.as_str())
        .collect();
    check_slo_figures(&prom, &tally, &mut failures).await;
    let checked = check_expressions(&prom, &expressions, &recording, &mut failures).await;
    check_alert_states(&prom, &mut failures).await;
    check_messages_and_queries(&prom, &tally, &mut failures).await;
    let nats_selectors = check_nats_series(&prom, &expressions, &mut failures).await;
    let stuck = Instant::now();
    let subject = dependencies.subject();
    let held = held_consumers(&dependencies, &subject);
    let growing = check_stuck_consumers(&prom, &service, &held, &mut failures).await;
    let ran = prom_started.elapsed();
    let stuck = stuck.elapsed();
    let saturated = Instant::now();
    check_saturated_pool(&prom, &service, &mut failures).await;
    let saturated = saturated.elapsed();
    let turned = Instant::now();
    check_growth_ends(&prom, &growing, ran, &mut failures).await;
    let turned = turned.elapsed();

    eprintln!(
        "live Prometheus: {} expressions, {} rule selectors and {nats_selectors} messaging selectors for NATS checked, {} allowed empty, in {:.1?} (the stuck consumers took {stuck:.1?}, the saturated pool {saturated:.1?}, the growth alerts' end {turned:.1?} more)",
        expressions.len(),
        checked.selectors,
        checked.allowed.len(),
        started.elapsed()
    );
    for allowed in &checked.allowed {
        eprintln!("  allowed empty: {allowed}");
    }
    let (prom_tail, service_tail) = (prom.process.tail(15), service.process.tail(5));
    drop(service);
    dependencies.remove_queues().await;
    assert!(
        failures.is_empty(),
        "{} problem(s) with the stock dashboards and rules against a live Prometheus:\n\n{}\n\n{}\n{}",
        failures.len(),
        failures.join("\n\n"),
        prom_tail,
        service_tail
    );
}

/// Dashboard expressions come from `dashboards/…`, rule expressions from `alerts/…`.
fn is_dashboard(place: &str) -> bool {
    place.starts_with("dashboards/")
}

/// The rule or alert name of a rule expression's place (`file › group › name (tier)`).
fn rule_name(place: &str) -> &str {
    let last = place.rsplit(" › ").next().unwrap_or(place);
    last.split(" (").next().unwrap_or(last)
}

/// Copies the checked-in `alerts/*.rules.yml` into `dir` with only their group intervals
/// shortened (see `with_fast_group_intervals`), and returns the copies' paths.
fn copy_rule_files(dir: &Path) -> Vec<PathBuf> {
    let alerts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../alerts");
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&alerts)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", alerts.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| p.to_string_lossy().ends_with(".rules.yml"))
        .collect();
    sources.sort();
    assert!(
        !sources.is_empty(),
        "no *.rules.yml in {}",
        alerts.display()
    );
    sources
        .iter()
        .map(|source| {
            let text = std::fs::read_to_string(source)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", source.display()));
            let (copy, replaced) = prometheus::with_fast_group_intervals(&text);
            for change in replaced {
                eprintln!(
                    "{}: {change} (first evaluation within the test)",
                    source.display()
                );
            }
            let target = dir.join(source.file_name().expect("a file name"));
            std::fs::write(&target, copy).expect("write a rule file copy");
            target
        })
        .collect()
}

/// Waits (bounded) for the first scrape of the service, so that Prometheus sees every
/// counter from before the first request and the rates cover all the traffic.
async fn wait_for_first_scrape(prom: &Prometheus) {
    let query = format!("up{{job=\"{JOB}\"}}");
    let deadline = Instant::now() + SETTLE;
    while prom.query(&query).await.samples().is_empty() {
        assert!(
            Instant::now() < deadline,
            "Prometheus did not scrape the service within {SETTLE:?}\n{}",
            prom.process.tail(30)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The scrape is up, and every series the service exported carries its `service_name`.
async fn check_scrape(prom: &Prometheus, failures: &mut Vec<String>) {
    let up = prom.query(&format!("up{{job=\"{JOB}\"}}")).await;
    let values: Vec<String> = up.samples().into_iter().map(|(_, v)| v).collect();
    if values != ["1"] {
        failures.push(format!(
            "up{{job=\"{JOB}\"}} is not one series at 1: {}",
            up.describe()
        ));
    }

    let unlabelled = prom
        .query(&format!(
            "count by (__name__) ({{job=\"{JOB}\", service_name=\"\"}})"
        ))
        .await;
    let stray: Vec<String> = names(&unlabelled)
        .into_iter()
        .filter(|n| !SCRAPE_SERIES.contains(&n.as_str()))
        .collect();
    if !unlabelled.success() || !stray.is_empty() {
        failures.push(format!(
            "series scraped from the service without service_name: {stray:?} ({})",
            unlabelled.describe()
        ));
    }

    let services = prom
        .query(&format!(
            "count by (service_name) ({{job=\"{JOB}\", service_name!=\"\"}})"
        ))
        .await;
    let found: Vec<String> = services
        .samples()
        .iter()
        .map(|(labels, _)| {
            labels["service_name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    if found != [SERVICE_NAME] {
        failures.push(format!(
            "expected every series to carry service_name=\"{SERVICE_NAME}\", found {found:?}"
        ));
    }

    let labelled = prom
        .query(&format!(
            "count by (__name__) ({{job=\"{JOB}\", service_name=\"{SERVICE_NAME}\"}})"
        ))
        .await;
    let labelled = names(&labelled);
    for expected in [
        "obskit_build_info",
        "obskit_slo_objective_ratio",
        "obskit_slo_requests_total",
        "obskit_health_ready",
        "http_server_request_duration_seconds_count",
        "http_server_active_requests",
        "http_client_request_duration_seconds_count",
        "process_cpu_seconds_total",
    ] {
        if !labelled.contains(expected) {
            failures.push(format!(
                "{expected} was not scraped with service_name=\"{SERVICE_NAME}\"; scraped: {labelled:?}"
            ));
        }
    }
}

fn names(answer: &prometheus::Answer) -> BTreeSet<String> {
    answer
        .samples()
        .iter()
        .filter_map(|(labels, _)| labels.get("__name__")?.as_str().map(str::to_owned))
        .collect()
}

/// Waits (bounded) until Prometheus has scraped the counters after the last request, then
/// compares them with what the traffic sent.
async fn check_counts(prom: &Prometheus, tally: &Tally, failures: &mut Vec<String>) {
    let server = format!("http_server_request_duration_seconds_count{{job=\"{JOB}\"}}");
    let total_query = format!("sum({server})");
    let expected_total = tally.server_total().to_string();
    let deadline = Instant::now() + SETTLE;
    let mut total = prom.query(&total_query).await;
    while total.samples().first().map(|(_, v)| v.as_str()) != Some(expected_total.as_str())
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(250)).await;
        total = prom.query(&total_query).await;
    }
    if total.samples().first().map(|(_, v)| v.as_str()) != Some(expected_total.as_str()) {
        failures.push(format!(
            "{total_query} should be {expected_total} (the requests sent) within {SETTLE:?}, got {}",
            total.describe()
        ));
        return;
    }

    let count = "http_server_request_duration_seconds_count";
    let mut expected: Vec<(String, u64)> = Vec::new();
    for (route, n) in &tally.server_by_route {
        expected.push((
            format!("sum({count}{{job=\"{JOB}\", http_route=\"{route}\"}})"),
            *n,
        ));
    }
    for (status, n) in &tally.server_by_status {
        expected.push((
            format!("sum({count}{{job=\"{JOB}\", http_response_status_code=\"{status}\"}})"),
            *n,
        ));
    }
    expected.push((
        format!("sum(http_client_request_duration_seconds_count{{job=\"{JOB}\"}})"),
        tally.client_calls,
    ));
    // gRPC: calls served by status code, calls made.
    let grpc_count = "rpc_server_call_duration_seconds_count";
    for (code, n) in [
        ("OK", tally.grpc_ok),
        ("UNAVAILABLE", tally.grpc_unavailable),
    ] {
        expected.push((
            format!("sum({grpc_count}{{job=\"{JOB}\", rpc_status_code=\"{code}\"}})"),
            n,
        ));
    }
    expected.push((
        format!("sum(rpc_client_call_duration_seconds_count{{job=\"{JOB}\"}})"),
        tally.grpc_ok + tally.grpc_unavailable,
    ));
    let grpc_total = tally.grpc_ok + tally.grpc_unavailable;
    // Every request and gRPC call counts once per SLO, and availability counts exactly the 5xx
    // and UNAVAILABLE calls bad. (Latency is not compared: a request may exceed 300 ms on a
    // loaded machine without being /slow.)
    for slo in ["availability", "latency"] {
        expected.push((
            format!("sum(obskit_slo_requests_total{{job=\"{JOB}\", slo=\"{slo}\"}})"),
            tally.server_total() + grpc_total,
        ));
    }
    expected.push((
        format!(
            "sum(obskit_slo_requests_total{{job=\"{JOB}\", slo=\"availability\", result=\"bad\"}})"
        ),
        tally
            .server_by_status
            .get(&500)
            .copied()
            .unwrap_or_default()
            + tally.grpc_unavailable,
    ));
    let mut wrong = Vec::new();
    for (query, want) in expected {
        let answer = prom.query(&query).await;
        if answer.samples().first().map(|(_, v)| v.as_str()) != Some(want.to_string().as_str()) {
            wrong.push(format!(
                "{query} should be {want}, got {}",
                answer.describe()
            ));
        }
    }
    failures.extend(wrong.into_iter().map(|w| format!("known traffic: {w}")));
}

/// The period figures of the availability SLO are the traffic-weighted ones the traffic
/// implies: SLI = 1 - 5xx / requests, remaining budget = 1 - (1 - SLI) / (1 - 0.999). Exact up
/// to rounding: every counter starts at 0 before the first scrape and all are scraped at the
/// same instants, so `increase` extrapolates them alike and the ratio is the true one.
async fn check_slo_figures(prom: &Prometheus, tally: &Tally, failures: &mut Vec<String>) {
    let bad = (tally
        .server_by_status
        .get(&500)
        .copied()
        .unwrap_or_default()
        + tally.grpc_unavailable) as f64;
    let total = (tally.server_total() + tally.grpc_ok + tally.grpc_unavailable) as f64;
    let sli = 1.0 - bad / total;
    let expected = [
        ("service_name_slo:obskit_slo_sli:ratio_period", sli),
        (
            "service_name_slo:obskit_slo_error_budget_remaining:ratio_period",
            1.0 - (1.0 - sli) / (1.0 - 0.999),
        ),
    ];
    for (record, want) in expected {
        let query = format!("{record}{{service_name=\"{SERVICE_NAME}\", slo=\"availability\"}}");
        let deadline = Instant::now() + SETTLE;
        loop {
            let answer = prom.query(&query).await;
            let got = answer
                .samples()
                .first()
                .and_then(|(_, v)| v.parse::<f64>().ok());
            if got.is_some_and(|g| (g - want).abs() < 1e-6) {
                break;
            }
            if Instant::now() >= deadline {
                failures.push(format!(
                    "known traffic: {query} should be {want:.6} ({bad} of {total} requests and gRPC calls failed), got {}",
                    answer.describe()
                ));
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Waits (bounded) until Prometheus has loaded every rule, evaluated each at least once
/// without error, and every recording rule has produced a series; reports what did not.
async fn wait_for_rules(
    prom: &Prometheus,
    rule_count: usize,
    failures: &mut Vec<String>,
) -> Vec<RuleState> {
    let deadline = Instant::now() + SETTLE;
    loop {
        let rules = prom.rules().await;
        let mut waiting = Vec::new();
        if rules.len() != rule_count {
            waiting.push(format!(
                "Prometheus loaded {} rules, the stock files hold {rule_count}",
                rules.len()
            ));
        }
        for rule in &rules {
            if !rule.evaluated || rule.health != "ok" {
                waiting.push(format!(
                    "{} › {} › {}: health {:?}, evaluated {}, last error {:?}",
                    rule.file, rule.group, rule.name, rule.health, rule.evaluated, rule.last_error
                ));
            } else if rule.recording && prom.query(&rule.name).await.samples().is_empty() {
                waiting.push(format!(
                    "{} › {} › {}: the recording rule has produced no series",
                    rule.file, rule.group, rule.name
                ));
            }
        }
        if waiting.is_empty() {
            return rules;
        }
        if Instant::now() >= deadline {
            failures.extend(
                waiting
                    .into_iter()
                    .map(|w| format!("rules not ready within {SETTLE:?}: {w}")),
            );
            return rules;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Alerts the known traffic must have started (pending or firing), each as an alert name and
/// the labels that identify it. The traffic is far from each threshold: 1 request in 35 fails
/// (2.9 %, against 1 % and 14.4 × 0.1 % = 1.44 %), 1 in 35 takes 400 ms (p99 above 0.4 s
/// against 300 ms), and about 840 requests pass every minimum-traffic guard these alerts have.
/// One message in 5 is dead-lettered, on RabbitMQ and on NATS alike (a processing failure:
/// 20 % against 1 %, 120 messages each), and one PostgreSQL statement in 5 fails (20 %, 120
/// statements and 192 Redis commands).
const EXPECTED_ALERTS: [(&str, &[(&str, &str)]); 8] = [
    ("ObskitHighErrorRatio", &[]),
    ("ObskitHighLatency", &[("slo", "latency")]),
    (
        "ObskitSloErrorBudgetBurn",
        &[("slo", "availability"), ("tier", "page-1h")],
    ),
    (
        "ObskitMessagesDeadLettered",
        &[("messaging_system", "rabbitmq")],
    ),
    (
        "ObskitMessagingHighErrorRatio",
        &[("messaging_system", "rabbitmq")],
    ),
    (
        "ObskitMessagesDeadLettered",
        &[("messaging_system", "nats")],
    ),
    (
        "ObskitMessagingHighErrorRatio",
        &[("messaging_system", "nats")],
    ),
    (
        "ObskitDbHighErrorRatio",
        &[("db_system_name", "postgresql")],
    ),
];
/// Alerts a healthy, scraped, probed service must not even have pending.
const QUIET_ALERTS: [&str; 3] = ["ObskitTargetDown", "ObskitServiceAbsent", "ObskitNotReady"];

/// The alert rules join the real series correctly: the alerts the traffic implies are pending
/// or firing for this service, and the ones about a missing or unready service are quiet.
async fn check_alert_states(prom: &Prometheus, failures: &mut Vec<String>) {
    let deadline = Instant::now() + SETTLE;
    loop {
        let alerts = prom.query("ALERTS").await;
        let samples = alerts.samples();
        let label = |labels: &serde_json::Map<String, serde_json::Value>, name: &str| {
            labels
                .get(name)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let mut problems = Vec::new();
        for (name, wanted) in EXPECTED_ALERTS {
            let found = samples.iter().any(|(labels, _)| {
                label(labels, "alertname") == name
                    && label(labels, "service_name") == SERVICE_NAME
                    && wanted.iter().all(|(k, v)| label(labels, k) == *v)
            });
            if !found {
                problems.push(format!(
                    "{name} {wanted:?} for service_name=\"{SERVICE_NAME}\" should be pending or firing"
                ));
            }
        }
        for name in QUIET_ALERTS {
            if samples
                .iter()
                .any(|(labels, _)| label(labels, "alertname") == name)
            {
                problems.push(format!(
                    "{name} should be quiet for a healthy, scraped, probed service"
                ));
            }
        }
        if problems.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            let present: Vec<String> = samples
                .iter()
                .map(|(labels, _)| {
                    let shown = ["alertname", "alertstate", "service_name", "slo", "tier"]
                        .map(|k| format!("{k}={}", label(labels, k)));
                    format!("{{{}}}", shown.join(", "))
                })
                .collect();
            failures.extend(problems.into_iter().map(|p| {
                format!(
                    "alert state: {p}; ALERTS ({}): {present:?}",
                    alerts.describe()
                )
            }));
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The recording rules of the test's own rule file (see [`write_overrides`]): one depth
/// threshold per destination, one latency threshold.
const OVERRIDES: usize = 3;
/// The depth above which the test's queue and subject fire `ObskitQueueDepthHigh`: their own
/// threshold, set the way a user sets one, without touching the stock rules.
const DEPTH_THRESHOLD: u32 = 5;
/// The freshness objective of the service's consumed messages (`e2e-service`).
const FRESHNESS: Duration = Duration::from_secs(1);
/// Messages published to each destination while its consumer is stalled: the consumer was
/// already waiting for the first and takes it; the others wait longer than the freshness
/// objective. RabbitMQ hands the consumer 10 unacknowledged and counts only the 9 it keeps
/// ready, NATS counts all 19: above the threshold either way.
const STUCK_MESSAGES: u64 = 20;
/// Fresh messages published to each destination once its consumer resumes: enough that
/// fewer than 1 % of the messages of the age alert's 5 m window waited long, so its p99 age
/// falls below the objective again (19 of the 2 640 with the traffic's 120).
const FRESH_MESSAGES: u64 = 2_500;

/// Writes a rule file that overrides the depth threshold of this run's `destinations` and
/// the latency threshold of its PostgreSQL (set high: only the override's presence is tested
/// there), as a user would, and returns its path.
fn write_overrides(dir: &Path, destinations: &[&str]) -> PathBuf {
    use obskit_artifacts::alerts::{DB_LATENCY_THRESHOLD, QUEUE_DEPTH_THRESHOLD};
    let rule = |record: &str, value: u32, label: &str, label_value: &str| {
        format!(
            "  - record: {record}\n    expr: vector({value})\n    labels:\n      service_name: {SERVICE_NAME}\n      {label}: {label_value}\n"
        )
    };
    let mut text = String::from("groups:\n- name: e2e-thresholds\n  rules:\n");
    for destination in destinations {
        text.push_str(&rule(
            QUEUE_DEPTH_THRESHOLD,
            DEPTH_THRESHOLD,
            "messaging_destination_name",
            destination,
        ));
    }
    text.push_str(&rule(
        DB_LATENCY_THRESHOLD,
        10,
        "db_system_name",
        "postgresql",
    ));
    let path = dir.join("e2e-thresholds.rules.yml");
    std::fs::write(&path, text).expect("write the threshold overrides");
    path
}

/// Polls `query` until it returns `want` (as Prometheus prints it) or the settle time runs out.
async fn poll_value(prom: &Prometheus, query: &str, want: u64) -> Result<(), String> {
    let want = want.to_string();
    let deadline = Instant::now() + SETTLE;
    loop {
        let answer = prom.query(query).await;
        if answer.samples().first().map(|(_, v)| v.as_str()) == Some(want.as_str()) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{query} should be {want} within {SETTLE:?}, got {}",
                answer.describe()
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The messages and the datastore operations Prometheus scraped are the ones the traffic made:
/// every message published, consumed and settled as its kind says, under its messaging
/// system; every statement and command counted under its system and operation, the failing
/// statement under its SQLSTATE.
async fn check_messages_and_queries(prom: &Prometheus, tally: &Tally, failures: &mut Vec<String>) {
    let sel = |metric: &str, labels: &str| format!("sum({metric}{{job=\"{JOB}\"{labels}}})");
    let mut expected = Vec::new();
    for (system, ok, poison) in [
        ("rabbitmq", tally.messages_ok, tally.messages_poison),
        ("nats", tally.nats_ok, tally.nats_poison),
    ] {
        let of = |labels: &str| format!(r#", messaging_system="{system}"{labels}"#);
        expected.extend([
            (
                sel(
                    "messaging_client_sent_messages_total",
                    &of(r#", error_type="""#),
                ),
                ok + poison,
            ),
            (
                sel("messaging_client_consumed_messages_total", &of("")),
                ok + poison,
            ),
            (
                sel(
                    "obskit_messaging_settlements_total",
                    &of(r#", settlement="ack""#),
                ),
                ok,
            ),
            (
                sel(
                    "obskit_messaging_settlements_total",
                    &of(r#", settlement="dead_letter""#),
                ),
                poison,
            ),
            (
                sel(
                    "messaging_process_duration_seconds_count",
                    &of(r#", error_type="poison""#),
                ),
                poison,
            ),
        ]);
    }
    let db = "db_client_operation_duration_seconds_count";
    expected.extend([
        (
            sel(db, r#", db_system_name="postgresql", error_type="""#),
            tally.db_ok,
        ),
        (
            sel(db, r#", db_system_name="postgresql", error_type="42601""#),
            tally.db_fail,
        ),
        (
            sel(db, r#", db_system_name="redis", error_type="""#),
            2 * tally.db_ok,
        ),
        // `set_ex` is the command redis-rs sends, `SETEX`.
        (
            sel(db, r#", db_system_name="redis", db_operation_name="SETEX""#),
            tally.db_ok,
        ),
    ]);
    for (query, want) in expected {
        if let Err(problem) = poll_value(prom, &query, want).await {
            failures.push(format!("known traffic: {problem}"));
        }
    }
}

/// An alert as its name and the labels that identify it.
type AlertOf<'a> = (&'a str, Vec<(&'a str, &'a str)>);

/// How long an alert may take to go pending or away once its cause is there or gone.
const ALERT_WAIT: Duration = Duration::from_secs(60);

/// Waits (bounded) until every alert of `wanted` is pending or firing.
async fn wait_for_alerts(prom: &Prometheus, wanted: &[AlertOf<'_>]) -> Result<(), String> {
    wait_for_alert_states(prom, wanted, true, ALERT_WAIT).await
}

/// Waits (bounded) until no alert of `wanted` is pending or firing any more.
async fn wait_for_quiet(prom: &Prometheus, wanted: &[AlertOf<'_>]) -> Result<(), String> {
    wait_for_alert_states(prom, wanted, false, ALERT_WAIT).await
}

/// Waits (at most `within`) until every alert of `wanted` is pending or firing (`active`), or
/// none is.
async fn wait_for_alert_states(
    prom: &Prometheus,
    wanted: &[AlertOf<'_>],
    active: bool,
    within: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + within;
    loop {
        let alerts = prom.query("ALERTS").await;
        let samples = alerts.samples();
        let wrong: Vec<String> = wanted
            .iter()
            .filter(|(name, labels)| {
                let present = samples.iter().any(|(found, _)| {
                    let is = |k: &str, v: &str| found.get(k).and_then(|x| x.as_str()) == Some(v);
                    is("alertname", name) && labels.iter().all(|(k, v)| is(k, v))
                });
                present != active
            })
            .map(|(name, labels)| format!("{name} {labels:?}"))
            .collect();
        if wrong.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let state = if active {
                "not pending or firing"
            } else {
                "still pending or firing"
            };
            return Err(format!(
                "{wrong:?} {state} after {within:?}; ALERTS: {}",
                alerts.describe()
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `GET path` on the service: `Ok` for a success status, else what went wrong.
async fn get_ok(client: &reqwest::Client, service: &Service, path: &str) -> Result<(), String> {
    match client.get(service.url(path)).send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("GET {}: {}", r.url(), r.status())),
        Err(e) => Err(format!("GET {path} failed: {e}")),
    }
}

/// A client for the requests that drive the service into a state.
fn driving_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client")
}

/// A consumer the test holds: its messaging system, its destination, and where the service
/// switches it (`<prefix>/consumer/{stall,release}`) and publishes one message to it.
struct Held<'a> {
    system: &'static str,
    destination: &'a str,
    prefix: &'static str,
    publish: &'static str,
}

/// The consumers of the service's RabbitMQ queue and NATS subject.
fn held_consumers<'a>(dependencies: &'a Dependencies, subject: &'a str) -> Vec<Held<'a>> {
    vec![
        Held {
            system: "rabbitmq",
            destination: &dependencies.queue,
            prefix: "",
            publish: "/publish/ok",
        },
        Held {
            system: "nats",
            destination: subject,
            prefix: "/nats",
            publish: "/nats/ok",
        },
    ]
}

impl<'a> Held<'a> {
    /// The alert `name` of this consumer's destination.
    fn alert(&self, name: &'a str) -> AlertOf<'a> {
        (
            name,
            vec![
                ("service_name", SERVICE_NAME),
                ("messaging_system", self.system),
                ("messaging_destination_name", self.destination),
            ],
        )
    }
}

/// Consumers that stop taking messages (their processing blocked), on RabbitMQ and NATS
/// alike, make the backlog alerts go pending for their destinations: depth above the
/// destination's own threshold, and depth growing while the broker still counts the
/// consumer. Once they resume, the messages they take have waited longer than the 1 s
/// freshness objective, and the age alert goes pending too; the backlog drains and the depth
/// alert goes away, and once fresh messages outnumber the old ones 99 to 1, so does the age
/// alert. Returns the growth alerts, whose 15 m trend takes longer to turn (see
/// [`check_growth_ends`]).
async fn check_stuck_consumers<'a>(
    prom: &Prometheus,
    service: &Service,
    held: &[Held<'a>],
    failures: &mut Vec<String>,
) -> Vec<AlertOf<'a>> {
    let client = driving_client();
    let get = |path: String| {
        let client = &client;
        async move { get_ok(client, service, &path).await }
    };
    let alerts = |names: &[&'a str]| -> Vec<AlertOf<'a>> {
        held.iter()
            .flat_map(|h| names.iter().map(|name| h.alert(name)))
            .collect()
    };
    let mut steps = Vec::new();
    for consumer in held {
        steps.push(get(format!("{}/consumer/stall", consumer.prefix)).await);
    }
    for _ in 0..STUCK_MESSAGES {
        for consumer in held {
            steps.push(get(consumer.publish.to_owned()).await);
        }
    }
    // Every stalled message must be older than the freshness objective when the consumer
    // takes it, however quickly the backlog alerts come: a floor on the stall, not a wait for
    // something to happen.
    let old_enough = tokio::time::Instant::now() + 2 * FRESHNESS;
    let backlog = wait_for_alerts(
        prom,
        &alerts(&["ObskitQueueDepthHigh", "ObskitQueueGrowing"]),
    )
    .await;
    if let Err(problem) = backlog {
        // What the alerts read, to tell a broker that counts differently from a rule that
        // does not fire.
        let depth = prom
            .query("sum without (state) (obskit_messaging_queue_messages)")
            .await;
        let consumers = prom.query("obskit_messaging_queue_consumers").await;
        steps.push(Err(format!(
            "{problem}\n  depth: {}\n  consumers: {}",
            depth.describe(),
            consumers.describe()
        )));
    }
    tokio::time::sleep_until(old_enough).await;
    for consumer in held {
        steps.push(get(format!("{}/consumer/release", consumer.prefix)).await);
    }
    steps.push(wait_for_alerts(prom, &alerts(&["ObskitMessageAgeHigh"])).await);
    steps.push(wait_for_quiet(prom, &alerts(&["ObskitQueueDepthHigh"])).await);
    // One message after the other, so the consumers keep up and every one of them is fresh.
    let mut fresh = Ok(());
    for _ in 0..FRESH_MESSAGES {
        for consumer in held {
            fresh = fresh.and(get(consumer.publish.to_owned()).await);
        }
    }
    steps.push(fresh);
    steps.push(wait_for_quiet(prom, &alerts(&["ObskitMessageAgeHigh"])).await);
    failures.extend(
        steps
            .into_iter()
            .filter_map(Result::err)
            .map(|p| format!("stuck consumers: {p}")),
    );
    alerts(&["ObskitQueueGrowing"])
}

/// The growth alerts of the released consumers go away once the 15 m trend of the depth
/// turns downward: its least-squares slope is negative when the backlog lies in the older
/// half of the samples, so within about as long again as Prometheus had run before it was
/// drained (`ran`, bounded by that).
async fn check_growth_ends(
    prom: &Prometheus,
    growing: &[AlertOf<'_>],
    ran: Duration,
    failures: &mut Vec<String>,
) {
    if let Err(problem) = wait_for_alert_states(prom, growing, false, ran + SETTLE).await {
        failures.push(format!("drained consumers: {problem}"));
    }
}

/// The PostgreSQL pool of the service (`e2e-service` names it).
const POOL: &str = "e2e";

/// A pool whose every connection is lent out, with a request waiting for one, makes the
/// saturation (used / max above 90 %) and waiting alerts go pending for it; once the
/// connections are given back, both go away.
async fn check_saturated_pool(prom: &Prometheus, service: &Service, failures: &mut Vec<String>) {
    let client = driving_client();
    let of_pool = |name: &'static str| {
        (
            name,
            vec![
                ("service_name", SERVICE_NAME),
                ("db_system_name", "postgresql"),
                ("db_client_connection_pool_name", POOL),
            ],
        )
    };
    let alerts = [
        of_pool("ObskitDbPoolSaturated"),
        of_pool("ObskitDbPoolWaiting"),
    ];
    let mut steps = vec![get_ok(&client, service, "/db/hold").await];
    steps.push(wait_for_alerts(prom, &alerts).await);
    steps.push(get_ok(&client, service, "/db/release").await);
    steps.push(wait_for_quiet(prom, &alerts).await);
    failures.extend(
        steps
            .into_iter()
            .filter_map(Result::err)
            .map(|p| format!("saturated pool: {p}")),
    );
}

/// Every messaging series a dashboard panel or rule reads exists for NATS as well: the stock
/// artifacts serve both systems with no per-system query. Returns how many distinct selectors
/// it asked about.
async fn check_nats_series(
    prom: &Prometheus,
    expressions: &[(String, String)],
    failures: &mut Vec<String>,
) -> usize {
    let selectors = messaging_selectors(expressions);
    for (selector, place) in &selectors {
        let query = format!("count by (messaging_system) ({selector})");
        let answer = prom.query(&query).await;
        let nats = answer.samples().iter().any(|(labels, _)| {
            labels.get("messaging_system").and_then(|v| v.as_str()) == Some("nats")
        });
        if !nats {
            failures.push(format!(
                "{place}\n  no NATS series for the messaging selector {selector}: {query} returned {}",
                answer.describe()
            ));
        }
    }
    if selectors.is_empty() {
        failures.push("no dashboard or rule reads a messaging series".to_owned());
    }
    selectors.len()
}

/// What [`check_expressions`] did besides recording failures.
struct Checked {
    /// How many rule selectors it queried.
    selectors: usize,
    /// The allow-list entries it used, described.
    allowed: Vec<String>,
}

/// Sends every expression (and every rule's vector selectors) to Prometheus.
async fn check_expressions(
    prom: &Prometheus,
    expressions: &[(String, String)],
    recording: &BTreeSet<&str>,
    failures: &mut Vec<String>,
) -> Checked {
    let mut used = vec![false; ALLOWED_EMPTY.len()];
    let mut empty = |place: &str, query: &str, what: &str, answer: String| -> Option<String> {
        match ALLOWED_EMPTY.iter().position(|a| a.covers(place, query)) {
            Some(i) => {
                used[i] = true;
                None
            }
            None => Some(format!("{place}\n  {what}: {query}\n  returned: {answer}")),
        }
    };
    let mut selectors = 0;
    let mut found = Vec::new();
    for (place, expr) in expressions {
        let answer = prom.query(expr).await;
        if !answer.success() {
            found.push(format!(
                "{place}\n  expression: {expr}\n  failed: {}",
                answer.describe()
            ));
            continue;
        }
        if is_dashboard(place) {
            if !answer.has_number() {
                found.extend(empty(
                    place,
                    expr,
                    "dead panel, expression",
                    answer.describe(),
                ));
            }
            continue;
        }
        if recording.contains(rule_name(place)) && !answer.has_number() {
            found.extend(empty(
                place,
                expr,
                "recording rule returns no number, expression",
                answer.describe(),
            ));
        }
        for selector in vector_selectors(expr) {
            selectors += 1;
            let answer = prom.query(&selector).await;
            if !answer.success() || answer.samples().is_empty() {
                found.extend(empty(
                    place,
                    &selector,
                    "rule on a series that does not exist, selector",
                    answer.describe(),
                ));
            }
        }
    }
    let mut allowed = Vec::new();
    for (entry, used) in ALLOWED_EMPTY.iter().zip(used) {
        if used {
            allowed.push(format!("{} › {}: {}", entry.place, entry.query, entry.why));
        } else {
            found.push(format!(
                "stale allow-list entry (its query returned data, or no longer exists): {} › {}",
                entry.place, entry.query
            ));
        }
    }
    failures.extend(found);
    Checked { selectors, allowed }
}

#[test]
fn an_allow_list_entry_covers_its_place_and_query() {
    let panel = AllowedEmpty {
        place: "d.json › Panel › ",
        query: "",
        why: "",
    };
    assert!(panel.covers("d.json › Panel › A", "sum(x)"));
    assert!(!panel.covers("d.json › Panel 2 › A", "sum(x)"));
    let exact = AllowedEmpty {
        place: "r.yml › g › Rule",
        query: "x",
        why: "",
    };
    assert!(exact.covers("r.yml › g › Rule", "x"));
    assert!(!exact.covers("r.yml › g › Rule", "y"));
}

#[test]
fn rule_names_are_read_from_places() {
    assert_eq!(
        rule_name(
            "alerts/obskit-slo.rules.yml › obskit-slo-alerts › ObskitSloErrorBudgetBurn (page-1h)"
        ),
        "ObskitSloErrorBudgetBurn"
    );
    assert_eq!(
        rule_name("alerts/obskit-slo.rules.yml › obskit-slo-recording › a:b:rate5m"),
        "a:b:rate5m"
    );
    assert!(is_dashboard("dashboards/obskit-slo.json › Objective › A"));
    assert!(!is_dashboard("alerts/obskit-red.rules.yml › g › A"));
}
