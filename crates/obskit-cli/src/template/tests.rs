use std::collections::BTreeSet;

use super::*;
use crate::name::TEMPLATE_DEPENDENCIES;

const MANIFEST: &str = r#"
    [template]
    exclude = ["raw/"]
    ignore = ["scratch"]
    [placeholders.greeting]
    default = "hello"
    [placeholders.extra]
    default = ""
    [placeholders.alt]
    type = "bool"
    default = false
    [placeholders.broker]
    choices = ["none", "nats"]
    default = "none"
    [conditional.'!alt']
    ignore = ["src/alt.rs"]
"#;

fn template(extra: &[(&str, &str)]) -> Template {
    let mut files = vec![
        (manifest::FILE_NAME, MANIFEST),
        (
            "Cargo.toml.liquid",
            "name = \"{{project-name}}\" # {{greeting}}\n{%- if alt %}\nalt = \"{{crate_name}}\"\n{%- elsif broker == \"nats\" %}\nnats = 1\n{%- endif %}\nend = 1\n",
        ),
        ("raw/dash.json", "{{legend}} {% stays %}"),
        ("scratch/notes.md", "never emitted"),
        ("src/alt.rs", "//! alt {{extra}}\n"),
        ("src/main.rs", "//! {{project-name}}\nfn main() {}\n"),
    ];
    files.extend_from_slice(extra);
    Template::from_files(
        files
            .into_iter()
            .map(|(p, c)| (PathBuf::from(p), c.as_bytes().to_vec())),
    )
    .unwrap()
}

fn answers() -> Answers {
    Answers::new(&ProjectName::parse("my-svc").unwrap())
}

fn rendered(files: &[GeneratedFile]) -> Vec<(String, String, Kind)> {
    files
        .iter()
        .map(|f| {
            (
                f.path.display().to_string(),
                String::from_utf8(f.contents.clone()).unwrap(),
                f.kind,
            )
        })
        .collect()
}

#[test]
fn renders_placeholders_copies_excluded_files_and_drops_ignored_ones() {
    let files = template(&[]).render(&answers()).unwrap();
    assert_eq!(
        rendered(&files),
        [
            (
                "Cargo.toml".into(),
                "name = \"my-svc\" # hello\nend = 1\n".into(),
                Kind::Rendered
            ),
            (
                "raw/dash.json".into(),
                "{{legend}} {% stays %}".into(),
                Kind::Copied
            ),
            (
                "src/main.rs".into(),
                "//! my-svc\nfn main() {}\n".into(),
                Kind::Rendered
            ),
        ]
    );
}

#[test]
fn an_option_adds_its_lines_and_its_files() {
    let files = template(&[])
        .render(&answers().enable("alt").set("extra", "x"))
        .unwrap();
    let rendered = rendered(&files);
    assert_eq!(
        rendered[0].1,
        "name = \"my-svc\" # hello\nalt = \"my_svc\"\nend = 1\n"
    );
    assert_eq!(rendered[2].0, "src/alt.rs");
    assert_eq!(rendered[2].1, "//! alt x\n");
    let files = template(&[])
        .render(&answers().set("broker", "nats"))
        .unwrap();
    assert_eq!(
        rendered_text(&files, "Cargo.toml"),
        "name = \"my-svc\" # hello\nnats = 1\nend = 1\n"
    );
}

fn rendered_text(files: &[GeneratedFile], path: &str) -> String {
    let file = files.iter().find(|f| f.path == Path::new(path)).unwrap();
    String::from_utf8(file.contents.clone()).unwrap()
}

#[test]
fn an_undeclared_placeholder_is_an_error_naming_file_line_and_the_fix() {
    let err = template(&[("a.txt", "ok\n{{project-name}} {{nope}}")])
        .render(&answers())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`a.txt` line 2: `{{nope}}` is not declared (declared: project-name, crate_name, alt, broker, extra, greeting); declare it in cargo-generate.toml"
    );
}

#[test]
fn answers_must_match_the_declared_kinds() {
    for (answers, expected) in [
        (
            answers().set("nope", "x"),
            "no placeholder `nope` is declared",
        ),
        (answers().set("broker", "kafka"), "use one of: none, nats"),
        (answers().set("alt", "true"), "yes/no option; turn it on"),
        (answers().enable("greeting"), "not a yes/no option"),
    ] {
        let err = template(&[]).render(&answers).unwrap_err();
        assert!(err.to_string().contains(expected), "{err}");
    }
}

