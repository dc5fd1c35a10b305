//! Helpers shared by the integration tests: where things are, running the real `obskit`
//! binary and `cargo generate` (the template's two renderers), and reading a directory
//! tree into memory to compare it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use obskit_cli::manifest::Value;
use obskit_cli::name::ProjectName;
use obskit_cli::template::{Answers, GeneratedFile, Template};

/// Guards the target directory the generated services build in
/// ([`generated_target`]), which Cargo locks for each build: a test that
/// builds there while others may holds [`target_shared`], a test whose
/// deadlines must not include another test's build holds [`target_alone`].
static GENERATED_TARGET: RwLock<()> = RwLock::new(());

/// Where the generated services build: the workspace's own target directory
/// (the parent of Cargo's `CARGO_TARGET_TMPDIR`). With the workspace's
/// Cargo.lock copied in, a generated service then reuses every dependency
/// the workspace already built with the same features (about four in five
/// of its crates) instead of building its whole graph a second time in a
/// directory of its own. Cargo holds the directory's lock only while it
/// builds, not while the tests run, so a test may build there.
pub(crate) fn generated_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR lies inside the target directory")
        .to_path_buf()
}

/// The workspace's `[profile.dev]` `debug` setting (the root Cargo.toml).
/// A generated service is a workspace of its own, with Cargo's default
/// profile: built with this setting, it finds the dependencies the
/// workspace compiled instead of compiling them again.
pub(crate) const WORKSPACE_DEV_DEBUG: &str = "line-tables-only";

/// The environment of every cargo run on a generated service: the shared
/// target directory ([`generated_target`]) and the workspace's dev profile.
pub(crate) fn generated_build_env(target: &Path) -> [(&'static str, String); 2] {
    [
        (
            "CARGO_TARGET_DIR",
            target.to_str().expect("a UTF-8 target path").to_owned(),
        ),
        ("CARGO_PROFILE_DEV_DEBUG", WORKSPACE_DEV_DEBUG.to_owned()),
    ]
}

/// Shares the generated services' target directory with other such tests.
pub(crate) fn target_shared() -> RwLockReadGuard<'static, ()> {
    GENERATED_TARGET
        .read()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Has the generated services' target directory to itself.
pub(crate) fn target_alone() -> RwLockWriteGuard<'static, ()> {
    GENERATED_TARGET
        .write()
        .unwrap_or_else(PoisonError::into_inner)
}

/// The repository root.
pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The `template/` folder on disk.
pub(crate) fn template_dir() -> PathBuf {
    repo_root().join("template")
}

/// Runs the real `obskit` binary with `args` in `cwd`.
pub(crate) fn obskit(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_obskit"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .output()
        .expect("the obskit binary runs")
}

/// The output's stderr as text.
pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The output's stdout as text.
pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every file under `dir`, by `/`-separated relative path, with its bytes.
pub(crate) fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    if !dir.exists() {
        return files;
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(
                    slash_path(path.strip_prefix(dir).unwrap()),
                    fs::read(&path).unwrap(),
                );
            }
        }
    }
    files
}

/// Every entry (files and directories) under `dir`, relative, sorted.
pub(crate) fn list_entries(dir: &Path) -> Vec<String> {
    let mut entries = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            entries.push(slash_path(path.strip_prefix(dir).unwrap()));
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    entries.sort();
    entries
}

/// A relative path written with `/` on every platform.
pub(crate) fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The embedded template rendered for `name` with default options.
pub(crate) fn render_default(name: &str) -> Vec<GeneratedFile> {
    let name = ProjectName::parse(name).unwrap();
    Template::embedded()
        .unwrap()
        .render(&Answers::new(&name))
        .unwrap()
}

/// The project `obskit new NAME --grpc` renders (with the published-version Cargo.toml).
pub(crate) fn render_grpc(name: &str) -> Vec<GeneratedFile> {
    let name = ProjectName::parse(name).unwrap();
    Template::embedded()
        .unwrap()
        .render(&Answers::new(&name).enable("grpc"))
        .unwrap()
}

/// One combination of the template's options: the values that differ from the defaults.
pub(crate) type Combination = Vec<(String, Value)>;

/// Every combination of the template's options, the defaults first.
pub(crate) fn combinations() -> Vec<Combination> {
    Template::embedded().unwrap().combinations()
}

