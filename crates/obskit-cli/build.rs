//! Chooses the template folder to embed, and makes Cargo rebuild when it changes
//! (`include_dir!` reads the folder at compile time but, on stable Rust, cannot declare
//! those files itself).
//!
//! `crates/obskit-cli/template` is a symbolic link to the repository's `template/`, so
//! that `cargo package` ships the template inside the crate. Where the link is not
//! checked out as one (Git on Windows without `core.symlinks`), the folder is read from
//! `../../template` instead.

use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let linked = manifest_dir.join("template");
    let dir = if linked.join("cargo-generate.toml").is_file() {
        linked
    } else {
        manifest_dir.join("../../template")
    };
    // The real folder, so that Cargo watches the files rather than the link.
    let dir = dir.canonicalize().unwrap_or(dir);
    println!("cargo::rerun-if-changed={}", dir.display());
    println!("cargo::rustc-env=OBSKIT_TEMPLATE_DIR={}", display(&dir));
}

/// The path as UTF-8 text, as `include_dir!` needs it.
fn display(dir: &Path) -> &str {
    dir.to_str().expect("the template path is valid UTF-8")
}
