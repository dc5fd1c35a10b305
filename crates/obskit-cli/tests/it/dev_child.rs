//! The command `obskit dev` runs, as a real child process of the real binary: whatever it
//! prints (bytes that are not UTF-8, a line longer than the bound, a line without a
//! newline, a panic on stderr) reaches the Logs page and never ends the capture; its
//! environment points every signal at the viewer whatever the shell says; `obskit dev`
//! exits with its status; and a test that drops its `obskit dev` (a failing one does) leaves
//! nothing of the command running.

#![cfg(feature = "dev")]

use crate::dev_support;

use std::time::{Duration, Instant};

use dev_support::{Dev, get};
use obskit_test_support::wait;

/// Polls the logs page until it shows `needle`, or fails after a generous deadline.
fn wait_for_line(dev: &Dev, query: &str, needle: &str) -> String {
    wait::poll(Duration::from_secs(30), || {
        let (status, page) = get(dev.ui_port, &format!("/logs?live=0&{query}"));
        assert_eq!(status, 200, "{page}");
        if page.contains(needle) {
            Ok(page)
        } else {
            Err(page)
        }
    })
    .unwrap_or_else(|page| panic!("`{needle}` never showed on /logs?{query}:\n{page}"))
}

#[test]
fn any_output_reaches_the_logs_page_and_obskit_dev_exits_with_the_commands_status() {
    let script = r#"
printf 'compression=%s drain=%s\n' "${OTEL_EXPORTER_OTLP_COMPRESSION-unset}" "${OBSKIT_DRAIN_DELAY-unset}"
printf 'bad \377 byte\n'
printf 'after-bad-byte\n'
head -c 200000 /dev/zero | tr '\0' 'x'; printf '\n'
printf 'after-long-line\n'
printf "thread 'main' panicked at src/main.rs:3:5:\nboom\n" >&2
printf 'last line without newline'
exit 3
"#;
    let mut dev = Dev::start(
        None,
        &["--logs", "raw", "--", "sh", "-c", script],
        &[
            // A shell setting that would break export to the viewer.
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"),
            (
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                "http://elsewhere:4318/v1/logs",
            ),
        ],
    );
    wait_for_line(&dev, "q=compression", "compression=unset drain=0");
    let page = wait_for_line(&dev, "q=bad", "bad \u{fffd} byte");
    assert!(
        !page.contains("\u{fffd}\u{fffd}"),
        "one byte, one replacement"
    );
    wait_for_line(&dev, "q=after-bad-byte", "after-bad-byte");
    wait_for_line(&dev, "q=xxxxxxxx", "line cut at 65536 bytes");
    wait_for_line(&dev, "q=after-long-line", "after-long-line");
    // The panic, from stderr, as log lines of target `stderr`.
    let page = wait_for_line(&dev, "q=panicked", "panicked at src/main.rs:3:5");
    assert!(page.contains(">stderr<"), "{page}");
    wait_for_line(&dev, "q=boom", "boom");
    wait_for_line(&dev, "q=without", "last line without newline");

    // The command ended with 3; `obskit dev` says so, stays up, and ends with 3 too.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !dev
        .err_lines
        .iter()
        .any(|l| l.contains("exited (exit status: 3)"))
    {
        assert!(Instant::now() < deadline, "{}", dev.err_lines.join("\n"));
        std::thread::sleep(Duration::from_millis(50));
        dev.collect();
    }
    let status = dev.terminate(Duration::from_secs(20));
    assert_eq!(status.code(), Some(3), "{}", dev.err_lines.join("\n"));
    // Raw pass-through keeps the service's own bytes flowing to the terminal.
    assert!(
        dev.out_lines.iter().any(|l| l == "after-bad-byte"),
        "{:?}",
        dev.out_lines
    );
}

#[test]
fn a_command_killed_by_a_signal_gives_the_shells_code() {
    let mut dev = Dev::start(
        None,
        &["--logs", "none", "--", "sh", "-c", "kill -9 $$"],
        &[],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !dev
        .err_lines
        .iter()
        .any(|l| l.contains("exited (signal: 9"))
    {
        assert!(Instant::now() < deadline, "{}", dev.err_lines.join("\n"));
        std::thread::sleep(Duration::from_millis(50));
        dev.collect();
    }
    let status = dev.terminate(Duration::from_secs(20));
    assert_eq!(status.code(), Some(137));
}

/// A test that fails drops its `Dev`: obskit dev is killed, and so is the command it runs
/// (in a process group of its own) with everything that command started, as a `cargo run`
/// starts the service.
#[test]
fn dropping_obskit_dev_leaves_nothing_of_its_command_running() {
    let script = r#"sleep 600 & printf 'pids=%s %s\n' "$$" "$!"; wait"#;
    let mut dev = Dev::start(None, &["--logs", "raw", "--", "sh", "-c", script], &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let pids: Vec<u32> = loop {
        dev.collect();
        if let Some(line) = dev.out_lines.iter().find_map(|l| l.strip_prefix("pids=")) {
            break line.split(' ').map(|p| p.parse().unwrap()).collect();
        }
        assert!(
            Instant::now() < deadline,
            "the command printed no pids: {:?}",
            dev.out_lines
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert!(
        pids.iter().all(|pid| dev_support::is_running(*pid)),
        "{pids:?}"
    );
    drop(dev);
    // SIGKILL is delivered at once, but the processes end a moment later.
    let deadline = Instant::now() + Duration::from_secs(30);
    while pids.iter().any(|pid| dev_support::is_running(*pid)) {
        assert!(
            Instant::now() < deadline,
            "still running 30 s after obskit dev was dropped: {:?}",
            pids.iter()
                .filter(|pid| dev_support::is_running(**pid))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
