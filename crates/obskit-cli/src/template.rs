//! The service template (`template/` at the repository root), embedded in the binary and
//! rendered in memory.
//!
//! The same folder is a cargo-generate template, so rendering follows cargo-generate's
//! rules as declared in its manifest ([`crate::manifest`]): the `.liquid` suffix is
//! dropped, `exclude`d files are copied byte for byte, `ignore`d ones are never emitted.
//! Templated files may only hold bare `{{name}}` placeholders, which Handlebars and Liquid
//! render identically; they are rendered with Handlebars in strict mode, and a placeholder
//! that is not declared, or has no value, is an error rather than an empty string.
//! Options never change text inside a file: they select variant files
//! ([`Answers::variant`]) and set placeholder values.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};

use crate::manifest::{self, Manifest, ManifestError};
use crate::name::ProjectName;

/// The template folder, embedded at build time. `build.rs` picks the folder (the
/// `template` link in this crate, which `cargo package` follows, or `../../template`) and
/// makes Cargo rebuild the binary when a template file changes.
static EMBEDDED: Dir<'static> = include_dir!("$OBSKIT_TEMPLATE_DIR");

/// Suffix cargo-generate removes from file names (it lets `Cargo.toml.liquid` sit in the
/// repository without being taken for a real package).
pub const LIQUID_SUFFIX: &str = ".liquid";

/// Why the template could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template has no `cargo-generate.toml`.
    #[error(
        "the template has no {}; add it at the template root",
        manifest::FILE_NAME
    )]
    MissingManifest,
    /// The manifest is invalid.
    #[error("the template manifest is invalid")]
    Manifest(#[from] ManifestError),
    /// A value was given for a placeholder the manifest does not declare.
    #[error(
        "no placeholder `{name}` is declared (declared: {declared}); declare it in cargo-generate.toml"
    )]
    UnknownPlaceholder {
        /// The name.
        name: String,
        /// The declared names.
        declared: String,
    },
    /// A variant was asked for that the manifest does not declare.
    #[error(
        "no variant `{name}` is declared (declared: {declared}); declare it under [obskit.variants]"
    )]
    UnknownVariant {
        /// The name.
        name: String,
        /// The declared names.
        declared: String,
    },
    /// A variant names a template file that does not exist.
    #[error("variant `{variant}` uses `{}`, which is not in the template; add the file or fix the manifest", path.display())]
    MissingVariantSource {
        /// The variant.
        variant: String,
        /// The missing file.
        path: PathBuf,
    },
    /// Two files would be written to the same path.
    #[error("two template files produce `{}`; remove one", path.display())]
    DuplicateOutput {
        /// The output path.
        path: PathBuf,
    },
    /// A templated file is not UTF-8 text.
    #[error("`{}` is rendered but is not UTF-8 text; list it in [template].exclude to copy it as is", path.display())]
    NotText {
        /// The file.
        path: PathBuf,
    },
    /// A templated file uses template syntax beyond bare placeholders.
    #[error("`{}` line {line}: `{snippet}` is not a bare placeholder; templated files may only use `{{{{name}}}}` (no spaces, blocks, filters or tags), or list the file in [template].exclude", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The offending text.
        snippet: String,
    },
    /// A templated file uses a placeholder the manifest does not declare.
    #[error("`{}` line {line} uses `{{{{{name}}}}}`, which is not declared (declared: {declared}); declare it in cargo-generate.toml", path.display())]
    Undeclared {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The placeholder.
        name: String,
        /// The declared names.
        declared: String,
    },
    /// A templated file uses a declared placeholder that has no value for these answers.
    #[error("`{}` uses `{{{{{name}}}}}`, which has no value here; set it (it is only set by a command-line option) or use the file only in a variant", path.display())]
    NoValue {
        /// The file.
        path: PathBuf,
        /// The placeholder.
        name: String,
    },
    /// Handlebars failed to render a file that passed the checks above.
    #[error("could not render `{}`", path.display())]
    Render {
        /// The file.
        path: PathBuf,
        /// The engine's error.
        source: Box<handlebars::RenderError>,
    },
}

