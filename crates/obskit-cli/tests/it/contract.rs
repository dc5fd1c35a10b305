//! The template contract (one source, two renderers; rules in template/cargo-generate.toml):
//! every templated file holds only what `obskit new` and cargo-generate render the same way
//! (bare substitutions and whole-line blocks over declared placeholders), renders for every
//! combination of options to text with no template syntax left in it, and the manifest
//! matches the files: every placeholder used, every option-only file present and emitted
//! by its option.
//!
//! cargo-generate itself is lenient (an unknown variable becomes an empty string, a file it
//! cannot parse is copied unrendered), so these checks are what keeps a mistake from
//! shipping silently through `cargo generate`; `cargo_generate.rs` compares the two for real.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use obskit_cli::manifest::{self, PlaceholderKind, Syntax, Term};
use obskit_cli::template::{self, Kind, Piece, Template};

/// Every file a renderer treats as a template (not copied, not always ignored), with its
/// text.
fn templated_files(template: &Template) -> Vec<(PathBuf, String)> {
    let manifest = template.manifest();
    let always_ignored = |output: &Path| {
        manifest::NEVER_EMITTED
            .iter()
            .any(|name| output == Path::new(name))
    };
    template
        .files()
        .filter(|(source, _)| {
            let output = template::output_path(source);
            !always_ignored(&output) && !manifest.is_copied(&output)
        })
        .map(|(source, bytes)| {
            (
                source.to_path_buf(),
                String::from_utf8(bytes.to_vec()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_templated_file_passes_the_checks() {
    let template = Template::embedded().unwrap();
    let files = templated_files(&template);
    assert!(
        files.len() >= 10,
        "found only {} templated files",
        files.len()
    );
    for (path, text) in files {
        template
            .check(&text)
            .unwrap_or_else(|e| panic!("{} line {}: {}", path.display(), e.line, e.problem));
    }
}

#[test]
fn every_combination_renders_without_template_syntax_left() {
    for combination in common::combinations() {
        let label = common::label(&combination);
        for file in common::render_combination("my-svc", &combination) {
            if file.kind != Kind::Rendered {
                continue;
            }
            let text = String::from_utf8(file.contents).unwrap();
            let path = file.path.display();
            for syntax in ["{{", "{%", "%}"] {
                assert!(
                    !text.contains(syntax),
                    "{label}: {path} still holds `{syntax}`"
                );
            }
            assert!(
                !text.starts_with('\n'),
                "{label}: {path} starts with a blank line"
            );
            assert!(
                !text.contains("\n\n\n"),
                "{label}: {path} has two blank lines in a row"
            );
        }
    }
}

#[test]
fn every_declared_placeholder_is_used() {
    // A declared placeholder nobody uses would make cargo-generate ask a useless question.
    let template = Template::embedded().unwrap();
    let mut used = BTreeSet::new();
    for (_, text) in templated_files(&template) {
        for piece in template.check(&text).unwrap() {
            match piece {
                Piece::Substitution { name, .. } => {
                    used.insert(name.to_owned());
                }
                Piece::Condition { text, .. } => {
                    let condition = template
                        .manifest()
                        .check_condition(text, Syntax::Liquid)
                        .unwrap();
                    for term in condition.terms {
                        let (Term::Switch { name, .. } | Term::Compare { name, .. }) = term;
                        used.insert(name);
                    }
                }
            }
        }
    }
    for conditional in template.manifest().conditionals() {
        for term in &conditional.condition.terms {
            let (Term::Switch { name, .. } | Term::Compare { name, .. }) = term;
            used.insert(name.clone());
        }
    }
    for placeholder in template.manifest().placeholders() {
        if placeholder.kind != PlaceholderKind::Builtin {
            assert!(
                used.contains(&placeholder.name),
                "`{}` is declared but no templated file uses it",
                placeholder.name
            );
        }
    }
}

#[test]
fn every_option_is_an_obskit_new_flag() {
    // `obskit new --NAME` for a switch, `--NAME VALUE` for a choice: the names cargo-generate
    // asks about, so `--define NAME=...` and the flag mean the same.
    let dir = tempfile::tempdir().unwrap();
    let help = common::stdout(&common::obskit(dir.path(), &["new", "--help"]));
    let template = Template::embedded().unwrap();
    let mut options = 0;
    for placeholder in template.manifest().placeholders() {
        let flag = format!("--{} ", placeholder.name.replace('_', "-"));
        match &placeholder.kind {
            PlaceholderKind::Switch => assert!(help.contains(&flag), "no {flag}in:\n{help}"),
            PlaceholderKind::Choice(choices) => {
                assert!(help.contains(&flag), "no {flag}in:\n{help}");
                for choice in choices {
                    assert!(
                        help.contains(choice.as_str()),
                        "{flag}: no {choice}:\n{help}"
                    );
                }
            }
            PlaceholderKind::Builtin | PlaceholderKind::Text => continue,
        }
        options += 1;
    }
    assert!(options >= 1);
}

#[test]
fn the_manifest_names_files_that_exist_and_options_emit_them() {
    let template = Template::embedded().unwrap();
    let manifest = template.manifest();
    let outputs: Vec<PathBuf> = template
        .files()
        .map(|(p, _)| template::output_path(p))
        .collect();
    let combinations = common::combinations();
    let emitted: Vec<BTreeSet<PathBuf>> = combinations
        .iter()
        .map(|c| {
            common::render_combination("my-svc", c)
                .into_iter()
                .map(|f| f.path)
                .collect()
        })
        .collect();
    for conditional in manifest.conditionals() {
        for entry in &conditional.ignore {
            let under: Vec<&PathBuf> = outputs.iter().filter(|o| o.starts_with(entry)).collect();
            assert!(
                !under.is_empty(),
                "[conditional.'{}'] names {}, which the template lacks",
                conditional.source,
                entry.display()
            );
            // Some combination emits it, and some leaves it out.
            for output in under {
                let count = emitted.iter().filter(|e| e.contains(output)).count();
                assert!(
                    count > 0 && count < emitted.len(),
                    "{}: emitted by {count} of {} combinations",
                    output.display(),
                    emitted.len()
                );
            }
        }
    }
    assert!(outputs.contains(&PathBuf::from(manifest::FILE_NAME)));
    for copied in ["dashboards/x.json", "alerts/x.rules.yml"] {
        assert!(
            manifest.is_copied(Path::new(copied)),
            "{copied} must be copied as is"
        );
    }
}

#[test]
fn rendered_rust_is_formatted_as_rustfmt_would() {
    // A generated project should pass `cargo fmt --check` from its first commit, whatever
    // the options.
    let scratch = tempfile::tempdir().unwrap(); // no rustfmt.toml: rustfmt's defaults
    let mut checked = BTreeMap::new();
    for combination in common::combinations() {
        for file in common::render_combination("my-svc", &combination) {
            if file.path.extension().is_some_and(|e| e == "rs") {
                checked
                    .entry(file.contents)
                    .or_insert_with(|| (file.path, common::label(&combination)));
            }
        }
    }
    for (contents, (path, label)) in checked {
        let mut child = std::process::Command::new("rustfmt")
            .args(["--edition", "2024", "--emit", "stdout"])
            .current_dir(scratch.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("rustfmt is installed (rustup component add rustfmt)");
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), &contents).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{label}: {}: {}",
            path.display(),
            common::stderr(&output)
        );
        let formatted = common::stdout(&output);
        assert!(
            formatted == String::from_utf8_lossy(&contents),
            "{label}: {} is not rustfmt-clean; format the template file. rustfmt would write:\n{formatted}",
            path.display()
        );
    }
}

#[test]
fn the_embedded_template_is_the_template_on_disk() {
    let on_disk = common::read_tree(&common::template_dir());
    let embedded: BTreeMap<String, Vec<u8>> = Template::embedded()
        .unwrap()
        .files()
        .map(|(p, c)| (common::slash_path(p), c.to_vec()))
        .collect();
    if let Some(diff) = common::tree_diff(&on_disk, &embedded) {
        panic!("{diff}\nrebuild obskit-cli (build.rs should have)");
    }
}
