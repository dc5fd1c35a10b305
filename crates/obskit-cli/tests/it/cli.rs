//! The real `obskit` binary, run as a user would: what it creates, and that every
//! mistake (bad name, existing directory, unwritable path, bad option) ends with one
//! clear error line, the right exit code, and nothing written.

use crate::common;

use std::fs;
use std::path::Path;

use common::{list_entries, obskit, read_tree, stderr, stdout};

/// Asserts a runtime failure: exit 1, one `error:` line containing `expected`.
fn assert_fails(output: &std::process::Output, expected: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(expected), "expected {expected:?} in {err}");
    assert!(output.stdout.is_empty(), "{}", stdout(output));
}

/// Asserts a usage error: exit 2, an error naming `expected`.
fn assert_usage_error(output: &std::process::Output, expected: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(expected), "expected {expected:?} in {err}");
}

#[test]
fn help_shows_examples() {
    let dir = tempfile::tempdir().unwrap();
    let help = obskit(dir.path(), &["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(
        stdout(&help).contains("Examples:\n  obskit new payments"),
        "{}",
        stdout(&help)
    );
    let help = obskit(dir.path(), &["new", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    let text = stdout(&help);
    assert!(
        text.contains("--obskit-path <PATH>")
            && text.contains("--force")
            && text.contains("--grpc"),
        "{text}"
    );
    assert!(text.contains("obskit new payments --obskit-path"), "{text}");
    assert!(list_entries(dir.path()).is_empty());
}

#[test]
fn missing_or_unknown_arguments_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    // No subcommand: the help, on stderr, as a usage error.
    let bare = obskit(dir.path(), &[]);
    assert_eq!(bare.status.code(), Some(2));
    assert!(
        stderr(&bare).contains("Usage: obskit <COMMAND>"),
        "{}",
        stderr(&bare)
    );
    assert_usage_error(&obskit(dir.path(), &["new"]), "<NAME>");
    assert_usage_error(&obskit(dir.path(), &["new", "svc", "--bogus"]), "--bogus");
    assert_usage_error(
        &obskit(
            dir.path(),
            &[
                "new",
                "svc",
                "--obskit-path",
                ".",
                "--obskit-version",
                "0.1",
            ],
        ),
        "cannot be used with",
    );
    assert_usage_error(
        &obskit(dir.path(), &["new", "svc", "--obskit-version", "one"]),
        "is not a Cargo version requirement",
    );
    assert!(list_entries(dir.path()).is_empty());
}

#[test]
fn creates_the_project_and_says_what_to_do_next() {
    let dir = tempfile::tempdir().unwrap();
    let output = obskit(dir.path(), &["new", "my-svc", "--obskit-version", "0.1"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(output.stderr.is_empty(), "{}", stderr(&output));
    let text = stdout(&output);
    let expected = common::render_default("my-svc");
    assert!(
        text.starts_with(&format!("Created my-svc/ with {} files:\n", expected.len())),
        "{text}"
    );
    assert!(text.contains("\n  src/main.rs\n"), "{text}");
    assert!(
        text.contains("my-svc depends on obskit 0.1. Next:\n  cd my-svc\n  cargo run"),
        "{text}"
    );

    let written = read_tree(&dir.path().join("my-svc"));
    if let Some(diff) = common::tree_diff(&written, &common::as_tree(&expected)) {
        panic!("written tree differs from the in-memory render:\n{diff}");
    }
    // Only the project: no staging directory is left next to it.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn path_and_version_options_shape_the_project() {
    let dir = tempfile::tempdir().unwrap();
    let output = obskit(
        dir.path(),
        &[
            "new",
            "my_svc",
            "--path",
            "services/team",
            "--obskit-version",
            "=0.1.2",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("cd services/team/my-svc"), "{text}");
    assert!(text.contains("note: the project is named `my-svc` (Kubernetes names cannot contain `_`); its crate is `my_svc`"), "{text}");
    // `_` is spelled `-` in the project name, as cargo-generate does; the crate keeps `_`.
    let cargo = fs::read_to_string(dir.path().join("services/team/my-svc/Cargo.toml")).unwrap();
    assert!(cargo.contains("name = \"my-svc\"\n"), "{cargo}");
    assert!(cargo.contains("obskit.version = \"=0.1.2\"\n"), "{cargo}");
    let env = fs::read_to_string(dir.path().join("services/team/my-svc/.env.example")).unwrap();
    assert!(env.contains("RUST_LOG=info,my_svc=debug\n"), "{env}");
}

#[test]
fn obskit_path_makes_cargo_toml_depend_on_the_checkout() {
    let dir = tempfile::tempdir().unwrap();
    let local = common::repo_root().join("crates/obskit");
    let output = obskit(
        dir.path(),
        &["new", "svc", "--obskit-path", local.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let cargo = fs::read_to_string(dir.path().join("svc/Cargo.toml")).unwrap();
    assert!(
        cargo.contains(&format!("obskit.path = '{}'\n", local.display())),
        "{cargo}"
    );
    assert!(!cargo.contains("obskit.version"), "{cargo}");
}

#[test]
fn grpc_adds_the_grpc_service_with_either_obskit_dependency() {
    let dir = tempfile::tempdir().unwrap();
    let local = common::repo_root().join("crates/obskit");
    for (name, options) in [
        ("published", vec!["--grpc", "--obskit-version", "0.1"]),
        (
            "local",
            vec!["--obskit-path", local.to_str().unwrap(), "--grpc"],
        ),
    ] {
        let mut args = vec!["new", name];
        args.extend(options);
        let output = obskit(dir.path(), &args);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert!(
            stdout(&output).contains("curl localhost:8080/grpc-hello/world"),
            "{}",
            stdout(&output)
        );
        let project = dir.path().join(name);
        for file in [
            "build.rs",
            "proto/greeter.proto",
            "src/greeter.rs",
            "tests/grpc.rs",
        ] {
            assert!(project.join(file).is_file(), "{name}: no {file}");
        }
        let cargo = fs::read_to_string(project.join("Cargo.toml")).unwrap();
        assert!(cargo.contains("tonic = \"0.14\""), "{cargo}");
        assert!(cargo.contains("protox = "), "{cargo}");
        let lib = fs::read_to_string(project.join("src/lib.rs")).unwrap();
        assert!(lib.contains("pub mod greeter;"), "{lib}");
    }
    let cargo = fs::read_to_string(dir.path().join("local/Cargo.toml")).unwrap();
    assert!(
        cargo.contains(&format!("obskit.path = '{}'\n", local.display())),
        "{cargo}"
    );
    // Without --grpc: none of it.
    let output = obskit(dir.path(), &["new", "plain", "--obskit-version", "0.1"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(!dir.path().join("plain/proto").exists());
    assert!(!dir.path().join("plain/build.rs").exists());
    assert!(!stdout(&output).contains("grpc-hello"));
}

#[test]
fn bad_obskit_paths_are_refused_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    assert_fails(
        &obskit(dir.path(), &["new", "svc", "--obskit-path", "no/such/dir"]),
        "--obskit-path `no/such/dir` was not found; point --obskit-path at the crates/obskit directory",
    );
    let names = common::repo_root().join("crates/obskit-names");
    assert_fails(
        &obskit(
            dir.path(),
            &["new", "svc", "--obskit-path", names.to_str().unwrap()],
        ),
        "holds the package `obskit-names`, not `obskit`",
    );
    assert!(list_entries(dir.path()).is_empty());
}

#[test]
fn bad_names_name_the_rule_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for (name, expected) in [
        (
            "test",
            "`test` is reserved: it is a standard library crate; try `test-service`",
        ),
        ("std", "is reserved"),
        ("fn", "`fn` is a Rust keyword"),
        (
            "My-Svc",
            "may only contain lowercase ASCII letters, digits, `-` and `_`; try `my-svc`",
        ),
        ("9lives", "must start with a letter"),
        ("a--b", "separate words with one `-`"),
        ("obskit", "a crate the generated service depends on"),
        ("../escape", "may only contain"),
        ("", "is empty"),
    ] {
        let output = obskit(dir.path(), &["new", name]);
        assert_usage_error(&output, expected);
        assert!(
            list_entries(dir.path()).is_empty(),
            "{name}: {:?}",
            list_entries(dir.path())
        );
    }
}

#[test]
fn an_existing_non_empty_directory_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("svc")).unwrap();
    fs::write(dir.path().join("svc/notes.txt"), "mine").unwrap();
    let output = obskit(dir.path(), &["new", "svc"]);
    assert_fails(
        &output,
        "`svc` already exists and is not empty; choose another name or --path, or pass --force",
    );
    assert_eq!(list_entries(dir.path()), ["svc", "svc/notes.txt"]);
}

#[test]
fn an_existing_empty_directory_is_used() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("svc")).unwrap();
    let output = obskit(dir.path(), &["new", "svc"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(dir.path().join("svc/Cargo.toml").is_file());
}

#[test]
fn force_writes_into_an_existing_directory_and_keeps_other_files() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("svc")).unwrap();
    fs::write(dir.path().join("svc/notes.txt"), "mine").unwrap();
    fs::write(dir.path().join("svc/Cargo.toml"), "old").unwrap();
    let output = obskit(dir.path(), &["new", "svc", "--force"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("Wrote "), "{}", stdout(&output));
    assert_eq!(
        fs::read_to_string(dir.path().join("svc/notes.txt")).unwrap(),
        "mine"
    );
    let cargo = fs::read_to_string(dir.path().join("svc/Cargo.toml")).unwrap();
    assert!(cargo.starts_with("[package]\nname = \"svc\""), "{cargo}");
}

#[test]
fn a_file_in_the_way_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("svc"), "a file").unwrap();
    assert_fails(&obskit(dir.path(), &["new", "svc"]), "`svc` is in the way");
    assert_fails(
        &obskit(dir.path(), &["new", "x", "--path", "svc/sub"]),
        "`svc/sub` is in the way: a parent of the target must be a directory",
    );
    assert_eq!(list_entries(dir.path()), ["svc"]);
}

#[cfg(target_os = "linux")]
#[test]
fn an_unwritable_location_fails_with_the_cause_and_writes_nothing() {
    // Nothing can create directories in /proc, not even root.
    let dir = tempfile::tempdir().unwrap();
    let output = obskit(
        dir.path(),
        &["new", "svc", "--path", "/proc/obskit-cli-test"],
    );
    assert_fails(
        &output,
        "could not create the directory `/proc/obskit-cli-test`: caused by ",
    );
    assert!(!Path::new("/proc/obskit-cli-test").exists());
    assert!(list_entries(dir.path()).is_empty());
}

/// Built inside the obskit workspace (as `cargo run -p obskit-cli` does),
/// `obskit new` depends on that checkout, so the generated service builds
/// before obskit is published; an installed CLI takes the version.
#[test]
fn a_cli_built_in_the_checkout_defaults_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let output = obskit(dir.path(), &["new", "my-svc"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let checkout = fs::canonicalize(concat!(env!("CARGO_MANIFEST_DIR"), "/../obskit")).unwrap();
    let manifest = fs::read_to_string(dir.path().join("my-svc/Cargo.toml")).unwrap();
    let expected = format!("obskit.path = '{}'", checkout.display());
    assert!(manifest.contains(&expected), "{expected}\n{manifest}");
    assert!(
        stdout(&output).contains(&format!("the obskit checkout at {}", checkout.display())),
        "{}",
        stdout(&output)
    );
}