/// The answers a template is rendered with: the name, placeholder values and variants.
#[derive(Debug, Clone)]
pub struct Answers {
    values: BTreeMap<String, String>,
    variants: BTreeSet<String>,
}

impl Answers {
    /// Answers for `name`, with every other placeholder at its default.
    pub fn new(name: &ProjectName) -> Self {
        let values = BTreeMap::from([
            ("project-name".to_owned(), name.project().to_owned()),
            ("crate_name".to_owned(), name.krate().to_owned()),
        ]);
        Self {
            values,
            variants: BTreeSet::new(),
        }
    }

    /// Sets a declared placeholder.
    #[must_use]
    pub fn set(mut self, placeholder: &str, value: impl Into<String>) -> Self {
        self.values.insert(placeholder.to_owned(), value.into());
        self
    }

    /// Emits the files of a declared variant in place of the default ones.
    #[must_use]
    pub fn variant(mut self, name: &str) -> Self {
        self.variants.insert(name.to_owned());
        self
    }

    /// Whether the variant `name` was chosen.
    pub fn has_variant(&self, name: &str) -> bool {
        self.variants.contains(name)
    }
}

/// How a generated file was produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Placeholders were substituted.
    Rendered,
    /// Copied byte for byte (`[template].exclude`).
    Copied,
}

/// One file of a generated project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path inside the project.
    pub path: PathBuf,
    /// The bytes to write.
    pub contents: Vec<u8>,
    /// Whether it was rendered or copied.
    pub kind: Kind,
    /// The template file it came from.
    pub source: PathBuf,
}

/// A template: its files and its manifest.
#[derive(Debug, Clone)]
pub struct Template {
    files: BTreeMap<PathBuf, Vec<u8>>,
    manifest: Manifest,
}

impl Template {
    /// The template embedded in this binary.
    pub fn embedded() -> Result<Self, TemplateError> {
        let mut files = Vec::new();
        let mut dirs = vec![&EMBEDDED];
        while let Some(dir) = dirs.pop() {
            files.extend(
                dir.files()
                    .map(|f| (f.path().to_path_buf(), f.contents().to_vec())),
            );
            dirs.extend(dir.dirs());
        }
        Self::from_files(files)
    }