/// The combination as `obskit new` flags: `--name` for a switch, `--name value` for a
/// choice (`_` in a name spelled `-`).
pub(crate) fn obskit_args(combination: &Combination) -> Vec<String> {
    let mut args = Vec::new();
    for (name, value) in combination {
        args.push(format!("--{}", name.replace('_', "-")));
        if let Value::Text(text) = value {
            args.push(text.clone());
        }
    }
    args
}

/// The combination as cargo-generate `--define` values.
pub(crate) fn defines(combination: &Combination) -> Vec<String> {
    combination
        .iter()
        .map(|(name, value)| match value {
            Value::Text(text) => format!("{name}={text}"),
            Value::Bool(on) => format!("{name}={on}"),
        })
        .collect()
}

/// A short name for the combination, for messages: `default` or `--grpc --messaging nats`.
pub(crate) fn label(combination: &Combination) -> String {
    if combination.is_empty() {
        "default".to_owned()
    } else {
        obskit_args(combination).join(" ")
    }
}

/// The embedded template rendered for `name` with the options of `combination`.
pub(crate) fn render_combination(name: &str, combination: &Combination) -> Vec<GeneratedFile> {
    let name = ProjectName::parse(name).unwrap();
    let answers = combination
        .iter()
        .fold(Answers::new(&name), |answers, (option, value)| {
            answers.with(option, value.clone())
        });
    Template::embedded().unwrap().render(&answers).unwrap()
}

/// Rendered files as a tree like [`read_tree`] returns.
pub(crate) fn as_tree(files: &[GeneratedFile]) -> BTreeMap<String, Vec<u8>> {
    files
        .iter()
        .map(|f| (slash_path(&f.path), f.contents.clone()))
        .collect()
}

/// Describes how two trees differ, or `None` when they are identical.
pub(crate) fn tree_diff(
    left: &BTreeMap<String, Vec<u8>>,
    right: &BTreeMap<String, Vec<u8>>,
) -> Option<String> {
    let mut problems = Vec::new();
    for path in left.keys().filter(|p| !right.contains_key(*p)) {
        problems.push(format!("only on the left: {path}"));
    }
    for path in right.keys().filter(|p| !left.contains_key(*p)) {
        problems.push(format!("only on the right: {path}"));
    }
    for (path, contents) in left {
        if right.get(path).is_some_and(|other| other != contents) {
            problems.push(format!("contents differ: {path}"));
        }
    }
    (!problems.is_empty()).then(|| problems.join("\n"))
}

/// The container's environment as the kubelet builds it: downward-API fields from `pod`,
/// and `$(NAME)` replaced by the value of a variable defined above it.
pub(crate) fn kubelet_env(
    container: &serde_json::Value,
    pod: &BTreeMap<&str, &str>,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::new();
    for var in container["env"].as_array().unwrap() {
        let name = var["name"].as_str().unwrap().to_owned();
        let value = match var["value"].as_str() {
            Some(raw) => {
                let mut value = raw.to_owned();
                for (defined, defined_value) in &env {
                    value = value.replace(&format!("$({defined})"), defined_value);
                }
                value
            }
            None => {
                let field = var["valueFrom"]["fieldRef"]["fieldPath"].as_str().unwrap();
                pod[field].to_owned()
            }
        };
        env.push((name, value));
    }
    env
}

/// Runs `cargo generate` for `name` into `destination`, with `defines` as `--define` values.
pub(crate) fn run_cargo_generate(name: &str, destination: &Path, defines: &[&str]) {
    let mut command = Command::new("cargo");
    command
        .args(["generate", "--path"])
        .arg(template_dir())
        .args([
            "--name",
            name,
            "--vcs",
            "none",
            "--silent",
            "--no-workspace",
            "--destination",
        ])
        .arg(destination);
    for define in defines {
        command.args(["--define", define]);
    }
    let output = command.output().expect("cargo generate runs");
    assert!(
        output.status.success(),
        "cargo generate failed:\n{}{}",
        stdout(&output),
        stderr(&output)
    );
}

#[test]
fn generated_services_build_with_the_workspace_dev_profile() {
    let manifest = fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    let profile = manifest
        .split("[profile.dev]")
        .nth(1)
        .expect("the workspace sets [profile.dev]");
    let section = profile.split("\n[").next().unwrap();
    assert!(
        section.contains(&format!("debug = \"{WORKSPACE_DEV_DEBUG}\"")),
        "generated services must build with the workspace's dev profile, or they compile \
         every dependency again: {section}"
    );
}
