//! The template contract (one source, two renderers; rules in template/cargo-generate.toml): every
//! templated file renders byte-identically with Handlebars (`obskit new`) and with Liquid
//! (cargo-generate), uses only declared placeholders, and the manifest matches the files.
//!
//! Liquid runs strictly here; cargo-generate itself is lenient (an unknown variable
//! becomes an empty string, a file it cannot parse is copied unrendered), so these checks
//! are what keeps a mistake from shipping silently through `cargo generate`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use obskit_cli::manifest::{self, Manifest};
use obskit_cli::template::{self, Template};

/// A value for every declared placeholder, unlike each other so mix-ups show.
fn sample_values(manifest: &Manifest) -> BTreeMap<String, String> {
    manifest
        .placeholders()
        .iter()
        .map(|p| {
            let value = match p.name.as_str() {
                "project-name" => "my-svc".to_owned(),
                "crate_name" => "my_svc".to_owned(),
                other => p
                    .default
                    .clone()
                    .unwrap_or_else(|| format!("/sample/{other}")),
            };
            (p.name.clone(), value)
        })
        .collect()
}

/// Every file either renderer treats as a template: not copied, and emitted by default
/// or as a variant.
fn templated_files(template: &Template) -> Vec<(PathBuf, String)> {
    let manifest = template.manifest();
    let variant_sources: BTreeSet<&Path> = manifest
        .variant_names()
        .flat_map(|name| manifest.variant(name).unwrap().values())
        .map(PathBuf::as_path)
        .collect();
    template
        .files()
        .filter(|(source, _)| {
            let output = template::output_path(source);
            let emitted = variant_sources.contains(source) || !manifest.is_ignored(&output);
            emitted && !manifest.is_copied(&output)
        })
        .map(|(source, bytes)| {
            (
                source.to_path_buf(),
                String::from_utf8(bytes.to_vec()).unwrap(),
            )
        })
        .collect()
}

fn render_handlebars(text: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    template::handlebars()
        .render_template(text, values)
        .map_err(|e| e.to_string())
}

fn render_liquid(text: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    let globals: liquid::Object = values
        .iter()
        .map(|(k, v)| (k.clone().into(), liquid::model::Value::scalar(v.clone())))
        .collect();
    let parser = liquid::ParserBuilder::with_stdlib()
        .build()
        .map_err(|e| e.to_string())?;
    let parsed = parser.parse(text).map_err(|e| e.to_string())?;
    parsed.render(&globals).map_err(|e| e.to_string())
}

#[test]
fn every_templated_file_renders_identically_with_handlebars_and_liquid() {
    let template = Template::embedded().unwrap();
    let values = sample_values(template.manifest());
    let files = templated_files(&template);
    assert!(
        files.len() >= 10,
        "found only {} templated files",
        files.len()
    );
    for (path, text) in files {
        let path = path.display();
        let handlebars =
            render_handlebars(&text, &values).unwrap_or_else(|e| panic!("{path}: handlebars: {e}"));
        let liquid =
            render_liquid(&text, &values).unwrap_or_else(|e| panic!("{path}: liquid: {e}"));
        assert_eq!(handlebars, liquid, "{path} renders differently");
        assert!(
            !handlebars.contains("{{"),
            "{path} still holds `{{{{` after rendering"
        );
    }
}

#[test]
fn templated_files_use_only_bare_declared_placeholders() {
    let template = Template::embedded().unwrap();
    let declared: BTreeSet<&str> = template
        .manifest()
        .placeholders()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let mut used = BTreeSet::new();
    for (path, text) in templated_files(&template) {
        let found =
            template::placeholders(&text).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        for placeholder in found {
            assert!(
                declared.contains(placeholder.name),
                "{} line {}: `{}` is not declared in cargo-generate.toml",
                path.display(),
                placeholder.line,
                placeholder.name
            );
            used.insert(placeholder.name.to_owned());
        }
    }
    // A declared placeholder nobody uses would make cargo-generate ask a useless question.
    for name in declared
        .iter()
        .filter(|n| !manifest::BUILTIN_PLACEHOLDERS.contains(n))
    {
        assert!(
            used.contains(*name),
            "`{name}` is declared but no templated file uses it"
        );
    }
}