    /// A template made of `files` (paths relative to the template root), which must
    /// include the manifest.
    pub fn from_files(
        files: impl IntoIterator<Item = (PathBuf, Vec<u8>)>,
    ) -> Result<Self, TemplateError> {
        let files: BTreeMap<_, _> = files.into_iter().collect();
        let text = files
            .get(Path::new(manifest::FILE_NAME))
            .ok_or(TemplateError::MissingManifest)?;
        let manifest = Manifest::parse(&String::from_utf8_lossy(text))?;
        Ok(Self { files, manifest })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Every file of the template with its path relative to the template root.
    pub fn files(&self) -> impl Iterator<Item = (&Path, &[u8])> {
        self.files.iter().map(|(p, c)| (p.as_path(), c.as_slice()))
    }

    /// Renders the project for `answers`, in memory, sorted by path.
    pub fn render(&self, answers: &Answers) -> Result<Vec<GeneratedFile>, TemplateError> {
        let values = self.values(answers)?;
        let overrides = self.overrides(answers)?;
        let variant_sources: BTreeMap<&Path, &Path> = overrides
            .iter()
            .map(|(output, source)| (source.as_path(), output.as_path()))
            .collect();

        let mut generated = BTreeMap::new();
        for (source, contents) in &self.files {
            let output = match variant_sources.get(source.as_path()) {
                Some(output) => output.to_path_buf(),
                None => {
                    let output = output_path(source);
                    if self.manifest.is_ignored(&output) || overrides.contains_key(&output) {
                        continue;
                    }
                    output
                }
            };
            let file = if self.manifest.is_copied(&output) {
                GeneratedFile {
                    path: output.clone(),
                    contents: contents.clone(),
                    kind: Kind::Copied,
                    source: source.clone(),
                }
            } else {
                GeneratedFile {
                    path: output.clone(),
                    contents: self.render_file(source, contents, &values)?.into_bytes(),
                    kind: Kind::Rendered,
                    source: source.clone(),
                }
            };
            if generated.insert(output.clone(), file).is_some() {
                return Err(TemplateError::DuplicateOutput { path: output });
            }
        }
        Ok(generated.into_values().collect())
    }

    /// The value of every declared placeholder that has one.
    fn values(&self, answers: &Answers) -> Result<BTreeMap<String, String>, TemplateError> {
        let declared = self.manifest.placeholders();
        if let Some(name) = answers
            .values
            .keys()
            .find(|name| !declared.iter().any(|p| &p.name == *name))
        {
            return Err(TemplateError::UnknownPlaceholder {
                name: name.clone(),
                declared: self.declared_names(),
            });
        }
        Ok(declared
            .iter()
            .filter_map(|p| {
                let value = answers.values.get(&p.name).or(p.default.as_ref())?;
                Some((p.name.clone(), value.clone()))
            })
            .collect())
    }

    /// Output path → template path for every file the chosen variants replace.
    fn overrides(&self, answers: &Answers) -> Result<BTreeMap<PathBuf, PathBuf>, TemplateError> {
        let mut overrides = BTreeMap::new();
        for name in &answers.variants {
            let variant =
                self.manifest
                    .variant(name)
                    .ok_or_else(|| TemplateError::UnknownVariant {
                        name: name.clone(),
                        declared: self.manifest.variant_names().collect::<Vec<_>>().join(", "),
                    })?;
            for (output, source) in variant {
                if !self.files.contains_key(source) {
                    return Err(TemplateError::MissingVariantSource {
                        variant: name.clone(),
                        path: source.clone(),
                    });
                }
                if overrides.insert(output.clone(), source.clone()).is_some() {
                    return Err(TemplateError::DuplicateOutput {
                        path: output.clone(),
                    });
                }
            }
        }
        Ok(overrides)
    }

    fn declared_names(&self) -> String {
        let names: Vec<_> = self
            .manifest
            .placeholders()
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        names.join(", ")
    }

    fn render_file(
        &self,
        path: &Path,
        contents: &[u8],
        values: &BTreeMap<String, String>,
    ) -> Result<String, TemplateError> {
        let text = std::str::from_utf8(contents).map_err(|_| TemplateError::NotText {
            path: path.to_path_buf(),
        })?;
        for placeholder in placeholders(text).map_err(|err| TemplateError::Syntax {
            path: path.to_path_buf(),
            line: err.line,
            snippet: err.snippet,
        })? {
            if !self
                .manifest
                .placeholders()
                .iter()
                .any(|p| p.name == placeholder.name)
            {
                return Err(TemplateError::Undeclared {
                    path: path.to_path_buf(),
                    line: placeholder.line,
                    name: placeholder.name.to_owned(),
                    declared: self.declared_names(),
                });
            }
            if !values.contains_key(placeholder.name) {
                return Err(TemplateError::NoValue {
                    path: path.to_path_buf(),
                    name: placeholder.name.to_owned(),
                });
            }
        }
        handlebars()
            .render_template(text, values)
            .map_err(|source| TemplateError::Render {
                path: path.to_path_buf(),
                source: Box::new(source),
            })
    }
}

/// A Handlebars engine that fails on unknown placeholders and does not HTML-escape.
pub fn handlebars() -> handlebars::Handlebars<'static> {
    let mut engine = handlebars::Handlebars::new();
    engine.set_strict_mode(true);
    engine.register_escape_fn(handlebars::no_escape);
    engine
}

/// The path a template file is emitted at: its own, without a `.liquid` suffix.
pub fn output_path(source: &Path) -> PathBuf {
    match source.to_str().and_then(|s| s.strip_suffix(LIQUID_SUFFIX)) {
        Some(stripped) => PathBuf::from(stripped),
        None => source.to_path_buf(),
    }
}

