//! The template carries copies of the stock `dashboards/` and `alerts/`, and of the same
//! rules and dashboards as Kubernetes objects in `deploy/` (all generated from code by
//! obskit-artifacts and checked in at the repository root), so a generated service has
//! them even without the CLI. This test keeps the copies byte-identical.
//!
//! After regenerating the top-level folders, sync the copies with
//! `OBSKIT_BLESS=1 cargo test -p obskit-cli --test it stock_copies`.

use crate::common;

use std::fs;
use std::path::Path;

/// The folders copied into the template.
const STOCK_DIRS: [&str; 3] = ["dashboards", "alerts", "deploy"];

/// The stock files' names in a folder the template shares with files of its own
/// (`deploy/`, beside the service's Deployment): the template's other files are its own.
const STOCK_PREFIX: &str = "obskit-";

/// The copies in `copy`: every file, or in `deploy/` only the stock ones.
fn copies(dir: &str, copy: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut tree = common::read_tree(copy);
    if dir == "deploy" {
        tree.retain(|path, _| path.starts_with(STOCK_PREFIX));
    }
    tree
}

/// Replaces the copies in `copy` with the files of `source`.
fn bless(dir: &str, source: &Path, copy: &Path) {
    for path in copies(dir, copy).keys() {
        fs::remove_file(copy.join(path)).unwrap();
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
            bless(dir, &source, &copy);
        }
        if let Some(diff) = common::tree_diff(&stock, &copies(dir, &copy)) {
            problems.push(format!(
                "template/{dir}/ differs from {dir}/ (left: stock, right: template copy):\n{diff}"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{}\nsync with: OBSKIT_BLESS=1 cargo test -p obskit-cli --test it stock_copies",
        problems.join("\n")
    );
}
