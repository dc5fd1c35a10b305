//! End to end, as a new user would: `obskit new`, then `obskit dev -- cargo run` in the
//! generated service, one request, and the UI (in a real headless Chromium) shows that
//! request's trace (server span, client span, and the upstream's server span), its log
//! lines and the route's RED figures, each linked to the others. Screenshots of every page
//! go to `target/obskit-dev-screenshots/`.
//!
//! The request goes to `/relay/{name}`: `/hello/{name}` makes a single span, while the relay
//! calls the service itself through obskit's instrumented client, so its trace has a child.
//!
//! Builds share e2e.rs's target directory, so the dependencies compile once.

#![cfg(feature = "dev")]
#![allow(clippy::print_stderr)] // prints the measured delays into the test log

use crate::common;
use crate::dev_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dev_support::{Dev, chromium, get, screenshot_dir};
use obskit_test_support::free_port;

const NAME: &str = "e2e-svc";
/// What the issue promises: the request's trace, logs and RED figures within 2 s.
const WITHIN: Duration = Duration::from_secs(2);

fn cargo_bin() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Generates the service against this checkout and builds it in the shared target directory.
fn generated_service(work: &Path, target: &Path) -> PathBuf {
    let local = common::repo_root().join("crates/obskit");
    let output = common::obskit(
        work,
        &["new", NAME, "--obskit-path", local.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(0), "{}", common::stderr(&output));
    let project = work.join(NAME);
    fs::copy(
        common::repo_root().join("Cargo.lock"),
        project.join("Cargo.lock"),
    )
    .unwrap();
    let output = Command::new(cargo_bin())
        .args(["build", "--quiet"])
        .current_dir(&project)
        .envs(common::generated_build_env(target))
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo build: {}",
        common::stderr(&output)
    );
    project
}