#[test]
fn conditions_and_substitutions_are_checked_against_the_manifest() {
    for (text, expected) in [
        ("a\n{%- if nope %}\n{%- endif %}", "`nope` is not declared"),
        ("a\n{%- if greeting %}\n{%- endif %}", "not a bool"),
        (
            "a\n{%- if broker == \"kafka\" %}\n{%- endif %}",
            "never \"kafka\"",
        ),
        ("a {{alt}}", "substitutes a yes/no option"),
    ] {
        let err = template(&[("x.txt", text)]).render(&answers()).unwrap_err();
        assert!(err.to_string().contains(expected), "{text}: {err}");
    }
}

#[test]
fn binary_files_must_be_excluded() {
    let mut t = template(&[]);
    t.files
        .insert(PathBuf::from("logo.png"), vec![0xff, 0xfe, 0]);
    let err = t.render(&answers()).unwrap_err();
    assert!(matches!(err, TemplateError::NotText { .. }), "{err}");
}

#[test]
fn only_bare_placeholders_and_whole_line_blocks_are_allowed() {
    assert_eq!(
        scan("a {{x}} b\n{{project-name}}}}\n{%- if y %}\nc\n{%- else %}\n{%- endif %}").unwrap(),
        [
            Piece::Substitution { name: "x", line: 1 },
            Piece::Substitution {
                name: "project-name",
                line: 2
            },
            Piece::Condition { text: "y", line: 3 },
        ]
    );
    for (bad, expected) in [
        ("{{ x }}", "not a bare placeholder"),
        ("{{#if x}}", "not a bare placeholder"),
        ("{{x | upcase}}", "not a bare placeholder"),
        ("{{{x}}}", "not a bare placeholder"),
        ("\\{{x}}", "not a bare placeholder"),
        ("{{x", "not a bare placeholder"),
        ("{{}}", "not a bare placeholder"),
        ("{{x.y}}", "not a bare placeholder"),
        ("a\n{% if x %}\n{%- endif %}", "not a tag line"),
        ("a\n  {%- if x %}\n{%- endif %}", "not a tag line"),
        ("a\n{%- if x %} b\n{%- endif %}", "not a tag line"),
        ("a\n{%- if x -%}\n{%- endif %}", "not a tag line"),
        ("a\n{%- raw %}\n{%- endraw %}", "not a tag line"),
        ("a\n{%- else x %}", "not a tag line"),
        ("a\n{%- if %}", "not a tag line"),
        ("a {% if x %}{% endif %}", "not a tag line"),
        ("{%- if x %}\na\n{%- endif %}", "opens the file"),
        ("a\n\n{%- if x %}\n{%- endif %}", "follows a blank line"),
        ("a\n{%- if x %}\nb", "never closed"),
        ("a\n{%- endif %}", "closes no matching block"),
        (
            "a\n{%- unless x %}\n{%- endif %}",
            "closes no matching block",
        ),
        (
            "a\n{%- unless x %}\n{%- elsif y %}\n{%- endunless %}",
            "outside an `if`",
        ),
    ] {
        let err = scan(bad).unwrap_err();
        assert!(err.problem.contains(expected), "{bad:?}: {}", err.problem);
    }
    let err = scan("ok\nok {{ project-name }}").unwrap_err();
    assert_eq!(err.line, 2);
}

#[test]
fn a_tag_line_leaves_nothing_behind_whichever_way_it_goes() {
    // What the rules above buy: the lines around a block are as if it were not there.
    let text = "a\n{%- if alt %}\n    b\n{%- else %}\n\n    c\n{%- endif %}\nd\n";
    let t = template(&[("x.txt", text)]);
    assert_eq!(
        rendered_text(&t.render(&answers().enable("alt")).unwrap(), "x.txt"),
        "a\n    b\nd\n"
    );
    assert_eq!(
        rendered_text(&t.render(&answers()).unwrap(), "x.txt"),
        "a\n\n    c\nd\n"
    );
}

#[test]
fn output_paths_drop_the_liquid_suffix() {
    assert_eq!(
        output_path(Path::new("Cargo.toml.liquid")),
        Path::new("Cargo.toml")
    );
    assert_eq!(output_path(Path::new("a/b.rs")), Path::new("a/b.rs"));
}

