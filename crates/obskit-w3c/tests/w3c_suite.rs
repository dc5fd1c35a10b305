//! Runs the official W3C Trace Context test suite (an unmodified copy in
//! `tests/w3c-trace-context/`, see its ORIGIN and LICENSE.md) against the
//! obskit test service, at the suite's default strictness, once for
//! Level 1 and once with `SPEC_LEVEL=2` (which adds the random-flag test).
//! Every test must pass.
//!
//! Needs Python 3 and `aiohttp` (`pip install aiohttp`); skipped with a
//! message when they are missing, unless `CI` is set.

#![allow(clippy::print_stderr)] // Skips and the summary are reported on stderr, as cargo test shows them.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Kills the service however the test ends.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/w3c-trace-context/test")
}

/// Whether Python 3 with aiohttp is here; panics under CI when it is not.
fn python_ready() -> bool {
    obskit_test_support::python3_with("aiohttp", "pip install aiohttp")
}

fn start_service() -> (Service, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_obskit-w3c"))
        .arg("127.0.0.1:0")
        .env_remove("OTEL_TRACES_EXPORTER")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start obskit-w3c");
    let stdout = child.stdout.take().expect("stdout");
    let service = Service(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the service's address");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    (service, format!("{base}/test"))
}

/// One run's results: test name → outcome word (`ok`, `FAIL`, `ERROR`,
/// `skipped ...`).
struct Run {
    results: Vec<(String, String)>,
    output: String,
    success: bool,
}

fn run_suite(endpoint: &str, spec_level: Option<&str>) -> Run {
    let mut cmd = Command::new("python3");
    cmd.current_dir(suite_dir())
        .arg("test.py")
        .arg(endpoint)
        .env("HARNESS_PORT", obskit_test_support::free_port().to_string())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("STRICT_LEVEL")
        .env_remove("HARNESS_DEBUG");
    match spec_level {
        Some(level) => cmd.env("SPEC_LEVEL", level),
        None => cmd.env_remove("SPEC_LEVEL"),
    };
    let out = cmd.output().expect("run python3 test.py");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // unittest's verbose lines: `test_name (module.Class[.test_name])`,
    // then, on the same line or after the docstring's first line,
    // ` ... outcome`.
    let mut results = Vec::new();
    let mut current: Option<String> = None;
    for line in output.lines() {
        if line.starts_with("test_") {
            current = line.split_whitespace().next().map(str::to_owned);
        }
        if let Some((_, outcome)) = line.rsplit_once(" ... ")
            && let Some(name) = current.take()
        {
            results.push((name, outcome.trim().to_owned()));
        }
    }
    Run {
        results,
        output,
        success: out.status.success(),
    }
}

fn assert_all_pass(run: &Run, level: &str, expect_skipped: &[&str]) {
    assert!(
        run.results.len() >= 30,
        "{level}: the suite did not run: {}",
        run.output
    );
    let mut failed = Vec::new();
    for (name, outcome) in &run.results {
        let expected_skip = expect_skipped.contains(&name.as_str());
        let fine = if expected_skip {
            outcome.starts_with("skipped")
        } else {
            outcome == "ok"
        };
        if !fine {
            failed.push(format!("{name}: {outcome}"));
        }
    }
    assert!(
        failed.is_empty() && run.success,
        "{level}: {} of {} tests did not pass: {failed:#?}\n{}",
        failed.len(),
        run.results.len(),
        run.output
    );
    for name in expect_skipped {
        assert!(
            run.results.iter().any(|(n, _)| n == name),
            "{level}: {name} is missing from the run"
        );
    }
}

#[test]
fn the_w3c_trace_context_suite_passes_in_full() {
    if !python_ready() {
        return;
    }
    let (_service, endpoint) = start_service();

    let level1 = run_suite(&endpoint, None);
    assert_all_pass(
        &level1,
        "default (Level 1)",
        &["test_propagates_random_flag"],
    );

    let level2 = run_suite(&endpoint, Some("2"));
    assert_all_pass(&level2, "SPEC_LEVEL=2", &[]);
    assert!(
        level2
            .results
            .iter()
            .any(|(n, o)| n == "test_propagates_random_flag" && o == "ok"),
        "the Level 2 random-flag test did not run: {}",
        level2.output
    );
    eprintln!(
        "W3C Trace Context suite: {} tests at Level 1, {} at Level 2, all passed",
        level1.results.len(),
        level2.results.len()
    );
}
