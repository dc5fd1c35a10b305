//! The template carries copies of the stock `dashboards/` and `alerts/` (generated from
//! code by obskit-artifacts and checked in at the repository root), so a generated
//! service has them even without the CLI. This test keeps the copies byte-identical.
//!
//! After regenerating the top-level folders, sync the copies with
//! `OBSKIT_BLESS=1 cargo test -p obskit-cli --test stock_copies`.

mod common;

use std::fs;
use std::path::Path;

/// The folders copied into the template.
const STOCK_DIRS: [&str; 2] = ["dashboards", "alerts"];

/// Replaces `copy` with the files of `source`.
fn bless(source: &Path, copy: &Path) {
    if copy.exists() {
        fs::remove_dir_all(copy).unwrap();
    }
    for (path, contents) in common::read_tree(source) {
        let destination = copy.join(path);
        fs::create_dir_all(destination.parent().unwrap()).unwrap();
        fs::write(destination, contents).unwrap();
    }
}

#[test]
fn template_copies_match_the_stock_dashboards_and_alerts() {
    let root = common::repo_root();
    let blessing = std::env::var_os("OBSKIT_BLESS").is_some_and(|v| v == "1");
    let mut problems = Vec::new();
    for dir in STOCK_DIRS {
        let source = root.join(dir);
        let copy = common::template_dir().join(dir);
        let stock = common::read_tree(&source);
        if stock.is_empty() {
            problems.push(format!(
                "{dir}/ at the repository root is missing or empty; generate it first"
            ));
            continue;
        }
        if blessing {
            bless(&source, &copy);
        }
        if let Some(diff) = common::tree_diff(&stock, &common::read_tree(&copy)) {
            problems.push(format!(
                "template/{dir}/ differs from {dir}/ (left: stock, right: template copy):\n{diff}"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{}\nsync with: OBSKIT_BLESS=1 cargo test -p obskit-cli --test stock_copies",
        problems.join("\n")
    );
}