#[test]
fn both_engines_refuse_an_undeclared_placeholder() {
    let template = Template::embedded().unwrap();
    let values = sample_values(template.manifest());
    let text = "name = \"{{project-name}}\"\nversion = \"{{undeclared}}\"\n";
    assert!(render_handlebars(text, &values).is_err());
    assert!(render_liquid(text, &values).is_err());
    let found: Vec<_> = template::placeholders(text)
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(found, ["project-name", "undeclared"]);
}

#[test]
fn the_engines_agree_on_the_allowed_syntax_and_the_checker_rejects_the_rest() {
    let values = BTreeMap::from([("project-name".to_owned(), "my-svc".to_owned())]);
    // Allowed: same output from both.
    for text in [
        "{{project-name}}",
        "a{{project-name}}b }} { } {{project-name}}",
    ] {
        assert_eq!(
            render_handlebars(text, &values),
            render_liquid(text, &values),
            "{text}"
        );
        assert!(template::placeholders(text).is_ok(), "{text}");
    }
    // Where the engines differ, the checker refuses the text before either runs.
    for text in [
        "{{ project-name | upcase }}",
        "{{{project-name}}}",
        "\\{{project-name}}",
        "{% if x %}{% endif %}",
    ] {
        assert!(template::placeholders(text).is_err(), "{text}");
    }
}

#[test]
fn the_manifest_names_files_that_exist() {
    let template = Template::embedded().unwrap();
    let manifest = template.manifest();
    let outputs: Vec<PathBuf> = template
        .files()
        .map(|(p, _)| template::output_path(p))
        .collect();
    let sources: BTreeSet<&Path> = template.files().map(|(p, _)| p).collect();
    for name in manifest.variant_names() {
        for (output, source) in manifest.variant(name).unwrap() {
            assert!(
                sources.contains(source.as_path()),
                "variant {name}: {} is missing",
                source.display()
            );
            // A variant replaces a file of the template or adds one; either way the output
            // must be emitted, not under an ignored path.
            assert!(
                outputs.contains(output) || !manifest.is_ignored(output),
                "variant {name} writes {}, which is never emitted",
                output.display()
            );
            assert!(
                manifest.is_ignored(&template::output_path(source)),
                "cargo-generate would emit {}",
                source.display()
            );
        }
    }
    assert!(sources.contains(Path::new(manifest::FILE_NAME)));
    for copied in ["dashboards/x.json", "alerts/x.rules.yml"] {
        assert!(
            manifest.is_copied(Path::new(copied)),
            "{copied} must be copied as is"
        );
    }
}

/// The moves `emit("from", "to")` of a cargo-generate hook script, in order.
fn hook_moves(script: &str) -> Vec<(String, String)> {
    script
        .lines()
        .filter_map(|line| line.trim().strip_prefix("emit(\""))
        .map(|rest| {
            let parts: Vec<&str> = rest.split('"').collect();
            assert!(parts.len() >= 3, "unreadable emit line: {rest}");
            (parts[0].to_owned(), parts[2].to_owned())
        })
        .collect()
}