/// A placeholder found in a templated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<'a> {
    /// Its name.
    pub name: &'a str,
    /// 1-based line number.
    pub line: usize,
}

/// Template syntax other than a bare placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line number.
    pub line: usize,
    /// The offending text.
    pub snippet: String,
}

/// Every `{{name}}` in `text`, in order; an error for anything else that Handlebars or
/// Liquid would treat as template syntax (`{{ x }}`, `{{#if}}`, `{{x | f}}`, `{%`, `\{{`).
pub fn placeholders(text: &str) -> Result<Vec<Found<'_>>, SyntaxError> {
    let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
    let snippet_at = |offset: usize| text[offset..].chars().take(24).collect::<String>();
    if let Some(offset) = text.find("{%") {
        return Err(SyntaxError {
            line: line_of(offset),
            snippet: snippet_at(offset),
        });
    }
    let mut found = Vec::new();
    let mut rest = 0;
    while let Some(start) = text[rest..].find("{{").map(|i| rest + i) {
        let bad = || SyntaxError {
            line: line_of(start),
            snippet: snippet_at(start),
        };
        if text[..start].ends_with('\\') {
            return Err(bad());
        }
        let inner_start = start + 2;
        let end = text[inner_start..]
            .find("}}")
            .map(|i| inner_start + i)
            .ok_or_else(bad)?;
        let name = &text[inner_start..end];
        if !is_bare_name(name) {
            return Err(bad());
        }
        found.push(Found {
            name,
            line: line_of(start),
        });
        rest = end + 2;
    }
    Ok(found)
}

