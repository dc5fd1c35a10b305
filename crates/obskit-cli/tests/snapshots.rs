//! Snapshots of the project `obskit new my-svc` generates with default options: the file
//! list, and the contents of every rendered file (the copied dashboards and alert rules
//! are checked against the stock ones by `stock_copies.rs` instead).
//!
//! Review changes with `cargo insta review`, or accept them with
//! `INSTA_UPDATE=always cargo test -p obskit-cli --test snapshots`.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

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
    let answers = Answers::new(&name)
        .variant("obskit-path")
        .set("obskit_path", "/src/obskit/crates/obskit");
    let files = Template::embedded().unwrap().render(&answers).unwrap();
    let cargo = files
        .iter()
        .find(|f| f.path == Path::new("Cargo.toml"))
        .unwrap();
    insta::assert_snapshot!(String::from_utf8(cargo.contents.clone()).unwrap());
}

#[test]
fn no_snapshot_is_left_over_from_a_removed_file() {
    let rendered: BTreeSet<String> = common::render_default("my-svc")
        .iter()
        .filter(|f| f.kind == Kind::Rendered)
        .map(|f| {
            format!(
                "snapshots__{}.snap",
                snapshot_name(&common::slash_path(&f.path))
            )
        })
        .collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with("snapshots__rendered__") && name.ends_with(".snap") {
            assert!(
                rendered.contains(&name),
                "{name} belongs to no rendered file; delete it"
            );
        }
    }
}
