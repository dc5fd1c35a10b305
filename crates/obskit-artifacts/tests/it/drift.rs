//! The files checked in at the repository root must be exactly what `stock_files()` generates.
//! `OBSKIT_BLESS=1 cargo test -p obskit-artifacts` rewrites them (and deletes stale ones).

use obskit_artifacts::{GeneratedFile, stock_files};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The directories `stock_files()` owns, and the extension of the files it owns in them.
const OWNED: [(&str, &str); 5] = [
    ("dashboards", "json"),
    ("alerts", "yml"),
    ("alerts/tests", "yml"),
    ("docs/runbooks", "md"),
    ("deploy", "yml"),
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Owned files present on disk, relative to the root.
fn on_disk(root: &Path) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    for (dir, ext) in OWNED {
        let Ok(entries) = fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() && path.extension().is_some_and(|e| e == ext) {
                found.insert(Path::new(dir).join(entry.file_name()));
            }
        }
    }
    found
}

fn bless(root: &Path, files: &[GeneratedFile], stale: &BTreeSet<PathBuf>) {
    for file in files {
        let path = root.join(&file.path);
        fs::create_dir_all(path.parent().expect("generated paths have a parent"))
            .expect("create directory");
        fs::write(&path, &file.contents)
            .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
    for path in stale {
        fs::remove_file(root.join(path))
            .unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
    }
}

#[test]
fn checked_in_artifacts_match_the_generator() {
    let root = repo_root();
    let files = stock_files().expect("stock files render");
    let generated: BTreeSet<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
    for path in &generated {
        assert!(
            OWNED
                .iter()
                .any(|(dir, ext)| path.parent() == Some(Path::new(dir))
                    && path.extension().is_some_and(|e| e == *ext)),
            "{} is generated outside the directories this test checks; add its directory to OWNED",
            path.display()
        );
    }
    let stale: BTreeSet<PathBuf> = on_disk(&root).difference(&generated).cloned().collect();

    if std::env::var_os("OBSKIT_BLESS").is_some_and(|v| v == "1") {
        bless(&root, &files, &stale);
        return;
    }

    let mut problems = Vec::new();
    for file in &files {
        match fs::read_to_string(root.join(&file.path)) {
            Ok(text) if text == file.contents => {}
            Ok(_) => problems.push(format!("differs:  {}", file.path.display())),
            Err(_) => problems.push(format!("missing:  {}", file.path.display())),
        }
    }
    for path in &stale {
        problems.push(format!(
            "stale:    {} (no longer generated)",
            path.display()
        ));
    }
    assert!(
        problems.is_empty(),
        "the checked-in artifacts differ from what obskit-artifacts generates:\n  {}\n\
         If the generator change is intended, run `OBSKIT_BLESS=1 cargo test -p obskit-artifacts` \
         to rewrite them, review the diff and commit it.",
        problems.join("\n  ")
    );
}