/// Every combination of the embedded template's options, as answers, each with the
/// published obskit and with a local one.
fn every_combination() -> Vec<Answers> {
    let template = Template::embedded().unwrap();
    let name = ProjectName::parse("my-svc").unwrap();
    template
        .combinations()
        .into_iter()
        .flat_map(|combination| {
            let answers = combination
                .into_iter()
                .fold(Answers::new(&name), |a, (n, v)| a.with(&n, v));
            [answers.clone(), answers.set("obskit_path", "/src/obskit")]
        })
        .collect()
}

#[test]
fn combinations_cover_every_option_value_once() {
    let manifest = r#"
        [placeholders.a]
        type = "bool"
        default = false
        [placeholders.b]
        choices = ["x", "y", "z"]
        default = "x"
        [placeholders.c]
        default = "free text is not an option"
    "#;
    let t = Template::from_files([(
        PathBuf::from(manifest::FILE_NAME),
        manifest.as_bytes().to_vec(),
    )])
    .unwrap();
    let all = t.combinations();
    assert_eq!(all.len(), 6);
    assert_eq!(all[0], []);
    let distinct: BTreeSet<String> = all.iter().map(|c| format!("{c:?}")).collect();
    assert_eq!(distinct.len(), 6);
    assert!(all.contains(&vec![
        ("a".to_owned(), Value::Bool(true)),
        ("b".to_owned(), Value::Text("z".to_owned()))
    ]));
}

/// Rendered Cargo.toml of the embedded template, parsed, for every combination of options.
fn embedded_manifests() -> Vec<toml::Table> {
    let template = Template::embedded().unwrap();
    every_combination()
        .iter()
        .map(|answers| {
            let files = template.render(answers).unwrap();
            toml::from_str(&rendered_text(&files, "Cargo.toml")).unwrap()
        })
        .collect()
}

#[test]
fn obskit_path_changes_only_the_obskit_dependency() {
    let template = Template::embedded().unwrap();
    for answers in every_combination() {
        if answers.values.contains_key("obskit_path") {
            continue;
        }
        let local = answers.clone().set("obskit_path", "/src/obskit");
        let parse = |answers: &Answers| -> toml::Table {
            toml::from_str(&rendered_text(
                &template.render(answers).unwrap(),
                "Cargo.toml",
            ))
            .unwrap()
        };
        let (mut published, mut local) = (parse(&answers), parse(&local));
        // The obskit table: `version` or `path`, the same `features`.
        let obskit = |m: &mut toml::Table, key: &str| {
            let table = m["dependencies"]["obskit"].as_table_mut().unwrap();
            table.remove(key).unwrap()
        };
        assert_eq!(obskit(&mut published, "version").as_str(), Some("0.1"));
        assert_eq!(obskit(&mut local, "path").as_str(), Some("/src/obskit"));
        assert_eq!(published, local);
    }
}

#[test]
fn grpc_emits_the_grpc_files_and_keeps_the_others() {
    let template = Template::embedded().unwrap();
    let name = ProjectName::parse("my-svc").unwrap();
    let paths = |answers: &Answers| -> BTreeSet<PathBuf> {
        template
            .render(answers)
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect()
    };
    let plain = paths(&Answers::new(&name));
    let grpc = paths(&Answers::new(&name).enable("grpc"));
    let added: Vec<_> = grpc.difference(&plain).collect();
    assert_eq!(
        added,
        [
            Path::new("build.rs"),
            Path::new("proto/greeter.proto"),
            Path::new("src/greeter.rs"),
            Path::new("tests/grpc.rs"),
        ]
    );
    assert!(plain.is_subset(&grpc));
}

#[test]
fn names_of_template_dependencies_are_reserved() {
    let mut names: Vec<String> = embedded_manifests()
        .iter()
        .flat_map(|manifest| {
            ["dependencies", "dev-dependencies", "build-dependencies"]
                .iter()
                .filter_map(|section| manifest.get(*section)?.as_table())
                .flat_map(|table| table.keys().map(|k| k.replace('-', "_")))
                .collect::<Vec<_>>()
        })
        .collect();
    names.sort();
    names.dedup();
    let mut reserved: Vec<_> = TEMPLATE_DEPENDENCIES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    reserved.sort();
    assert_eq!(names, reserved);
}