/// An identifier both engines read as a plain variable: a letter or `_`, then letters,
/// digits, `_` or `-`.
fn is_bare_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::TEMPLATE_DEPENDENCIES;

    const MANIFEST: &str = r#"
        [template]
        exclude = ["raw/"]
        ignore = ["variants"]
        [placeholders.greeting]
        default = "hello"
        [obskit]
        cli_placeholders = ["extra"]
        [obskit.variants.alt]
        "Cargo.toml" = "variants/alt/Cargo.toml.liquid"
    "#;

    fn template(extra: &[(&str, &str)]) -> Template {
        let mut files = vec![
            (manifest::FILE_NAME, MANIFEST),
            (
                "Cargo.toml.liquid",
                "name = \"{{project-name}}\" # {{greeting}}\n",
            ),
            (
                "variants/alt/Cargo.toml.liquid",
                "name = \"{{crate_name}}\" # {{extra}}\n",
            ),
            ("raw/dash.json", "{{legend}} stays"),
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
                    "name = \"my-svc\" # hello\n".into(),
                    Kind::Rendered
                ),
                (
                    "raw/dash.json".into(),
                    "{{legend}} stays".into(),
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
    fn a_variant_replaces_the_default_file_and_may_use_cli_placeholders() {
        let answers = answers()
            .variant("alt")
            .set("extra", "x")
            .set("greeting", "hi");
        let files = template(&[]).render(&answers).unwrap();
        assert_eq!(rendered(&files)[0].1, "name = \"my_svc\" # x\n");
        assert_eq!(files[0].source, Path::new("variants/alt/Cargo.toml.liquid"));
        assert_eq!(files.len(), 3);
    }

    #[test]
    fn a_cli_placeholder_without_its_option_is_an_error_not_an_empty_string() {
        let err = template(&[("b.txt", "{{extra}}")])
            .render(&answers())
            .unwrap_err();
        assert!(matches!(err, TemplateError::NoValue { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("`b.txt` uses `{{extra}}`, which has no value"),
            "{err}"
        );
    }

    #[test]
    fn an_undeclared_placeholder_is_an_error_naming_file_line_and_the_fix() {
        let err = template(&[("a.txt", "ok\n{{project-name}} {{nope}}")])
            .render(&answers())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`a.txt` line 2 uses `{{nope}}`, which is not declared (declared: project-name, crate_name, greeting, extra); declare it in cargo-generate.toml"
        );
    }

    #[test]
    fn handlebars_itself_refuses_unknown_placeholders() {
        let err = handlebars().render_template("{{nope}}", &BTreeMap::<String, String>::new());
        assert!(err.is_err());
        let text = handlebars()
            .render_template("<{{a}}>&", &BTreeMap::from([("a", "\"&'")]))
            .unwrap();
        assert_eq!(text, "<\"&'>&", "no HTML escaping");
    }

    #[test]
    fn unknown_values_and_variants_are_errors() {
        let err = template(&[])
            .render(&answers().set("nope", "x"))
            .unwrap_err();
        assert!(
            matches!(err, TemplateError::UnknownPlaceholder { .. }),
            "{err}"
        );
        let err = template(&[])
            .render(&answers().variant("nope"))
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("no variant `nope` is declared (declared: alt)"),
            "{err}"
        );
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
    fn only_bare_placeholders_are_allowed() {
        assert_eq!(
            placeholders("a {{x}} b\n{{project-name}}}}").unwrap(),
            [
                Found { name: "x", line: 1 },
                Found {
                    name: "project-name",
                    line: 2
                }
            ]
        );
        for bad in [
            "{{ x }}",
            "{{#if x}}",
            "{{x | upcase}}",
            "{{{x}}}",
            "{% if %}",
            "\\{{x}}",
            "{{x",
            "{{}}",
            "{{!c}}",
            "{{>p}}",
            "{{x.y}}",
        ] {
            assert!(placeholders(bad).is_err(), "{bad}");
        }
        let err = placeholders("ok\nok {{ project-name }}").unwrap_err();
        assert_eq!((err.line, err.snippet.as_str()), (2, "{{ project-name }}"));
    }

    #[test]
    fn output_paths_drop_the_liquid_suffix() {
        assert_eq!(
            output_path(Path::new("Cargo.toml.liquid")),
            Path::new("Cargo.toml")
        );
        assert_eq!(output_path(Path::new("a/b.rs")), Path::new("a/b.rs"));
    }

    /// Rendered Cargo.toml of the embedded template, parsed, for the default and path
    /// variants, without and with gRPC.
    fn embedded_manifests() -> Vec<toml::Table> {
        let template = Template::embedded().unwrap();
        let name = ProjectName::parse("my-svc").unwrap();
        let local = |variant| {
            Answers::new(&name)
                .variant(variant)
                .set("obskit_path", "/src/obskit")
        };
        [
            Answers::new(&name),
            local("obskit-path"),
            Answers::new(&name).variant("grpc"),
            local("grpc-obskit-path"),
        ]
        .iter()
        .map(|answers| {
            let files = template.render(answers).unwrap();
            let cargo = files
                .iter()
                .find(|f| f.path == Path::new("Cargo.toml"))
                .unwrap();
            toml::from_str(std::str::from_utf8(&cargo.contents).unwrap()).unwrap()
        })
        .collect()
    }

    #[test]
    fn the_cargo_toml_variants_differ_only_in_the_obskit_dependency() {
        let mut manifests = embedded_manifests();
        let obskit: Vec<_> = manifests
            .iter_mut()
            .map(|m| {
                m["dependencies"]
                    .as_table_mut()
                    .unwrap()
                    .remove("obskit")
                    .unwrap()
            })
            .collect();
        for pair in [0, 2] {
            assert_eq!(obskit[pair].as_str(), Some("0.1"));
            assert_eq!(obskit[pair + 1]["path"].as_str(), Some("/src/obskit"));
            assert_eq!(manifests[pair], manifests[pair + 1]);
        }
        assert_ne!(manifests[0], manifests[2], "--grpc adds dependencies");
    }

    #[test]
    fn grpc_variants_emit_the_grpc_files_and_keep_the_others() {
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
        let grpc = paths(&Answers::new(&name).variant("grpc"));
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
        let local = Answers::new(&name)
            .variant("grpc-obskit-path")
            .set("obskit_path", "/src/obskit");
        assert_eq!(paths(&local), grpc);
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
}