#[test]
fn each_cargo_generate_switch_moves_exactly_the_files_of_its_variant() {
    let template = Template::embedded().unwrap();
    let manifest = template.manifest();
    assert_eq!(manifest.switches(), ["grpc"]);
    let files: BTreeMap<PathBuf, &[u8]> = template
        .files()
        .map(|(p, c)| (p.to_path_buf(), c))
        .collect();
    for switch in manifest.switches() {
        let script = files
            .get(Path::new(&format!("variants/{switch}.rhai")))
            .unwrap_or_else(|| panic!("no hook variants/{switch}.rhai"));
        let script = std::str::from_utf8(script).unwrap();
        assert!(
            script.contains(&format!("if variable::get(\"{switch}\") {{")),
            "{script}"
        );
        // Each move, expanded to the files under it (a directory moves whole), as
        // output path -> template path with the `.liquid` suffix cargo-generate drops.
        let mut moved = BTreeMap::new();
        for (from, to) in hook_moves(script) {
            let mut found = false;
            for source in files.keys() {
                let stripped = template::output_path(source);
                if let Ok(rest) = stripped.strip_prefix(&from) {
                    moved.insert(Path::new(&to).join(rest), source.clone());
                    found = true;
                }
            }
            assert!(found, "the hook moves {from}, which the template lacks");
        }
        let variant: BTreeMap<PathBuf, PathBuf> = manifest
            .variant(switch)
            .unwrap()
            .iter()
            .map(|(output, source)| (output.clone(), source.clone()))
            .collect();
        assert_eq!(
            moved, variant,
            "variants/{switch}.rhai vs [obskit.variants.{switch}]"
        );
    }
}

#[test]
fn grpc_copies_of_default_files_keep_in_step_with_them() {
    // `--grpc` replaces some default files with copies that add to them. A change to a
    // default file must reach its copy: every line of the default file is in the copy,
    // except the few the copy replaces (counted here).
    let template = Template::embedded().unwrap();
    let files: BTreeMap<&Path, &[u8]> = template.files().collect();
    let text = |path: &str| {
        std::str::from_utf8(files[Path::new(path)])
            .unwrap()
            .to_owned()
    };
    for (default, copy, replaced) in [
        ("Cargo.toml.liquid", "variants/grpc/Cargo.toml.liquid", 1),
        (
            "variants/obskit-path/Cargo.toml.liquid",
            "variants/grpc/obskit-path/Cargo.toml.liquid",
            1,
        ),
        ("src/lib.rs", "variants/grpc/src/lib.rs", 13),
        ("src/main.rs", "variants/grpc/src/main.rs", 5),
        ("README.md", "variants/grpc/README.md", 2),
        (
            "deploy/deployment.yaml",
            "variants/grpc/deploy/deployment.yaml",
            12,
        ),
        (
            "deploy/service.yaml",
            "variants/grpc/deploy/service.yaml",
            2,
        ),
        ("tests/deploy.rs", "variants/grpc/tests/deploy.rs", 25),
    ] {
        let copy_text = text(copy);
        let copy_lines: BTreeSet<&str> = copy_text.lines().collect();
        let default_text = text(default);
        let missing: Vec<&str> = default_text
            .lines()
            .filter(|line| !copy_lines.contains(line))
            .collect();
        assert_eq!(
            missing.len(),
            replaced,
            "lines of {default} that {copy} lacks; make the same change there:\n{}",
            missing.join("\n")
        );
    }
}

#[test]
fn rendered_rust_is_formatted_as_rustfmt_would() {
    // A generated project should pass `cargo fmt --check` from its first commit.
    let scratch = tempfile::tempdir().unwrap(); // no rustfmt.toml: rustfmt's defaults
    let mut files = common::render_default("my-svc");
    files.extend(common::render_grpc("my-svc"));
    for file in files {
        if file.path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let mut child = std::process::Command::new("rustfmt")
            .args(["--edition", "2024", "--emit", "stdout"])
            .current_dir(scratch.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("rustfmt is installed (rustup component add rustfmt)");
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), &file.contents).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}: {}",
            file.path.display(),
            common::stderr(&output)
        );
        let formatted = common::stdout(&output);
        assert!(
            formatted == String::from_utf8_lossy(&file.contents),
            "{} is not rustfmt-clean; format the template file. rustfmt would write:\n{formatted}",
            file.path.display()
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
        panic!("rebuild obskit-cli (build.rs should have):\n{diff}");
    }
}
