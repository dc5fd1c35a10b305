//! Snapshots of the project `obskit new my-svc` generates with default options: the file
//! list, and the contents of every rendered file (the copied dashboards and alert rules
//! are checked against the stock ones by `stock_copies.rs` instead); and, for each option
//! alone (`--grpc`, ...), every file that it adds or changes.
//!
//! Review changes with `cargo insta review`, or accept them with
//! `INSTA_UPDATE=always cargo test -p obskit-cli --test snapshots`.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use obskit_cli::manifest::Value;
use obskit_cli::name::ProjectName;
use obskit_cli::template::{Answers, Kind, Template};

/// Snapshot name of a rendered file.
fn snapshot_name(path: &str) -> String {
    format!("rendered__{}", path.replace('/', "__"))
}

#[test]
fn file_list() {
    let files = common::render_default("my-svc");
    let mut lines = Vec::new();
    let mut copied_dirs = BTreeSet::new();
    for file in &files {
        let path = common::slash_path(&file.path);
        match file.kind {
            Kind::Rendered => lines.push(format!("{path}  (rendered)")),
            Kind::Copied => {
                let top = path.split('/').next().unwrap().to_owned();
                copied_dirs.insert(top);
            }
        }
    }
    for dir in copied_dirs {
        lines.push(format!("{dir}/  (copied as is)"));
    }
    insta::assert_snapshot!("file_list", lines.join("\n"));
}

#[test]
fn rendered_files() {
    for file in common::render_default("my-svc") {
        if file.kind == Kind::Rendered {
            let path = common::slash_path(&file.path);
            let text = String::from_utf8(file.contents).unwrap();
            insta::assert_snapshot!(snapshot_name(&path), text);
        }
    }
}

#[test]
fn cargo_toml_with_a_local_obskit() {
    let name = ProjectName::parse("my-svc").unwrap();
    let answers = Answers::new(&name).set("obskit_path", "/src/obskit/crates/obskit");
    let files = Template::embedded().unwrap().render(&answers).unwrap();
    let cargo = files
        .iter()
        .find(|f| f.path == Path::new("Cargo.toml"))
        .unwrap();
    insta::assert_snapshot!(String::from_utf8(cargo.contents.clone()).unwrap());
}

/// Each option alone (the combinations with one value set), with its snapshot prefix:
/// `grpc` for a switch, `messaging-nats` for a choice.
fn single_options() -> Vec<(String, common::Combination)> {
    common::combinations()
        .into_iter()
        .filter(|c| c.len() == 1)
        .map(|c| {
            let prefix = match &c[0] {
                (name, Value::Bool(_)) => name.clone(),
                (name, Value::Text(value)) => format!("{name}-{value}"),
            };
            (prefix, c)
        })
        .collect()
}

/// Snapshot name of a file an option adds or changes.
fn option_snapshot_name(prefix: &str, path: &str) -> String {
    format!("{prefix}__{}", path.replace('/', "__"))
}

/// The rendered files of `combination` that are new or differ from the default project's.
fn changes(combination: &common::Combination) -> Vec<(String, String)> {
    let default = common::as_tree(&common::render_default("my-svc"));
    common::render_combination("my-svc", combination)
        .into_iter()
        .filter(|f| f.kind == Kind::Rendered)
        .map(|f| (common::slash_path(&f.path), f.contents))
        .filter(|(path, contents)| default.get(path) != Some(contents))
        .map(|(path, contents)| (path, String::from_utf8(contents).unwrap()))
        .collect()
}

#[test]
fn each_option_adds_and_changes_these_files() {
    let mut listing = Vec::new();
    for (prefix, combination) in single_options() {
        let changes = changes(&combination);
        listing.push(format!("{}:", common::label(&combination)));
        for (path, text) in changes {
            listing.push(format!("  {path}"));
            insta::assert_snapshot!(option_snapshot_name(&prefix, &path), text);
        }
    }
    insta::assert_snapshot!("option_changes", listing.join("\n"));
}

#[test]
fn no_snapshot_is_left_over_from_a_removed_file() {
    let mut rendered: BTreeSet<String> = common::render_default("my-svc")
        .iter()
        .filter(|f| f.kind == Kind::Rendered)
        .map(|f| {
            format!(
                "it__snapshots__{}.snap",
                snapshot_name(&common::slash_path(&f.path))
            )
        })
        .collect();
    let options = single_options();
    for (prefix, combination) in &options {
        rendered.extend(changes(combination).iter().map(|(path, _)| {
            format!("it__snapshots__{}.snap", option_snapshot_name(prefix, path))
        }));
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots");
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let per_file = name.starts_with("it__snapshots__rendered__")
            || options
                .iter()
                .any(|(prefix, _)| name.starts_with(&format!("it__snapshots__{prefix}__")));
        if per_file && name.ends_with(".snap") {
            assert!(
                rendered.contains(&name),
                "{name} belongs to no rendered file; delete it"
            );
        }
    }
}
