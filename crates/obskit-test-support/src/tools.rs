//! The external tools tests check obskit's output with: finding them,
//! skipping without them, and running `promtool check metrics`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::skip;

/// The program `name` on `PATH`, else in `/usr/bin` or `/usr/local/bin`.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin".into(), "/usr/local/bin".into()])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// `promtool`, or `None` after [`skip`] (a note, or a failure under CI)
/// when it is not installed.
pub fn promtool() -> Option<PathBuf> {
    let found = find_program("promtool");
    if found.is_none() {
        skip("promtool is not installed (apt-get install prometheus)");
    }
    found
}

/// Asserts that `promtool check metrics` (the format check and the
/// linter) passes the exposition `text` and prints nothing; without
/// promtool, [`skip`]s instead (see [`promtool`]).
///
/// # Panics
///
/// When promtool complains (its output and `text` are in the message), or
/// it is missing under CI.
pub fn assert_promtool_accepts(text: &str) {
    if let Some(promtool) = promtool()
        && let Err(complaint) = check_metrics(&promtool, text)
    {
        panic!("{complaint}\n--- the exposition:\n{text}");
    }
}

/// `promtool check metrics` on `text`: `Ok` when it passes and prints
/// nothing, else what it printed.
fn check_metrics(promtool: &Path, text: &str) -> Result<(), String> {
    let out = run_with_stdin(promtool, &["check", "metrics"], text);
    if out.status.success() && out.stdout.is_empty() && out.stderr.is_empty() {
        return Ok(());
    }
    Err(format!(
        "promtool check metrics: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    ))
}

/// Runs `program args` with `input` on its standard input; its output.
///
/// # Panics
///
/// When the program cannot be started.
pub fn run_with_stdin(program: &Path, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let mut stdin = child.stdin.take().expect("a piped stdin");
    // A program that exits without reading all of it closes the pipe: its
    // output says why.
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for {}: {e}", program.display()))
}

/// Whether `python3` can `import` every one of `modules` (e.g.
/// `"grpc, grpc_health.v1.health_pb2_grpc"`); when it cannot, [`skip`]
/// with `install`, the command that installs them.
pub fn python3_with(modules: &str, install: &str) -> bool {
    let found = Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        skip(format_args!("python3 cannot import {modules} ({install})"));
    }
    found
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_program_is_found_on_the_path_and_a_made_up_one_is_not() {
        let sh = super::find_program("sh").expect("sh is installed");
        assert!(sh.is_absolute() && sh.ends_with("sh"), "{}", sh.display());
        assert_eq!(super::find_program("no-such-program-obskit"), None);
    }

    #[test]
    fn input_reaches_the_program() {
        let cat = super::find_program("cat").expect("cat is installed");
        let out = super::run_with_stdin(&cat, &[], "line\n");
        assert!(out.status.success());
        assert_eq!(out.stdout, b"line\n");
    }

    #[test]
    fn promtool_passes_a_clean_exposition_and_reports_a_broken_one() {
        let Some(promtool) = super::promtool() else {
            return;
        };
        let clean = "# HELP up Whether the target is up.\n# TYPE up gauge\nup 1\n";
        assert_eq!(super::check_metrics(&promtool, clean), Ok(()));
        let broken = super::check_metrics(&promtool, "up{ 1\n").expect_err("a broken line");
        assert!(broken.contains("stderr"), "{broken}");
        super::assert_promtool_accepts(clean);
        let refused = std::panic::catch_unwind(|| super::assert_promtool_accepts("up{ 1\n"));
        assert!(refused.is_err(), "a broken exposition fails the assertion");
    }
}