/// Polls `check` until it returns `Some`, or panics with `what` after `within`.
fn within<T>(within: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> (T, Duration) {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return (value, start.elapsed());
        }
        assert!(start.elapsed() < within, "{what} not within {within:?}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn a_request_to_a_service_run_under_obskit_dev_shows_its_trace_logs_and_red_figures() {
    let Some(browser) = chromium() else { return };
    // The deadlines below start while `cargo run` may still build: no other build may hold
    // the target directory meanwhile.
    let _target = common::target_alone();
    let work = tempfile::tempdir().unwrap();
    let target = common::generated_target();
    let project = generated_service(work.path(), &target);

    let port = free_port();
    let cargo = cargo_bin();
    let mut dev = Dev::start_in_generated(
        &project,
        &target,
        &[
            "--logs",
            "raw",
            "--scrape-interval",
            "250ms",
            "--",
            cargo.to_str().unwrap(),
            "run",
            "--quiet",
        ],
        &[
            ("PORT", &port.to_string()),
            ("RUST_LOG", "info"),
            ("OBSKIT_DRAIN_DELAY", "500ms"),
            ("UPSTREAM_URL", &format!("http://127.0.0.1:{port}")),
        ],
    );
    within(Duration::from_secs(120), "the service ready", || {
        dev_support::request(port, "GET", "/health/ready", &[], b"")
            .ok()
            .filter(|(status, _)| *status == 200)
    });

    let (status, body) = get(port, "/relay/grace");
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"message":"hello, grace"}"#)
    );
    let asked = Instant::now();

    // The trace id, from the service's own JSON log line (passed through raw).
    let (trace_id, _) = within(Duration::from_secs(10), "the greeting's log line", || {
        dev.collect();
        dev.out_lines.iter().find_map(|line| {
            let json: serde_json::Value = serde_json::from_str(line).ok()?;
            (json["message"] == "saying hello" && json["name"] == "grace")
                .then(|| json["trace_id"].as_str().map(str::to_owned))
                .flatten()
        })
    });

    // Within 2 s of the response: the trace with all four spans (the request, the
    // template's `#[tracing::instrument]` greeting, the client call, the upstream's
    // side), its log lines, the RED row.
    let ui = dev.ui_port;
    let waterfall_path = format!("/traces/{trace_id}");
    let (_, trace_after) = within(
        WITHIN.saturating_sub(asked.elapsed()),
        "the whole trace with its log lines",
        || {
            let (status, page) = get(ui, &waterfall_path);
            (status == 200
                && page.contains("id=\"span-count\">4<")
                && page.contains("saying hello"))
            .then_some(())
        },
    );
    let (_, red_after) = within(
        WITHIN.saturating_sub(asked.elapsed()),
        "the route's RED figures",
        || {
            let (_, page) = get(ui, "/service");
            page.contains("data-route=\"/relay/{name}\"").then_some(())
        },
    );
    eprintln!(
        "trace and logs shown {trace_after:?} after polling began, RED {red_after:?} later; {:?} after the response",
        asked.elapsed()
    );

    // The pages in a real browser.
    let base = dev.ui_url();
    let waterfall = browser.dump_dom(&format!("{base}{waterfall_path}"));
    let row = |depth: usize, needle: &str| {
        waterfall
            .split("<tr class=\"span")
            .skip(1)
            .any(|row| row.contains(&format!("data-depth=\"{depth}\"")) && row.contains(needle))
    };
    assert!(
        row(0, "GET /relay/{name}"),
        "no server span at the root:\n{waterfall}"
    );
    assert!(
        row(1, "greeting"),
        "no #[instrument] span under it:\n{waterfall}"
    );
    assert!(
        row(2, " · client"),
        "no client span under that:\n{waterfall}"
    );
    assert!(
        row(3, "GET /hello/{name}"),
        "no upstream server span under the client span:\n{waterfall}"
    );
    assert!(waterfall.contains("http.route"), "{waterfall}");
    assert!(
        waterfall.contains(&format!(
            "<span class=\"mono\" id=\"trace-id\">{trace_id}</span>"
        )),
        "{waterfall}"
    );
    // The trace's log lines, each linking to its span on the page.
    let logs_section = waterfall.split("Log lines of this trace").nth(1).unwrap();
    assert!(logs_section.contains("saying hello"), "{waterfall}");
    assert!(logs_section.contains("href=\"#span-"), "{waterfall}");
    assert!(
        waterfall.contains(&format!("/logs?trace_id={trace_id}&amp;span_id=")),
        "{waterfall}"
    );

    let traces = browser.dump_dom(&format!("{base}/traces?route=%2Frelay%2F%7Bname%7D"));
    assert!(
        traces.contains(&format!("data-trace-id=\"{trace_id}\"")),
        "{traces}"
    );
    assert!(
        traces.contains(&format!(
            "href=\"/traces/{trace_id}\">GET /relay/{{name}}</a>"
        )),
        "{traces}"
    );

    let logs_url = format!("{base}/logs?trace_id={trace_id}&live=0");
    let logs = browser.dump_dom(&logs_url);
    assert!(logs.contains("saying hello"), "{logs}");
    assert!(
        logs.contains(&format!("href=\"/traces/{trace_id}\"")),
        "{logs}"
    );

    let service = browser.dump_dom(&format!("{base}/service"));
    let relay_row = service
        .split("<tr class=\"route\"")
        .find(|row| row.contains("data-route=\"/relay/{name}\""))
        .unwrap_or_else(|| panic!("no RED row for /relay/{{name}}:\n{service}"));
    assert!(relay_row.contains("<td>GET</td>"), "{relay_row}");
    assert!(
        relay_row.contains("href=\"/traces?route=%2Frelay%2F%7Bname%7D\""),
        "{relay_row}"
    );
    assert!(
        relay_row.contains("<td class=\"num\">1</td>"),
        "one request: {relay_row}"
    );
    assert!(service.contains("data-slo=\"availability\""), "{service}");
    assert!(service.contains("page-1h"), "{service}");

    let shots = screenshot_dir();
    for (file, url) in [
        ("traces.png", format!("{base}/traces")),
        ("waterfall.png", format!("{base}{waterfall_path}")),
        ("logs.png", logs_url),
        ("service.png", format!("{base}/service")),
    ] {
        browser.screenshot(&url, &shots.join(file));
    }

    // Ctrl-C's path: the service drains and exports its last spans before obskit dev stops.
    let status = dev.terminate(Duration::from_secs(60));
    assert!(status.success(), "{status}:\n{}", dev.err_lines.join("\n"));
    assert!(
        dev.out_lines
            .iter()
            .any(|l| l.contains("telemetry shut down") && l.contains("\"spans_dropped\":0")),
        "the service did not shut down cleanly:\n{}",
        dev.out_lines.join("\n")
    );
}
